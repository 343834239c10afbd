/* virtio-pci modern transport (see pci.h for the BAR layout). */
#include "dm/virtio/pci.h"

#include <errno.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_pci.h>
#include <stddef.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "dm/device.h"
#include "lib/log.h"

#define CAP_ID_VNDR 0x09

static struct virtio_pci *vp_of(struct virtio_dev *vd)
{
    return vd->transport_priv;
}

static struct dm *dm_of(const struct pci_bus *bus)
{
    return bus->dm;
}

static unsigned nr_vectors(const struct virtio_pci *vp)
{
    return vp->vd->ops->nr_queues + 1;
}

/* ---- interrupts ---- */

static void vp_interrupt(struct virtio_dev *vd, unsigned q)
{
    struct virtio_pci *vp = vp_of(vd);

    if (pci_msix_enabled(&vp->msix)) {
        uint16_t v = q == VIRTIO_IRQ_CONFIG ? vp->msix_config : vp->queue_vector[q];
        if (v != VIRTIO_MSI_NO_VECTOR)
            pci_msix_notify(&vp->msix, v);
        return;
    }
    pci_set_intx(&vp->pci, vd->isr != 0);
}

static const struct virtio_transport_ops vp_transport = {.interrupt = vp_interrupt};

/* ---- ioeventfd kicks ---- */

static void kick_fd_ready(struct dm *dm, int fd, void *opaque);

/* Assign or drop the ioeventfd of queue q so it matches what should be:
 * the queue live and the BAR decoded at its current address. */
static void kick_update(struct virtio_pci *vp, unsigned q)
{
    struct pci_bar *b = &vp->pci.bars[VIRTIO_PCI_BAR];
    struct dm *dm = vp->vd->dm;
    bool want = b->mapped && virtio_queue_live(vp->vd, q);
    uint64_t addr = b->addr + VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MUL * q;

    if (vp->kick_assigned[q] && (!want || vp->kick_addr[q] != addr)) {
        dm_ioeventfd(dm, DM_TRAP_MMIO, vp->kick_addr[q], 2, vp->kick_fd[q], true);
        vp->kick_assigned[q] = false;
    }
    if (!want || vp->kick_assigned[q] || vp->kick_fd[q] < 0)
        return;
    if (dm_ioeventfd(dm, DM_TRAP_MMIO, addr, 2, vp->kick_fd[q], false) == 0) {
        vp->kick_assigned[q] = true;
        vp->kick_addr[q] = addr;
    }
}

static void kick_update_all(struct virtio_pci *vp)
{
    for (unsigned q = 0; q < vp->vd->ops->nr_queues; q++)
        kick_update(vp, q);
}

void virtio_pci_update_kicks(struct virtio_pci *vp)
{
    kick_update_all(vp);
}

static void kick_fd_ready(struct dm *dm, int fd, void *opaque)
{
    struct virtio_pci *vp = opaque;
    uint64_t count;

    (void)dm;
    if (read(fd, &count, sizeof(count)) < 0)
        return;
    for (unsigned q = 0; q < vp->vd->ops->nr_queues; q++) {
        if (vp->kick_fd[q] != fd)
            continue;
        virtio_queue_kick(vp->vd, q);
        /* A queue that was kicked tends to be kicked again soon: poll it
         * for a while with the guest's kicks off. */
        if ((vp->vd->ops->poll_queues >> q & 1) && virtio_queue_live(vp->vd, q)) {
            vp->polling[q] = true;
            virtq_set_kicks(&vp->vd->vq[q], false);
        }
    }
}

