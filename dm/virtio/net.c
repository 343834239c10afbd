/* virtio-net front end over a frame back end. */
#include "dm/virtio/net.h"

#include <errno.h>
#include <linux/virtio_ids.h>
#include <stdio.h>
#include <string.h>

#include "dm/device.h"
#include "dm/state.h"
#include "lib/log.h"

enum { RXQ = 0, TXQ = 1 };

static struct virtio_net *net_of(struct virtio_dev *vd)
{
    return vd->priv;
}

/* With VERSION_1 the header has num_buffers; a legacy driver without
 * MRG_RXBUF uses the 10-byte header. */
static size_t hdr_len(const struct virtio_net *n)
{
    return n->vdev.legacy ? sizeof(struct virtio_net_hdr) : sizeof(struct virtio_net_hdr_v1);
}

static void net_config_read(struct virtio_dev *vd, uint32_t off, uint8_t *data, uint32_t size)
{
    memcpy(data, (const uint8_t *)&net_of(vd)->config + off, size);
}

static void net_config_write(struct virtio_dev *vd, uint32_t off, const uint8_t *data,
                             uint32_t size)
{
    (void)vd, (void)off, (void)data, (void)size; /* the MAC is ours to give */
}

static void net_transmit(struct virtio_net *n)
{
    struct virtio_dev *vd = &n->vdev;
    struct virtq *vq = &vd->vq[TXQ];
    size_t hl = hdr_len(n);
    int rc;

    do {
        virtq_set_kicks(vq, false);
        while ((rc = virtq_pop(vd->dm, vq, &n->chain)) > 0) {
            uint64_t len = n->chain.out_len;
            /* A chain shorter than the header, or a frame too large for
             * any back end, is dropped: the guest's loss. */
            if (len > hl && len - hl <= NET_MAX_FRAME) {
                int nio = virtq_chain_slice(&n->chain, false, hl, len - hl, n->iov, VIRTQ_MAX_SIZE);
                if (nio > 0 && net_backend_send(n->backend, n->iov, nio) == 0)
                    n->tx_frames++;
            }
            virtq_push(vq, n->chain.head, 0);
        }
        if (rc < 0) {
            virtio_dev_broken(vd, TXQ, "malformed ring");
            return;
        }
        virtq_set_kicks(vq, true);
    } while (virtq_has_work(vq));
    virtio_queue_notify_used(vd, TXQ);
}

/* Put the waiting frame in the next receive buffer.  Returns false when
 * the guest has none (the frame stays). */
static bool deliver(struct virtio_net *n)
{
    struct virtio_dev *vd = &n->vdev;
    struct virtio_net_hdr_v1 hdr = {.num_buffers = 1};
    size_t hl = hdr_len(n);
    int rc = virtq_pop(vd->dm, &vd->vq[RXQ], &n->chain);

    if (rc < 0) {
        virtio_dev_broken(vd, RXQ, "malformed ring");
        return false;
    }
    if (rc == 0)
        return false;
    if (n->chain.in_len < hl + n->frame_len) {
        /* Without MRG_RXBUF every buffer must hold a whole frame. */
        n->rx_dropped++;
        virtq_push(&vd->vq[RXQ], n->chain.head, 0);
    } else {
        virtq_chain_write(&n->chain, 0, &hdr, hl);
        virtq_chain_write(&n->chain, hl, n->frame, n->frame_len);
        virtq_push(&vd->vq[RXQ], n->chain.head, (uint32_t)(hl + n->frame_len));
        n->rx_frames++;
    }
    n->frame_len = 0;
    return true;
}

void virtio_net_receive(struct virtio_net *n)
{
    struct virtio_dev *vd = &n->vdev;
    bool delivered = false;

    if (!virtio_queue_live(vd, RXQ)) {
        /* Nobody to give frames to: stop listening until DRIVER_OK (which
         * kicks every queue, and so calls us again). */
        if (n->watched)
            dm_watch_enable(vd->dm, n->backend->fd, false);
        return;
    }
    for (unsigned i = 0; i < 256; i++) { /* bounded: let others run */
        if (n->frame_len == 0) {
            ssize_t r = net_backend_recv(n->backend, n->frame, sizeof(n->frame));
            if (r <= 0)
                break;
            n->frame_len = (size_t)r;
        }
        if (!deliver(n))
            break;
        delivered = true;
    }
    /* A frame waiting for a buffer: stop listening until the guest posts
     * one, or the loop would spin on a readable descriptor. */
    if (n->watched)
        dm_watch_enable(vd->dm, n->backend->fd, n->frame_len == 0);
    if (delivered)
        virtio_queue_notify_used(vd, RXQ);
}

static void net_fd_ready(struct dm *dm, int fd, void *opaque)
{
    (void)dm, (void)fd;
    virtio_net_receive(opaque);
}

