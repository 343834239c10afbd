/* The VM and VCPU payloads of a save file <-> struct vm_snap / vcpu_snap.
 * KVM's own structures are stored as they are (their layout is the kernel
 * ABI, little-endian on x86-64); what this file adds is the checking of an
 * untrusted payload before any of it reaches KVM or our own arrays. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/snapshot.h"

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
                                                      ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

int vm_snap_encode(const struct vm_snap *s, uint8_t **buf, size_t *len)
{
    uint8_t *b = calloc(1, sizeof(struct savefile_vm_head));
    size_t l = sizeof(struct savefile_vm_head);
    uint8_t cf8[4], *cpuid = NULL;
    size_t cpuid_len = 8 + (size_t)s->cpuid_nent * sizeof(s->cpuid[0]);
    int rc = 0;

    if (!b)
        return -ENOMEM;
    savefile_put64(b, s->memory_bytes);
    savefile_put32(b + 8, s->nr_vcpus);
    savefile_put32(b + 12, s->placement);
    savefile_put32(cf8, s->pci_cf8);
    rc = savefile_record_put(&b, &l, SNAP_VM_PIC_MASTER, &s->pic_master, sizeof(s->pic_master));
    if (!rc)
        rc = savefile_record_put(&b, &l, SNAP_VM_PIC_SLAVE, &s->pic_slave, sizeof(s->pic_slave));
    if (!rc)
        rc = savefile_record_put(&b, &l, SNAP_VM_IOAPIC, &s->ioapic, sizeof(s->ioapic));
    if (!rc)
        rc = savefile_record_put(&b, &l, SNAP_VM_PIT2, &s->pit, sizeof(s->pit));
    if (!rc)
        rc = savefile_record_put(&b, &l, SNAP_VM_CLOCK, &s->clock, sizeof(s->clock));
    if (!rc)
        rc = savefile_record_put(&b, &l, SNAP_VM_PCI_CF8, cf8, sizeof(cf8));
    if (!rc && s->cpuid_nent) {
        cpuid = calloc(1, cpuid_len);
        if (!cpuid) {
            rc = -ENOMEM;
        } else {
            savefile_put32(cpuid, s->cpuid_nent);
            memcpy(cpuid + 8, s->cpuid, cpuid_len - 8);
            rc = savefile_record_put(&b, &l, SNAP_VM_CPUID, cpuid, (uint32_t)cpuid_len);
        }
    }
    free(cpuid);
    if (rc) {
        free(b);
        return rc;
    }
    *buf = b;
    *len = l;
    return 0;
}

int vcpu_snap_encode(const struct vcpu_snap *s, uint8_t **buf, size_t *len)
{
    uint8_t *b = calloc(1, sizeof(struct savefile_vcpu_head));
    size_t l = sizeof(struct savefile_vcpu_head);
    uint8_t *msrs = NULL;
    int rc = 0;

    if (!b)
        return -ENOMEM;
    savefile_put32(b, s->id);
    rc = savefile_record_put(&b, &l, SNAP_VCPU_REGS, &s->regs, sizeof(s->regs));
    if (!rc)
        rc = savefile_record_put(&b, &l, SNAP_VCPU_SREGS, &s->sregs, sizeof(s->sregs));
    if (!rc && s->has_xsave)
        rc = savefile_record_put(&b, &l, SNAP_VCPU_XSAVE, s->xsave, s->xsave_len);
    if (!rc && !s->has_xsave)
        rc = savefile_record_put(&b, &l, SNAP_VCPU_FPU, &s->fpu, sizeof(s->fpu));
    if (!rc && s->has_xcrs)
        rc = savefile_record_put(&b, &l, SNAP_VCPU_XCRS, &s->xcrs, sizeof(s->xcrs));
    if (!rc) {
        size_t n = 8 + (size_t)s->nr_msrs * sizeof(s->msrs[0]);
        msrs = calloc(1, n);
        if (!msrs) {
            rc = -ENOMEM;
        } else {
            savefile_put32(msrs, s->nr_msrs);
            memcpy(msrs + 8, s->msrs, n - 8);
            rc = savefile_record_put(&b, &l, SNAP_VCPU_MSRS, msrs, (uint32_t)n);
        }
    }
    if (!rc)
        rc = savefile_record_put(&b, &l, SNAP_VCPU_LAPIC, &s->lapic, sizeof(s->lapic));
    if (!rc)
        rc = savefile_record_put(&b, &l, SNAP_VCPU_EVENTS, &s->events, sizeof(s->events));
    if (!rc)
        rc = savefile_record_put(&b, &l, SNAP_VCPU_MP_STATE, &s->mp_state, sizeof(s->mp_state));
    if (!rc)
        rc = savefile_record_put(&b, &l, SNAP_VCPU_DEBUGREGS, &s->debugregs, sizeof(s->debugregs));
    free(msrs);
    if (rc) {
        free(b);
        return rc;
    }
    *buf = b;
    *len = l;
    return 0;
}

/* A fixed-size record: copy it if the size is right. */
static int take(const uint8_t *d, uint32_t dlen, void *dst, size_t size, const char *what,
                char *err, size_t errlen)
{
    if (dlen != size)
        return fail(err, errlen, "%s: %u bytes, expected %zu", what, dlen, size);
    memcpy(dst, d, size);
    return 0;
}