static int kick_poll(struct dm *dm, void *opaque, bool stop)
{
    struct virtio_pci *vp = opaque;
    int rc = -1;

    (void)dm;
    for (unsigned q = 0; q < vp->vd->ops->nr_queues; q++) {
        struct virtq *vq = &vp->vd->vq[q];
        if (!vp->polling[q])
            continue;
        if (stop || !virtio_queue_live(vp->vd, q)) {
            /* Kicks back on, then serve what came before the guest saw it. */
            vp->polling[q] = false;
            virtq_set_kicks(vq, true);
            if (virtq_has_work(vq))
                virtio_queue_kick(vp->vd, q);
            continue;
        }
        if (rc < 0)
            rc = 0;
        if (virtq_has_work(vq)) {
            virtio_queue_kick(vp->vd, q); /* leaves kicks on: off again */
            virtq_set_kicks(vq, false);
            rc = 1;
        }
    }
    return rc;
}

/* ---- common configuration ---- */

static uint64_t common_read(struct virtio_pci *vp, unsigned off)
{
    struct virtio_dev *vd = vp->vd;
    unsigned q = vp->queue_sel;
    const struct virtq *vq = q < vd->ops->nr_queues ? &vd->vq[q] : NULL;

    switch (off) {
    case VIRTIO_PCI_COMMON_DFSELECT:
        return vp->dfselect;
    case VIRTIO_PCI_COMMON_DF:
        return vp->dfselect < 2 ? (uint32_t)(vd->offered >> (32 * vp->dfselect)) : 0;
    case VIRTIO_PCI_COMMON_GFSELECT:
        return vp->gfselect;
    case VIRTIO_PCI_COMMON_GF:
        return vp->gfselect < 2 ? (uint32_t)(vd->driver >> (32 * vp->gfselect)) : 0;
    case VIRTIO_PCI_COMMON_MSIX:
        return vp->msix_config;
    case VIRTIO_PCI_COMMON_NUMQ:
        return vd->ops->nr_queues;
    case VIRTIO_PCI_COMMON_STATUS:
        return vd->status;
    case VIRTIO_PCI_COMMON_CFGGENERATION:
        return vd->config_gen;
    case VIRTIO_PCI_COMMON_Q_SELECT:
        return vp->queue_sel;
    case VIRTIO_PCI_COMMON_Q_SIZE:
        return vq ? vq->size : 0;
    case VIRTIO_PCI_COMMON_Q_MSIX:
        return vq ? vp->queue_vector[q] : VIRTIO_MSI_NO_VECTOR;
    case VIRTIO_PCI_COMMON_Q_ENABLE:
        return vq ? vq->enabled : 0;
    case VIRTIO_PCI_COMMON_Q_NOFF:
        return vq ? q : 0;
    case VIRTIO_PCI_COMMON_Q_DESCLO:
        return vq ? (uint32_t)vq->desc_gpa : 0;
    case VIRTIO_PCI_COMMON_Q_DESCHI:
        return vq ? (uint32_t)(vq->desc_gpa >> 32) : 0;
    case VIRTIO_PCI_COMMON_Q_AVAILLO:
        return vq ? (uint32_t)vq->avail_gpa : 0;
    case VIRTIO_PCI_COMMON_Q_AVAILHI:
        return vq ? (uint32_t)(vq->avail_gpa >> 32) : 0;
    case VIRTIO_PCI_COMMON_Q_USEDLO:
        return vq ? (uint32_t)vq->used_gpa : 0;
    case VIRTIO_PCI_COMMON_Q_USEDHI:
        return vq ? (uint32_t)(vq->used_gpa >> 32) : 0;
    default:
        return 0;
    }
}

