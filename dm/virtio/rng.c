/* virtio-rng front end. */
#include "dm/virtio/rng.h"

#include <errno.h>
#include <linux/virtio_ids.h>
#include <sys/random.h>

#include "dm/device.h"
#include "dm/state.h"

static void rng_config_read(struct virtio_dev *vd, uint32_t off, uint8_t *data, uint32_t size)
{
    (void)vd, (void)off, (void)data, (void)size; /* no config space */
}

static void rng_config_write(struct virtio_dev *vd, uint32_t off, const uint8_t *data,
                             uint32_t size)
{
    (void)vd, (void)off, (void)data, (void)size;
}

/* Fill the chain's writable part, at most VIRTIO_RNG_MAX_CHUNK bytes. */
static uint32_t fill(const struct virtq_chain *c)
{
    uint8_t buf[VIRTIO_RNG_MAX_CHUNK];
    uint64_t want = c->in_len < sizeof(buf) ? c->in_len : sizeof(buf);
    ssize_t n;

    do {
        n = getrandom(buf, want, 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0)
        return 0;
    return (uint32_t)virtq_chain_write(c, 0, buf, (size_t)n);
}

static void rng_queue_notify(struct virtio_dev *vd, unsigned q)
{
    struct virtio_rng *r = vd->priv;
    struct virtq *vq = &vd->vq[q];
    int rc;

    do {
        virtq_set_kicks(vq, false);
        while ((rc = virtq_pop(vd->dm, vq, &r->chain)) > 0)
            virtq_push(vq, r->chain.head, fill(&r->chain));
        if (rc < 0) {
            virtio_dev_broken(vd, q, "malformed ring");
            return;
        }
        virtq_set_kicks(vq, true);
    } while (virtq_has_work(vq));
    virtio_queue_notify_used(vd, q);
}

static const struct virtio_dev_ops rng_ops = {
    .name = "rng",
    .device_id = VIRTIO_ID_RNG,
    .nr_queues = 1,
    .config_size = 0,
    .config_read = rng_config_read,
    .config_write = rng_config_write,
    .queue_notify = rng_queue_notify,
};

void virtio_rng_init(struct virtio_rng *r, struct dm *dm)
{
    virtio_dev_init(&r->vdev, dm, &rng_ops, r);
}

/* ---- the device table entry ---- */

#define CLASS_OTHER 0x00ff00

static int rng_create(struct dm_dev *dev)
{
    struct virtio_rng_device *s = dev->state;

    virtio_rng_init(&s->rng, dev->dm);
    return virtio_pci_dev_create(&s->pci, dev, &s->rng.vdev, CLASS_OTHER);
}

static int rng_quiesce(struct dm_dev *dev)
{
    struct virtio_rng_device *s = dev->state;

    virtio_pci_serve_all(&s->pci);
    return 0;
}

static void rng_save(struct dm_dev *dev, struct srec_w *w)
{
    struct virtio_rng_device *s = dev->state;

    virtio_pci_state_save(&s->pci, w);
}

static void rng_parse(struct dm_dev *dev, void *stage, struct srec_r *r)
{
    struct virtio_rng_device *s = dev->state;

    virtio_pci_state_parse(&s->pci, stage, r);
}

static void rng_apply(struct dm_dev *dev, const void *stage)
{
    struct virtio_rng_device *s = dev->state;

    virtio_pci_state_apply(&s->pci, stage);
}

static const struct dm_device_type rng_type = {
    .name = "virtio-rng",
    .bus = DM_BUS_PCI,
    .max_instances = 1,
    .state_size = sizeof(struct virtio_rng_device),
    .create = rng_create,
    .state_tag = STATE_TAG_VIRTIO_RNG,
    .stage_size = sizeof(struct virtio_pci_state),
    .quiesce = rng_quiesce,
    .save = rng_save,
    .parse = rng_parse,
    .apply = rng_apply,
};
DM_DEVICE(rng_type);
