/* virtio-console front end: one port on a device-model console. */
#include "dm/virtio/console.h"

#include <errno.h>
#include <linux/virtio_ids.h>
#include <string.h>

#include "lib/log.h"

enum { RXQ = 0, TXQ = 1 };

static struct virtio_console *con_of(struct virtio_dev *vd)
{
    return vd->priv;
}

static void con_config_read(struct virtio_dev *vd, uint32_t off, uint8_t *data, uint32_t size)
{
    memcpy(data, (const uint8_t *)&con_of(vd)->config + off, size);
}

static void con_config_write(struct virtio_dev *vd, uint32_t off, const uint8_t *data,
                             uint32_t size)
{
    (void)vd, (void)off, (void)data, (void)size; /* emerg_wr is not offered */
}

/* Guest output: every readable byte of every chain to the console. */
static void con_transmit(struct virtio_console *c)
{
    struct virtio_dev *vd = &c->vdev;
    struct virtq *vq = &vd->vq[TXQ];
    uint8_t buf[1024];
    int rc;

    do {
        virtq_set_kicks(vq, false);
        while ((rc = virtq_pop(vd->dm, vq, &c->tx)) > 0) {
            for (uint64_t off = 0; off < c->tx.out_len;) {
                size_t n = virtq_chain_read(&c->tx, off, buf, sizeof(buf));
                if (n == 0)
                    break;
                dm_console_write(vd->dm, c->console, buf, n);
                off += n;
            }
            virtq_push(vq, c->tx.head, 0);
        }
        if (rc < 0) {
            virtio_dev_broken(vd, TXQ, "malformed ring");
            return;
        }
        virtq_set_kicks(vq, true);
    } while (virtq_has_work(vq));
    virtio_queue_notify_used(vd, TXQ);
}

/* Console input: room is what the next receive buffer holds. */
static size_t con_room(void *opaque)
{
    struct virtio_console *c = opaque;
    struct virtio_dev *vd = &c->vdev;
    int rc;

    if (!virtio_queue_live(vd, RXQ))
        return 0;
    if (!c->rx_held) {
        rc = virtq_pop(vd->dm, &vd->vq[RXQ], &c->rx);
        if (rc < 0)
            virtio_dev_broken(vd, RXQ, "malformed ring");
        c->rx_held = rc > 0;
    }
    return c->rx_held ? (size_t)c->rx.in_len : 0;
}

static void con_rx(void *opaque, const uint8_t *buf, size_t len)
{
    struct virtio_console *c = opaque;
    struct virtio_dev *vd = &c->vdev;

    if (!c->rx_held || !virtio_queue_live(vd, RXQ))
        return;
    len = virtq_chain_write(&c->rx, 0, buf, len);
    virtq_push(&vd->vq[RXQ], c->rx.head, (uint32_t)len);
    c->rx_held = false;
    virtio_queue_notify_used(vd, RXQ);
}

static void con_queue_notify(struct virtio_dev *vd, unsigned q)
{
    if (q == TXQ)
        con_transmit(con_of(vd));
    /* New receive buffers: the core's console poll finds them. */
}

static void con_reset(struct virtio_dev *vd)
{
    con_of(vd)->rx_held = false;
}

static const struct virtio_dev_ops con_ops = {
    .name = "console",
    .device_id = VIRTIO_ID_CONSOLE,
    .nr_queues = 2,
    .poll_queues = 1u << 1,
    .features = 1ull << VIRTIO_CONSOLE_F_SIZE,
    .config_size = sizeof(struct virtio_console_config),
    .config_read = con_config_read,
    .config_write = con_config_write,
    .queue_notify = con_queue_notify,
    .reset = con_reset,
};

int virtio_console_init(struct virtio_console *c, struct dm *dm, unsigned idx)
{
    struct dm_console_rx rx = {.room = con_room, .rx = con_rx, .opaque = c};
    int rc;

    memset(c, 0, sizeof(*c));
    c->console = idx;
    c->config.cols = 80;
    c->config.rows = 25;
    c->config.max_nr_ports = 1;
    virtio_dev_init(&c->vdev, dm, &con_ops, c);
    rc = dm_console_attach(dm, idx, &rx);
    c->has_input = rc == 0;
    if (rc == -EEXIST) {
        log_debug("virtio-console: console %u's input goes elsewhere; output only", idx);
        rc = 0;
    }
    return rc;
}

void virtio_console_release(struct virtio_console *c)
{
    if (!c->rx_held)
        return;
    virtq_unpop(&c->vdev.vq[RXQ]);
    c->rx_held = false;
}
