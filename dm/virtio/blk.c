/* virtio-blk front end (virtio 1.x, section 5.2). */
#include "dm/virtio/blk.h"

#include <errno.h>
#include <linux/virtio_ids.h>
#include <stdio.h>
#include <string.h>

#include "dm/device.h"
#include "dm/state.h"
#include "lib/log.h"

#define HDR_SIZE sizeof(struct virtio_blk_outhdr)

static struct virtio_blk *blk_of(struct virtio_dev *vd)
{
    return vd->priv;
}

static void blk_config_read(struct virtio_dev *vd, uint32_t off, uint8_t *data, uint32_t size)
{
    memcpy(data, (const uint8_t *)&blk_of(vd)->config + off, size);
}

static void blk_config_write(struct virtio_dev *vd, uint32_t off, const uint8_t *data,
                             uint32_t size)
{
    /* Nothing in our config is writable (no CONFIG_WCE). */
    (void)vd;
    (void)off;
    (void)data;
    (void)size;
}

/* Whether [sector, sector + bytes / 512) lies inside the disk. */
static bool in_range(const struct disk *d, uint64_t sector, uint64_t bytes)
{
    uint64_t sectors = d->size / VIRTIO_BLK_SECTOR;

    return sector <= sectors && bytes / VIRTIO_BLK_SECTOR <= sectors - sector;
}

static uint8_t blk_rw(struct virtio_blk *b, const struct virtq_chain *c, uint64_t sector,
                      bool write, uint32_t *written)
{
    uint64_t len = write ? c->out_len - HDR_SIZE : c->in_len - 1;
    uint64_t off = write ? HDR_SIZE : 0;
    int n, rc;

    if (write && b->disk->read_only)
        return VIRTIO_BLK_S_IOERR;
    if (len % VIRTIO_BLK_SECTOR || !in_range(b->disk, sector, len))
        return VIRTIO_BLK_S_IOERR;
    n = virtq_chain_slice(c, !write, off, len, b->iov, VIRTQ_MAX_SIZE);
    if (n < 0)
        return VIRTIO_BLK_S_IOERR;
    rc = write ? disk_writev(b->disk, b->iov, n, sector * VIRTIO_BLK_SECTOR)
               : disk_readv(b->disk, b->iov, n, sector * VIRTIO_BLK_SECTOR);
    if (rc < 0) {
        log_debug("virtio-blk: %s at sector %llu: %s", write ? "write" : "read",
                  (unsigned long long)sector, strerror(-rc));
        return VIRTIO_BLK_S_IOERR;
    }
    if (!write)
        *written = (uint32_t)len;
    return VIRTIO_BLK_S_OK;
}

static uint8_t blk_discard(struct virtio_blk *b, const struct virtq_chain *c)
{
    uint64_t len = c->out_len - HDR_SIZE;
    struct virtio_blk_discard_write_zeroes seg;

    if (!virtio_has(&b->vdev, VIRTIO_BLK_F_DISCARD))
        return VIRTIO_BLK_S_UNSUPP;
    if (b->disk->read_only)
        return VIRTIO_BLK_S_IOERR;
    if (len == 0 || len % sizeof(seg) || len / sizeof(seg) > VIRTIO_BLK_MAX_DISCARD_SEG)
        return VIRTIO_BLK_S_IOERR;
    /* Check every segment before discarding any. */
    for (uint64_t i = 0; i < len / sizeof(seg); i++) {
        virtq_chain_read(c, HDR_SIZE + i * sizeof(seg), &seg, sizeof(seg));
        if (seg.flags != 0)
            return VIRTIO_BLK_S_UNSUPP;
        if (seg.num_sectors > VIRTIO_BLK_MAX_DISCARD_SEC ||
            !in_range(b->disk, seg.sector, (uint64_t)seg.num_sectors * VIRTIO_BLK_SECTOR))
            return VIRTIO_BLK_S_IOERR;
    }
    for (uint64_t i = 0; i < len / sizeof(seg); i++) {
        /* Read again into the same local: what we checked is what we use. */
        virtq_chain_read(c, HDR_SIZE + i * sizeof(seg), &seg, sizeof(seg));
        if (seg.num_sectors > VIRTIO_BLK_MAX_DISCARD_SEC ||
            !in_range(b->disk, seg.sector, (uint64_t)seg.num_sectors * VIRTIO_BLK_SECTOR))
            return VIRTIO_BLK_S_IOERR;
        if (disk_discard(b->disk, seg.sector * VIRTIO_BLK_SECTOR,
                         (uint64_t)seg.num_sectors * VIRTIO_BLK_SECTOR) < 0)
            return VIRTIO_BLK_S_IOERR;
    }
    return VIRTIO_BLK_S_OK;
}

