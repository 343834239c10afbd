/* The direct-boot loader (boot.c, pvh.c, bzimage.c): a kernel image that
 * lib/bootimage.c has checked, copied into guest RAM with its boot
 * information.  The monitor itself calls only vmm_load_guest() (vmm.h). */
#ifndef STUBVISOR_VMM_BOOT_H
#define STUBVISOR_VMM_BOOT_H

#include "lib/bootimage.h"
#include "vmm/vmm.h"

/* What goes with the kernel: its command line (checked against the
 * kernel's limit) and the ramdisk, already in RAM (size 0: none). */
struct boot_extras {
    const char *cmdline;
    uint64_t initrd_gpa, initrd_size;
};

/* Copy the image's segments and write hvm_start_info (module 0 is the
 * ramdisk).  Sets vmm->boot_mode, entry, start_info.  0 or -errno (logged). */
int pvh_load(struct vmm *vmm, const struct boot_image *bi, const uint8_t *img,
             const struct boot_extras *x);

/* Copy the protected-mode kernel where the plan says and write the zero
 * page, the e820 map, the identity page tables and the GDT the 64-bit boot
 * protocol asks for.  Sets vmm->boot_mode, entry, start_info.  0 or -errno
 * (logged). */
int bzimage_load(struct vmm *vmm, const struct boot_image *bi, const uint8_t *img,
                 const struct boot_extras *x);

/* The command line at BOOT_CMDLINE_GPA.  0 or -EINVAL. */
int boot_write_cmdline(struct vmm *vmm, const char *cmdline);

#endif
