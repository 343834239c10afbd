/* Booting firmware (SeaBIOS) instead of a PVH kernel.
 *
 * The image (64 KiB to 1 MiB, a multiple of 64 KiB) is mapped read-only
 * at the top of the 32-bit space, [4 GiB - size, 4 GiB), as a KVM
 * read-only memory slot: the reset vector at 0xfffffff0 runs from it and
 * writes there exit as MMIO (unclaimed, dropped).  Its last 128 KiB are
 * also copied into guest RAM at 0xe0000-0xfffff, the legacy BIOS area:
 * SeaBIOS's 16-bit code runs from there, and when it opens the shadow
 * through the i440FX PAM registers and copies itself down, the copy lands
 * in RAM that is always writable (the PAM bits are stored, not enforced).
 */
#ifndef STUBVISOR_VMM_FIRMWARE_H
#define STUBVISOR_VMM_FIRMWARE_H

#include "vmm/vmm.h"

#define FIRMWARE_SEABIOS     "/usr/share/seabios/bios.bin"
#define FIRMWARE_MAX_SIZE    (1u << 20)
#define FIRMWARE_LOW_SIZE    (128u << 10)
#define FIRMWARE_LOW_BASE    (0x100000u - FIRMWARE_LOW_SIZE)
#define FIRMWARE_MEMORY_SLOT 1

/* "seabios" or a path: the file's name to open. */
const char *firmware_path(const char *name);

/* Map firmware image (size bytes, untrusted) into the guest as above.
 * Guest RAM must cover the BIOS area (at least 1 MiB).  Returns 0 or
 * -errno with a message logged (-EINVAL for a bad size). */
int firmware_load(struct vmm *vmm, const uint8_t *image, size_t size);

/* Put vCPU 0 in the architectural reset state (real mode, CS base
 * 0xffff0000, IP 0xfff0), undoing the PVH entry state vmm_create_vcpus()
 * set.  Returns 0 or -errno. */
int firmware_reset_vcpu(struct vcpu *v);

#endif
