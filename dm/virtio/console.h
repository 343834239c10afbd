/* virtio-console (virtio 1.x, section 5.3), one port without
 * VIRTIO_CONSOLE_F_MULTIPORT: queue 0 carries input to the guest, queue 1
 * its output.  The port is a device-model console (dm_console_write() and
 * dm_console_attach()); if another device already takes that console's
 * input, the port is output-only. */
#ifndef STUBVISOR_DM_VIRTIO_CONSOLE_H
#define STUBVISOR_DM_VIRTIO_CONSOLE_H

#include <linux/virtio_console.h>

#include "dm/virtio/virtio.h"

struct virtio_console {
    struct virtio_dev vdev;
    unsigned console; /* the device-model console index */
    bool has_input;
    struct virtio_console_config config;
    struct virtq_chain tx; /* scratch */
    struct virtq_chain rx; /* a receive buffer taken and not yet returned */
    bool rx_held;
};

/* Set up c on console `idx` (owned by the caller, outliving dm); attach
 * a transport after.  Returns 0 or a negative errno. */
int virtio_console_init(struct virtio_console *c, struct dm *dm, unsigned idx);

/* Before a save: give back the receive buffer held for console input
 * (the next input takes it again), so no chain is in flight. */
void virtio_console_release(struct virtio_console *c);

#endif
