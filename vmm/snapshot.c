/* Save and restore with KVM: the in-kernel devices, the clock, each vCPU
 * and guest RAM (vmm/snapshot.h).  The order of the set calls follows what
 * the KVM API asks of a restore: special registers (and with them the APIC
 * base) before the MSRs and the LAPIC; the TSC deadline after the LAPIC
 * (setting the LAPIC re-arms its timer); pending events after the LAPIC and
 * the MP state, since both may change what is pending. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lib/log.h"
#include "vmm/snapshot.h"
#include "vmm/vmm.h"

#define MSR_IA32_TSC_DEADLINE 0x6e0

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
                                                      ...)
{
    int rc = errno ? -errno : -EIO;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return rc;
}

/* ---- VM-wide state */

static int vm_get(struct vmm *vmm, struct vm_snap *s, char *err, size_t errlen)
{
    struct kvm_irqchip *chips[] = {&s->pic_master, &s->pic_slave, &s->ioapic};

    memset(s, 0, sizeof(*s));
    s->memory_bytes = vmm->ram_size;
    s->nr_vcpus = vmm->nr_vcpus;
    s->placement = vmm->placement == PLACEMENT_INLINE    ? SAVEFILE_PLACEMENT_INLINE
                   : vmm->placement == PLACEMENT_PROCESS ? SAVEFILE_PLACEMENT_PROCESS
                                                         : SAVEFILE_PLACEMENT_STUBDOM;
    for (unsigned i = 0; i < 3; i++) {
        chips[i]->chip_id = i;
        if (ioctl(vmm->vm_fd, KVM_GET_IRQCHIP, chips[i]) < 0)
            return fail(err, errlen, "KVM_GET_IRQCHIP %u: %s", i, strerror(errno));
    }
    if (ioctl(vmm->vm_fd, KVM_GET_PIT2, &s->pit) < 0)
        return fail(err, errlen, "KVM_GET_PIT2: %s", strerror(errno));
    if (ioctl(vmm->vm_fd, KVM_GET_CLOCK, &s->clock) < 0)
        return fail(err, errlen, "KVM_GET_CLOCK: %s", strerror(errno));
    s->pci_cf8 = atomic_load(&vmm->pci_cf8);
    if (vmm->cpuid && vmm->cpuid->nent <= SNAP_MAX_CPUID) {
        s->cpuid_nent = vmm->cpuid->nent;
        memcpy(s->cpuid, vmm->cpuid->entries, s->cpuid_nent * sizeof(s->cpuid[0]));
    }
    return 0;
}

static int vm_set(struct vmm *vmm, const struct vm_snap *s, char *err, size_t errlen)
{
    const struct kvm_irqchip *chips[] = {&s->pic_master, &s->pic_slave, &s->ioapic};
    struct kvm_pit_state2 pit = s->pit;
    /* Only the clock's value: the host-time fields describe the old host. */
    struct kvm_clock_data clock = {.clock = s->clock.clock};

    for (unsigned i = 0; i < 3; i++)
        if (ioctl(vmm->vm_fd, KVM_SET_IRQCHIP, chips[i]) < 0)
            return fail(err, errlen, "KVM_SET_IRQCHIP %u: %s", i, strerror(errno));
    if (ioctl(vmm->vm_fd, KVM_SET_PIT2, &pit) < 0)
        return fail(err, errlen, "KVM_SET_PIT2: %s", strerror(errno));
    if (ioctl(vmm->vm_fd, KVM_SET_CLOCK, &clock) < 0)
        return fail(err, errlen, "KVM_SET_CLOCK: %s", strerror(errno));
    atomic_store(&vmm->pci_cf8, s->pci_cf8);
    return 0;
}

/* ---- vCPUs */

