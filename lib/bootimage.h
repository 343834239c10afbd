/* Direct-boot images: what a kernel file is and where its pieces go in
 * guest RAM, without touching RAM.  Two formats are taken:
 *
 *   - an ELF with Xen's PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY), entered
 *     in 32-bit protected mode with %ebx = hvm_start_info;
 *   - a Linux/x86 bzImage (Documentation/x86/boot.rst, protocol 2.12 or
 *     later with XLF_KERNEL_64), entered at startup_64 with %rsi = the zero
 *     page.
 *
 * The image and every number in it are untrusted: the parser checks each
 * header field against the file and against the guest's RAM, so that the
 * loader (vmm/boot.c) only copies what the plan says.  stubctl uses the same
 * parser to refuse at create a ramdisk that cannot fit.
 *
 * The low guest memory the loader fills (below 1 MiB; no kernel may load
 * there) is laid out here, one owner for both boot paths. */
#ifndef STUBVISOR_LIB_BOOTIMAGE_H
#define STUBVISOR_LIB_BOOTIMAGE_H

#include <stddef.h>
#include <stdint.h>

#define BOOT_GDT_GPA       0x0500u   /* bzImage: the GDT the 64-bit entry needs */
#define BOOT_PVH_INFO_GPA  0x1000u   /* PVH: hvm_start_info, memory map, module list */
#define BOOT_CMDLINE_GPA   0x2000u   /* both: the command line, NUL-terminated */
#define BOOT_CMDLINE_MAX   4095u     /* bytes without the NUL (fits below the zero page) */
#define BOOT_ZERO_PAGE_GPA 0x7000u   /* bzImage: struct boot_params */
#define BOOT_PML4_GPA      0x9000u   /* bzImage: PML4, PDPT, 4 PDs: 4 GiB identity map */
#define BOOT_INFO_END      0xf000u   /* first byte above what the loader writes low */
#define BOOT_KERNEL_MIN    0x100000u /* a bzImage loads at 1 MiB or above */

/* Guest-physical layout the e820 map describes (docs/stubvmm.md). */
#define BOOT_E820_RAM      1
#define BOOT_E820_RESERVED 2
#define BOOT_PCI_HOLE      0xc0000000ull /* RAM stays below; the hole is a gap */
#define BOOT_E820_MAX      8

struct boot_e820 {
    uint64_t addr, size;
    uint32_t type;
};

/* The guest's memory map for ram_bytes of RAM from 0 (at most the PCI
 * hole): conventional memory, the EBDA and BIOS area reserved, RAM from
 * 1 MiB, the IOAPIC and local APIC pages reserved.  Returns the number of
 * entries (at most BOOT_E820_MAX), in ascending order. */
unsigned boot_e820_map(uint64_t ram_bytes, struct boot_e820 *map);

enum boot_image_kind { BOOT_IMAGE_PVH, BOOT_IMAGE_BZIMAGE };

#define BOOT_MAX_SEGMENTS 32

/* A PT_LOAD segment: file bytes [offset, offset + filesz) to paddr, then
 * zeros up to memsz. */
struct boot_segment {
    uint64_t offset, paddr, filesz, memsz;
};

struct boot_image {
    enum boot_image_kind kind;
    uint64_t lo, hi; /* guest-physical span of the loaded kernel, [lo, hi) */

    /* PVH */
    uint32_t entry;
    unsigned nr_segments;
    struct boot_segment seg[BOOT_MAX_SEGMENTS];

    /* bzImage */
    uint16_t version;      /* boot protocol, 0x20c = 2.12 */
    size_t setup_size;     /* real-mode part: (setup_sects + 1) * 512 bytes */
    size_t header_end;     /* the setup header is file[0x1f1, header_end) */
    uint64_t load_addr;    /* where the protected-mode kernel goes */
    uint64_t kernel_size;  /* its bytes in the file (after the setup) */
    uint32_t init_size;    /* what it needs from load_addr, >= kernel_size */
    uint32_t cmdline_size; /* longest command line it takes, without the NUL */
    uint32_t initrd_max;   /* highest address the initrd may occupy */
};

/* Identify and check the image (size bytes) for a guest whose RAM is
 * [0, ram_bytes).  Returns 0 and fills *bi, or -ENOEXEC with a sentence in
 * err ("bzImage: boot protocol 2.04 is older than 2.12 ..."); an image that
 * is neither format gets one naming the formats taken. */
int boot_image_parse(const uint8_t *img, size_t size, uint64_t ram_bytes, struct boot_image *bi,
                     char *err, size_t errlen);

/* Where a ramdisk of `size` bytes goes: page-aligned, as high as RAM (and
 * for a bzImage its initrd_addr_max) allows, above the kernel and the boot
 * information.  Returns 0 and *gpa, or -E2BIG with a sentence in err. */
int boot_ramdisk_place(const struct boot_image *bi, uint64_t ram_bytes, uint64_t size,
                       uint64_t *gpa, char *err, size_t errlen);

/* A command line of len bytes for this kernel: 0, or -E2BIG with a
 * sentence in err (longer than the kernel's cmdline_size or ours). */
int boot_cmdline_check(const struct boot_image *bi, size_t len, char *err, size_t errlen);

#endif