/* The CPUID record: a count, then that many entries, flags KVM knows,
 * padding zero.  What the bits mean the restore checks (vmm_cpuid_adopt). */
static int cpuid_parse(const uint8_t *d, uint32_t dlen, struct vm_snap *s, const char *what,
                       char *err, size_t errlen)
{
    const uint32_t flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX | KVM_CPUID_FLAG_STATEFUL_FUNC |
                           KVM_CPUID_FLAG_STATE_READ_NEXT;
    uint32_t n;

    if (dlen < 8)
        return fail(err, errlen, "%s: too short", what);
    n = savefile_le32(d);
    if (n == 0 || n > SNAP_MAX_CPUID || savefile_le32(d + 4))
        return fail(err, errlen, "%s: %u entries (1 to %u)", what, n, SNAP_MAX_CPUID);
    if (dlen != 8 + (size_t)n * sizeof(s->cpuid[0]))
        return fail(err, errlen, "%s: %u bytes for %u entries", what, dlen, n);
    memcpy(s->cpuid, d + 8, (size_t)n * sizeof(s->cpuid[0]));
    for (uint32_t i = 0; i < n; i++) {
        const struct kvm_cpuid_entry2 *e = &s->cpuid[i];
        if ((e->flags & ~flags) || e->padding[0] || e->padding[1] || e->padding[2])
            return fail(err, errlen, "%s: leaf 0x%x: unknown flags or padding", what, e->function);
    }
    s->cpuid_nent = n;
    return 0;
}

