/* Split virtqueues (virtio 1.x, section 2.7), transport-neutral.
 *
 * The driver (guest) owns the descriptor table and the available ring; the
 * device (us) owns the used ring.  Everything the guest wrote is hostile and
 * may change under our feet, so:
 *   - the three ring areas are checked once, when the queue is enabled,
 *     through dm_guest_ptr() (guest RAM never moves, so the pointers stay
 *     valid), and must have the alignment the spec requires;
 *   - every descriptor is copied once into a local before it is looked at,
 *     and every address/length in it goes through dm_guest_ptr();
 *   - a chain is at most `size` descriptors long (a loop cannot be longer),
 *     an indirect table at most VIRTQ_MAX_SIZE entries, only the head may
 *     be indirect, and device-readable parts come before device-writable;
 *   - the avail index may run at most `size` entries ahead of us, and every
 *     head index must be below `size`.
 * Any violation makes virtq_pop() return -EIO; the device then marks itself
 * broken (virtio.c) and stops looking at the queue until it is reset.
 *
 * Used ring and interrupts: virtq_push() fills one used element and
 * publishes the index (release); virtq_should_interrupt() tells whether the
 * driver asked to hear about it (VRING_AVAIL_F_NO_INTERRUPT, or used_event
 * with VIRTIO_RING_F_EVENT_IDX).  virtq_set_kicks() does the same in the
 * other direction (VRING_USED_F_NO_NOTIFY or avail_event).
 */
#ifndef STUBVISOR_DM_VIRTIO_QUEUE_H
#define STUBVISOR_DM_VIRTIO_QUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <linux/virtio_ring.h>

#include "dm/dm.h"
#include "dm/state_rec.h"

#define VIRTQ_MAX_SIZE 1024u /* largest queue and largest indirect table */

struct virtq {
    /* Set by the driver through the transport while the queue is off. */
    uint16_t size; /* a power of two, 1 .. VIRTQ_MAX_SIZE */
    uint64_t desc_gpa, avail_gpa, used_gpa;
    /* Negotiated ring features. */
    bool indirect, event_idx;

    /* Valid while enabled (virtq_enable() succeeded). */
    bool enabled;
    struct vring_desc *desc;
    struct vring_avail *avail;
    struct vring_used *used;
    uint16_t last_avail;     /* next available entry we will take */
    uint16_t used_idx;       /* our copy of used->idx */
    uint16_t signalled_used; /* used_idx when we last decided on an interrupt */
    bool signalled_valid;
};

/* One descriptor chain, split into device-readable (out) then
 * device-writable (in) segments, each a host pointer into guest RAM. */
struct virtq_chain {
    uint16_t head;
    unsigned nr_out, nr_in;   /* iov[0 .. nr_out) readable, then nr_in writable */
    uint64_t out_len, in_len; /* bytes in each part */
    struct iovec iov[VIRTQ_MAX_SIZE];
};

/* Forget everything (the state after a device reset). */
void virtq_reset(struct virtq *q);

/* Check the queue's size and ring addresses and map them.  Returns 0, or
 * -EINVAL if the size is not a power of two up to VIRTQ_MAX_SIZE, an area
 * is misaligned, any byte of it lies outside guest RAM, or the used ring
 * overlaps the descriptor table or the available ring. */
int virtq_enable(struct dm *dm, struct virtq *q);

/* Whether the driver made buffers available that we have not taken. */
bool virtq_has_work(const struct virtq *q);

/* Take the next available chain into *c.  Returns 1 (a chain), 0 (none
 * waiting) or -EIO (the guest broke the ring: see the top of this file;
 * a writable buffer over the descriptor table or the available ring is
 * broken too, so that no completion can make new work);
 * after -EIO the queue must not be used until it is reset.  Segment
 * pointers in *c stay valid while guest RAM is mapped. */
int virtq_pop(struct dm *dm, struct virtq *q, struct virtq_chain *c);

/* Return chain `head` to the driver with `written` bytes written into its
 * writable part. */
void virtq_push(struct virtq *q, uint16_t head, uint32_t written);

/* After one or more virtq_push(): whether the driver wants an interrupt
 * for what was published since the last call. */
bool virtq_should_interrupt(struct virtq *q);

/* Ask the driver to kick us (enable) or not (disable) for new buffers.
 * After enabling, check virtq_has_work() again: buffers made available
 * just before the driver saw the change get no kick. */
void virtq_set_kicks(struct virtq *q, bool enable);

/* Copy up to len bytes from the chain's readable part, starting at byte
 * off, into buf.  Returns the number of bytes copied. */
size_t virtq_chain_read(const struct virtq_chain *c, uint64_t off, void *buf, size_t len);

/* Copy up to len bytes into the chain's writable part at byte off.
 * Returns the number of bytes copied. */
size_t virtq_chain_write(const struct virtq_chain *c, uint64_t off, const void *buf, size_t len);

/* Fill out[] (room for max entries) with the slice [off, off + len) of
 * the readable (writable = false) or writable part.  Returns the number
 * of entries, or -ERANGE if the slice is not inside the part or needs more
 * than max entries. */
int virtq_chain_slice(const struct virtq_chain *c, bool writable, uint64_t off, uint64_t len,
                      struct iovec *out, unsigned max);

/* Save/restore (dm/state.h): size, ring addresses and positions.
 * parse fills *q (a staging copy) and, for an enabled queue, checks it as
 * virtq_enable() does (so its ring pointers are valid afterwards), then
 * checks the positions: at most `size` chains taken and not returned. */
void virtq_state_save(const struct virtq *q, struct srec_w *w);
void virtq_state_parse(struct dm *dm, struct virtq *q, struct srec_r *r);

/* Give back the chain taken last (it was never returned): the next
 * virtq_pop() takes it again.  For a device that held a chain across a
 * save. */
void virtq_unpop(struct virtq *q);

#endif
