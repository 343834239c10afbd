/* The guest's devices as the device model is told them (dm_argv.h):
 * the dm-argv words, and in the same walk the stubvmm options that open
 * the descriptors the -device words take, so the two orders cannot drift. */
#include "ctl/dm_argv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mac.h"

static int add(struct ctl_dm_argv *a, bool to_vmm, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Append a formatted word to the words (or to stubvmm's options). */
static int add(struct ctl_dm_argv *a, bool to_vmm, const char *fmt, ...)
{
    char **list = to_vmm ? a->vmm_args : a->words;
    unsigned *n = to_vmm ? &a->nr_vmm_args : &a->nr_words;
    va_list ap;
    int r;

    if (*n == CTL_DM_ARGV_MAX)
        return -E2BIG;
    va_start(ap, fmt);
    r = vasprintf(&list[*n], fmt, ap);
    va_end(ap);
    if (r < 0)
        return -ENOMEM;
    (*n)++;
    return 0;
}

static int device(struct ctl_dm_argv *a, const char *desc)
{
    return add(a, false, "-device") ?: add(a, false, "%s", desc);
}

int ctl_dm_argv_build(struct ctl_dm_argv *a, const struct domain_config *c, bool incoming,
                      const struct vif_names *taps)
{
    const char *serial = c->nserials && c->serials[0].kind == SERIAL_NULL ? "null" : "console";
    char desc[64], mac[MAC_STRLEN];
    int rc = 0;

    memset(a, 0, sizeof(*a));
    rc = rc ?: add(a, false, "stubdm");
    rc = rc ?: add(a, false, "-name") ?: add(a, false, "%s", c->name);
    rc = rc ?: add(a, false, "-m") ?: add(a, false, "%llu", (unsigned long long)c->memory_mib);
    rc = rc ?: add(a, false, "-smp") ?: add(a, false, "%u", c->vcpus);
    rc = rc ?: add(a, false, "-serial") ?: add(a, false, "%s", serial);
    if (c->firmware)
        rc = rc ?: add(a, false, "-bios") ?: add(a, false, "%s", c->firmware);
    if (incoming) /* the device state arrives on console 2 (seed 001's -loadvm) */
        rc = rc ?: add(a, false, "-incoming") ?: add(a, false, "console2");
    /* The devices, each with its descriptor's stubvmm option: the disks in
     * the config's order, the NICs in theirs, the console, the RNG (the PCI
     * slots guests have always had). */
    for (size_t k = 0; k < c->ndisks && rc == 0; k++) {
        snprintf(desc, sizeof(desc), "virtio-blk,readonly=%s", c->disks[k].readonly ? "on" : "off");
        rc = device(a, desc) ?: add(a, true, "--disk") ?:
             add(a, true, "%s%s", c->disks[k].target, c->disks[k].readonly ? ",ro" : "");
    }
    for (size_t k = 0; k < c->nvifs && rc == 0; k++) {
        const struct vif_spec *v = &c->vifs[k];
        mac_format(v->mac, mac);
        snprintf(desc, sizeof(desc), "virtio-net,mac=%s", mac);
        rc = device(a, desc) ?: add(a, true, "--nic");
        if (rc == 0 && v->backend == VIF_BACKEND_SOCKET)
            rc = add(a, true, "unix:%s", v->socket_path);
        else if (rc == 0)
            rc = add(a, true, "tap:%s", taps && taps->name[k][0] ? taps->name[k] : v->tap_name);
    }
    if (c->virtio_console && rc == 0)
        rc = device(a, "virtio-console") ?: add(a, true, "--virtio-console");
    if (c->virtio_rng && rc == 0)
        rc = device(a, "virtio-rng");
    if (rc < 0)
        ctl_dm_argv_dispose(a);
    return rc;
}

void ctl_dm_argv_dispose(struct ctl_dm_argv *a)
{
    for (unsigned i = 0; i < a->nr_words; i++)
        free(a->words[i]);
    for (unsigned i = 0; i < a->nr_vmm_args; i++)
        free(a->vmm_args[i]);
    memset(a, 0, sizeof(*a));
}
