/* virtio-console front end: one port over a stream descriptor. */
#include "dm/virtio/console.h"

#include <errno.h>
#include <linux/virtio_ids.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dm/device.h"
#include "dm/state.h"
#include "lib/fdio.h"
#include "lib/log.h"

enum { RXQ = 0, TXQ = 1 };

/* Input moved per receive buffer at most, and buffers filled per call (let
 * the other devices run). */
#define RX_CHUNK   4096u
#define RX_BUFFERS 64u

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

/* Guest output: every readable byte of every chain to the port.  A host
 * side that is gone (EPIPE) drops it, as a serial line nobody listens to. */
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
                if (c->fd >= 0 && send_full(c->fd, buf, n) < 0)
                    log_debug("virtio-console: output: %s", strerror(errno));
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

static void watch(struct virtio_console *c, bool on)
{
    if (c->watched)
        dm_watch_enable(c->vdev.dm, c->fd, on && !c->eof);
}

/* Read what fits the held receive buffer.  Returns the bytes read, 0 when
 * nothing is waiting, -1 at the end of input. */
static ssize_t read_input(struct virtio_console *c, uint8_t *buf, size_t len)
{
    /* Without blocking, and without O_NONBLOCK: the descriptor's output
     * blocks (output waits for a slow reader rather than being lost). */
    ssize_t n = recv(c->fd, buf, len, MSG_DONTWAIT);

    if (n < 0 && errno == ENOTSOCK) {
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        n = poll(&p, 1, 0) == 1 ? read(c->fd, buf, len) : (errno = EAGAIN, -1);
    }
    if (n > 0)
        return n;
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    return -1;
}

void virtio_console_receive(struct virtio_console *c)
{
    struct virtio_dev *vd = &c->vdev;
    uint8_t buf[RX_CHUNK];
    bool delivered = false, room = true;

    if (c->fd < 0 || c->eof)
        return;
    if (!virtio_queue_live(vd, RXQ)) {
        /* Nobody to give input to: stop listening until DRIVER_OK (which
         * kicks every queue, and so calls us again). */
        watch(c, false);
        return;
    }
    for (unsigned i = 0; i < RX_BUFFERS; i++) {
        if (!c->rx_held) {
            int rc = virtq_pop(vd->dm, &vd->vq[RXQ], &c->rx);
            if (rc < 0)
                virtio_dev_broken(vd, RXQ, "malformed ring");
            c->rx_held = rc > 0;
            if (!c->rx_held) {
                room = false;
                break;
            }
        }
        size_t want = c->rx.in_len < sizeof(buf) ? (size_t)c->rx.in_len : sizeof(buf);
        ssize_t n = want ? read_input(c, buf, want) : 0;
        if (n < 0) {
            log_debug("virtio-console: the host side hung up; no more input");
            c->eof = true;
            break;
        }
        if (n == 0 && want)
            break; /* nothing waiting: the buffer stays held for the next input */
        virtq_push(&vd->vq[RXQ], c->rx.head,
                   (uint32_t)virtq_chain_write(&c->rx, 0, buf, (size_t)n));
        c->rx_held = false;
        delivered = true;
    }
    /* Without a buffer, stop listening until the guest posts one, or the
     * loop would spin on a readable descriptor. */
    watch(c, room);
    if (delivered)
        virtio_queue_notify_used(vd, RXQ);
}

static void con_fd_ready(struct dm *dm, int fd, void *opaque)
{
    (void)dm, (void)fd;
    virtio_console_receive(opaque);
}

static void con_queue_notify(struct virtio_dev *vd, unsigned q)
{
    struct virtio_console *c = con_of(vd);

    if (q == TXQ)
        con_transmit(c);
    /* New receive buffers, or (without an event loop) a chance to look
     * for input. */
    virtio_console_receive(c);
}

static void con_reset(struct virtio_dev *vd)
{
    struct virtio_console *c = con_of(vd);

    c->rx_held = false;
    watch(c, true);
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

int virtio_console_init(struct virtio_console *c, struct dm *dm, int fd)
{
    memset(c, 0, sizeof(*c));
    c->fd = fd;
    c->config.cols = 80;
    c->config.rows = 25;
    c->config.max_nr_ports = 1;
    virtio_dev_init(&c->vdev, dm, &con_ops, c);
    if (fd >= 0)
        c->watched = dm_watch_fd(dm, fd, con_fd_ready, c) == 0;
    return 0;
}

void virtio_console_release(struct virtio_console *c)
{
    if (!c->rx_held)
        return;
    virtq_unpop(&c->vdev.vq[RXQ]);
    c->rx_held = false;
}

/* ---- the device table entry ---- */

#define CLASS_COMM_OTHER 0x078000

static int con_create(struct dm_dev *dev)
{
    struct virtio_console_device *s = dev->state;
    int rc = virtio_console_init(&s->con, dev->dm, dev->fds[0]);

    if (rc < 0)
        return rc;
    return virtio_pci_dev_create(&s->pci, dev, &s->con.vdev, CLASS_COMM_OTHER);
}

static int con_quiesce(struct dm_dev *dev)
{
    struct virtio_console_device *s = dev->state;

    virtio_pci_serve_all(&s->pci);
    virtio_console_release(&s->con);
    return 0;
}

/* A receive buffer held for input goes back to the ring first. */
static void con_save(struct dm_dev *dev, struct srec_w *w)
{
    struct virtio_console_device *s = dev->state;

    virtio_console_release(&s->con);
    virtio_pci_state_save(&s->pci, w);
}

static void con_parse(struct dm_dev *dev, void *stage, struct srec_r *r)
{
    struct virtio_console_device *s = dev->state;

    virtio_pci_state_parse(&s->pci, stage, r);
}

static void con_apply(struct dm_dev *dev, const void *stage)
{
    struct virtio_console_device *s = dev->state;

    s->con.rx_held = false; /* a held buffer is the ring's again */
    virtio_pci_state_apply(&s->pci, stage);
}

static const struct dm_device_type con_type = {
    .name = "virtio-console",
    .bus = DM_BUS_PCI,
    .max_instances = 1,
    .nr_fds = 1,
    .state_size = sizeof(struct virtio_console_device),
    .create = con_create,
    .state_tag = STATE_TAG_VIRTIO_CONSOLE,
    .stage_size = sizeof(struct virtio_pci_state),
    .quiesce = con_quiesce,
    .save = con_save,
    .parse = con_parse,
    .apply = con_apply,
};
DM_DEVICE(con_type);
