/* The transport-neutral virtio device state machine. */
#include "dm/virtio/virtio.h"

#include <errno.h>
#include <string.h>

#include "lib/log.h"

/* What every device offers besides its own bits. */
#define CORE_FEATURES                                                                              \
    ((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_INDIRECT_DESC) |                        \
     (1ull << VIRTIO_RING_F_EVENT_IDX))

void virtio_dev_init(struct virtio_dev *vd, struct dm *dm, const struct virtio_dev_ops *ops,
                     void *priv)
{
    memset(vd, 0, sizeof(*vd));
    vd->dm = dm;
    vd->ops = ops;
    vd->priv = priv;
    vd->offered = ops->features | CORE_FEATURES;
    virtio_dev_reset(vd);
}

void virtio_dev_reset(struct virtio_dev *vd)
{
    vd->driver = 0;
    vd->status = 0;
    vd->isr = 0;
    vd->broken = false;
    for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
        virtq_reset(&vd->vq[q]);
        vd->vq[q].size = VIRTIO_QUEUE_SIZE;
    }
    if (vd->ops->reset)
        vd->ops->reset(vd);
}

static void raise_irq(struct virtio_dev *vd, unsigned q)
{
    vd->isr |= q == VIRTIO_IRQ_CONFIG ? VIRTIO_ISR_CONFIG : VIRTIO_ISR_QUEUE;
    if (vd->transport && vd->transport->interrupt)
        vd->transport->interrupt(vd, q);
}

static bool features_acceptable(const struct virtio_dev *vd)
{
    /* Only what we offered; through the modern interface VERSION_1 too
     * (a legacy driver never sees bit 32). */
    return (vd->driver & ~vd->offered) == 0 && (vd->legacy || virtio_has(vd, VIRTIO_F_VERSION_1));
}

void virtio_set_status(struct virtio_dev *vd, uint8_t status)
{
    uint8_t added;

    if (status == 0) {
        virtio_dev_reset(vd);
        return;
    }
    /* Bits are only ever added (a driver clears them by resetting);
     * NEEDS_RESET is ours to set. */
    status &= (uint8_t)~VIRTIO_CONFIG_S_NEEDS_RESET;
    added = status & (uint8_t)~vd->status;
    if ((added & VIRTIO_CONFIG_S_FEATURES_OK) && !features_acceptable(vd))
        added &= (uint8_t)~VIRTIO_CONFIG_S_FEATURES_OK;
    if ((added & VIRTIO_CONFIG_S_DRIVER_OK) &&
        !((vd->status | added) & VIRTIO_CONFIG_S_FEATURES_OK) && !vd->legacy)
        added &= (uint8_t)~VIRTIO_CONFIG_S_DRIVER_OK;
    vd->status |= added;
    if ((added & VIRTIO_CONFIG_S_DRIVER_OK) && !vd->broken) {
        /* Buffers made available before DRIVER_OK get no kick of their own. */
        for (unsigned q = 0; q < vd->ops->nr_queues; q++)
            virtio_queue_kick(vd, q);
    }
}

void virtio_set_driver_features(struct virtio_dev *vd, unsigned select, uint32_t val)
{
    if (select > 1 || (vd->status & VIRTIO_CONFIG_S_FEATURES_OK))
        return;
    vd->driver &= ~(0xffffffffull << (32 * select));
    vd->driver |= (uint64_t)val << (32 * select);
}

int virtio_queue_ready(struct virtio_dev *vd, unsigned q)
{
    struct virtq *vq;
    int rc;

    if (q >= vd->ops->nr_queues || vd->broken)
        return -EINVAL;
    vq = &vd->vq[q];
    vq->indirect = virtio_has(vd, VIRTIO_RING_F_INDIRECT_DESC);
    vq->event_idx = virtio_has(vd, VIRTIO_RING_F_EVENT_IDX);
    rc = virtq_enable(vd->dm, vq);
    if (rc < 0) {
        virtio_dev_broken(vd, q, "bad queue size or ring address");
        return rc;
    }
    virtq_set_kicks(vq, true);
    return 0;
}

