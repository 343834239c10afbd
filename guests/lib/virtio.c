/* The test guests' polling virtio-pci driver (see virtio.h). */
#include "virtio.h"

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include "io.h"
#include "print.h"

#define PCI_ADDR          0xcf8
#define PCI_DATA          0xcfc
#define VIRTIO_VENDOR     0x1af4
#define BAR_WINDOW        0xd0000000u /* where we place BARs firmware left at 0 */
#define BAR_WINDOW_STRIDE 0x100000u
#define WAIT_LIMIT        100000000ull

/* Rings of every queue: descriptors, then avail at +0x400, used at +0x800
 * (room for VQ_SIZE entries each, with the event words). */
static uint8_t rings[VQ_MAX][0x1000] __attribute__((aligned(4096)));

static uint32_t cfg_read32(unsigned devfn, unsigned reg)
{
    outl(PCI_ADDR, 0x80000000u | devfn << 8 | (reg & 0xfc));
    return inl(PCI_DATA);
}

static void cfg_write32(unsigned devfn, unsigned reg, uint32_t v)
{
    outl(PCI_ADDR, 0x80000000u | devfn << 8 | (reg & 0xfc));
    outl(PCI_DATA, v);
}

static uint8_t cfg_read8(unsigned devfn, unsigned reg)
{
    return (uint8_t)(cfg_read32(devfn, reg) >> (8 * (reg & 3)));
}

/* The address of BAR `bar`, giving it one below 4 GiB if it has none. */
static uintptr_t bar_address(unsigned devfn, unsigned bar)
{
    unsigned reg = 0x10 + 4 * bar;
    uint32_t lo = cfg_read32(devfn, reg), hi = 0, size;
    bool mem64 = (lo & 0x7) == 0x4;
    uint64_t addr;

    if (lo & 1)
        return 0; /* an I/O BAR: not for the modern interface */
    if (mem64)
        hi = cfg_read32(devfn, reg + 4);
    addr = ((uint64_t)hi << 32) | (lo & ~0xfu);
    if (addr == 0 || addr >= (1ull << 32)) {
        cfg_write32(devfn, reg, 0xffffffffu);
        size = ~(cfg_read32(devfn, reg) & ~0xfu) + 1;
        if (size > BAR_WINDOW_STRIDE)
            return 0;
        addr = BAR_WINDOW + (devfn >> 3) * BAR_WINDOW_STRIDE;
        cfg_write32(devfn, reg, (uint32_t)addr);
        if (mem64)
            cfg_write32(devfn, reg + 4, 0);
    }
    /* Memory decode and bus mastering on. */
    cfg_write32(devfn, 0x04, (cfg_read32(devfn, 0x04) & 0xffff) | 0x6);
    return (uintptr_t)addr;
}

static int find(unsigned id, unsigned nth)
{
    for (unsigned devfn = 0; devfn < 256; devfn++) {
        uint32_t ids = cfg_read32(devfn, 0);
        uint16_t device = (uint16_t)(ids >> 16);
        if ((ids & 0xffff) != VIRTIO_VENDOR)
            continue;
        if (device == 0x1040 + id ||
            (device >= 0x1000 && device < 0x1040 && (cfg_read32(devfn, 0x2c) >> 16) == id)) {
            if (nth-- == 0)
                return (int)devfn;
        }
    }
    return -1;
}

static void write_status(struct vdev *d, uint8_t s)
{
    mmio_write8(d->common + VIRTIO_PCI_COMMON_STATUS, s);
}

uint8_t vdev_status(const struct vdev *d)
{
    return mmio_read8(d->common + VIRTIO_PCI_COMMON_STATUS);
}

