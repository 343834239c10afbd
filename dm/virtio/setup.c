/* Virtio device set-up for a guest (see setup.h). */
#include "dm/virtio/setup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"

#define CLASS_STORAGE_OTHER 0x018000

struct virtio_devices *virtio_devices_new(struct dm *dm, struct pci_bus *bus,
                                          const struct virtio_disk_spec *disks, unsigned nr_disks)
{
    struct virtio_devices *v = NULL;
    unsigned i = 0;
    int rc = -EINVAL;

    if (nr_disks > VIRTIO_MAX_DISKS)
        goto fail;
    rc = -ENOMEM;
    v = calloc(1, sizeof(*v));
    if (!v)
        goto fail;
    for (i = 0; i < nr_disks; i++) {
        char serial[VIRTIO_BLK_ID_BYTES + 1];

        rc = disk_raw_open(&v->disks[i], disks[i].fd, disks[i].read_only);
        if (rc < 0) {
            log_error("disk %u: %s", i, strerror(-rc));
            goto fail;
        }
        v->nr_disks = i + 1;
        snprintf(serial, sizeof(serial), "stubvisor-disk%u", i);
        virtio_blk_init(&v->blk[i], dm, &v->disks[i], serial);
        rc = virtio_pci_init(&v->blk_pci[i], bus, (VIRTIO_FIRST_SLOT + i) << 3, &v->blk[i].vdev,
                             CLASS_STORAGE_OTHER, VIRTIO_PCI_TRANSITIONAL);
        if (rc < 0)
            goto fail;
        log_debug("virtio-blk %u: %llu bytes%s", i, (unsigned long long)v->disks[i].size,
                  v->disks[i].read_only ? ", read-only" : "");
    }
    return v;
fail:
    log_error("virtio devices: %s", strerror(-rc));
    /* Descriptors not yet taken by a disk are ours to close too. */
    for (unsigned j = v ? v->nr_disks : 0; j < nr_disks; j++)
        close(disks[j].fd);
    virtio_devices_free(v);
    return NULL;
}

void virtio_devices_free(struct virtio_devices *v)
{
    if (!v)
        return;
    for (unsigned i = 0; i < v->nr_disks; i++)
        disk_close(&v->disks[i]);
    free(v);
}
