/*
 * A polling virtio-pci driver for the test guests: finds a function on
 * PCI bus 0 (config cycles through 0xcf8/0xcfc), gives its BAR an address
 * if firmware did not, reads the modern capabilities, negotiates features
 * and sets up queue 0.  The guest then puts chains in the ring, kicks and
 * polls the used ring: no interrupts (VRING_AVAIL_F_NO_INTERRUPT).
 */
#ifndef GUEST_VIRTIO_H
#define GUEST_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_ring.h>

#define VQ_SIZE 64u

struct vdev {
    unsigned devfn;
    uintptr_t common, isr, device, notify; /* addresses in the BAR(s) */
    uint32_t notify_mul;
    uint64_t features; /* negotiated */
    uint16_t qsize;
    uint16_t avail_idx, used_seen;
    uintptr_t kick; /* queue 0's notify address */
};

/* Find the nth (0-based) function of virtio device type `id` (VIRTIO_ID_*),
 * modern (0x1040 + id) or transitional, and bring it up with the features
 * in `want` that it offers (VERSION_1 is always asked).  Returns 0, or -1
 * with a message printed. */
int vdev_open(struct vdev *d, unsigned id, unsigned nth, uint64_t want);

/* Descriptor i of queue 0. */
void vdev_desc(struct vdev *d, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
               uint16_t next);

/* Make chain `head` available and kick the device. */
void vdev_submit(struct vdev *d, uint16_t head);

/* Wait for the next used entry (bounded); returns true and its length,
 * or false on timeout. */
bool vdev_wait(struct vdev *d, uint32_t *len);

/* Device-specific config space, 32 bits at off. */
uint32_t vdev_config32(const struct vdev *d, unsigned off);
uint8_t vdev_status(const struct vdev *d);

#endif
