/* From the entry stub to guest_main(), and the way out. */
#include "guest.h"

#include "cmdline.h"
#include "cpu.h"
#include "io.h"
#include "uart.h"

const struct hvm_start_info *guest_start_info;

void guest_start(uint32_t start_info_paddr)
{
    const struct hvm_start_info *si = (const struct hvm_start_info *)(uintptr_t)start_info_paddr;

    uart_init();
    cpu_init();
    if (si && si->magic == HVM_START_MAGIC) {
        guest_start_info = si;
        cmdline_init(si->cmdline_paddr);
    } else {
        cmdline_init(0);
    }
    guest_exit((uint8_t)guest_main());
}

void guest_exit(uint8_t status)
{
    outb(GUEST_EXIT_PORT, status);
    /* Only reached when nothing listens on the exit port. */
    for (;;) {
        if (cpu_cpl() == 0)
            __asm__ volatile("cli; hlt");
        else
            __asm__ volatile("pause");
    }
}

uint64_t guest_ram_top_below_4g(void)
{
    const struct hvm_start_info *si = guest_start_info;
    uint64_t top = 0;

    if (!si || si->version < 1 || !si->memmap_paddr || si->memmap_paddr >= (1ull << 32))
        return 0;
    const struct hvm_memmap_table_entry *e =
        (const struct hvm_memmap_table_entry *)(uintptr_t)si->memmap_paddr;
    for (uint32_t i = 0; i < si->memmap_entries && i < 128; i++) {
        uint64_t end = e[i].addr + e[i].size;
        if (e[i].type == 1 && e[i].addr < (1ull << 32) && end > top)
            top = end < (1ull << 32) ? end : (1ull << 32);
    }
    return top;
}
