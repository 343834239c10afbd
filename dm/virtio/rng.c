/* virtio-rng front end. */
#include "dm/virtio/rng.h"

#include <errno.h>
#include <linux/virtio_ids.h>
#include <sys/random.h>

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
