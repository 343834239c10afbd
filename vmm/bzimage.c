/* Linux/x86 64-bit boot protocol (Documentation/x86/boot.rst): the
 * protected-mode kernel at the address lib/bootimage.c chose, the zero page
 * (struct boot_params) with the kernel's own setup header, the e820 map, the
 * command line and the ramdisk, and the state startup_64 expects: long mode,
 * an identity map covering the kernel, the zero page, the command line and
 * the ramdisk (we map the first 4 GiB), a GDT with __BOOT_CS (0x10) and
 * __BOOT_DS (0x18).  cpu.c puts the vCPU there. */
#include <errno.h>
#include <string.h>

#include "lib/log.h"
#include "lib/savefile.h"
#include "vmm/boot.h"

/* Offsets in struct boot_params. */
#define ZP_ALT_MEM_K      0x1e0
#define ZP_E820_ENTRIES   0x1e8
#define ZP_HDR            0x1f1
#define ZP_TYPE_OF_LOADER 0x210
#define ZP_LOADFLAGS      0x211
#define ZP_CODE32_START   0x214
#define ZP_RAMDISK_IMAGE  0x218
#define ZP_RAMDISK_SIZE   0x21c
#define ZP_HEAP_END_PTR   0x224
#define ZP_CMD_LINE_PTR   0x228
#define ZP_E820_TABLE     0x2d0
#define ZP_E820_MAX       128
#define E820_ENTRY_SIZE   20
#define LOADER_UNDEFINED  0xff /* boot.rst: a loader without an assigned id */
#define CAN_USE_HEAP      0x80

#define PDE_2M    0x83ull /* present, writable, 2 MiB page */
#define PTE_TABLE 0x03ull /* present, writable */

static void put_zero_page(uint8_t *zp, const struct boot_image *bi, const uint8_t *img,
                          const struct boot_extras *x, uint64_t ram_bytes)
{
    struct boot_e820 map[BOOT_E820_MAX];
    unsigned n = boot_e820_map(ram_bytes, map);

    /* Screen info (offset 0) stays zero: no VGA, a serial-only machine. */
    memset(zp, 0, 4096);
    memcpy(zp + ZP_HDR, img + ZP_HDR, bi->header_end - ZP_HDR);
    zp[ZP_TYPE_OF_LOADER] = LOADER_UNDEFINED;
    zp[ZP_LOADFLAGS] &= (uint8_t)~CAN_USE_HEAP; /* no real-mode heap: we skip the setup */
    zp[ZP_HEAP_END_PTR] = zp[ZP_HEAP_END_PTR + 1] = 0;
    savefile_put32(zp + ZP_CODE32_START, (uint32_t)bi->load_addr);
    savefile_put32(zp + ZP_CMD_LINE_PTR, BOOT_CMDLINE_GPA);
    savefile_put32(zp + ZP_RAMDISK_IMAGE, (uint32_t)x->initrd_gpa);
    savefile_put32(zp + ZP_RAMDISK_SIZE, (uint32_t)x->initrd_size);
    savefile_put32(zp + ZP_ALT_MEM_K, (uint32_t)((ram_bytes - 0x100000) >> 10));
    zp[ZP_E820_ENTRIES] = (uint8_t)n;
    for (unsigned i = 0; i < n && i < ZP_E820_MAX; i++) {
        uint8_t *e = zp + ZP_E820_TABLE + i * E820_ENTRY_SIZE;
        savefile_put64(e, map[i].addr);
        savefile_put64(e + 8, map[i].size);
        savefile_put32(e + 16, map[i].type);
    }
}

/* PML4 -> PDPT -> 4 page directories of 2 MiB pages: 0 to 4 GiB. */
static void put_page_tables(uint8_t *pt)
{
    uint8_t *pml4 = pt, *pdpt = pt + 0x1000, *pd = pt + 0x2000;

    memset(pt, 0, 6 * 0x1000);
    savefile_put64(pml4, (BOOT_PML4_GPA + 0x1000) | PTE_TABLE);
    for (unsigned i = 0; i < 4; i++)
        savefile_put64(pdpt + 8 * i, (BOOT_PML4_GPA + 0x2000 + 0x1000ull * i) | PTE_TABLE);
    for (unsigned i = 0; i < 4 * 512; i++)
        savefile_put64(pd + 8 * i, ((uint64_t)i << 21) | PDE_2M);
}

/* null, null, __BOOT_CS (64-bit code), __BOOT_DS (flat data). */
static void put_gdt(uint8_t *gdt)
{
    static const uint64_t desc[] = {0, 0, 0x00af9b000000ffffull, 0x00cf93000000ffffull};

    for (unsigned i = 0; i < 4; i++)
        savefile_put64(gdt + 8 * i, desc[i]);
}

int bzimage_load(struct vmm *vmm, const struct boot_image *bi, const uint8_t *img,
                 const struct boot_extras *x)
{
    uint8_t *kernel = gpa_ptr(vmm, bi->load_addr, bi->init_size);
    uint8_t *zp = gpa_ptr(vmm, BOOT_ZERO_PAGE_GPA, 4096);
    uint8_t *pt = gpa_ptr(vmm, BOOT_PML4_GPA, 6 * 0x1000);
    uint8_t *gdt = gpa_ptr(vmm, BOOT_GDT_GPA, 32);

    if (!kernel || !zp || !pt || !gdt || boot_write_cmdline(vmm, x->cmdline) < 0) {
        log_error("bzImage: guest RAM does not hold the kernel and its boot information");
        return -EINVAL;
    }
    memcpy(kernel, img + bi->setup_size, bi->kernel_size);
    memset(kernel + bi->kernel_size, 0, bi->init_size - bi->kernel_size);
    put_zero_page(zp, bi, img, x, vmm->ram_size);
    put_page_tables(pt);
    put_gdt(gdt);
    vmm->boot_mode = VMM_BOOT_LINUX64;
    vmm->entry = (uint32_t)bi->load_addr + 0x200; /* startup_64 */
    vmm->start_info = BOOT_ZERO_PAGE_GPA;
    return 0;
}
