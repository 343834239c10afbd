/*
 * Faults on purpose, to check that the kit's exception handler reports and
 * exits with status 3 instead of letting the CPU triple-fault.
 * `kind=ud` (default): invalid opcode; `kind=pf`: page fault above 4 GiB;
 * `kind=user`: privileged instruction at CPL3 (#GP taken from user mode).
 */
#include "cmdline.h"
#include "cpu.h"
#include "guest.h"
#include "print.h"

static char user_stack[4096] __attribute__((aligned(16)));

static _Noreturn void privileged_at_cpl3(void)
{
    __asm__ volatile("cli");
    for (;;) {
    }
}

int guest_main(void)
{
    char kind[8] = "ud";

    (void)cmdline_value("kind", kind, sizeof(kind));
    gprintf("crash: %s\n", kind);
    if (kind[0] == 'p')
        (void)*(volatile uint64_t *)(uintptr_t)(5ull << 32);
    else if (kind[0] == 'u' && kind[1] == 's')
        cpu_enter_user(privileged_at_cpl3, user_stack + sizeof(user_stack));
    else
        __asm__ volatile("ud2");
    gprintf("crash: still running\n");
    return GUEST_EXIT_OK;
}
