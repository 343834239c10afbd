/* virtio-net (virtio 1.x, section 5.1): one receive and one transmit
 * queue over a frame back end (dm/net).  Offered: VIRTIO_NET_F_MAC; no
 * offloads (every frame goes out whole, with a zero header coming in).
 *
 * Transmit runs when the driver kicks.  Receive needs the device model's
 * event loop (dm_watch_fd): a frame is read when the back end has one,
 * kept while the guest has no buffer (the watch pauses meanwhile), and
 * delivered when it posts one (inline, stubvmm's main loop watches the
 * back end for the device model).  Without any event loop the back end is
 * only looked at when the driver kicks a queue. */
#ifndef STUBVISOR_DM_VIRTIO_NET_H
#define STUBVISOR_DM_VIRTIO_NET_H

#include <linux/virtio_net.h>

#include "dm/net/net.h"
#include "dm/virtio/pci.h"
#include "dm/virtio/virtio.h"

struct virtio_net {
    struct virtio_dev vdev;
    struct net_backend *backend;
    bool watched; /* the event loop tells us when frames arrive */
    struct virtio_net_config config;
    struct virtq_chain chain;         /* scratch */
    struct iovec iov[VIRTQ_MAX_SIZE]; /* scratch */
    uint8_t frame[NET_MAX_FRAME];     /* a received frame waiting for a buffer */
    size_t frame_len;                 /* 0: none */
    uint64_t rx_frames, tx_frames, rx_dropped;
};

/* Set up n over backend with the given MAC (owned by the caller, both
 * outliving dm); attach a transport after.  Returns 0 or -errno. */
int virtio_net_init(struct virtio_net *n, struct dm *dm, struct net_backend *backend,
                    const uint8_t mac[6]);

/* Look for received frames now (the event loop's callback; also called on
 * kicks).  Exported for tests. */
void virtio_net_receive(struct virtio_net *n);

/* Save/restore (dm/state.h): the MAC the guest was given; parse refuses
 * another.  A received frame still waiting for a buffer is not saved (a
 * lost frame, as on a wire). */
void virtio_net_state_save(const struct virtio_net *n, struct srec_w *w);
void virtio_net_state_parse(const struct virtio_net *n, struct srec_r *r);

/* The "virtio-net" device (-device virtio-net,mac=XX:XX:XX:XX:XX:XX): one
 * descriptor, the back end. */
#define VIRTIO_NET_MAX_NICS 4
struct virtio_net_device {
    struct net_backend backend;
    struct virtio_net net;
    struct virtio_pci pci;
};

#endif