static int read_caps(struct vdev *d)
{
    unsigned devfn = d->devfn;
    unsigned cap = cfg_read8(devfn, 0x34) & 0xfc;

    for (unsigned n = 0; cap && n < 48; n++) {
        uint8_t id = cfg_read8(devfn, cap), type = cfg_read8(devfn, cap + 3);
        unsigned bar = cfg_read8(devfn, cap + 4);
        uint32_t off = cfg_read32(devfn, cap + 8);

        /* Only the four structures we use; the PCI-config-access one
         * (type 5) may name an I/O BAR. */
        if (id == 0x09 && bar < 6 && type >= VIRTIO_PCI_CAP_COMMON_CFG &&
            type <= VIRTIO_PCI_CAP_DEVICE_CFG) {
            uintptr_t base = bar_address(devfn, bar);
            if (base == 0)
                return -1;
            switch (type) {
            case VIRTIO_PCI_CAP_COMMON_CFG:
                d->common = base + off;
                break;
            case VIRTIO_PCI_CAP_NOTIFY_CFG:
                d->notify = base + off;
                d->notify_mul = cfg_read32(devfn, cap + 16);
                break;
            case VIRTIO_PCI_CAP_ISR_CFG:
                d->isr = base + off;
                break;
            case VIRTIO_PCI_CAP_DEVICE_CFG:
                d->device = base + off;
                break;
            }
        }
        cap = cfg_read8(devfn, cap + 1) & 0xfc;
    }
    return d->common && d->notify && d->device ? 0 : -1;
}

bool vdev_use_msix;
bool vdev_use_intx;

/* Program entry q of the MSI-X table for queue q and enable MSI-X. */
static int msix_enable(struct vdev *d, unsigned nq)
{
    unsigned devfn = d->devfn, cap = cfg_read8(devfn, 0x34) & 0xfc;

    for (unsigned n = 0; cap && n < 48; n++) {
        if (cfg_read8(devfn, cap) == 0x11) {
            uint32_t t = cfg_read32(devfn, cap + 4);
            uintptr_t table = bar_address(devfn, t & 7);
            if (table == 0)
                return -1;
            table += t & ~7u;
            for (unsigned q = 0; q < nq; q++) {
                mmio_write32(table + 16 * q, 0xfee00000u);
                mmio_write32(table + 16 * q + 4, 0);
                mmio_write32(table + 16 * q + 8, 0x40 + q);
                mmio_write32(table + 16 * q + 12, 0); /* unmasked */
            }
            cfg_write32(devfn, cap, cfg_read32(devfn, cap) | 0x80000000u);
            return 0;
        }
        cap = cfg_read8(devfn, cap + 1) & 0xfc;
    }
    gprintf("virtio: no MSI-X capability\n");
    return -1;
}

