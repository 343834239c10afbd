/* virtio-rng (virtio 1.x, section 5.4): one queue; every writable buffer
 * the driver offers is filled from getrandom(). */
#ifndef STUBVISOR_DM_VIRTIO_RNG_H
#define STUBVISOR_DM_VIRTIO_RNG_H

#include "dm/virtio/pci.h"
#include "dm/virtio/virtio.h"

#define VIRTIO_RNG_MAX_CHUNK 4096u /* bytes per request: the rest waits */

struct virtio_rng {
    struct virtio_dev vdev;
    struct virtq_chain chain; /* scratch */
};

/* Set up r (owned by the caller, outliving dm); attach a transport after. */
void virtio_rng_init(struct virtio_rng *r, struct dm *dm);

/* The "virtio-rng" device (-device virtio-rng). */
struct virtio_rng_device {
    struct virtio_rng rng;
    struct virtio_pci pci;
};

#endif