int vm_snap_parse(const uint8_t *buf, size_t len, struct vm_snap *s, char *err, size_t errlen)
{
    static const char *const names[] = {"",     "PIC master", "PIC slave", "IOAPIC",
                                        "PIT2", "clock",      "PCI CF8",   "CPUID"};
    unsigned seen = 0;
    size_t pos = sizeof(struct savefile_vm_head);
    uint32_t tag, dlen;
    const uint8_t *d;
    int r;

    memset(s, 0, sizeof(*s));
    if (len < sizeof(struct savefile_vm_head))
        return fail(err, errlen, "section VM: too short");
    s->memory_bytes = savefile_le64(buf);
    s->nr_vcpus = savefile_le32(buf + 8);
    s->placement = savefile_le32(buf + 12);
    if (!s->memory_bytes || s->memory_bytes % SAVEFILE_PAGE_SIZE ||
        s->memory_bytes > SAVEFILE_MAX_MEMORY)
        return fail(err, errlen, "section VM: bad memory size");
    if (!s->nr_vcpus || s->nr_vcpus > SAVEFILE_MAX_VCPUS)
        return fail(err, errlen, "section VM: bad vCPU count %u", s->nr_vcpus);
    if (s->placement > SAVEFILE_PLACEMENT_INLINE)
        return fail(err, errlen, "section VM: unknown placement %u", s->placement);
    while ((r = savefile_record_next(buf, len, &pos, &tag, &d, &dlen)) > 0) {
        char what[48];
        if (tag < SNAP_VM_PIC_MASTER || tag > SNAP_VM_CPUID)
            return fail(err, errlen, "section VM: unknown record %u", tag);
        if (seen & (1u << tag))
            return fail(err, errlen, "section VM: record %s twice", names[tag]);
        seen |= 1u << tag;
        snprintf(what, sizeof(what), "section VM: %s", names[tag]);
        switch (tag) {
        case SNAP_VM_PIC_MASTER:
        case SNAP_VM_PIC_SLAVE:
        case SNAP_VM_IOAPIC: {
            struct kvm_irqchip *c = tag == SNAP_VM_PIC_MASTER  ? &s->pic_master
                                    : tag == SNAP_VM_PIC_SLAVE ? &s->pic_slave
                                                               : &s->ioapic;
            r = take(d, dlen, c, sizeof(*c), what, err, errlen);
            if (!r && c->chip_id != tag - 1)
                r = fail(err, errlen, "%s: chip id %u", what, c->chip_id);
            break;
        }
        case SNAP_VM_PIT2:
            r = take(d, dlen, &s->pit, sizeof(s->pit), what, err, errlen);
            if (!r && (s->pit.flags &
                       ~(uint32_t)(KVM_PIT_FLAGS_HPET_LEGACY | KVM_PIT_FLAGS_SPEAKER_DATA_ON)))
                r = fail(err, errlen, "%s: unknown flags 0x%x", what, s->pit.flags);
            break;
        case SNAP_VM_CLOCK:
            r = take(d, dlen, &s->clock, sizeof(s->clock), what, err, errlen);
            break;
        case SNAP_VM_PCI_CF8:
            if (dlen != 4)
                r = fail(err, errlen, "%s: %u bytes, expected 4", what, dlen);
            else
                s->pci_cf8 = savefile_le32(d);
            break;
        case SNAP_VM_CPUID:
            r = cpuid_parse(d, dlen, s, what, err, errlen);
            break;
        }
        if (r < 0)
            return r;
    }
    if (r < 0)
        return fail(err, errlen, "section VM: a record does not fit");
    /* CPUID is optional: files from before it was saved restore with this
     * host's policy. */
    for (uint32_t t = SNAP_VM_PIC_MASTER; t <= SNAP_VM_PCI_CF8; t++)
        if (!(seen & (1u << t)))
            return fail(err, errlen, "section VM: no %s record", names[t]);
    return 0;
}

