/* Virtio device set-up for a guest (see setup.h). */
#include "dm/virtio/setup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/log.h"

#define CLASS_STORAGE_OTHER 0x018000
#define CLASS_NET_ETHERNET  0x020000
#define CLASS_COMM_OTHER    0x078000
#define CLASS_OTHER         0x00ff00

static unsigned kick_flag(const struct virtio_config *cfg)
{
    return cfg->kick_eventfds ? VIRTIO_PCI_KICK_EVENTFD : 0;
}

static int add_disk(struct virtio_devices *v, struct dm *dm, struct pci_bus *bus,
                    const struct virtio_config *cfg, const struct virtio_disk_spec *spec,
                    unsigned *slot)
{
    unsigned i = v->nr_disks;
    char serial[VIRTIO_BLK_ID_BYTES + 1];
    int rc = disk_raw_open(&v->disks[i], spec->fd, spec->read_only);

    if (rc < 0) {
        log_error("disk %u: %s", i, strerror(-rc));
        return rc;
    }
    v->nr_disks++;
    snprintf(serial, sizeof(serial), "stubvisor-disk%u", i);
    virtio_blk_init(&v->blk[i], dm, &v->disks[i], serial);
    log_debug("virtio-blk %u: %llu bytes%s", i, (unsigned long long)v->disks[i].size,
              v->disks[i].read_only ? ", read-only" : "");
    return virtio_pci_init(&v->blk_pci[i], bus, (*slot)++ << 3, &v->blk[i].vdev,
                           CLASS_STORAGE_OTHER, VIRTIO_PCI_TRANSITIONAL | kick_flag(cfg));
}

static int add_nic(struct virtio_devices *v, struct dm *dm, struct pci_bus *bus,
                   const struct virtio_config *cfg, const struct virtio_nic_spec *spec,
                   unsigned *slot)
{
    unsigned i = v->nr_nics;
    int rc = net_backend_open(&v->backends[i], spec->fd);

    if (rc < 0) {
        log_error("nic %u: %s", i, strerror(-rc));
        return rc;
    }
    v->nr_nics++;
    rc = virtio_net_init(&v->net[i], dm, &v->backends[i], spec->mac);
    if (rc < 0)
        return rc;
    return virtio_pci_init(&v->net_pci[i], bus, (*slot)++ << 3, &v->net[i].vdev, CLASS_NET_ETHERNET,
                           VIRTIO_PCI_TRANSITIONAL | kick_flag(cfg));
}

struct virtio_devices *virtio_devices_new(struct dm *dm, struct pci_bus *bus,
                                          const struct virtio_config *cfg)
{
    struct virtio_devices *v = NULL;
    unsigned slot = VIRTIO_FIRST_SLOT;
    int rc = -EINVAL;

    if (cfg->nr_disks > VIRTIO_MAX_DISKS || cfg->nr_nics > VIRTIO_MAX_NICS)
        goto fail;
    rc = -ENOMEM;
    v = calloc(1, sizeof(*v));
    if (!v)
        goto fail;
    v->console_fd = -1;
    for (unsigned i = 0; i < cfg->nr_disks; i++)
        if ((rc = add_disk(v, dm, bus, cfg, &cfg->disks[i], &slot)) < 0)
            goto fail;
    for (unsigned i = 0; i < cfg->nr_nics; i++)
        if ((rc = add_nic(v, dm, bus, cfg, &cfg->nics[i], &slot)) < 0)
            goto fail;
    if (cfg->console) {
        v->console_fd = cfg->console_fd;
        if ((rc = virtio_console_init(&v->console, dm, cfg->console_fd)) < 0 ||
            (rc = virtio_pci_init(&v->console_pci, bus, slot++ << 3, &v->console.vdev,
                                  CLASS_COMM_OTHER, VIRTIO_PCI_TRANSITIONAL | kick_flag(cfg))) < 0)
            goto fail;
    }
    if (cfg->rng) {
        virtio_rng_init(&v->rng, dm);
        if ((rc = virtio_pci_init(&v->rng_pci, bus, slot++ << 3, &v->rng.vdev, CLASS_OTHER,
                                  VIRTIO_PCI_TRANSITIONAL | kick_flag(cfg))) < 0)
            goto fail;
    }
    return v;
fail:
    log_error("virtio devices: %s", strerror(-rc));
    /* Descriptors no back end took yet are ours to close too. */
    for (unsigned j = v ? v->nr_disks : 0; j < cfg->nr_disks; j++)
        close(cfg->disks[j].fd);
    for (unsigned j = v ? v->nr_nics : 0; j < cfg->nr_nics; j++)
        close(cfg->nics[j].fd);
    if (cfg->console && (!v || v->console_fd != cfg->console_fd))
        close_quietly(cfg->console_fd);
    virtio_devices_free(v);
    return NULL;
}

void virtio_devices_free(struct virtio_devices *v)
{
    if (!v)
        return;
    for (unsigned i = 0; i < v->nr_disks; i++)
        disk_close(&v->disks[i]);
    for (unsigned i = 0; i < v->nr_nics; i++)
        net_backend_close(&v->backends[i]);
    close_quietly(v->console_fd);
    free(v);
}