/* The width of each common register; 0 for none. */
static unsigned common_width(unsigned off)
{
    switch (off) {
    case VIRTIO_PCI_COMMON_DFSELECT:
    case VIRTIO_PCI_COMMON_DF:
    case VIRTIO_PCI_COMMON_GFSELECT:
    case VIRTIO_PCI_COMMON_GF:
    case VIRTIO_PCI_COMMON_Q_DESCLO:
    case VIRTIO_PCI_COMMON_Q_DESCHI:
    case VIRTIO_PCI_COMMON_Q_AVAILLO:
    case VIRTIO_PCI_COMMON_Q_AVAILHI:
    case VIRTIO_PCI_COMMON_Q_USEDLO:
    case VIRTIO_PCI_COMMON_Q_USEDHI:
        return 4;
    case VIRTIO_PCI_COMMON_MSIX:
    case VIRTIO_PCI_COMMON_NUMQ:
    case VIRTIO_PCI_COMMON_Q_SELECT:
    case VIRTIO_PCI_COMMON_Q_SIZE:
    case VIRTIO_PCI_COMMON_Q_MSIX:
    case VIRTIO_PCI_COMMON_Q_ENABLE:
    case VIRTIO_PCI_COMMON_Q_NOFF:
        return 2;
    case VIRTIO_PCI_COMMON_STATUS:
    case VIRTIO_PCI_COMMON_CFGGENERATION:
        return 1;
    default:
        return 0;
    }
}

static uint16_t checked_vector(const struct virtio_pci *vp, uint32_t v)
{
    return v < nr_vectors(vp) ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR;
}

static void set_addr(uint64_t *gpa, bool high, uint32_t v)
{
    if (high)
        *gpa = (*gpa & 0xffffffffull) | ((uint64_t)v << 32);
    else
        *gpa = (*gpa & ~0xffffffffull) | v;
}

static void vp_reset(struct virtio_pci *vp)
{
    vp->msix_config = VIRTIO_MSI_NO_VECTOR;
    for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
        vp->queue_vector[q] = VIRTIO_MSI_NO_VECTOR;
    pci_set_intx(&vp->pci, false);
}

static void common_write(struct virtio_pci *vp, unsigned off, uint32_t v)
{
    struct virtio_dev *vd = vp->vd;
    unsigned q = vp->queue_sel;
    struct virtq *vq = q < vd->ops->nr_queues ? &vd->vq[q] : NULL;
    bool queue_writable = vq && !vq->enabled && !(vd->status & VIRTIO_CONFIG_S_DRIVER_OK);

    switch (off) {
    case VIRTIO_PCI_COMMON_DFSELECT:
        vp->dfselect = v;
        break;
    case VIRTIO_PCI_COMMON_GFSELECT:
        vp->gfselect = v;
        break;
    case VIRTIO_PCI_COMMON_GF:
        virtio_set_driver_features(vd, vp->gfselect, v);
        break;
    case VIRTIO_PCI_COMMON_MSIX:
        vp->msix_config = checked_vector(vp, v);
        break;
    case VIRTIO_PCI_COMMON_STATUS:
        vd->legacy = false;
        virtio_set_status(vd, (uint8_t)v);
        if (v == 0)
            vp_reset(vp);
        kick_update_all(vp);
        break;
    case VIRTIO_PCI_COMMON_Q_SELECT:
        vp->queue_sel = (uint16_t)v;
        break;
    case VIRTIO_PCI_COMMON_Q_SIZE:
        /* Checked when the queue is enabled (queue.h). */
        if (queue_writable)
            vq->size = (uint16_t)v;
        break;
    case VIRTIO_PCI_COMMON_Q_MSIX:
        if (vq)
            vp->queue_vector[q] = checked_vector(vp, v);
        break;
    case VIRTIO_PCI_COMMON_Q_ENABLE:
        /* Only 1 may be written; disabling is done by a reset. */
        if (queue_writable && v == 1)
            virtio_queue_ready(vd, q);
        break;
    case VIRTIO_PCI_COMMON_Q_DESCLO:
    case VIRTIO_PCI_COMMON_Q_DESCHI:
        if (queue_writable)
            set_addr(&vq->desc_gpa, off == VIRTIO_PCI_COMMON_Q_DESCHI, v);
        break;
    case VIRTIO_PCI_COMMON_Q_AVAILLO:
    case VIRTIO_PCI_COMMON_Q_AVAILHI:
        if (queue_writable)
            set_addr(&vq->avail_gpa, off == VIRTIO_PCI_COMMON_Q_AVAILHI, v);
        break;
    case VIRTIO_PCI_COMMON_Q_USEDLO:
    case VIRTIO_PCI_COMMON_Q_USEDHI:
        if (queue_writable)
            set_addr(&vq->used_gpa, off == VIRTIO_PCI_COMMON_Q_USEDHI, v);
        break;
    default:
        break; /* read-only or nothing there */
    }
}