/* Serve one request.  Returns the bytes written into the chain, or -EIO
 * for a chain too malformed to carry a status. */
static int blk_request(struct virtio_blk *b, const struct virtq_chain *c)
{
    struct virtio_blk_outhdr hdr;
    uint32_t written = 0;
    uint8_t status;

    if (c->out_len < HDR_SIZE || c->in_len < 1)
        return -EIO;
    virtq_chain_read(c, 0, &hdr, sizeof(hdr));
    switch (hdr.type) {
    case VIRTIO_BLK_T_IN:
        status = blk_rw(b, c, hdr.sector, false, &written);
        break;
    case VIRTIO_BLK_T_OUT:
        status = blk_rw(b, c, hdr.sector, true, &written);
        break;
    case VIRTIO_BLK_T_FLUSH:
        status = disk_flush(b->disk) < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
        break;
    case VIRTIO_BLK_T_GET_ID:
        written = (uint32_t)virtq_chain_write(
            c, 0, b->serial,
            c->in_len - 1 < VIRTIO_BLK_ID_BYTES ? c->in_len - 1 : VIRTIO_BLK_ID_BYTES);
        status = VIRTIO_BLK_S_OK;
        break;
    case VIRTIO_BLK_T_DISCARD:
        status = blk_discard(b, c);
        break;
    default:
        status = VIRTIO_BLK_S_UNSUPP;
        break;
    }
    virtq_chain_write(c, c->in_len - 1, &status, 1);
    return (int)(written + 1);
}

static void blk_queue_notify(struct virtio_dev *vd, unsigned q)
{
    struct virtio_blk *b = blk_of(vd);
    struct virtq *vq = &vd->vq[q];
    int r;

    do {
        virtq_set_kicks(vq, false);
        while ((r = virtq_pop(vd->dm, vq, &b->chain)) > 0) {
            int written = blk_request(b, &b->chain);
            if (written < 0) {
                virtio_dev_broken(vd, q, "request without header or status byte");
                return;
            }
            virtq_push(vq, b->chain.head, (uint32_t)written);
        }
        if (r < 0) {
            virtio_dev_broken(vd, q, "malformed ring");
            return;
        }
        virtq_set_kicks(vq, true);
    } while (virtq_has_work(vq));
    virtio_queue_notify_used(vd, q);
}

static const struct virtio_dev_ops blk_ops_rw = {
    .name = "blk",
    .device_id = VIRTIO_ID_BLOCK,
    .nr_queues = 1,
    .poll_queues = 1u << 0,
    .features = (1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_BLK_SIZE) |
                (1ull << VIRTIO_BLK_F_FLUSH),
    .config_size = sizeof(struct virtio_blk_config),
    .config_read = blk_config_read,
    .config_write = blk_config_write,
    .queue_notify = blk_queue_notify,
};

void virtio_blk_init(struct virtio_blk *b, struct dm *dm, struct disk *disk, const char *serial)
{
    memset(b, 0, sizeof(*b));
    b->disk = disk;
    /* NUL-padded, not NUL-terminated when all 20 bytes are used. */
    if (serial)
        memcpy(b->serial, serial, strnlen(serial, sizeof(b->serial)));
    b->config.capacity = disk->size / VIRTIO_BLK_SECTOR;
    b->config.seg_max = VIRTIO_QUEUE_SIZE - 2; /* room for header and status */
    b->config.blk_size = VIRTIO_BLK_SECTOR;
    b->config.max_discard_sectors = VIRTIO_BLK_MAX_DISCARD_SEC;
    b->config.max_discard_seg = VIRTIO_BLK_MAX_DISCARD_SEG;
    b->config.discard_sector_alignment = 1;
    virtio_dev_init(&b->vdev, dm, &blk_ops_rw, b);
    /* Per-disk feature bits on top of the shared table. */
    if (disk->read_only)
        b->vdev.offered |= 1ull << VIRTIO_BLK_F_RO;
    if (disk->discard)
        b->vdev.offered |= 1ull << VIRTIO_BLK_F_DISCARD;
}