int vcpu_snap_parse(const uint8_t *buf, size_t len, uint32_t nr_vcpus, struct vcpu_snap *s,
                    char *err, size_t errlen)
{
    static const char *const names[] = {"",     "REGS",  "SREGS",  "FPU",      "XSAVE",    "XCRS",
                                        "MSRS", "LAPIC", "EVENTS", "MP_STATE", "DEBUGREGS"};
    unsigned seen = 0;
    size_t pos = sizeof(struct savefile_vcpu_head);
    uint32_t tag, dlen;
    const uint8_t *d;
    int r;

    memset(s, 0, sizeof(*s));
    if (len < sizeof(struct savefile_vcpu_head))
        return fail(err, errlen, "section VCPU: too short");
    s->id = savefile_le32(buf);
    if (s->id >= nr_vcpus)
        return fail(err, errlen, "section VCPU: vCPU %u but the VM has %u", s->id, nr_vcpus);
    while ((r = savefile_record_next(buf, len, &pos, &tag, &d, &dlen)) > 0) {
        char what[48];
        if (tag < SNAP_VCPU_REGS || tag > SNAP_VCPU_DEBUGREGS)
            return fail(err, errlen, "vCPU %u: unknown record %u", s->id, tag);
        if (seen & (1u << tag))
            return fail(err, errlen, "vCPU %u: record %s twice", s->id, names[tag]);
        seen |= 1u << tag;
        snprintf(what, sizeof(what), "vCPU %u: %s", s->id, names[tag]);
        switch (tag) {
        case SNAP_VCPU_REGS:
            r = take(d, dlen, &s->regs, sizeof(s->regs), what, err, errlen);
            break;
        case SNAP_VCPU_SREGS:
            r = take(d, dlen, &s->sregs, sizeof(s->sregs), what, err, errlen);
            break;
        case SNAP_VCPU_FPU:
            r = take(d, dlen, &s->fpu, sizeof(s->fpu), what, err, errlen);
            break;
        case SNAP_VCPU_XSAVE:
            if (dlen < sizeof(struct kvm_xsave) || dlen > SNAP_MAX_XSAVE || dlen % 4)
                return fail(err, errlen, "%s: %u bytes", what, dlen);
            memcpy(s->xsave, d, dlen);
            s->xsave_len = dlen;
            s->has_xsave = true;
            break;
        case SNAP_VCPU_XCRS:
            r = take(d, dlen, &s->xcrs, sizeof(s->xcrs), what, err, errlen);
            if (!r && (s->xcrs.nr_xcrs > KVM_MAX_XCRS || s->xcrs.flags))
                r = fail(err, errlen, "%s: %u registers, flags 0x%x", what, s->xcrs.nr_xcrs,
                         s->xcrs.flags);
            s->has_xcrs = true;
            break;
        case SNAP_VCPU_MSRS: {
            if (dlen < 8)
                return fail(err, errlen, "%s: too short", what);
            uint32_t n = savefile_le32(d);
            if (n > SNAP_MAX_MSRS || savefile_le32(d + 4))
                return fail(err, errlen, "%s: %u MSRs (at most %u)", what, n, SNAP_MAX_MSRS);
            if (dlen != 8 + (size_t)n * sizeof(s->msrs[0]))
                return fail(err, errlen, "%s: %u bytes for %u MSRs", what, dlen, n);
            memcpy(s->msrs, d + 8, (size_t)n * sizeof(s->msrs[0]));
            for (uint32_t i = 0; i < n; i++)
                if (s->msrs[i].reserved)
                    return fail(err, errlen, "%s: MSR 0x%x: reserved bits set", what,
                                s->msrs[i].index);
            s->nr_msrs = n;
            break;
        }
        case SNAP_VCPU_LAPIC:
            r = take(d, dlen, &s->lapic, sizeof(s->lapic), what, err, errlen);
            break;
        case SNAP_VCPU_EVENTS:
            r = take(d, dlen, &s->events, sizeof(s->events), what, err, errlen);
            break;
        case SNAP_VCPU_MP_STATE:
            r = take(d, dlen, &s->mp_state, sizeof(s->mp_state), what, err, errlen);
            if (!r && s->mp_state.mp_state > 10)
                r = fail(err, errlen, "%s: unknown state %u", what, s->mp_state.mp_state);
            break;
        case SNAP_VCPU_DEBUGREGS:
            r = take(d, dlen, &s->debugregs, sizeof(s->debugregs), what, err, errlen);
            break;
        }
        if (r < 0)
            return r;
    }
    if (r < 0)
        return fail(err, errlen, "vCPU %u: a record does not fit", s->id);
    if (s->has_xsave == !!(seen & (1u << SNAP_VCPU_FPU)))
        return fail(err, errlen, "vCPU %u: expected one of FPU and XSAVE", s->id);
    if (s->has_xcrs && !s->has_xsave)
        return fail(err, errlen, "vCPU %u: XCRS without XSAVE", s->id);
    static const unsigned required[] = {SNAP_VCPU_REGS,     SNAP_VCPU_SREGS,  SNAP_VCPU_MSRS,
                                        SNAP_VCPU_LAPIC,    SNAP_VCPU_EVENTS, SNAP_VCPU_MP_STATE,
                                        SNAP_VCPU_DEBUGREGS};
    for (unsigned i = 0; i < sizeof(required) / sizeof(required[0]); i++)
        if (!(seen & (1u << required[i])))
            return fail(err, errlen, "vCPU %u: no %s record", s->id, names[required[i]]);
    return 0;
}
