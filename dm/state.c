/* Save and restore of the whole device set (state.h).
 *
 * The blob holds one record per device instance, in this order (the order
 * is not required when reading):
 *   UART, RTC, I8042, FW_CFG       the ISA platform devices, instance 0
 *   PCI (devfn)                    config space of every function on bus 0
 *   VIRTIO (devfn)                 each virtio-pci function: transport,
 *                                  features, status, queues, MSI-X table
 *   VIRTIO_BLK / VIRTIO_NET (devfn) what the guest knows of the back end
 *
 * Load is two passes.  Pass one parses every record into a staging copy
 * (struct stage) and checks that the blob describes exactly the devices
 * this configuration has: a record for a device we do not have, a
 * duplicate, a record of another device type at a slot, or a device
 * without its record is refused, naming the device.  Nothing in pass one
 * touches a live device or the host.  Pass two applies the staged state:
 * ISA devices, then config spaces in devfn order (the PIIX3's PIRQ routes
 * before the devices that assert INTx through them; BARs move as on a
 * guest write), then the PIIX3's IRQ levels, then the virtio functions
 * (MSI-X routes, ioeventfds at the restored BAR).
 */
#include "dm/state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm/devices.h"
#include "dm/state_rec.h"
#include "dm/virtio/setup.h"
#include "lib/log.h"

#define MAX_VFUNCS (VIRTIO_MAX_DISKS + VIRTIO_MAX_NICS + 2)

enum vkind { VK_BLK, VK_NET, VK_CONSOLE, VK_RNG };

/* One virtio-pci function of the configuration. */
struct vfunc {
    struct virtio_pci *vp;
    enum vkind kind;
    unsigned index; /* disk or NIC number */
};

struct stage {
    struct uart com1;
    struct rtc rtc;
    struct i8042 i8042;
    struct fw_cfg fw_cfg;
    bool seen_uart, seen_rtc, seen_i8042, seen_fw_cfg;
    struct pci_dev_state pci[PCI_NR_DEVFN];
    bool seen_pci[PCI_NR_DEVFN];
    struct virtio_pci_state vp[MAX_VFUNCS];
    bool seen_vp[MAX_VFUNCS], seen_backend[MAX_VFUNCS];
};

static unsigned list_vfuncs(struct virtio_devices *v, struct vfunc *out)
{
    unsigned n = 0;

    if (!v)
        return 0;
    for (unsigned i = 0; i < v->nr_disks; i++)
        out[n++] = (struct vfunc){&v->blk_pci[i], VK_BLK, i};
    for (unsigned i = 0; i < v->nr_nics; i++)
        out[n++] = (struct vfunc){&v->net_pci[i], VK_NET, i};
    if (v->console.vdev.ops)
        out[n++] = (struct vfunc){&v->console_pci, VK_CONSOLE, 0};
    if (v->rng.vdev.ops)
        out[n++] = (struct vfunc){&v->rng_pci, VK_RNG, 0};
    return n;
}

static int find_vfunc(const struct vfunc *f, unsigned n, unsigned devfn)
{
    for (unsigned i = 0; i < n; i++)
        if (f[i].vp->pci.devfn == devfn)
            return (int)i;
    return -1;
}

static const char *pci_name(const struct pci_bus *bus, unsigned devfn, char *buf, size_t len)
{
    const struct pci_dev *d = devfn < PCI_NR_DEVFN ? bus->devs[devfn] : NULL;

    if (!d)
        snprintf(buf, len, "PCI 00:%02x.%x", (devfn >> 3) & 0x1f, devfn & 7);
    else
        snprintf(buf, len, "PCI 00:%02x.%x (%04x:%04x)", (devfn >> 3) & 0x1f, devfn & 7,
                 pci_cfg_read(d, PCI_VENDOR_ID, 2), pci_cfg_read(d, PCI_DEVICE_ID, 2));
    return buf;
}

static void serve_all_queues(struct vfunc *f, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        struct virtio_dev *vd = f[i].vp->vd;
        for (unsigned q = 0; q < vd->ops->nr_queues; q++)
            virtio_queue_kick(vd, q);
    }
}

int dm_state_quiesce(struct dm *dm, struct dm_devices *devs, struct virtio_devices *vdevs)
{
    struct vfunc f[MAX_VFUNCS];
    unsigned n = list_vfuncs(vdevs, f);
    bool polling;
    int rc = 0;

    (void)devs;
    /* Queues being polled have the guest's kicks turned off in guest
     * memory: turn them back on, or the restored guest would never kick. */
    dm_pollers_run(dm, true, &polling);
    /* The guest was told nothing about what it made available: serving it
     * now is what completing in-flight I/O means. */
    serve_all_queues(f, n);
    if (vdevs && vdevs->console.vdev.ops)
        virtio_console_release(&vdevs->console);
    for (unsigned i = 0; vdevs && i < vdevs->nr_disks; i++) {
        if (vdevs->disks[i].read_only)
            continue;
        int r = disk_flush(&vdevs->disks[i]);
        if (r < 0 && rc == 0) {
            log_error("disk %u: flush before save: %s", i, strerror(-r));
            rc = r;
        }
    }
    return rc;
}