void virtio_blk_state_save(const struct virtio_blk *b, struct srec_w *w)
{
    srec_put_u64(w, b->config.capacity);
    srec_put_u8(w, b->disk->read_only);
}

void virtio_blk_state_parse(const struct virtio_blk *b, struct srec_r *r)
{
    uint64_t capacity = srec_get_u64(r);
    bool ro = srec_get_bool(r);

    srec_check(r, capacity == b->config.capacity, "the disk's size differs");
    srec_check(r, ro == b->disk->read_only, "the disk's read-only setting differs");
}

/* ---- the device table entry ---- */

#define CLASS_STORAGE_OTHER 0x018000

struct blk_options {
    bool readonly;
};

static const struct dm_dev_opt blk_opts[] = {
    DM_OPT("readonly", DM_OPT_BOOL, struct blk_options, readonly, 0),
};

static int blk_create(struct dm_dev *dev)
{
    const struct blk_options *o = dev->config;
    struct virtio_blk_device *s = dev->state;
    char serial[VIRTIO_BLK_ID_BYTES + 1];
    int rc = disk_raw_open(&s->disk, dev->fds[0], o->readonly);

    if (rc == -EINVAL)
        log_error("virtio-blk %u: its descriptor is no regular file or block device",
                  dev->instance);
    if (rc < 0)
        return rc;
    snprintf(serial, sizeof(serial), "stubvisor-disk%u", dev->instance);
    virtio_blk_init(&s->blk, dev->dm, &s->disk, serial);
    log_debug("virtio-blk %u: %llu bytes%s", dev->instance, (unsigned long long)s->disk.size,
              s->disk.read_only ? ", read-only" : "");
    return virtio_pci_dev_create(&s->pci, dev, &s->blk.vdev, CLASS_STORAGE_OTHER);
}

static int blk_quiesce(struct dm_dev *dev)
{
    struct virtio_blk_device *s = dev->state;

    virtio_pci_serve_all(&s->pci);
    return s->disk.read_only ? 0 : disk_flush(&s->disk);
}

static void blk_save(struct dm_dev *dev, struct srec_w *w)
{
    struct virtio_blk_device *s = dev->state;

    virtio_pci_state_save(&s->pci, w);
    virtio_blk_state_save(&s->blk, w);
}

static void blk_parse(struct dm_dev *dev, void *stage, struct srec_r *r)
{
    struct virtio_blk_device *s = dev->state;

    virtio_pci_state_parse(&s->pci, stage, r);
    virtio_blk_state_parse(&s->blk, r);
}

static void blk_apply(struct dm_dev *dev, const void *stage)
{
    struct virtio_blk_device *s = dev->state;

    virtio_pci_state_apply(&s->pci, stage);
}

static const struct dm_device_type blk_type = {
    .name = "virtio-blk",
    .bus = DM_BUS_PCI,
    .max_instances = VIRTIO_BLK_MAX_DISKS,
    .nr_fds = 1,
    .config_size = sizeof(struct blk_options),
    .opts = blk_opts,
    .nr_opts = sizeof(blk_opts) / sizeof(blk_opts[0]),
    .state_size = sizeof(struct virtio_blk_device),
    .create = blk_create,
    .state_tag = STATE_TAG_VIRTIO_BLK,
    .stage_size = sizeof(struct virtio_pci_state),
    .quiesce = blk_quiesce,
    .save = blk_save,
    .parse = blk_parse,
    .apply = blk_apply,
};
DM_DEVICE(blk_type);