int vdev_open(struct vdev *d, unsigned id, unsigned nth, uint64_t want, unsigned nq)
{
    uintptr_t c;
    uint64_t offered;
    uint16_t max, noff;
    int devfn = find(id, nth);

    *d = (struct vdev){0};
    if (devfn < 0) {
        gprintf("virtio: no device of type %u (#%u)\n", id, nth);
        return -1;
    }
    d->devfn = (unsigned)devfn;
    if (read_caps(d) < 0) {
        gprintf("virtio: %02x.%x has no usable modern capabilities\n", devfn >> 3, devfn & 7);
        return -1;
    }
    c = d->common;
    write_status(d, 0);
    for (unsigned i = 0; vdev_status(d) != 0; i++)
        if (i > 1000000)
            return -1;
    write_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE);
    write_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    mmio_write32(c + VIRTIO_PCI_COMMON_DFSELECT, 0);
    offered = mmio_read32(c + VIRTIO_PCI_COMMON_DF);
    mmio_write32(c + VIRTIO_PCI_COMMON_DFSELECT, 1);
    offered |= (uint64_t)mmio_read32(c + VIRTIO_PCI_COMMON_DF) << 32;
    if (!(offered & (1ull << VIRTIO_F_VERSION_1))) {
        gprintf("virtio: device does not offer VERSION_1\n");
        return -1;
    }
    d->features = (want & offered) | (1ull << VIRTIO_F_VERSION_1);
    mmio_write32(c + VIRTIO_PCI_COMMON_GFSELECT, 0);
    mmio_write32(c + VIRTIO_PCI_COMMON_GF, (uint32_t)d->features);
    mmio_write32(c + VIRTIO_PCI_COMMON_GFSELECT, 1);
    mmio_write32(c + VIRTIO_PCI_COMMON_GF, (uint32_t)(d->features >> 32));
    write_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
                        VIRTIO_CONFIG_S_FEATURES_OK);
    if (!(vdev_status(d) & VIRTIO_CONFIG_S_FEATURES_OK)) {
        gprintf("virtio: features refused\n");
        return -1;
    }

    if (nq == 0 || nq > VQ_MAX)
        return -1;
    if (vdev_use_msix && msix_enable(d, nq) < 0)
        return -1;
    for (unsigned q = 0; q < nq; q++) {
        struct vdev_queue *vq = &d->q[q];
        uintptr_t base = (uintptr_t)rings[q];

        for (unsigned i = 0; i < sizeof(rings[q]); i++)
            rings[q][i] = 0;
        vq->desc = (struct vring_desc *)base;
        vq->avail = (struct vring_avail *)(base + 0x400);
        vq->used = (struct vring_used *)(base + 0x800);
        mmio_write16(c + VIRTIO_PCI_COMMON_Q_SELECT, (uint16_t)q);
        max = mmio_read16(c + VIRTIO_PCI_COMMON_Q_SIZE);
        if (max == 0) {
            gprintf("virtio: queue %u is missing\n", q);
            return -1;
        }
        vq->size = max < VQ_SIZE ? max : VQ_SIZE;
        mmio_write16(c + VIRTIO_PCI_COMMON_Q_SIZE, vq->size);
        mmio_write16(c + VIRTIO_PCI_COMMON_Q_MSIX,
                     vdev_use_msix ? (uint16_t)q : VIRTIO_MSI_NO_VECTOR);
        mmio_write32(c + VIRTIO_PCI_COMMON_Q_DESCLO, (uint32_t)base);
        mmio_write32(c + VIRTIO_PCI_COMMON_Q_DESCHI, 0);
        mmio_write32(c + VIRTIO_PCI_COMMON_Q_AVAILLO, (uint32_t)(base + 0x400));
        mmio_write32(c + VIRTIO_PCI_COMMON_Q_AVAILHI, 0);
        mmio_write32(c + VIRTIO_PCI_COMMON_Q_USEDLO, (uint32_t)(base + 0x800));
        mmio_write32(c + VIRTIO_PCI_COMMON_Q_USEDHI, 0);
        vq->avail->flags = vdev_use_msix || vdev_use_intx ? 0 : VRING_AVAIL_F_NO_INTERRUPT;
        noff = mmio_read16(c + VIRTIO_PCI_COMMON_Q_NOFF);
        vq->kick = d->notify + (uintptr_t)noff * d->notify_mul;
        mmio_write16(c + VIRTIO_PCI_COMMON_Q_ENABLE, 1);
    }
    d->nr_queues = nq;
    write_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
                        VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
    if (vdev_status(d) & VIRTIO_CONFIG_S_NEEDS_RESET) {
        gprintf("virtio: device needs a reset after set-up\n");
        return -1;
    }
    return 0;
}

void vdev_desc(struct vdev *d, unsigned q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
               uint16_t next)
{
    d->q[q].desc[i] = (struct vring_desc){.addr = addr, .len = len, .flags = flags, .next = next};
}

void vdev_post(struct vdev *d, unsigned q, uint16_t head, bool kick)
{
    struct vdev_queue *vq = &d->q[q];

    vq->avail->ring[vq->avail_idx % vq->size] = head;
    vq->avail_idx++;
    __atomic_store_n(&vq->avail->idx, vq->avail_idx, __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (kick && !(__atomic_load_n(&vq->used->flags, __ATOMIC_ACQUIRE) & VRING_USED_F_NO_NOTIFY))
        mmio_write16(vq->kick, (uint16_t)q);
}

void vdev_submit(struct vdev *d, unsigned q, uint16_t head)
{
    vdev_post(d, q, head, true);
}

bool vdev_poll(struct vdev *d, unsigned q, uint32_t *id, uint32_t *len)
{
    struct vdev_queue *vq = &d->q[q];
    const struct vring_used_elem *e;

    if (__atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE) == vq->used_seen)
        return false;
    e = &vq->used->ring[vq->used_seen % vq->size];
    if (id)
        *id = e->id;
    if (len)
        *len = e->len;
    vq->used_seen++;
    return true;
}

bool vdev_wait(struct vdev *d, unsigned q, uint32_t *id, uint32_t *len)
{
    for (uint64_t i = 0; i < WAIT_LIMIT; i++) {
        if (vdev_poll(d, q, id, len))
            return true;
        __asm__ volatile("pause");
    }
    return false;
}

uint32_t vdev_config32(const struct vdev *d, unsigned off)
{
    return mmio_read32(d->device + off);
}

uint8_t vdev_config8(const struct vdev *d, unsigned off)
{
    return mmio_read8(d->device + off);
}
