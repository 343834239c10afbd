/* Save and restore of a machine's devices (state.h).
 *
 * The blob holds, in this order (the order is not required when reading):
 *   PCI (devfn)           the config space of every function on bus 0
 *   TAG (key)             one record per device instance with a state tag:
 *                         key = devfn for a PCI device, its number among
 *                         its type's instances otherwise
 *
 * Load is two passes.  Pass one parses every record into a staging area
 * (one per instance, dm_device_type.stage_size bytes) and checks that the
 * blob describes exactly the devices this machine has: a record for a
 * device it does not have, a duplicate, or a device without its record is
 * refused, naming the device.  Nothing in pass one touches a live device
 * or the host.  Pass two applies the staged state: config spaces in devfn
 * order (BARs move as on a guest write, INTx levels go to the router),
 * then every device's apply in creation order (the platform first: the
 * PIIX3 recounts its links from the restored functions before the devices
 * after it re-register MSI-X routes and ioeventfds).
 */
#include "dm/state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm/machine.h"
#include "dm/pci.h"
#include "dm/state_rec.h"
#include "lib/log.h"

int dm_state_quiesce(struct dm_machine *m)
{
    bool polling;
    char name[64];
    int rc = 0;

    /* Queues being polled have the guest's kicks turned off in guest
     * memory: turn them back on, or the restored guest would never kick. */
    dm_pollers_run(m->dm, true, &polling);
    for (unsigned i = 0; i < m->nr_devs; i++) {
        struct dm_dev *dev = m->devs[i];
        int r = dev->type->quiesce ? dev->type->quiesce(dev) : 0;
        if (r < 0 && rc == 0) {
            log_error("%s: before the save: %s", dm_dev_name(dev, name, sizeof(name)),
                      strerror(-r));
            rc = r;
        }
    }
    return rc;
}

static uint32_t record_key(const struct dm_dev *dev)
{
    return dev->type->bus == DM_BUS_PCI ? dev->devfn : dev->instance;
}

int dm_state_save(struct dm_machine *m, uint8_t **blob, size_t *len)
{
    struct srec_w w;

    srec_w_init(&w);
    for (unsigned devfn = 0; m->pci && devfn < PCI_NR_DEVFN; devfn++) {
        if (!m->pci->devs[devfn])
            continue;
        srec_begin(&w, STATE_TAG_PCI, devfn);
        pci_dev_state_save(m->pci->devs[devfn], &w);
        srec_end(&w);
    }
    for (unsigned i = 0; i < m->nr_devs; i++) {
        struct dm_dev *dev = m->devs[i];
        if (!dev->type->state_tag)
            continue;
        srec_begin(&w, dev->type->state_tag, record_key(dev));
        dev->type->save(dev, &w);
        srec_end(&w);
    }
    return srec_w_finish(&w, blob, len);
}

struct stage {
    struct pci_dev_state pci[PCI_NR_DEVFN];
    bool seen_pci[PCI_NR_DEVFN];
    void *dev[DM_MAX_DEVICES];
    bool seen_dev[DM_MAX_DEVICES];
};

static void stage_free(struct stage *st)
{
    for (unsigned i = 0; st && i < DM_MAX_DEVICES; i++)
        free(st->dev[i]);
    free(st);
}

static struct stage *stage_new(const struct dm_machine *m)
{
    struct stage *st = calloc(1, sizeof(*st));

    for (unsigned i = 0; st && i < m->nr_devs; i++) {
        const struct dm_device_type *t = m->devs[i]->type;
        if (!t->state_tag)
            continue;
        st->dev[i] = calloc(1, t->stage_size ? t->stage_size : 1);
        if (!st->dev[i]) {
            stage_free(st);
            return NULL;
        }
    }
    return st;
}

static const char *pci_name(const struct pci_bus *bus, unsigned devfn, char *buf, size_t len)
{
    const struct pci_dev *d = bus && devfn < PCI_NR_DEVFN ? bus->devs[devfn] : NULL;

    if (!d)
        snprintf(buf, len, "PCI 00:%02x.%x", (devfn >> 3) & 0x1f, devfn & 7);
    else
        snprintf(buf, len, "PCI 00:%02x.%x (%04x:%04x)", (devfn >> 3) & 0x1f, devfn & 7,
                 pci_cfg_read(d, PCI_VENDOR_ID, 2), pci_cfg_read(d, PCI_DEVICE_ID, 2));
    return buf;
}

/* The instance a device record is for, or -1. */
static int find_instance(const struct dm_machine *m, uint32_t tag, uint32_t key)
{
    for (unsigned i = 0; tag && i < m->nr_devs; i++)
        if (m->devs[i]->type->state_tag == tag && record_key(m->devs[i]) == key)
            return (int)i;
    return -1;
}

