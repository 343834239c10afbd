/* The device table and the machine built from it (device.h, machine.h). */
#include "dm/machine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dm/pci.h"
#include "lib/fdio.h"
#include "lib/log.h"

/* The linker makes these for the section DM_DEVICE() fills.  Weak, so that
 * a program without any device type still links (with none). */
extern const struct dm_device_type *const __start_dm_device_types[] __attribute__((weak));
extern const struct dm_device_type *const __stop_dm_device_types[] __attribute__((weak));

const struct dm_device_type *const *dm_device_types(size_t *n)
{
    *n = __start_dm_device_types ? (size_t)(__stop_dm_device_types - __start_dm_device_types) : 0;
    return __start_dm_device_types;
}

const struct dm_device_type *dm_device_type_find(const char *name)
{
    size_t n;
    const struct dm_device_type *const *t = dm_device_types(&n);

    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i]->name, name) == 0)
            return t[i];
    return NULL;
}

const char *dm_dev_name(const struct dm_dev *dev, char *buf, size_t len)
{
    if (dev->type->bus == DM_BUS_PCI)
        snprintf(buf, len, "%s (00:%02x.%x)", dev->type->name, dev->devfn >> 3, dev->devfn & 7);
    else if (dev->instance)
        snprintf(buf, len, "%s #%u", dev->type->name, dev->instance);
    else
        snprintf(buf, len, "%s", dev->type->name);
    return buf;
}

struct dm_dev *dm_machine_find(const struct dm_machine *m, const char *name, unsigned instance)
{
    for (unsigned i = 0; m && i < m->nr_devs; i++)
        if (strcmp(m->devs[i]->type->name, name) == 0 && m->devs[i]->instance == instance)
            return m->devs[i];
    return NULL;
}

void *dm_machine_state(const struct dm_machine *m, const char *name, unsigned instance)
{
    struct dm_dev *dev = dm_machine_find(m, name, instance);

    return dev ? dev->state : NULL;
}

/* ---- descriptor sources ---- */

static int list_take(struct dm_fd_source *src, const struct dm_dev *dev, unsigned n)
{
    struct dm_fd_list *l = (struct dm_fd_list *)src;
    char name[64];

    (void)n;
    if (l->next == l->nr) {
        log_error("%s: no descriptor left for it (%u handed over)",
                  dm_dev_name(dev, name, sizeof(name)), l->nr);
        return -EBADF;
    }
    return l->fds[l->next++];
}

void dm_fd_list_init(struct dm_fd_list *l, const int *fds, unsigned nr)
{
    *l = (struct dm_fd_list){.src = {.take = list_take}, .fds = fds, .nr = nr};
}

/* ---- instances ---- */

static void dev_free(struct dm_dev *dev)
{
    if (!dev)
        return;
    for (unsigned i = 0; i < DM_DEV_MAX_FDS; i++)
        close_quietly(dev->fds[i]);
    free((void *)dev->config);
    free(dev->state);
    free(dev);
}

static unsigned count_of(const struct dm_machine *m, const struct dm_device_type *t)
{
    unsigned n = 0;

    for (unsigned i = 0; i < m->nr_devs; i++)
        n += m->devs[i]->type == t;
    return n;
}

/* Whether a PCI function is there, or one of the words still to come
 * (later[0..nr)) asked for that devfn. */
static bool devfn_taken(const struct dm_machine *m, const struct dm_dev_spec *later, unsigned nr,
                        unsigned devfn)
{
    if (m->pci && m->pci->devs[devfn])
        return true;
    for (unsigned i = 0; i < nr; i++)
        if (later[i].devfn == (int)devfn)
            return true;
    return false;
}

/* Create one instance of t (config: its parsed options, or NULL for the
 * defaults) at devfn (PCI), with descriptors from fds. */
