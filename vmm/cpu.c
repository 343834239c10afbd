/* vCPU creation and boot state: CPUID, MSRs, LAPIC, and the PVH entry
 * state (32-bit protected mode, paging off, flat segments). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

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

/* KVM_GET_SUPPORTED_CPUID, growing the buffer until it fits. */
static struct kvm_cpuid2 *supported_cpuid(int kvm_fd)
{
    for (unsigned n = 64; n <= 4096; n *= 2) {
        struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
        if (!c)
            return NULL;
        c->nent = n;
        if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
            return c;
        free(c);
        if (errno != E2BIG)
            return NULL;
    }
    return NULL;
}

static int set_cpuid(struct vcpu *v, const struct kvm_cpuid2 *base)
{
    size_t bytes = sizeof(*base) + base->nent * sizeof(base->entries[0]);
    struct kvm_cpuid2 *c = malloc(bytes);
    int rc = 0;

    if (!c)
        return -ENOMEM;
    memcpy(c, base, bytes);
    for (unsigned i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 *e = &c->entries[i];
        switch (e->function) {
        case 1:
            /* Initial APIC id, and "running under a hypervisor". */
            e->ebx = (e->ebx & 0x00ffffffu) | (v->id << 24);
            e->ecx |= 1u << 31;
            break;
        case 0xb:
        case 0x1f:
            e->edx = v->id; /* x2APIC id */
            break;
        }
    }
    if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0)
        rc = -errno;
    free(c);
    return rc;
}

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
 * segments (0x10), %ebx = hvm_start_info, everything else zero. */
static int set_pvh_entry(struct vmm *vmm, struct vcpu *v)
{
    struct kvm_sregs s;
    struct kvm_regs r;

    if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
        return -errno;
    flat_segment(&s.cs, 0x8, 0xb);
    flat_segment(&s.ds, 0x10, 0x3);
    s.es = s.fs = s.gs = s.ss = s.ds;
    s.tr = (struct kvm_segment){.limit = 0x67, .type = 0xb, .present = 1};
    s.ldt = (struct kvm_segment){.limit = 0xffff, .type = 0x2, .present = 1};
    s.cr0 = 0x11; /* PE | ET */
    s.cr3 = 0;
    s.cr4 = 0;
    s.efer = 0;
    if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
        return -errno;
    memset(&r, 0, sizeof(r));
    r.rflags = 0x2;
    r.rip = vmm->entry;
    r.rbx = vmm->start_info;
    return ioctl(v->fd, KVM_SET_REGS, &r) < 0 ? -errno : 0;
}

int vmm_create_vcpus(struct vmm *vmm, unsigned nr)
{
    struct kvm_cpuid2 *cpuid = supported_cpuid(vmm->kvm_fd);
    int rc = 0;

    if (!cpuid) {
        log_error("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
        return -EIO;
    }
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
        if ((rc = set_cpuid(v, cpuid)) < 0 || (rc = set_msrs(v)) < 0 || (rc = set_lapic(v)) < 0 ||
            (i == 0 && (rc = set_pvh_entry(vmm, v)) < 0)) {
            log_error("setting up vCPU %u: %s", i, strerror(-rc));
            goto out;
        }
    }
out:
    free(cpuid);
    return rc;
}