static void net_queue_notify(struct virtio_dev *vd, unsigned q)
{
    struct virtio_net *n = net_of(vd);

    if (q == TXQ)
        net_transmit(n);
    /* New receive buffers, or (inline) a chance to look for frames. */
    virtio_net_receive(n);
}

static void net_reset(struct virtio_dev *vd)
{
    struct virtio_net *n = net_of(vd);

    n->frame_len = 0;
    if (n->watched)
        dm_watch_enable(vd->dm, n->backend->fd, true);
}

static const struct virtio_dev_ops net_ops = {
    .name = "net",
    .device_id = VIRTIO_ID_NET,
    .nr_queues = 2,
    .poll_queues = 1u << 1,
    .features = 1ull << VIRTIO_NET_F_MAC,
    .config_size = sizeof(struct virtio_net_config),
    .config_read = net_config_read,
    .config_write = net_config_write,
    .queue_notify = net_queue_notify,
    .reset = net_reset,
};

int virtio_net_init(struct virtio_net *n, struct dm *dm, struct net_backend *backend,
                    const uint8_t mac[6])
{
    memset(n, 0, sizeof(*n));
    n->backend = backend;
    memcpy(n->config.mac, mac, 6);
    n->config.max_virtqueue_pairs = 1;
    virtio_dev_init(&n->vdev, dm, &net_ops, n);
    n->watched = dm_watch_fd(dm, backend->fd, net_fd_ready, n) == 0;
    return 0;
}

void virtio_net_state_save(const struct virtio_net *n, struct srec_w *w)
{
    srec_put_bytes(w, n->config.mac, sizeof(n->config.mac));
}

void virtio_net_state_parse(const struct virtio_net *n, struct srec_r *r)
{
    uint8_t mac[sizeof(n->config.mac)];

    srec_get_bytes(r, mac, sizeof(mac));
    srec_check(r, memcmp(mac, n->config.mac, sizeof(mac)) == 0, "the NIC's MAC address differs");
}

/* ---- the device table entry ---- */

#define CLASS_NET_ETHERNET 0x020000

struct net_options {
    uint8_t mac[6];
};

static const struct dm_dev_opt net_opts[] = {
    DM_OPT("mac", DM_OPT_MAC, struct net_options, mac, 0),
};

static int net_check(const void *config, char *err, size_t errlen)
{
    const struct net_options *o = config;
    static const uint8_t none[6];

    if (memcmp(o->mac, none, sizeof(none)) == 0) {
        snprintf(err, errlen, "mac= is required");
        return -EINVAL;
    }
    if (o->mac[0] & 1) {
        snprintf(err, errlen, "mac= must be a unicast address");
        return -EINVAL;
    }
    return 0;
}

static int net_create(struct dm_dev *dev)
{
    const struct net_options *o = dev->config;
    struct virtio_net_device *s = dev->state;
    int rc = net_backend_open(&s->backend, dev->fds[0]);

    if (rc == -EINVAL)
        log_error("virtio-net %u: its descriptor is no datagram socket or tap", dev->instance);
    if (rc < 0 || (rc = virtio_net_init(&s->net, dev->dm, &s->backend, o->mac)) < 0)
        return rc;
    return virtio_pci_dev_create(&s->pci, dev, &s->net.vdev, CLASS_NET_ETHERNET);
}

static int net_quiesce(struct dm_dev *dev)
{
    struct virtio_net_device *s = dev->state;

    virtio_pci_serve_all(&s->pci);
    return 0;
}

static void net_save(struct dm_dev *dev, struct srec_w *w)
{
    struct virtio_net_device *s = dev->state;

    virtio_pci_state_save(&s->pci, w);
    virtio_net_state_save(&s->net, w);
}

static void net_parse(struct dm_dev *dev, void *stage, struct srec_r *r)
{
    struct virtio_net_device *s = dev->state;

    virtio_pci_state_parse(&s->pci, stage, r);
    virtio_net_state_parse(&s->net, r);
}

static void net_apply(struct dm_dev *dev, const void *stage)
{
    struct virtio_net_device *s = dev->state;

    virtio_pci_state_apply(&s->pci, stage);
}

static const struct dm_device_type net_type = {
    .name = "virtio-net",
    .bus = DM_BUS_PCI,
    .max_instances = VIRTIO_NET_MAX_NICS,
    .nr_fds = 1,
    .config_size = sizeof(struct net_options),
    .opts = net_opts,
    .nr_opts = sizeof(net_opts) / sizeof(net_opts[0]),
    .config_check = net_check,
    .state_size = sizeof(struct virtio_net_device),
    .create = net_create,
    .state_tag = STATE_TAG_VIRTIO_NET,
    .stage_size = sizeof(struct virtio_pci_state),
    .quiesce = net_quiesce,
    .save = net_save,
    .parse = net_parse,
    .apply = net_apply,
};
DM_DEVICE(net_type);
