/* The CPUID policy: what KVM supports on this host less what stubvisor
 * does not support (lib/cpuid.c says which and why), then the config's
 * cpuid= settings.  Every vCPU gets the same table but for its APIC ids.
 * A restore brings the table the guest saw and keeps it, once it is clear
 * that this host can give every feature in it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "lib/cpuid.h"
#include "lib/log.h"
#include "vmm/vmm.h"

/* KVM_GET_SUPPORTED_CPUID less what we do not support, growing the buffer
 * until it fits.  NULL with errno set on failure. */
static struct kvm_cpuid2 *host_policy(int kvm_fd)
{
    for (unsigned n = 64; n <= 4096; n *= 2) {
        struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
        if (!c)
            return NULL;
        c->nent = n;
        if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
            cpuid_restrict(c);
            return c;
        }
        free(c);
        if (errno != E2BIG)
            return NULL;
    }
    errno = E2BIG;
    return NULL;
}

int vmm_cpuid_init(struct vmm *vmm, const char *settings)
{
    struct cpuid_settings cs;
    struct kvm_cpuid2 *c;
    char err[256];

    c = host_policy(vmm->kvm_fd);
    if (!c) {
        log_error("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
        return -EIO;
    }
    if (settings && (cpuid_settings_parse(settings, &cs, err, sizeof(err)) < 0 ||
                     cpuid_settings_apply(c, &cs, err, sizeof(err)) < 0)) {
        log_error("%s", err);
        free(c);
        return -EINVAL;
    }
    free(vmm->cpuid);
    vmm->cpuid = c;
    return 0;
}

int vmm_cpuid_adopt(struct vmm *vmm, const struct kvm_cpuid_entry2 *e, uint32_t nent, char *err,
                    size_t errlen)
{
    struct kvm_cpuid2 *host = host_policy(vmm->kvm_fd), *saved;
    const struct cpuid_feature *f;

    if (!host) {
        snprintf(err, errlen, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
        return -EIO;
    }
    saved = calloc(1, sizeof(*saved) + nent * sizeof(saved->entries[0]));
    if (!saved) {
        free(host);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    saved->nent = nent;
    memcpy(saved->entries, e, nent * sizeof(*e));
    f = cpuid_missing(saved, host);
    free(host);
    if (f) {
        snprintf(err, errlen, "the guest saw CPU feature %s, which this host cannot give it",
                 f->name);
        free(saved);
        return -ENOTSUP;
    }
    free(vmm->cpuid);
    vmm->cpuid = saved;
    return 0;
}

int vmm_cpuid_apply(struct vcpu *v)
{
    const struct kvm_cpuid2 *base = v->vmm->cpuid;
    size_t bytes = sizeof(*base) + base->nent * sizeof(base->entries[0]);
    struct kvm_cpuid2 *c = malloc(bytes);
    int rc = 0;

    if (!c)
        return -ENOMEM;
    memcpy(c, base, bytes);
    for (unsigned i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 *e = &c->entries[i];
        if (e->function == 1)
            e->ebx = (e->ebx & 0x00ffffffu) | (v->id << 24); /* initial APIC id */
        else if (e->function == 0xb || e->function == 0x1f)
            e->edx = v->id; /* x2APIC id */
    }
    if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0)
        rc = -errno;
    free(c);
    return rc;
}
