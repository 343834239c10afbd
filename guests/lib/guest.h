/*
 * The test-guest runtime: what every guest gets before guest_main() runs
 * (long mode, identity map of the first 4 GiB, exception handlers, COM1
 * initialised, command line parsed) and how it ends.
 */
#ifndef GUEST_GUEST_H
#define GUEST_GUEST_H

#include <stdint.h>

/* Exit codes the guests agree on. */
#define GUEST_EXIT_OK        0
#define GUEST_EXIT_FAIL      1
#define GUEST_EXIT_EXCEPTION 3

/* isa-debug-exit: QEMU exits with (v << 1) | 1, stubvmm with v. */
#define GUEST_EXIT_PORT 0xf4

/* Xen's struct hvm_start_info (public/arch-x86/hvm/start_info.h). */
#define HVM_START_MAGIC 0x336ec578
struct hvm_start_info {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr; /* version >= 1 */
    uint32_t memmap_entries;
    uint32_t reserved;
};

struct hvm_memmap_table_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type; /* 1 = RAM, as in the E820 */
    uint32_t reserved;
};

/* The start info the loader handed over, or NULL if its magic was wrong. */
extern const struct hvm_start_info *guest_start_info;

/* Each guest defines this; its return value becomes the exit status. */
int guest_main(void);

/* Reports `status` through the debug-exit port and never returns. */
_Noreturn void guest_exit(uint8_t status);

/* Called from entry.S with the start info's physical address. */
_Noreturn void guest_start(uint32_t start_info_paddr);

/* The end of the loaded image, .bss included (link.ld).  RAM above it is
 * the guest's to use once the command line and memory map have been read
 * (stubvmm puts them below 1 MiB anyway). */
extern char __image_end[];

/* Highest end of RAM below 4 GiB in the memory map, or 0 when none. */
uint64_t guest_ram_top_below_4g(void);

#endif