int dm_state_save(struct dm *dm, struct dm_devices *devs, struct virtio_devices *vdevs,
                  uint8_t **blob, size_t *len)
{
    struct vfunc f[MAX_VFUNCS];
    unsigned n = list_vfuncs(vdevs, f);
    struct srec_w w;

    (void)dm;
    /* A receive buffer held for console input goes back to the ring. */
    if (vdevs && vdevs->console.vdev.ops)
        virtio_console_release(&vdevs->console);
    srec_w_init(&w);
    srec_begin(&w, STATE_TAG_UART, 0);
    uart_state_save(&devs->com1, &w);
    srec_end(&w);
    srec_begin(&w, STATE_TAG_RTC, 0);
    rtc_state_save(&devs->rtc, &w);
    srec_end(&w);
    srec_begin(&w, STATE_TAG_I8042, 0);
    i8042_state_save(&devs->i8042, &w);
    srec_end(&w);
    srec_begin(&w, STATE_TAG_FW_CFG, 0);
    fw_cfg_state_save(&devs->fw_cfg, &w);
    srec_end(&w);
    for (unsigned devfn = 0; devfn < PCI_NR_DEVFN; devfn++) {
        if (!devs->pci.devs[devfn])
            continue;
        srec_begin(&w, STATE_TAG_PCI, devfn);
        pci_dev_state_save(devs->pci.devs[devfn], &w);
        srec_end(&w);
    }
    for (unsigned i = 0; i < n; i++) {
        unsigned devfn = f[i].vp->pci.devfn;
        srec_begin(&w, STATE_TAG_VIRTIO, devfn);
        virtio_pci_state_save(f[i].vp, &w);
        srec_end(&w);
        if (f[i].kind == VK_BLK) {
            srec_begin(&w, STATE_TAG_VIRTIO_BLK, devfn);
            virtio_blk_state_save(&vdevs->blk[f[i].index], &w);
            srec_end(&w);
        } else if (f[i].kind == VK_NET) {
            srec_begin(&w, STATE_TAG_VIRTIO_NET, devfn);
            virtio_net_state_save(&vdevs->net[f[i].index], &w);
            srec_end(&w);
        }
    }
    return srec_w_finish(&w, blob, len);
}

/* Mark a singleton seen; false if it was already. */
static bool first(bool *seen, struct srec_r *r)
{
    srec_check(r, !*seen, "a second record for the device");
    *seen = true;
    return !r->bad;
}

static void parse_platform(struct stage *st, struct dm_devices *devs, uint32_t tag,
                           struct srec_r *r, const char **dev)
{
    switch (tag) {
    case STATE_TAG_UART:
        *dev = "COM1";
        if (first(&st->seen_uart, r))
            uart_state_parse(&st->com1, r);
        break;
    case STATE_TAG_RTC:
        *dev = "RTC";
        if (first(&st->seen_rtc, r))
            rtc_state_parse(&st->rtc, r);
        break;
    case STATE_TAG_I8042:
        *dev = "i8042";
        if (first(&st->seen_i8042, r))
            i8042_state_parse(&st->i8042, r);
        break;
    default: /* STATE_TAG_FW_CFG */
        *dev = "fw_cfg";
        if (first(&st->seen_fw_cfg, r))
            fw_cfg_state_parse(&st->fw_cfg, r);
        break;
    }
    (void)devs;
}

static void parse_virtio(struct stage *st, struct virtio_devices *vdevs, const struct vfunc *f,
                         unsigned n, uint32_t tag, uint32_t devfn, struct srec_r *r)
{
    int i = find_vfunc(f, n, devfn);
    static const enum vkind kind_of[] = {
        [STATE_TAG_VIRTIO_BLK] = VK_BLK, [STATE_TAG_VIRTIO_NET] = VK_NET};

    srec_check(r, i >= 0, "no virtio device there in this configuration");
    if (r->bad)
        return;
    if (tag == STATE_TAG_VIRTIO) {
        if (first(&st->seen_vp[i], r))
            virtio_pci_state_parse(f[i].vp, &st->vp[i], r);
        return;
    }
    srec_check(r, f[i].kind == kind_of[tag], "another virtio device type");
    if (!first(&st->seen_backend[i], r))
        return;
    if (tag == STATE_TAG_VIRTIO_BLK)
        virtio_blk_state_parse(&vdevs->blk[f[i].index], r);
    else
        virtio_net_state_parse(&vdevs->net[f[i].index], r);
}

