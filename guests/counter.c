/*
 * Counts upward forever in memory and prints `count N` on COM1 every
 * `every=N` increments (default 250000000).  The counting runs at CPL3 with
 * IOPL 3: under nested KVM that code runs natively (CPL0 code is emulated
 * instruction by instruction), so the rate depends on the CPU, not on the
 * monitor, and a save/restore test sees the count carry on where it was.
 * With the default a line comes out about every 0.2 s here (1.4e9/s at
 * CPL3); `cpl=0` keeps the loop at CPL0 (about 150000/s when emulated).
 */
#include "cmdline.h"
#include "cpu.h"
#include "guest.h"
#include "print.h"

/* In memory on purpose: what a snapshot must carry over. */
static volatile uint64_t count;
static uint64_t every;
static char user_stack[16384] __attribute__((aligned(16)));

static _Noreturn void count_forever(void)
{
    for (;;) {
        uint64_t next = count + every;
        while (count != next)
            count = count + 1;
        gprintf("count %lu\n", next);
    }
}

int guest_main(void)
{
    every = cmdline_u64("every", 250000000);
    if (!every)
        every = 1;
    if (cmdline_u64("cpl", 3) == 0)
        count_forever();
    cpu_enter_user(count_forever, user_stack + sizeof(user_stack));
}
