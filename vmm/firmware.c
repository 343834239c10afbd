/* Firmware boot: the image at the top of 4 GiB and in the BIOS area, the
 * vCPU at the reset vector.  See vmm/firmware.h. */
#include "vmm/firmware.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "lib/log.h"

const char *firmware_path(const char *name)
{
    return strcmp(name, "seabios") == 0 ? FIRMWARE_SEABIOS : name;
}

int firmware_load(struct vmm *vmm, const uint8_t *image, size_t size)
{
    struct kvm_userspace_memory_region region;
    size_t low = size < FIRMWARE_LOW_SIZE ? size : FIRMWARE_LOW_SIZE;
    uint8_t *rom, *dst;

    if (size < (64u << 10) || size > FIRMWARE_MAX_SIZE || size % (64u << 10)) {
        log_error("firmware: %zu bytes; expected a multiple of 64 KiB up to %u KiB", size,
                  FIRMWARE_MAX_SIZE >> 10);
        return -EINVAL;
    }
    if (ioctl(vmm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) <= 0) {
        log_error("firmware: KVM has no read-only memory slots");
        return -ENOTSUP;
    }
    dst = gpa_ptr(vmm, 0x100000u - low, low);
    if (!dst) {
        log_error("firmware: guest RAM does not cover the BIOS area");
        return -EINVAL;
    }
    /* Our own copy for the ROM slot: the guest cannot write it, and
     * nothing else holds it.  Freed with the process. */
    rom = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (rom == MAP_FAILED) {
        log_error("firmware: %s", strerror(errno));
        return -errno;
    }
    memcpy(rom, image, size);
    region = (struct kvm_userspace_memory_region){
        .slot = FIRMWARE_MEMORY_SLOT,
        .flags = KVM_MEM_READONLY,
        .guest_phys_addr = (1ull << 32) - size,
        .memory_size = size,
        .userspace_addr = (uintptr_t)rom,
    };
    if (ioctl(vmm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
        int rc = -errno;
        log_error("firmware: KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
        munmap(rom, size);
        return rc;
    }
    memcpy(dst, image + size - low, low);
    return 0;
}

int firmware_reset_vcpu(struct vcpu *v)
{
    struct kvm_segment data = {.limit = 0xffff, .type = 0x3, .present = 1, .s = 1};
    struct kvm_sregs s;
    struct kvm_regs r;

    if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
        return -errno;
    s.cs = data;
    s.cs.type = 0xb;
    s.cs.selector = 0xf000;
    s.cs.base = 0xffff0000;
    s.ds = s.es = s.fs = s.gs = s.ss = data;
    s.tr = (struct kvm_segment){.limit = 0xffff, .type = 0xb, .present = 1};
    s.ldt = (struct kvm_segment){.limit = 0xffff, .type = 0x2, .present = 1};
    s.gdt.base = s.idt.base = 0;
    s.gdt.limit = s.idt.limit = 0xffff;
    s.cr0 = 0x60000010; /* CD | NW | ET */
    s.cr2 = s.cr3 = s.cr4 = 0;
    s.efer = 0;
    if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
        return -errno;
    memset(&r, 0, sizeof(r));
    r.rflags = 0x2;
    r.rip = 0xfff0;
    r.rdx = 0x600; /* processor signature at reset: family 6 */
    return ioctl(v->fd, KVM_SET_REGS, &r) < 0 ? -errno : 0;
}
