/* vCPU creation and boot state: CPUID (cpuid.c), MSRs, LAPIC, and the
 * entry state of a directly booted kernel: PVH (32-bit protected mode,
 * paging off, flat segments) or Linux's startup_64 (long mode). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "lib/bootimage.h"
#include "lib/fdio.h"
#include "lib/log.h"
#include "vmm/vmm.h"

#define MSR_IA32_SYSENTER_CS    0x174
#define MSR_IA32_SYSENTER_ESP   0x175
#define MSR_IA32_SYSENTER_EIP   0x176
#define MSR_IA32_TSC            0x10
#define MSR_IA32_MISC_ENABLE    0x1a0
#define MSR_STAR                0xc0000081
#define MSR_LSTAR               0xc0000082
#define MSR_CSTAR               0xc0000083
#define MSR_SYSCALL_MASK        0xc0000084
#define MSR_KERNEL_GS_BASE      0xc0000102
#define MISC_ENABLE_FAST_STRING 0x1

#define APIC_LVT0        0x350
#define APIC_LVT1        0x360
#define APIC_MODE_NMI    0x4
#define APIC_MODE_EXTINT 0x7

static int set_msrs(struct vcpu *v)
{
    static const struct {
        uint32_t index;
        uint64_t data;
    } init[] = {
        {MSR_IA32_SYSENTER_CS, 0},
        {MSR_IA32_SYSENTER_ESP, 0},
        {MSR_IA32_SYSENTER_EIP, 0},
        {MSR_STAR, 0},
        {MSR_CSTAR, 0},
        {MSR_KERNEL_GS_BASE, 0},
        {MSR_SYSCALL_MASK, 0},
        {MSR_LSTAR, 0},
        {MSR_IA32_TSC, 0},
        {MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING},
    };
    enum { N = sizeof(init) / sizeof(init[0]) };
    struct kvm_msrs *m = calloc(1, sizeof(*m) + N * sizeof(m->entries[0]));
    int r;

    if (!m)
        return -ENOMEM;
    m->nmsrs = N;
    for (unsigned i = 0; i < N; i++) {
        m->entries[i].index = init[i].index;
        m->entries[i].data = init[i].data;
    }
    r = ioctl(v->fd, KVM_SET_MSRS, m);
    free(m);
    return r == N ? 0 : -EIO;
}

/* LINT0 delivers the 8259's ExtINT, LINT1 NMI: the PC wiring. */
static int set_lapic(struct vcpu *v)
{
    struct kvm_lapic_state l;
    uint32_t lvt;

    if (ioctl(v->fd, KVM_GET_LAPIC, &l) < 0)
        return -errno;
    memcpy(&lvt, &l.regs[APIC_LVT0], 4);
    lvt = (lvt & ~0x700u) | (APIC_MODE_EXTINT << 8);
    memcpy(&l.regs[APIC_LVT0], &lvt, 4);
    memcpy(&lvt, &l.regs[APIC_LVT1], 4);
    lvt = (lvt & ~0x700u) | (APIC_MODE_NMI << 8);
    memcpy(&l.regs[APIC_LVT1], &lvt, 4);
    return ioctl(v->fd, KVM_SET_LAPIC, &l) < 0 ? -errno : 0;
}

static void flat_segment(struct kvm_segment *s, uint16_t selector, uint8_t type)
{
    *s = (struct kvm_segment){
        .base = 0,
        .limit = 0xffffffff,
        .selector = selector,
        .type = type,
        .present = 1,
        .dpl = 0,
        .db = 1,
        .s = 1,
        .l = 0,
        .g = 1,
    };
}

/* The PVH boot ABI: CR0.PE, paging off, 4 GiB flat CS (code, 0x8) and data
 * segments (0x10), %ebx = hvm_start_info, everything else zero.  Linux's
 * 64-bit boot protocol: long mode on the identity map and GDT bzimage.c
 * wrote, CS = __BOOT_CS (0x10), the rest __BOOT_DS (0x18), interrupts off,
 * %rsi = the zero page. */
static int set_boot_entry(struct vmm *vmm, struct vcpu *v)
{
    bool linux64 = vmm->boot_mode == VMM_BOOT_LINUX64;
    struct kvm_sregs s;
    struct kvm_regs r;

    if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
        return -errno;
    flat_segment(&s.cs, linux64 ? 0x10 : 0x8, 0xb);
    flat_segment(&s.ds, linux64 ? 0x18 : 0x10, 0x3);
    s.es = s.fs = s.gs = s.ss = s.ds;
    s.tr = (struct kvm_segment){.limit = 0x67, .type = 0xb, .present = 1};
    s.ldt = (struct kvm_segment){.limit = 0xffff, .type = 0x2, .present = 1};
    s.cr0 = 0x11; /* PE | ET */
    s.cr3 = 0;
    s.cr4 = 0;
    s.efer = 0;
    if (linux64) {
        s.cs.l = 1;
        s.cs.db = 0;
        s.gdt.base = BOOT_GDT_GPA;
        s.gdt.limit = 4 * 8 - 1;
        s.cr0 |= 0x80000000u; /* PG */
        s.cr3 = BOOT_PML4_GPA;
        s.cr4 = 0x20;   /* PAE */
        s.efer = 0x500; /* LME | LMA */
    }
    if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
        return -errno;
    memset(&r, 0, sizeof(r));
    r.rflags = 0x2;
    r.rip = vmm->entry;
    if (linux64)
        r.rsi = vmm->start_info;
    else
        r.rbx = vmm->start_info;
    return ioctl(v->fd, KVM_SET_REGS, &r) < 0 ? -errno : 0;
}

int vmm_create_vcpus(struct vmm *vmm, unsigned nr)
{
    int rc = 0;

    if (!vmm->cpuid && (rc = vmm_cpuid_init(vmm, NULL)) < 0)
        return rc;
    for (unsigned i = 0; i < nr; i++) {
        struct vcpu *v = &vmm->vcpus[i];
        v->vmm = vmm;
        v->id = i;
        v->fd = ioctl(vmm->vm_fd, KVM_CREATE_VCPU, (unsigned long)i);
        if (v->fd < 0) {
            rc = -errno;
            log_error("KVM_CREATE_VCPU %u: %s", i, strerror(errno));
            goto out;
        }
        fd_set_cloexec(v->fd, 1);
        vmm->nr_vcpus = i + 1;
        v->run = mmap(NULL, vmm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
        if (v->run == MAP_FAILED) {
            v->run = NULL;
            rc = -errno;
            log_error("mapping kvm_run of vCPU %u: %s", i, strerror(errno));
            goto out;
        }
        if ((rc = vmm_cpuid_apply(v)) < 0 || (rc = set_msrs(v)) < 0 || (rc = set_lapic(v)) < 0 ||
            (i == 0 && (rc = set_boot_entry(vmm, v)) < 0)) {
            log_error("setting up vCPU %u: %s", i, strerror(-rc));
            goto out;
        }
    }
out:
    return rc;
}