/* The spec has drivers access common registers at their natural width;
 * anything else reads as zero and is not written. */
static void common_access(struct virtio_pci *vp, unsigned off, uint8_t *data, uint32_t size,
                          bool is_write)
{
    uint32_t v = 0;

    if (common_width(off) != size) {
        if (!is_write)
            memset(data, 0, size);
        return;
    }
    if (is_write) {
        memcpy(&v, data, size);
        common_write(vp, off, v);
    } else {
        v = (uint32_t)common_read(vp, off);
        memcpy(data, &v, size);
    }
}

/* ---- the legacy register block (I/O BAR 0) ---- */

/* Transitional device ids (virtio 1.x, 4.1.2.1), by virtio device id. */
static uint16_t transitional_id(uint16_t id)
{
    switch (id) {
    case VIRTIO_ID_NET:
        return 0x1000;
    case VIRTIO_ID_BLOCK:
        return 0x1001;
    case VIRTIO_ID_CONSOLE:
        return 0x1003;
    case VIRTIO_ID_RNG:
        return 0x1005;
    default:
        return 0;
    }
}

/* Where the device config starts: after the MSI-X vectors when enabled. */
static unsigned legacy_config_off(const struct virtio_pci *vp)
{
    return VIRTIO_PCI_CONFIG_OFF(pci_msix_enabled(&vp->msix));
}

/* The legacy ring layout: descriptors at pfn << 12, the available ring
 * right after them, the used ring at the next 4 KiB boundary. */
static void legacy_queue_pfn(struct virtio_pci *vp, unsigned q, uint32_t pfn)
{
    struct virtio_dev *vd = vp->vd;
    struct virtq *vq = &vd->vq[q];
    uint64_t base = (uint64_t)pfn << VIRTIO_PCI_QUEUE_ADDR_SHIFT, avail_end;

    if (pfn == 0 || vq->enabled)
        return; /* a driver tearing down: the reset does it */
    vq->size = VIRTIO_QUEUE_SIZE;
    vq->desc_gpa = base;
    vq->avail_gpa = base + 16ull * vq->size;
    avail_end = vq->avail_gpa + 6 + 2ull * vq->size;
    vq->used_gpa =
        (avail_end + VIRTIO_PCI_VRING_ALIGN - 1) & ~(uint64_t)(VIRTIO_PCI_VRING_ALIGN - 1);
    virtio_queue_ready(vd, q);
}

static uint32_t legacy_read(struct virtio_pci *vp, unsigned off, uint32_t size)
{
    struct virtio_dev *vd = vp->vd;
    unsigned q = vp->queue_sel;
    bool qok = q < vd->ops->nr_queues;

    switch (off) {
    case VIRTIO_PCI_HOST_FEATURES:
        return size == 4 ? (uint32_t)vd->offered : 0;
    case VIRTIO_PCI_GUEST_FEATURES:
        return size == 4 ? (uint32_t)vd->driver : 0;
    case VIRTIO_PCI_QUEUE_PFN:
        return size == 4 && qok && vd->vq[q].enabled
                   ? (uint32_t)(vd->vq[q].desc_gpa >> VIRTIO_PCI_QUEUE_ADDR_SHIFT)
                   : 0;
    case VIRTIO_PCI_QUEUE_NUM:
        return size == 2 && qok ? vd->vq[q].size : 0;
    case VIRTIO_PCI_QUEUE_SEL:
        return size == 2 ? vp->queue_sel : 0;
    case VIRTIO_PCI_STATUS:
        return size == 1 ? vd->status : 0;
    case VIRTIO_PCI_ISR: {
        uint8_t isr;
        if (size != 1)
            return 0;
        isr = virtio_read_isr(vd);
        if (!pci_msix_enabled(&vp->msix))
            pci_set_intx(&vp->pci, false);
        return isr;
    }
    case VIRTIO_MSI_CONFIG_VECTOR:
        return size == 2 && pci_msix_enabled(&vp->msix) ? vp->msix_config : 0;
    case VIRTIO_MSI_QUEUE_VECTOR:
        return size == 2 && pci_msix_enabled(&vp->msix)
                   ? (qok ? vp->queue_vector[q] : VIRTIO_MSI_NO_VECTOR)
                   : 0;
    default:
        return 0;
    }
}

