/* PVH direct boot: copy the segments of a checked PVH ELF (lib/bootimage.c
 * parsed it) and hand the kernel an hvm_start_info (the format QEMU's
 * -kernel boots) with the memory map, the command line and the ramdisk as
 * module 0.  Every guest address goes through gpa_ptr(). */
#include <errno.h>
#include <string.h>

#include "lib/log.h"
#include "vmm/boot.h"

#define HVM_START_MAGIC 0x336ec578u

/* Xen's public/arch-x86/hvm/start_info.h, version 1. */
struct hvm_start_info {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr;
    uint32_t memmap_entries;
    uint32_t reserved;
};

struct hvm_memmap_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
};

struct hvm_modlist_entry {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
};

/* In the start-info page: the start info, the memory map, the module list. */
#define MEMMAP_GPA  (BOOT_PVH_INFO_GPA + sizeof(struct hvm_start_info))
#define MODLIST_GPA (BOOT_PVH_INFO_GPA + 0x800u)

int pvh_load(struct vmm *vmm, const struct boot_image *bi, const uint8_t *img,
             const struct boot_extras *x)
{
    struct boot_e820 e820[BOOT_E820_MAX];
    unsigned n = boot_e820_map(vmm->ram_size, e820);
    struct hvm_memmap_entry map[BOOT_E820_MAX];
    struct hvm_modlist_entry mod = {.paddr = x->initrd_gpa, .size = x->initrd_size};
    struct hvm_start_info si = {
        .magic = HVM_START_MAGIC,
        .version = 1,
        .cmdline_paddr = BOOT_CMDLINE_GPA,
        .memmap_paddr = MEMMAP_GPA,
        .memmap_entries = n,
        .nr_modules = x->initrd_size ? 1 : 0,
        .modlist_paddr = x->initrd_size ? MODLIST_GPA : 0,
    };
    uint8_t *p_si = gpa_ptr(vmm, BOOT_PVH_INFO_GPA, sizeof(si));
    uint8_t *p_map = gpa_ptr(vmm, MEMMAP_GPA, sizeof(map));
    uint8_t *p_mod = gpa_ptr(vmm, MODLIST_GPA, sizeof(mod));

    if (!p_si || !p_map || !p_mod || boot_write_cmdline(vmm, x->cmdline) < 0) {
        log_error("kernel: guest RAM does not hold the boot information");
        return -EINVAL;
    }
    for (unsigned i = 0; i < bi->nr_segments; i++) {
        const struct boot_segment *s = &bi->seg[i];
        uint8_t *dst = gpa_ptr(vmm, s->paddr, s->memsz);
        if (!dst) { /* the parser checked it against the same RAM */
            log_error("kernel: segment %u does not fit in guest RAM", i);
            return -ENOEXEC;
        }
        memcpy(dst, img + s->offset, s->filesz);
        memset(dst + s->filesz, 0, s->memsz - s->filesz);
    }
    memset(map, 0, sizeof(map));
    for (unsigned i = 0; i < n; i++)
        map[i] = (struct hvm_memmap_entry){e820[i].addr, e820[i].size, e820[i].type, 0};
    memcpy(p_si, &si, sizeof(si));
    memcpy(p_map, map, sizeof(map));
    memcpy(p_mod, &mod, sizeof(mod));
    vmm->boot_mode = VMM_BOOT_PVH;
    vmm->entry = bi->entry;
    vmm->start_info = BOOT_PVH_INFO_GPA;
    return 0;
}