bool virtio_queue_live(const struct virtio_dev *vd, unsigned q)
{
    return q < vd->ops->nr_queues && !vd->broken && (vd->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
           vd->vq[q].enabled;
}

void virtio_queue_kick(struct virtio_dev *vd, unsigned q)
{
    if (virtio_queue_live(vd, q))
        vd->ops->queue_notify(vd, q);
}

void virtio_queue_notify_used(struct virtio_dev *vd, unsigned q)
{
    if (q < vd->ops->nr_queues && virtq_should_interrupt(&vd->vq[q]))
        raise_irq(vd, q);
}

void virtio_dev_broken(struct virtio_dev *vd, unsigned q, const char *why)
{
    if (vd->broken)
        return;
    vd->broken = true;
    log_error("virtio-%s: queue %u: %s; device needs a reset", vd->ops->name, q, why);
    vd->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
    raise_irq(vd, VIRTIO_IRQ_CONFIG);
}

uint8_t virtio_read_isr(struct virtio_dev *vd)
{
    uint8_t isr = vd->isr;

    vd->isr = 0;
    return isr;
}

void virtio_dev_state_save(const struct virtio_dev *vd, struct srec_w *w)
{
    srec_put_u16(w, vd->ops->device_id);
    srec_put_u8(w, (uint8_t)vd->ops->nr_queues);
    srec_put_u64(w, vd->driver);
    srec_put_u8(w, vd->status);
    srec_put_u8(w, vd->isr);
    srec_put_u8(w, vd->config_gen);
    srec_put_u8(w, vd->broken);
    srec_put_u8(w, vd->legacy);
    for (unsigned q = 0; q < vd->ops->nr_queues; q++)
        virtq_state_save(&vd->vq[q], w);
}

void virtio_dev_state_parse(struct virtio_dev *s, struct srec_r *r)
{
    uint16_t id = srec_get_u16(r);
    unsigned nr = srec_get_u8(r);

    srec_check(r, id == s->ops->device_id && nr == s->ops->nr_queues, "another virtio device type");
    s->driver = srec_get_u64(r);
    s->status = srec_get_u8(r);
    s->isr = srec_get_u8(r);
    s->config_gen = srec_get_u8(r);
    s->broken = srec_get_bool(r);
    s->legacy = srec_get_bool(r);
    if (r->bad)
        return;
    /* What virtio_set_status() lets a driver reach, and nothing else. */
    srec_check(r, s->isr <= (VIRTIO_ISR_QUEUE | VIRTIO_ISR_CONFIG), "virtio ISR out of range");
    srec_check(r, s->broken == !!(s->status & VIRTIO_CONFIG_S_NEEDS_RESET),
               "virtio NEEDS_RESET without a broken device");
    srec_check(r, !(s->status & VIRTIO_CONFIG_S_FEATURES_OK) || features_acceptable(s),
               "virtio features accepted that were not offered");
    srec_check(r,
               !(s->status & VIRTIO_CONFIG_S_DRIVER_OK) || s->legacy ||
                   (s->status & VIRTIO_CONFIG_S_FEATURES_OK),
               "virtio DRIVER_OK without FEATURES_OK");
    for (unsigned q = 0; q < nr && q < VIRTIO_MAX_QUEUES; q++) {
        virtq_state_parse(s->dm, &s->vq[q], r);
        s->vq[q].indirect = virtio_has(s, VIRTIO_RING_F_INDIRECT_DESC);
        s->vq[q].event_idx = virtio_has(s, VIRTIO_RING_F_EVENT_IDX);
    }
}

void virtio_dev_state_apply(struct virtio_dev *vd, const struct virtio_dev *s)
{
    vd->driver = s->driver;
    vd->status = s->status;
    vd->isr = s->isr;
    vd->config_gen = s->config_gen;
    vd->broken = s->broken;
    vd->legacy = s->legacy;
    memcpy(vd->vq, s->vq, sizeof(vd->vq));
}