static void legacy_write(struct virtio_pci *vp, unsigned off, uint32_t size, uint32_t v)
{
    struct virtio_dev *vd = vp->vd;
    unsigned q = vp->queue_sel;
    bool qok = q < vd->ops->nr_queues;

    vd->legacy = true;
    switch (off) {
    case VIRTIO_PCI_GUEST_FEATURES:
        if (size == 4)
            virtio_set_driver_features(vd, 0, v);
        break;
    case VIRTIO_PCI_QUEUE_PFN:
        if (size == 4 && qok && !(vd->status & VIRTIO_CONFIG_S_DRIVER_OK))
            legacy_queue_pfn(vp, q, v);
        break;
    case VIRTIO_PCI_QUEUE_SEL:
        if (size == 2)
            vp->queue_sel = (uint16_t)v;
        break;
    case VIRTIO_PCI_QUEUE_NOTIFY:
        if (size == 2)
            virtio_queue_kick(vd, v);
        break;
    case VIRTIO_PCI_STATUS:
        if (size != 1)
            break;
        virtio_set_status(vd, (uint8_t)v);
        if (v == 0)
            vp_reset(vp);
        kick_update_all(vp);
        break;
    case VIRTIO_MSI_CONFIG_VECTOR:
        if (size == 2 && pci_msix_enabled(&vp->msix))
            vp->msix_config = checked_vector(vp, v);
        break;
    case VIRTIO_MSI_QUEUE_VECTOR:
        if (size == 2 && pci_msix_enabled(&vp->msix) && qok)
            vp->queue_vector[q] = checked_vector(vp, v);
        break;
    default:
        break;
    }
}

static void vp_legacy_bar(struct pci_dev *d, unsigned bar, uint64_t off, uint8_t *data,
                          uint32_t size, bool is_write, void *opaque)
{
    struct virtio_pci *vp = opaque;
    struct virtio_dev *vd = vp->vd;
    unsigned cfg = legacy_config_off(vp);
    uint32_t v = 0;

    (void)d;
    (void)bar;
    if (off >= cfg) {
        if (off - cfg + size > vd->ops->config_size) {
            if (!is_write)
                memset(data, 0, size);
        } else if (is_write) {
            vd->legacy = true;
            vd->ops->config_write(vd, (uint32_t)(off - cfg), data, size);
        } else {
            vd->ops->config_read(vd, (uint32_t)(off - cfg), data, size);
        }
        return;
    }
    if (size > 4) {
        if (!is_write)
            memset(data, 0, size);
        return;
    }
    if (is_write) {
        memcpy(&v, data, size);
        legacy_write(vp, (unsigned)off, size, v);
    } else {
        v = legacy_read(vp, (unsigned)off, size);
        memcpy(data, &v, size);
    }
}

/* ---- the BAR ---- */