/* Whether some device type writes records with this tag. */
static bool tag_known(uint32_t tag)
{
    size_t n;
    const struct dm_device_type *const *t = dm_device_types(&n);

    for (size_t i = 0; tag && i < n; i++)
        if (t[i]->state_tag == tag)
            return true;
    return false;
}

/* A record for a device the machine does not have: name what it was. */
static const char *unknown_name(const struct dm_machine *m, uint32_t tag, uint32_t key, char *buf,
                                size_t len)
{
    size_t n;
    const struct dm_device_type *const *types = dm_device_types(&n);

    (void)m;
    for (size_t i = 0; tag && i < n; i++) {
        const struct dm_device_type *t = types[i];
        if (t->state_tag == tag) {
            if (t->bus == DM_BUS_PCI)
                snprintf(buf, len, "%s (00:%02x.%x)", t->name, (key >> 3) & 0x1f, key & 7);
            else
                snprintf(buf, len, "%s #%u", t->name, key);
            return buf;
        }
    }
    snprintf(buf, len, "device type %u", tag);
    return buf;
}

static void parse_one(struct dm_machine *m, struct stage *st, uint32_t tag, uint32_t key,
                      struct srec_r *r, const char **dev, char *name, size_t len)
{
    if (tag == STATE_TAG_PCI) {
        *dev = pci_name(m->pci, key, name, len);
        srec_check(r, m->pci && key < PCI_NR_DEVFN && m->pci->devs[key],
                   "no such function in this configuration");
        if (r->bad)
            return;
        srec_check(r, !st->seen_pci[key], "a second record for the device");
        st->seen_pci[key] = true;
        if (!r->bad)
            pci_dev_state_parse(m->pci->devs[key], &st->pci[key], r);
        return;
    }
    int i = find_instance(m, tag, key);
    if (i < 0) {
        *dev = unknown_name(m, tag, key, name, len);
        srec_check(r, false,
                   tag_known(tag) ? "no such device in this configuration" : "unknown record type");
        return;
    }
    *dev = dm_dev_name(m->devs[i], name, len);
    srec_check(r, !st->seen_dev[i], "a second record for the device");
    st->seen_dev[i] = true;
    if (!r->bad)
        m->devs[i]->type->parse(m->devs[i], st->dev[i], r);
}

static int parse_all(struct dm_machine *m, struct stage *st, const uint8_t *blob, size_t len)
{
    struct srec_r r, rec;
    uint32_t tag, key;
    int more;

    if (srec_r_open(&r, blob, len) < 0) {
        log_error("device state: %s", r.why);
        return -EINVAL;
    }
    while ((more = srec_next(&r, &tag, &key, &rec)) > 0) {
        const char *dev = "unknown device";
        char name[64];
        parse_one(m, st, tag, key, &rec, &dev, name, sizeof(name));
        if (!srec_done(&rec)) {
            log_error("device state: %s: %s", dev, rec.why);
            return -EINVAL;
        }
    }
    if (more < 0) {
        log_error("device state: %s", r.why);
        return -EINVAL;
    }
    return 0;
}

/* Every function and every device with state must have had its record. */
static int check_complete(const struct dm_machine *m, const struct stage *st)
{
    const char *missing = NULL;
    char name[64];

    for (unsigned devfn = 0; !missing && m->pci && devfn < PCI_NR_DEVFN; devfn++)
        if (m->pci->devs[devfn] && !st->seen_pci[devfn])
            missing = pci_name(m->pci, devfn, name, sizeof(name));
    for (unsigned i = 0; !missing && i < m->nr_devs; i++)
        if (m->devs[i]->type->state_tag && !st->seen_dev[i])
            missing = dm_dev_name(m->devs[i], name, sizeof(name));
    if (missing) {
        log_error("device state: nothing saved for %s (saved with other devices?)", missing);
        return -EINVAL;
    }
    return 0;
}

static void apply_all(struct dm_machine *m, const struct stage *st)
{
    for (unsigned devfn = 0; m->pci && devfn < PCI_NR_DEVFN; devfn++)
        if (m->pci->devs[devfn])
            pci_dev_state_apply(m->pci->devs[devfn], &st->pci[devfn]);
    for (unsigned i = 0; i < m->nr_devs; i++)
        if (m->devs[i]->type->apply)
            m->devs[i]->type->apply(m->devs[i], st->dev[i]);
}

int dm_state_load(struct dm_machine *m, const uint8_t *blob, size_t len)
{
    struct stage *st = stage_new(m);
    int rc;

    if (!st)
        return -ENOMEM;
    rc = parse_all(m, st, blob, len);
    if (rc == 0)
        rc = check_complete(m, st);
    if (rc == 0)
        apply_all(m, st);
    stage_free(st);
    return rc;
}
