/*
 * Descriptor tables.  The GDT itself is static in entry.S (it is needed for
 * the jump to long mode); here we fill in its TSS slot, load the IDT and
 * provide the one exception handler.  Every exception vector runs on IST1,
 * so even a stack overflow or a fault at CPL3 reaches a good stack and
 * ends the run with a message instead of a triple fault.
 */
#include "cpu.h"

#include <stddef.h>

#include "guest.h"
#include "print.h"
#include "uart.h"

#define SEL_KCODE 0x08
#define SEL_UDATA 0x1b /* 0x18 | RPL 3 */
#define SEL_UCODE 0x23 /* 0x20 | RPL 3 */
#define SEL_TSS   0x28

#define RFLAGS_RESERVED 0x2
#define RFLAGS_IOPL3    0x3000

struct tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iopb_offset;
    /*
     * All-zero I/O permission bitmap: every port allowed at CPL3.  IOPL 3
     * alone should be enough, but the nested KVM here drops IOPL on the
     * way to CPL3, so the bitmap is what actually grants access.
     */
    uint8_t iomap[65536 / 8];
    uint8_t iomap_end; /* must be 0xff */
} __attribute__((packed));

struct idt_gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
} __attribute__((packed));

struct table_desc {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

extern uint64_t gdt[];
extern const uint64_t isr_table[32];
extern char boot_stack_top[];
extern char exception_stack_top[];

static struct tss tss;
static struct idt_gate idt[CPU_NR_VECTORS] __attribute__((aligned(16)));

static void tss_init(void)
{
    uint64_t base = (uint64_t)(uintptr_t)&tss;
    uint64_t limit = sizeof(tss) - 1;

    tss.rsp[0] = (uint64_t)(uintptr_t)boot_stack_top;
    tss.ist[0] = (uint64_t)(uintptr_t)exception_stack_top;
    tss.iopb_offset = offsetof(struct tss, iomap);
    tss.iomap_end = 0xff;

    gdt[SEL_TSS / 8] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89ull << 40 |
                       ((limit >> 16) & 0xf) << 48 | ((base >> 24) & 0xff) << 56;
    gdt[SEL_TSS / 8 + 1] = base >> 32;
    __asm__ volatile("ltr %w0" : : "r"(SEL_TSS));
}

static void idt_init(void)
{
    struct table_desc desc = {sizeof(idt) - 1, (uint64_t)(uintptr_t)idt};

    for (unsigned i = 0; i < 32; i++) {
        uint64_t off = isr_table[i];
        idt[i].offset_low = off & 0xffff;
        idt[i].selector = SEL_KCODE;
        idt[i].ist = 1;
        idt[i].type_attr = 0x8e; /* present, DPL0, interrupt gate */
        idt[i].offset_mid = (off >> 16) & 0xffff;
        idt[i].offset_high = off >> 32;
        idt[i].reserved = 0;
    }
    __asm__ volatile("lidt %0" : : "m"(desc));
}

void cpu_set_interrupt(unsigned vector, uintptr_t handler)
{
    if (vector < 32 || vector >= CPU_NR_VECTORS)
        return;
    idt[vector] = (struct idt_gate){
        .offset_low = handler & 0xffff,
        .selector = SEL_KCODE,
        .ist = 0,
        .type_attr = 0x8e, /* present, DPL0, interrupt gate: IF off inside */
        .offset_mid = (handler >> 16) & 0xffff,
        .offset_high = (uint32_t)((uint64_t)handler >> 32),
    };
}

void cpu_init(void)
{
    tss_init();
    idt_init();
}

void guest_exception(const struct exception_frame *frame)
{
    /* The guest may have left COM1 in any state (hostile does on purpose). */
    uart_init();
    gprintf("guest: exception %lu at %lx (error %lx, cs %lx, rflags %lx, rsp %lx)\n", frame->vector,
            frame->rip, frame->error, frame->cs, frame->rflags, frame->rsp);
    guest_exit(GUEST_EXIT_EXCEPTION);
}

void cpu_enter_user(void (*fn)(void), void *stack_top)
{
    uint64_t rsp = (uint64_t)(uintptr_t)stack_top & ~0xfull;

    /* The CPU pushes a return address's worth of alignment for us: keep the
     * SysV invariant (rsp + 8 aligned to 16 at function entry). */
    rsp -= 8;
    __asm__ volatile("pushq %[rflags]\n\t"
                     "popfq\n\t"
                     "pushq %[ss]\n\t"
                     "pushq %[rsp]\n\t"
                     "pushq %[rflags]\n\t"
                     "pushq %[cs]\n\t"
                     "pushq %[rip]\n\t"
                     "mov %[ss], %%ds\n\t"
                     "mov %[ss], %%es\n\t"
                     "iretq"
                     :
                     : [ss] "r"((uint64_t)SEL_UDATA), [rsp] "r"(rsp),
                       [rflags] "r"((uint64_t)(RFLAGS_RESERVED | RFLAGS_IOPL3)),
                       [cs] "r"((uint64_t)SEL_UCODE), [rip] "r"((uint64_t)(uintptr_t)fn)
                     : "memory");
    __builtin_unreachable();
}
