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
#define VQ_MAX  2u /* queues a guest sets up */

struct vdev_queue {
    struct vring_desc *desc;
    struct vring_avail *avail;
    struct vring_used *used;
    uint16_t size;
    uint16_t avail_idx, used_seen;
    uintptr_t kick; /* its notify address */
};

struct vdev {
    unsigned devfn;
    uintptr_t common, isr, device, notify; /* addresses in the BAR(s) */
    uint32_t notify_mul;
    uint64_t features; /* negotiated */
    unsigned nr_queues;
    struct vdev_queue q[VQ_MAX];
};

/* Set before vdev_open(): queue q signals MSI-X vector q (message to the
 * local APIC, vector 0x40 + q) instead of nothing.  The guests run with
 * interrupts off, so the messages only stay pending in the local APIC:
 * what this exercises is the device model's way of sending them. */
extern bool vdev_use_msix;

/* Set before vdev_open(): the device may interrupt (no
 * VRING_AVAIL_F_NO_INTERRUPT) and, without MSI-X, does so on INTx; the
 * guest reads the ISR (d->isr) to acknowledge. */
extern bool vdev_use_intx;

/* Find the nth (0-based) function of virtio device type `id` (VIRTIO_ID_*),
 * modern (0x1040 + id) or transitional, and bring it up with the features
 * in `want` that it offers (VERSION_1 is always asked) and queues
 * 0 .. nq - 1 (at most VQ_MAX; one set of rings per program).  Returns 0,
 * or -1 with a message printed. */
int vdev_open(struct vdev *d, unsigned id, unsigned nth, uint64_t want, unsigned nq);

/* Descriptor i of queue q. */
void vdev_desc(struct vdev *d, unsigned q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
               uint16_t next);

/* Make chain `head` of queue q available; kick the device if kick. */
void vdev_post(struct vdev *d, unsigned q, uint16_t head, bool kick);
void vdev_submit(struct vdev *d, unsigned q, uint16_t head);

/* Wait for the next used entry of queue q (bounded); returns true with its
 * id and length, or false on timeout. */
bool vdev_wait(struct vdev *d, unsigned q, uint32_t *id, uint32_t *len);
/* The same without waiting: false when no new used entry is there. */
bool vdev_poll(struct vdev *d, unsigned q, uint32_t *id, uint32_t *len);

/* Device-specific config space at off. */
uint32_t vdev_config32(const struct vdev *d, unsigned off);
uint8_t vdev_config8(const struct vdev *d, unsigned off);
uint8_t vdev_status(const struct vdev *d);

#endif
