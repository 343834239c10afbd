/* The virtio devices a guest gets, set up in one call, each a transitional
 * virtio-pci function on bus 0 from slot VIRTIO_FIRST_SLOT on: the disks
 * (virtio-blk) in order, then the NICs (virtio-net), then the console,
 * then the RNG. */
#ifndef STUBVISOR_DM_VIRTIO_SETUP_H
#define STUBVISOR_DM_VIRTIO_SETUP_H

#include <stdbool.h>
#include <stdint.h>

#include "dm/net/net.h"
#include "dm/pci.h"
#include "dm/virtio/blk.h"
#include "dm/virtio/console.h"
#include "dm/virtio/net.h"
#include "dm/virtio/pci.h"
#include "dm/virtio/rng.h"

#define VIRTIO_MAX_DISKS  8
#define VIRTIO_MAX_NICS   4
#define VIRTIO_FIRST_SLOT 3

/* A disk or NIC as the device model is handed it. */
struct virtio_disk_spec {
    int fd;
    bool read_only;
};

struct virtio_nic_spec {
    int fd;
    uint8_t mac[6];
};

struct virtio_config {
    struct virtio_disk_spec disks[VIRTIO_MAX_DISKS];
    unsigned nr_disks;
    struct virtio_nic_spec nics[VIRTIO_MAX_NICS];
    unsigned nr_nics;
    bool console;   /* one virtio-console port ... */
    int console_fd; /* ... over this descriptor (-1: no host side) */
    bool rng;
    bool kick_eventfds; /* queue kicks through ioeventfds (needs dm_events_enable) */
};

struct virtio_devices {
    unsigned nr_disks, nr_nics;
    struct disk disks[VIRTIO_MAX_DISKS];
    struct virtio_blk blk[VIRTIO_MAX_DISKS];
    struct virtio_pci blk_pci[VIRTIO_MAX_DISKS];
    struct net_backend backends[VIRTIO_MAX_NICS];
    struct virtio_net net[VIRTIO_MAX_NICS];
    struct virtio_pci net_pci[VIRTIO_MAX_NICS];
    struct virtio_console console;
    struct virtio_pci console_pci;
    int console_fd; /* the console's descriptor, -1: none */
    struct virtio_rng rng;
    struct virtio_pci rng_pci;
};

/* Create the devices of cfg on bus.  The disks', NICs' and console's
 * descriptors belong to the devices afterwards (closed by
 * virtio_devices_free), also on failure.  Returns NULL (logged) on
 * failure. */
struct virtio_devices *virtio_devices_new(struct dm *dm, struct pci_bus *bus,
                                          const struct virtio_config *cfg);
void virtio_devices_free(struct virtio_devices *v);

#endif
