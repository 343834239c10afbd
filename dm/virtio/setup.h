/* The virtio devices a guest gets, set up in one call: today one
 * virtio-blk function per disk, at PCI slots 3, 4, ... of bus 0. */
#ifndef STUBVISOR_DM_VIRTIO_SETUP_H
#define STUBVISOR_DM_VIRTIO_SETUP_H

#include <stdbool.h>

#include "dm/pci.h"
#include "dm/virtio/blk.h"
#include "dm/virtio/pci.h"

#define VIRTIO_MAX_DISKS  8
#define VIRTIO_FIRST_SLOT 3

/* A disk as the device model is handed it. */
struct virtio_disk_spec {
    int fd;
    bool read_only;
};

struct virtio_devices {
    unsigned nr_disks;
    struct disk disks[VIRTIO_MAX_DISKS];
    struct virtio_blk blk[VIRTIO_MAX_DISKS];
    struct virtio_pci blk_pci[VIRTIO_MAX_DISKS];
};

/* Create the devices on bus.  The disks' descriptors belong to the
 * devices afterwards (closed by virtio_devices_free), also on failure.
 * Returns NULL (logged) on failure. */
struct virtio_devices *virtio_devices_new(struct dm *dm, struct pci_bus *bus,
                                          const struct virtio_disk_spec *disks, unsigned nr_disks);
void virtio_devices_free(struct virtio_devices *v);

#endif