static int parse_all(struct stage *st, struct dm_devices *devs, struct virtio_devices *vdevs,
                     const struct vfunc *f, unsigned n, const uint8_t *blob, size_t len)
{
    struct srec_r r, rec;
    uint32_t tag, inst;
    char name[48];
    int more;

    if (srec_r_open(&r, blob, len) < 0) {
        log_error("device state: %s", r.why);
        return -EINVAL;
    }
    while ((more = srec_next(&r, &tag, &inst, &rec)) > 0) {
        const char *dev = "unknown device";
        switch (tag) {
        case STATE_TAG_UART:
        case STATE_TAG_RTC:
        case STATE_TAG_I8042:
        case STATE_TAG_FW_CFG:
            parse_platform(st, devs, tag, &rec, &dev);
            srec_check(&rec, inst == 0, "instance out of range");
            break;
        case STATE_TAG_PCI:
            dev = pci_name(&devs->pci, inst, name, sizeof(name));
            srec_check(&rec, inst < PCI_NR_DEVFN && devs->pci.devs[inst],
                       "no such function in this configuration");
            if (!rec.bad && first(&st->seen_pci[inst], &rec))
                pci_dev_state_parse(devs->pci.devs[inst], &st->pci[inst], &rec);
            break;
        case STATE_TAG_VIRTIO:
        case STATE_TAG_VIRTIO_BLK:
        case STATE_TAG_VIRTIO_NET:
            dev = pci_name(&devs->pci, inst, name, sizeof(name));
            parse_virtio(st, vdevs, f, n, tag, inst, &rec);
            break;
        default:
            srec_check(&rec, false, "unknown record type");
            break;
        }
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

/* Every device of the configuration must have had its record. */
static int check_complete(const struct stage *st, struct dm_devices *devs, const struct vfunc *f,
                          unsigned n)
{
    const char *missing = NULL;
    char name[48];

    if (!st->seen_uart)
        missing = "COM1";
    else if (!st->seen_rtc)
        missing = "RTC";
    else if (!st->seen_i8042)
        missing = "i8042";
    else if (!st->seen_fw_cfg)
        missing = "fw_cfg";
    for (unsigned devfn = 0; !missing && devfn < PCI_NR_DEVFN; devfn++)
        if (devs->pci.devs[devfn] && !st->seen_pci[devfn])
            missing = pci_name(&devs->pci, devfn, name, sizeof(name));
    for (unsigned i = 0; !missing && i < n; i++)
        if (!st->seen_vp[i] ||
            ((f[i].kind == VK_BLK || f[i].kind == VK_NET) && !st->seen_backend[i]))
            missing = pci_name(&devs->pci, f[i].vp->pci.devfn, name, sizeof(name));
    if (missing) {
        log_error("device state: nothing saved for %s (saved with other devices?)", missing);
        return -EINVAL;
    }
    return 0;
}

static void apply_all(const struct stage *st, struct dm_devices *devs, struct virtio_devices *vdevs,
                      const struct vfunc *f, unsigned n)
{
    uart_state_apply(&devs->com1, &st->com1);
    rtc_state_apply(&devs->rtc, &st->rtc);
    i8042_state_apply(&devs->i8042, &st->i8042);
    fw_cfg_state_apply(&devs->fw_cfg, &st->fw_cfg);
    for (unsigned devfn = 0; devfn < PCI_NR_DEVFN; devfn++)
        if (devs->pci.devs[devfn])
            pci_dev_state_apply(devs->pci.devs[devfn], &st->pci[devfn]);
    piix_state_refresh(&devs->piix);
    if (vdevs && vdevs->console.vdev.ops)
        vdevs->console.rx_held = false; /* a held buffer is the ring's again */
    for (unsigned i = 0; i < n; i++)
        virtio_pci_state_apply(f[i].vp, &st->vp[i]);
}

int dm_state_load(struct dm *dm, struct dm_devices *devs, struct virtio_devices *vdevs,
                  const uint8_t *blob, size_t len)
{
    struct vfunc f[MAX_VFUNCS];
    unsigned n = list_vfuncs(vdevs, f);
    struct stage *st = calloc(1, sizeof(*st));
    int rc;

    (void)dm;
    if (!st)
        return -ENOMEM;
    st->com1 = devs->com1;
    st->rtc = devs->rtc;
    st->i8042 = devs->i8042;
    st->fw_cfg = devs->fw_cfg;
    rc = parse_all(st, devs, vdevs, f, n, blob, len);
    if (rc == 0)
        rc = check_complete(st, devs, f, n);
    if (rc == 0)
        apply_all(st, devs, vdevs, f, n);
    free(st);
    return rc;
}
