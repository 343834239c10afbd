/* Descriptor tables, exceptions and the drop to CPL3. */
#ifndef GUEST_CPU_H
#define GUEST_CPU_H

#include <stdint.h>

/* Frame built by the stubs in entry.S, then what the CPU pushed. */
struct exception_frame {
    uint64_t vector;
    uint64_t error;
    uint64_t rip;
    uint64_t cs;
    uint64_t rflags;
    uint64_t rsp;
    uint64_t ss;
};

/* Loads the TSS and an IDT whose every exception ends the run (status 3). */
void cpu_init(void);

/* Vectors 32 .. CPU_NR_VECTORS - 1 may take external interrupts: install
 * `handler`, a function with __attribute__((interrupt)) taking a
 * struct cpu_interrupt_frame *, at `vector` (an interrupt gate on the
 * current stack).  Vectors without one are not present (#NP ends the run). */
#define CPU_NR_VECTORS 64
struct cpu_interrupt_frame;
void cpu_set_interrupt(unsigned vector, uintptr_t handler);

/* Entry.S calls this on any exception; it prints and exits, never returns. */
_Noreturn void guest_exception(const struct exception_frame *frame);

/*
 * Continues at CPL3 in `fn` on the stack that ends at `stack_top`, with port
 * I/O allowed (IOPL 3 and an all-zero TSS I/O bitmap; the nested KVM here
 * drops IOPL on the way to CPL3, so the bitmap is what counts).  For
 * computation-heavy loops: under nested KVM, CPL3 code runs natively while
 * CPL0 code is emulated, but each exit from CPL3 costs about 8 times more.
 * Exceptions still end the run.  `fn` must not return.
 */
_Noreturn void cpu_enter_user(void (*fn)(void), void *stack_top);

/* Current privilege level (0 or 3). */
static inline unsigned cpu_cpl(void)
{
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    return cs & 3;
}

#endif