static void vp_bar(struct pci_dev *d, unsigned bar, uint64_t off, uint8_t *data, uint32_t size,
                   bool is_write, void *opaque)
{
    struct virtio_pci *vp = opaque;
    struct virtio_dev *vd = vp->vd;

    (void)d;
    if (pci_msix_bar_access(&vp->msix, bar, off, data, size, is_write))
        return;
    if (off < VIRTIO_PCI_COMMON_OFF + sizeof(struct virtio_pci_common_cfg)) {
        common_access(vp, (unsigned)off, data, size, is_write);
        return;
    }
    if (!is_write)
        memset(data, 0, size);
    if (off == VIRTIO_PCI_ISR_OFF && !is_write) {
        data[0] = virtio_read_isr(vd);
        if (!pci_msix_enabled(&vp->msix))
            pci_set_intx(&vp->pci, false);
        return;
    }
    if (off >= VIRTIO_PCI_DEVICE_OFF &&
        off - VIRTIO_PCI_DEVICE_OFF + size <= vd->ops->config_size) {
        uint32_t o = (uint32_t)(off - VIRTIO_PCI_DEVICE_OFF);
        if (is_write)
            vd->ops->config_write(vd, o, data, size);
        else
            vd->ops->config_read(vd, o, data, size);
        return;
    }
    if (is_write && off >= VIRTIO_PCI_NOTIFY_OFF &&
        off < VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MUL * vd->ops->nr_queues &&
        (off - VIRTIO_PCI_NOTIFY_OFF) % VIRTIO_PCI_NOTIFY_MUL == 0)
        virtio_queue_kick(vd, (unsigned)((off - VIRTIO_PCI_NOTIFY_OFF) / VIRTIO_PCI_NOTIFY_MUL));
}

static void vp_config_write(struct pci_dev *d, unsigned reg, uint32_t size, void *opaque)
{
    struct virtio_pci *vp = opaque;

    (void)d;
    pci_msix_config_write(&vp->msix, reg, size);
    /* BAR or decode changes move the ioeventfds. */
    if (reg < PCI_BAR0 + 4 * PCI_NR_BARS && reg + size > PCI_COMMAND)
        kick_update_all(vp);
}

/* ---- set-up ---- */

static int add_vndr_cap(struct virtio_pci *vp, unsigned off, uint8_t type, uint32_t where,
                        uint32_t len, unsigned cap_len)
{
    int rc = pci_cap_add(&vp->pci, CAP_ID_VNDR, off, cap_len);

    if (rc < 0)
        return rc;
    pci_cfg_set(&vp->pci, off + VIRTIO_PCI_CAP_LEN, 1, cap_len);
    pci_cfg_set(&vp->pci, off + VIRTIO_PCI_CAP_CFG_TYPE, 1, type);
    pci_cfg_set(&vp->pci, off + VIRTIO_PCI_CAP_BAR, 1, VIRTIO_PCI_BAR);
    pci_cfg_set(&vp->pci, off + VIRTIO_PCI_CAP_OFFSET, 4, where);
    pci_cfg_set(&vp->pci, off + VIRTIO_PCI_CAP_LENGTH, 4, len);
    return 0;
}

int virtio_pci_init(struct virtio_pci *vp, struct pci_bus *bus, unsigned devfn,
                    struct virtio_dev *vd, uint32_t class_code, unsigned flags)
{
    uint16_t id = vd->ops->device_id;
    bool transitional = flags & VIRTIO_PCI_TRANSITIONAL;
    uint64_t legacy_size = 32;
    int rc;