static int add_device(struct dm_machine *m, const struct dm_device_type *t, const void *config,
                      unsigned devfn, struct dm_fd_source *fds)
{
    struct dm_dev *dev;
    char name[64];
    int rc;

    if (m->nr_devs == DM_MAX_DEVICES || m->nr_failed == DM_MAX_DEVICES) {
        log_error("%s: more than %d devices", t->name, DM_MAX_DEVICES);
        return -ENOSPC;
    }
    if (t->nr_fds > DM_DEV_MAX_FDS || (t->bus == DM_BUS_PCI && !m->pci)) {
        log_error("%s: the device type is not usable here", t->name);
        return -EINVAL;
    }
    dev = calloc(1, sizeof(*dev));
    if (!dev)
        return -ENOMEM;
    for (unsigned i = 0; i < DM_DEV_MAX_FDS; i++)
        dev->fds[i] = -1;
    dev->type = t;
    dev->machine = m;
    dev->dm = m->dm;
    dev->instance = count_of(m, t);
    dev->devfn = devfn;
    void *cfg = calloc(1, t->config_size ? t->config_size : 1);
    dev->config = cfg;
    dev->state = calloc(1, t->state_size ? t->state_size : 1);
    if (!cfg || !dev->state) {
        dev_free(dev);
        return -ENOMEM;
    }
    if (config)
        memcpy(cfg, config, t->config_size);
    else if (t->config_init)
        t->config_init(cfg);
    for (unsigned i = 0; i < t->nr_fds; i++) {
        rc = fds ? fds->take(fds, dev, i) : -EBADF;
        if (rc < 0) {
            if (!fds)
                log_error("%s: no descriptors here", dm_dev_name(dev, name, sizeof(name)));
            dev_free(dev);
            return rc;
        }
        dev->fds[i] = rc;
    }
    rc = t->create(dev);
    if (rc < 0) {
        log_error("%s: %s", dm_dev_name(dev, name, sizeof(name)), strerror(-rc));
        /* What create registered before it failed (traps, watches) may
         * still point at the state: it lives on, unused, until the
         * machine goes; only the descriptors go now. */
        for (unsigned i = 0; i < DM_DEV_MAX_FDS; i++) {
            close_quietly(dev->fds[i]);
            dev->fds[i] = -1;
        }
        m->failed[m->nr_failed++] = dev;
        return rc;
    }
    m->devs[m->nr_devs++] = dev;
    return 0;
}