/* Every MSR KVM can save (KVM_GET_MSR_INDEX_LIST).  Malloc'd. */
static int msr_index_list(struct vmm *vmm, uint32_t **out, uint32_t *n)
{
    struct kvm_msr_list probe = {.nmsrs = 0}, *list;

    if (ioctl(vmm->kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
        return -errno;
    if (probe.nmsrs > SNAP_MAX_MSRS)
        return -E2BIG;
    list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(uint32_t));
    if (!list)
        return -ENOMEM;
    list->nmsrs = probe.nmsrs;
    if (ioctl(vmm->kvm_fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
        int rc = -errno;
        free(list);
        return rc;
    }
    *n = list->nmsrs;
    *out = malloc((list->nmsrs ? list->nmsrs : 1) * sizeof(uint32_t));
    if (!*out) {
        free(list);
        return -ENOMEM;
    }
    memcpy(*out, list->indices, list->nmsrs * sizeof(uint32_t));
    free(list);
    return 0;
}

/* The size of KVM's XSAVE area for this VM: 4096, or more with
 * KVM_CAP_XSAVE2 (AMX).  Above SNAP_MAX_XSAVE we do not save or restore. */
static size_t xsave_size(struct vmm *vmm)
{
#ifdef KVM_CAP_XSAVE2
    int r = ioctl(vmm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
    if (r > (int)sizeof(struct kvm_xsave))
        return (size_t)r;
#endif
    return sizeof(struct kvm_xsave);
}

static int vcpu_get(struct vmm *vmm, struct vcpu *v, const uint32_t *idx, uint32_t nidx,
                    struct vcpu_snap *s, char *err, size_t errlen)
{
    /* One struct kvm_msrs with room for one entry. */
    uint64_t one_buf[(sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)) / 8];
    struct kvm_msrs *one = (struct kvm_msrs *)one_buf;

    memset(s, 0, sizeof(*s));
    s->id = v->id;
    if (ioctl(v->fd, KVM_GET_REGS, &s->regs) < 0)
        return fail(err, errlen, "vCPU %u: KVM_GET_REGS: %s", v->id, strerror(errno));
    if (ioctl(v->fd, KVM_GET_SREGS, &s->sregs) < 0)
        return fail(err, errlen, "vCPU %u: KVM_GET_SREGS: %s", v->id, strerror(errno));
    if (ioctl(vmm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0) {
        size_t size = xsave_size(vmm);
        unsigned long req = KVM_GET_XSAVE;
        if (size > SNAP_MAX_XSAVE) {
            errno = E2BIG;
            return fail(err, errlen, "vCPU %u: an XSAVE area of %zu bytes is not supported", v->id,
                        size);
        }
#ifdef KVM_GET_XSAVE2
        if (size > sizeof(struct kvm_xsave))
            req = KVM_GET_XSAVE2;
#endif
        if (ioctl(v->fd, req, s->xsave) < 0)
            return fail(err, errlen, "vCPU %u: KVM_GET_XSAVE: %s", v->id, strerror(errno));
        s->xsave_len = (uint32_t)size;
        s->has_xsave = true;
        if (ioctl(vmm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0) {
            if (ioctl(v->fd, KVM_GET_XCRS, &s->xcrs) < 0)
                return fail(err, errlen, "vCPU %u: KVM_GET_XCRS: %s", v->id, strerror(errno));
            s->has_xcrs = true;
        }
    } else if (ioctl(v->fd, KVM_GET_FPU, &s->fpu) < 0) {
        return fail(err, errlen, "vCPU %u: KVM_GET_FPU: %s", v->id, strerror(errno));
    }
    /* The MSRs KVM lists, less those this vCPU cannot read (features the
     * guest's CPUID does not have): KVM_GET_MSRS stops at the first one it
     * refuses, so ask one at a time. */
    for (uint32_t i = 0; i < nidx; i++) {
        memset(one_buf, 0, sizeof(one_buf));
        one->nmsrs = 1;
        one->entries[0].index = idx[i];
        if (ioctl(v->fd, KVM_GET_MSRS, one) == 1)
            s->msrs[s->nr_msrs++] = one->entries[0];
    }
    if (ioctl(v->fd, KVM_GET_LAPIC, &s->lapic) < 0)
        return fail(err, errlen, "vCPU %u: KVM_GET_LAPIC: %s", v->id, strerror(errno));
    if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &s->events) < 0)
        return fail(err, errlen, "vCPU %u: KVM_GET_VCPU_EVENTS: %s", v->id, strerror(errno));
    if (ioctl(v->fd, KVM_GET_MP_STATE, &s->mp_state) < 0)
        return fail(err, errlen, "vCPU %u: KVM_GET_MP_STATE: %s", v->id, strerror(errno));
    if (ioctl(v->fd, KVM_GET_DEBUGREGS, &s->debugregs) < 0)
        return fail(err, errlen, "vCPU %u: KVM_GET_DEBUGREGS: %s", v->id, strerror(errno));
    return 0;
}

/* KVM_SET_MSRS for the entries of s selected by `deadline` (the TSC
 * deadline alone, or everything else); all of them must be taken. */
static int set_msrs(struct vcpu *v, const struct vcpu_snap *s, bool deadline, char *err,
                    size_t errlen)
{
    struct kvm_msrs *m = calloc(1, sizeof(*m) + (s->nr_msrs + 1) * sizeof(m->entries[0]));
    int r, rc = 0;

    if (!m)
        return -ENOMEM;
    for (uint32_t i = 0; i < s->nr_msrs; i++)
        if ((s->msrs[i].index == MSR_IA32_TSC_DEADLINE) == deadline)
            m->entries[m->nmsrs++] = s->msrs[i];
    if (m->nmsrs) {
        r = ioctl(v->fd, KVM_SET_MSRS, m);
        if (r < 0)
            rc = fail(err, errlen, "vCPU %u: KVM_SET_MSRS: %s", v->id, strerror(errno));
        else if ((uint32_t)r != m->nmsrs) {
            errno = EINVAL;
            rc = fail(err, errlen, "vCPU %u: KVM refused MSR 0x%x", v->id, m->entries[r].index);
        }
    }
    free(m);
    return rc;
}

static int vcpu_set(struct vmm *vmm, struct vcpu *v, struct vcpu_snap *s, char *err, size_t errlen)
{
    struct kvm_vcpu_events ev = s->events;
    int rc;

    if (ioctl(v->fd, KVM_SET_REGS, &s->regs) < 0)
        return fail(err, errlen, "vCPU %u: KVM_SET_REGS: %s", v->id, strerror(errno));
    if (s->has_xsave) {
        /* The host's area may be larger than the file's: the rest stays
         * zero (s->xsave is zero past xsave_len). */
        size_t host = xsave_size(vmm);
        if (host < s->xsave_len || host > SNAP_MAX_XSAVE) {
            errno = EINVAL;
            return fail(err, errlen, "vCPU %u: XSAVE area of %u bytes, this host's is %zu", v->id,
                        s->xsave_len, host);
        }
        if (ioctl(v->fd, KVM_SET_XSAVE, s->xsave) < 0)
            return fail(err, errlen, "vCPU %u: KVM_SET_XSAVE: %s", v->id, strerror(errno));
        if (s->has_xcrs && ioctl(v->fd, KVM_SET_XCRS, &s->xcrs) < 0)
            return fail(err, errlen, "vCPU %u: KVM_SET_XCRS: %s", v->id, strerror(errno));
    } else if (ioctl(v->fd, KVM_SET_FPU, &s->fpu) < 0) {
        return fail(err, errlen, "vCPU %u: KVM_SET_FPU: %s", v->id, strerror(errno));
    }
    if (ioctl(v->fd, KVM_SET_SREGS, &s->sregs) < 0)
        return fail(err, errlen, "vCPU %u: KVM_SET_SREGS: %s", v->id, strerror(errno));
    rc = set_msrs(v, s, false, err, errlen);
    if (rc < 0)
        return rc;
    if (ioctl(v->fd, KVM_SET_MP_STATE, &s->mp_state) < 0)
        return fail(err, errlen, "vCPU %u: KVM_SET_MP_STATE: %s", v->id, strerror(errno));
    if (ioctl(v->fd, KVM_SET_LAPIC, &s->lapic) < 0)
        return fail(err, errlen, "vCPU %u: KVM_SET_LAPIC: %s", v->id, strerror(errno));
    rc = set_msrs(v, s, true, err, errlen);
    if (rc < 0)
        return rc;
    /* A pending NMI and the SIPI vector are only taken when flagged. */
    ev.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR;
    if (ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
        return fail(err, errlen, "vCPU %u: KVM_SET_VCPU_EVENTS: %s", v->id, strerror(errno));
    if (ioctl(v->fd, KVM_SET_DEBUGREGS, &s->debugregs) < 0)
        return fail(err, errlen, "vCPU %u: KVM_SET_DEBUGREGS: %s", v->id, strerror(errno));
    return 0;
}

/* ---- Guest RAM */

static bool page_is_zero(const uint8_t *p)
{
    const uint64_t *q = (const uint64_t *)p;
    for (unsigned i = 0; i < SAVEFILE_PAGE_SIZE / 8; i += 4)
        if (q[i] | q[i + 1] | q[i + 2] | q[i + 3])
            return false;
    return true;
}

static int put_run(struct savefile_stream *st, struct vmm *vmm, uint64_t gpa, uint64_t npages)
{
    uint8_t h[SAVEFILE_RUN_SIZE];
    int rc;

    savefile_put64(h, gpa);
    savefile_put64(h + 8, npages);
    rc = savefile_stream_append(st, h, sizeof(h));
    /* Straight from guest RAM, in pieces that write() takes whole. */
    for (uint64_t done = 0; !rc && done < npages * SAVEFILE_PAGE_SIZE;) {
        uint64_t n = npages * SAVEFILE_PAGE_SIZE - done;
        if (n > (64u << 20))
            n = 64u << 20;
        rc = savefile_stream_append(st, vmm->ram + gpa + done, (size_t)n);
        done += n;
    }
    return rc;
}

/* Runs of non-zero pages, looking only where the memfd has pages at all
 * (SEEK_DATA/SEEK_HOLE): never-touched RAM costs nothing. */
static int memory_save(struct vmm *vmm, int fd, char *err, size_t errlen)
{
    struct savefile_stream st;
    uint64_t size = vmm->ram_size, off = 0;
    int rc = savefile_stream_begin(&st, fd, SAVEFILE_MEMORY);

    if (rc < 0)
        return errno = -rc, fail(err, errlen, "writing the file: %s", strerror(-rc));
    while (off < size) {
        off_t d = lseek(vmm->ram_fd, (off_t)off, SEEK_DATA);
        if (d < 0) {
            if (errno == ENXIO)
                break;
            return fail(err, errlen, "guest RAM: SEEK_DATA: %s", strerror(errno));
        }
        off_t h = lseek(vmm->ram_fd, d, SEEK_HOLE);
        if (h < 0)
            return fail(err, errlen, "guest RAM: SEEK_HOLE: %s", strerror(errno));
        uint64_t pg = (uint64_t)d & ~(uint64_t)(SAVEFILE_PAGE_SIZE - 1);
        uint64_t end = ((uint64_t)h + SAVEFILE_PAGE_SIZE - 1) & ~(uint64_t)(SAVEFILE_PAGE_SIZE - 1);
        if (end > size)
            end = size;
        while (pg < end) {
            while (pg < end && page_is_zero(vmm->ram + pg))
                pg += SAVEFILE_PAGE_SIZE;
            uint64_t start = pg;
            while (pg < end && !page_is_zero(vmm->ram + pg))
                pg += SAVEFILE_PAGE_SIZE;
            if (pg > start) {
                rc = put_run(&st, vmm, start, (pg - start) / SAVEFILE_PAGE_SIZE);
                if (rc < 0)
                    return errno = -rc, fail(err, errlen, "writing the file: %s", strerror(-rc));
            }
        }
        off = end > off ? end : off + SAVEFILE_PAGE_SIZE;
    }
    rc = savefile_stream_end(&st);
    if (rc < 0)
        return errno = -rc, fail(err, errlen, "writing the file: %s", strerror(-rc));
    return 0;
}

static int pread_all(int fd, void *buf, uint64_t len, uint64_t off)
{
    uint8_t *p = buf;
    while (len) {
        size_t want = len > (1u << 30) ? (1u << 30) : (size_t)len;
        ssize_t n = pread(fd, p, want, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EPIPE;
        p += n;
        off += (uint64_t)n;
        len -= (uint64_t)n;
    }
    return 0;
}

/* Guest RAM becomes exactly the file's: whatever was loaded before (the
 * firmware's copy in the BIOS area, a kernel) is dropped first. */
static int memory_load(struct vmm *vmm, int fd, const struct savefile_extent *ext, char *err,
                       size_t errlen)
{
    uint64_t pos = ext->off, end = ext->off + ext->len;

    if (fallocate(vmm->ram_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
                  (off_t)vmm->ram_size) < 0)
        return fail(err, errlen, "clearing guest RAM: %s", strerror(errno));
    while (pos < end) {
        uint8_t h[SAVEFILE_RUN_SIZE];
        int rc;
        if (end - pos < sizeof(h) || (rc = pread_all(fd, h, sizeof(h), pos)) < 0) {
            errno = EINVAL;
            return fail(err, errlen, "section MEMORY: truncated");
        }
        uint64_t gpa = savefile_le64(h), npages = savefile_le64(h + 8);
        pos += sizeof(h);
        /* Checked by savefile_check already; checked again since it is
         * where guest RAM gets written. */
        if (npages > vmm->ram_size / SAVEFILE_PAGE_SIZE || gpa % SAVEFILE_PAGE_SIZE ||
            end - pos < npages * SAVEFILE_PAGE_SIZE) {
            errno = EINVAL;
            return fail(err, errlen, "section MEMORY: a bad run");
        }
        uint8_t *dst = gpa_ptr(vmm, gpa, npages * SAVEFILE_PAGE_SIZE);
        if (!dst) {
            errno = EINVAL;
            return fail(err, errlen, "section MEMORY: a run outside guest memory");
        }
        rc = pread_all(fd, dst, npages * SAVEFILE_PAGE_SIZE, pos);
        if (rc < 0) {
            errno = -rc;
            return fail(err, errlen, "reading guest memory: %s", strerror(-rc));
        }
        pos += npages * SAVEFILE_PAGE_SIZE;
    }
    return 0;
}

/* ---- Whole files */

int snapshot_save(struct vmm *vmm, int fd, const uint8_t *dm_blob, size_t dm_len, uint64_t *bytes,
                  char *err, size_t errlen)
{
    struct vcpu_snap *vs = NULL;
    uint32_t *idx = NULL, nidx = 0;
    uint8_t *buf = NULL;
    size_t len;
    struct vm_snap *vmp = malloc(sizeof(*vmp));
    off_t start = lseek(fd, 0, SEEK_CUR), now;
    int rc;

    if (!vmp)
        return fail(err, errlen, "out of memory");

    if (start < 0)
        return fail(err, errlen, "the file is not seekable: %s", strerror(errno));
    if (dm_len > SAVEFILE_MAX_DM_STATE) {
        errno = EFBIG;
        return fail(err, errlen, "device model state too large");
    }
    rc = vm_get(vmm, vmp, err, errlen);
    if (rc < 0)
        goto out;
    rc = vm_snap_encode(vmp, &buf, &len);
    if (!rc)
        rc = savefile_section(fd, SAVEFILE_VM, buf, len);
    free(buf);
    buf = NULL;
    if (rc < 0)
        goto write_failed;

    rc = msr_index_list(vmm, &idx, &nidx);
    if (rc < 0) {
        errno = -rc;
        rc = fail(err, errlen, "KVM_GET_MSR_INDEX_LIST: %s", strerror(-rc));
        goto out;
    }
    vs = malloc(sizeof(*vs));
    if (!vs) {
        rc = -ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (unsigned i = 0; i < vmm->nr_vcpus; i++) {
        rc = vcpu_get(vmm, &vmm->vcpus[i], idx, nidx, vs, err, errlen);
        if (rc < 0)
            goto out;
        rc = vcpu_snap_encode(vs, &buf, &len);
        if (!rc)
            rc = savefile_section(fd, SAVEFILE_VCPU, buf, len);
        free(buf);
        buf = NULL;
        if (rc < 0)
            goto write_failed;
    }
    rc = memory_save(vmm, fd, err, errlen);
    if (rc < 0)
        goto out;
    rc = savefile_section(fd, SAVEFILE_DM, dm_blob, dm_len);
    if (!rc)
        rc = savefile_section(fd, SAVEFILE_END, NULL, 0);
    if (rc < 0)
        goto write_failed;
    now = lseek(fd, 0, SEEK_CUR);
    *bytes = now > start ? (uint64_t)(now - start) : 0;
    rc = 0;
    goto out;

write_failed:
    snprintf(err, errlen, "writing the file: %s", strerror(-rc));
out:
    free(vs);
    free(idx);
    free(vmp);
    return rc;
}

int snapshot_restore(struct vmm *vmm, int fd, const struct savefile_summary *sum, char *err,
                     size_t errlen)
{
    struct vcpu_snap *vs = NULL;
    uint8_t *buf = NULL;
    struct vm_snap *vmp = malloc(sizeof(*vmp));
    int rc;

    if (!vmp)
        return fail(err, errlen, "out of memory");
    rc = savefile_read_payload(fd, &sum->vm, &buf);
    if (rc < 0) {
        snprintf(err, errlen, "reading section VM: %s", strerror(-rc));
        goto out;
    }
    rc = vm_snap_parse(buf, (size_t)sum->vm.len, vmp, err, errlen);
    free(buf);
    buf = NULL;
    if (rc < 0)
        goto out;
    if (vmp->memory_bytes != vmm->ram_size || vmp->nr_vcpus != vmm->nr_vcpus) {
        rc = -EINVAL;
        snprintf(err, errlen, "the file has %llu MiB and %u vCPUs, the VM %llu MiB and %u",
                 (unsigned long long)(vmp->memory_bytes >> 20), vmp->nr_vcpus,
                 (unsigned long long)(vmm->ram_size >> 20), vmm->nr_vcpus);
        goto out;
    }
    /* The CPUID the guest saw, if this host can give all of it: checked
     * before guest RAM or any vCPU changes. */
    if (vmp->cpuid_nent) {
        rc = vmm_cpuid_adopt(vmm, vmp->cpuid, vmp->cpuid_nent, err, errlen);
        for (unsigned i = 0; rc == 0 && i < vmm->nr_vcpus; i++)
            if ((rc = vmm_cpuid_apply(&vmm->vcpus[i])) < 0)
                snprintf(err, errlen, "vCPU %u: KVM_SET_CPUID2: %s", i, strerror(-rc));
        if (rc < 0)
            goto out;
    }
    rc = memory_load(vmm, fd, &sum->memory, err, errlen);
    if (rc < 0)
        goto out;
    vs = malloc(sizeof(*vs));
    if (!vs) {
        rc = -ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (unsigned i = 0; i < vmm->nr_vcpus; i++) {
        rc = savefile_read_payload(fd, &sum->vcpu[i], &buf);
        if (rc < 0) {
            snprintf(err, errlen, "reading section VCPU %u: %s", i, strerror(-rc));
            goto out;
        }
        rc = vcpu_snap_parse(buf, (size_t)sum->vcpu[i].len, vmm->nr_vcpus, vs, err, errlen);
        free(buf);
        buf = NULL;
        if (rc < 0)
            goto out;
        if (vs->id != i) {
            rc = -EINVAL;
            snprintf(err, errlen, "section VCPU for vCPU %u found as %u", vs->id, i);
            goto out;
        }
        rc = vcpu_set(vmm, &vmm->vcpus[i], vs, err, errlen);
        if (rc < 0)
            goto out;
    }
    /* The devices and the clock after the vCPUs: the kvmclock MSRs point at
     * the guest's clock pages, KVM_SET_CLOCK then sets the time they show. */
    rc = vm_set(vmm, vmp, err, errlen);
out:
    free(vs);
    free(buf);
    free(vmp);
    return rc;
}