    while (legacy_size < VIRTIO_PCI_CONFIG_OFF(1) + (uint64_t)vd->ops->config_size)
        legacy_size *= 2;
    if ((transitional && (!transitional_id(id) || legacy_size > 256)) || vd->ops->nr_queues == 0 ||
        vd->ops->nr_queues > VIRTIO_MAX_QUEUES ||
        vd->ops->config_size > VIRTIO_PCI_NOTIFY_OFF - VIRTIO_PCI_DEVICE_OFF)
        return -EINVAL;
    memset(vp, 0, sizeof(*vp));
    vp->vd = vd;
    vp->transitional = transitional;
    /* Kick eventfds are made now: a locked-down device model cannot make
     * descriptors later.  Without an event loop (inline) the trap kicks. */
    for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
        vp->kick_fd[q] = -1;
        if (q >= vd->ops->nr_queues || !(flags & VIRTIO_PCI_KICK_EVENTFD))
            continue;
        int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (fd >= 0 && dm_watch_fd(dm_of(bus), fd, kick_fd_ready, vp) == 0)
            vp->kick_fd[q] = fd;
        else if (fd >= 0)
            close(fd);
    }
    if ((flags & VIRTIO_PCI_KICK_EVENTFD) && (rc = dm_poller_add(dm_of(bus), kick_poll, vp)) < 0)
        return rc;
    vd->transport = &vp_transport;
    vd->transport_priv = vp;

    pci_dev_init(&vp->pci, VIRTIO_PCI_VENDOR,
                 transitional ? transitional_id(id) : (uint16_t)(VIRTIO_PCI_MODERN_BASE + id),
                 class_code, transitional ? 0 : 1, 0);
    pci_cfg_set(&vp->pci, PCI_SUBSYSTEM_VENDOR_ID, 2, VIRTIO_PCI_VENDOR);
    pci_cfg_set(&vp->pci, PCI_SUBSYSTEM_ID, 2, id);
    pci_cfg_set(&vp->pci, PCI_INTERRUPT_PIN, 1, 1);
    vp->pci.config_write = vp_config_write;
    vp->pci.opaque = vp;
    vp_reset(vp);

    if ((rc = pci_bar_init(&vp->pci, VIRTIO_PCI_BAR, PCI_BAR_KIND_MEM32, VIRTIO_PCI_BAR_SIZE, 0,
                           vp_bar, vp)) < 0 ||
        (transitional && (rc = pci_bar_init(&vp->pci, VIRTIO_PCI_LEGACY_BAR, PCI_BAR_KIND_IO,
                                            legacy_size, 0, vp_legacy_bar, vp)) < 0) ||
        (rc = add_vndr_cap(vp, 0x40, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFF,
                           sizeof(struct virtio_pci_common_cfg), 16)) < 0 ||
        (rc = add_vndr_cap(vp, 0x50, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF, 1, 16)) < 0 ||
        (rc = add_vndr_cap(vp, 0x60, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFF,
                           VIRTIO_PCI_NOTIFY_MUL * vd->ops->nr_queues, 20)) < 0 ||
        (vd->ops->config_size &&
         (rc = add_vndr_cap(vp, 0x78, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_OFF,
                            vd->ops->config_size, 16)) < 0) ||
        (rc = pci_msix_init(&vp->msix, &vp->pci, 0x88, nr_vectors(vp), VIRTIO_PCI_BAR,
                            VIRTIO_PCI_MSIX_TABLE, VIRTIO_PCI_MSIX_PBA)) < 0)
        return rc;
    pci_cfg_set(&vp->pci, 0x60 + VIRTIO_PCI_NOTIFY_CAP_MULT, 4, VIRTIO_PCI_NOTIFY_MUL);
    rc = pci_bus_add(bus, &vp->pci, devfn);
    if (rc < 0)
        log_error("virtio-%s at %02x.%x: %s", vd->ops->name, devfn >> 3, devfn & 7, strerror(-rc));
    else
        pci_msix_use_irqfds(&vp->msix);
    return rc;
}

int virtio_pci_dev_create(struct virtio_pci *vp, struct dm_dev *dev, struct virtio_dev *vd,
                          uint32_t class_code)
{
    unsigned flags = VIRTIO_PCI_TRANSITIONAL;

    if (dev->machine->kick_eventfds)
        flags |= VIRTIO_PCI_KICK_EVENTFD;
    return virtio_pci_init(vp, dev->machine->pci, dev->devfn, vd, class_code, flags);
}

void virtio_pci_serve_all(struct virtio_pci *vp)
{
    for (unsigned q = 0; q < vp->vd->ops->nr_queues; q++)
        virtio_queue_kick(vp->vd, q);
}