static int by_order(const void *a, const void *b)
{
    const struct dm_device_type *x = *(const struct dm_device_type *const *)a;
    const struct dm_device_type *y = *(const struct dm_device_type *const *)b;

    if (x->order != y->order)
        return x->order < y->order ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* The PC platform: every pc_default type, lowest order first (the link
 * order is no order at all). */
static int add_platform(struct dm_machine *m)
{
    size_t n, nr = 0;
    const struct dm_device_type *const *types = dm_device_types(&n);
    const struct dm_device_type *platform[DM_MAX_DEVICES];
    int rc;

    for (size_t k = 0; k < n; k++)
        if (types[k]->pc_default && nr < DM_MAX_DEVICES)
            platform[nr++] = types[k];
    qsort(platform, nr, sizeof(platform[0]), by_order);
    for (size_t k = 0; k < nr; k++)
        if ((rc = add_device(m, platform[k], NULL, 0, NULL)) < 0)
            return rc;
    return 0;
}

/* Where a PCI device goes: its addr=, or the first free slot from
 * DM_PCI_FIRST_SLOT that none of the words still to come asked for. */
static int pick_devfn(struct dm_machine *m, const struct dm_dev_spec *s,
                      const struct dm_dev_spec *later, unsigned nr, unsigned *devfn)
{
    if (s->devfn != DM_DEVFN_AUTO) {
        if (devfn_taken(m, later, nr, (unsigned)s->devfn)) {
            log_error("-device %s,addr=%x.%x: that function is taken", s->type->name, s->devfn >> 3,
                      s->devfn & 7);
            return -EEXIST;
        }
        *devfn = (unsigned)s->devfn;
        return 0;
    }
    for (unsigned slot = DM_PCI_FIRST_SLOT; slot < 32; slot++) {
        if (!devfn_taken(m, later, nr, slot << 3)) {
            *devfn = slot << 3;
            return 0;
        }
    }
    log_error("-device %s: no free PCI slot", s->type->name);
    return -ENOSPC;
}

static int place_and_add(struct dm_machine *m, const struct dm_dev_spec *s,
                         const struct dm_dev_spec *later, unsigned nr, struct dm_fd_source *fds)
{
    unsigned devfn = 0;
    int rc = s->type->bus == DM_BUS_PCI ? pick_devfn(m, s, later, nr, &devfn) : 0;

    return rc ?: add_device(m, s->type, s->config, devfn, fds);
}

int dm_machine_add_device(struct dm_machine *m, const struct dm_dev_spec *spec,
                          struct dm_fd_source *fds)
{
    unsigned same = 0;

    for (unsigned i = 0; i < m->nr_devs; i++)
        same += m->devs[i]->type == spec->type;
    if (spec->type->pc_default ||
        (spec->type->max_instances && same >= spec->type->max_instances)) {
        log_error("-device %s: no more of these", spec->type->name);
        return -ENOSPC;
    }
    return place_and_add(m, spec, NULL, 0, fds);
}

struct dm_machine *dm_machine_new(struct dm *dm, const struct dm_config *cfg,
                                  const struct dm_machine_params *p)
{
    struct dm_machine *m = calloc(1, sizeof(*m));
    int rc = -ENOMEM;

    if (!m)
        goto fail;
    m->dm = dm;
    m->nr_vcpus = p->nr_vcpus ? p->nr_vcpus : 1;
    m->ram_size = dm_guest_ram_size(dm);
    m->kick_eventfds = p->kick_eventfds;
    rc = -EINVAL;
    if (cfg && cfg->memory_mib && (uint64_t)cfg->memory_mib << 20 != m->ram_size) {
        log_error("dm-argv: -m %u does not match the guest's RAM (%llu MiB)", cfg->memory_mib,
                  (unsigned long long)(m->ram_size >> 20));
        goto fail;
    }
    if (cfg && cfg->vcpus && cfg->vcpus != m->nr_vcpus) {
        log_error("dm-argv: -smp %u does not match the guest's %u vCPU(s)", cfg->vcpus,
                  m->nr_vcpus);
        goto fail;
    }
    if ((rc = add_platform(m)) < 0)
        goto fail;
    for (unsigned i = 0; cfg && i < cfg->nr_devs; i++)
        if ((rc = place_and_add(m, &cfg->devs[i], cfg->devs + i + 1, cfg->nr_devs - i - 1,
                                p->fds)) < 0)
            goto fail;
    return m;
fail:
    log_error("cannot set up the devices: %s", strerror(-rc));
    dm_machine_free(m);
    return NULL;
}

void dm_machine_free(struct dm_machine *m)
{
    if (!m)
        return;
    for (unsigned i = m->nr_devs; i-- > 0;) {
        struct dm_dev *dev = m->devs[i];
        if (dev->type->destroy)
            dev->type->destroy(dev);
        dev_free(dev);
    }
    for (unsigned i = 0; i < m->nr_failed; i++)
        dev_free(m->failed[i]);
    free(m);
}

void dm_machine_reset(struct dm_machine *m)
{
    for (unsigned i = 0; i < m->nr_devs; i++)
        if (m->devs[i]->type->reset)
            m->devs[i]->type->reset(m->devs[i]);
}

void dm_machine_log(const struct dm_machine *m)
{
    char name[64];

    for (unsigned i = 0; i < m->nr_devs; i++)
        log_debug("device: %s", dm_dev_name(m->devs[i], name, sizeof(name)));
}
