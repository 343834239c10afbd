/* virtio-console (virtio 1.x, section 5.3), one port without
 * VIRTIO_CONSOLE_F_MULTIPORT: queue 0 carries input to the guest, queue 1
 * its output.
 *
 * The port's host side is a descriptor handed to the device model (a
 * stream socket: the console server's pair in stubvmm, a socket stubvmm
 * connected, or one whose peer is gone), which the device reads and
 * writes itself, as virtio-net does its back end: output is written out
 * whole (a slow reader slows the guest's output down, it loses nothing),
 * input is read when the event loop says it is there (dm_watch_fd) and
 * there is a receive buffer for it; without a buffer the watch pauses and
 * the input waits in the socket until the guest posts one.  At the
 * descriptor's end of file input stops for good. */
#ifndef STUBVISOR_DM_VIRTIO_CONSOLE_H
#define STUBVISOR_DM_VIRTIO_CONSOLE_H

#include <linux/virtio_console.h>

#include "dm/virtio/pci.h"
#include "dm/virtio/virtio.h"

struct virtio_console {
    struct virtio_dev vdev;
    int fd;       /* the port's host side, -1: none (output dropped, no input) */
    bool watched; /* the event loop tells us when input arrives */
    bool eof;     /* the host side hung up: no more input */
    struct virtio_console_config config;
    struct virtq_chain tx; /* scratch */
    struct virtq_chain rx; /* a receive buffer taken and not yet returned */
    bool rx_held;
};

/* Set up c over fd (owned by the caller, like c, both outliving dm);
 * attach a transport after.  Returns 0 or -errno. */
int virtio_console_init(struct virtio_console *c, struct dm *dm, int fd);

/* Move waiting input into receive buffers now (the event loop's callback;
 * also called when the driver posts buffers).  Exported for tests. */
void virtio_console_receive(struct virtio_console *c);

/* Before a save: give back the receive buffer held for console input
 * (the next input takes it again), so no chain is in flight. */
void virtio_console_release(struct virtio_console *c);

/* The "virtio-console" device (-device virtio-console): one descriptor,
 * the port's host side. */
struct virtio_console_device {
    struct virtio_console con;
    struct virtio_pci pci;
};

#endif
