/* A fake guest for virtio tests: RAM in a heap buffer (so ASan sees any
 * access outside it), a device model core over it, and a driver side that
 * builds descriptors and rings the way a guest would. */
#ifndef STUBVISOR_TESTS_VIRTIO_FAKE_GUEST_H
#define STUBVISOR_TESTS_VIRTIO_FAKE_GUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "dm/dm.h"
#include "dm/virtio/virtio.h"

#define FG_RAM_SIZE (1u << 20)
#define FG_DESC     0x1000u /* descriptor table */
#define FG_AVAIL    0x5000u /* available ring */
#define FG_USED     0x6000u /* used ring */
#define FG_DATA     0x10000u
#define FG_QSIZE    16u

struct fake_guest {
    uint8_t *ram;
    struct dm *dm;
    uint16_t qsize;
    uint16_t avail_idx; /* the driver's copy (queue 0) */
    uint16_t avail_idx_q[4];
    /* Consoles: what devices wrote, what they may read. */
    char con_out[4096];
    size_t con_out_len;
    const char *con_in;
    size_t con_in_len;
    unsigned interrupts[VIRTIO_MAX_QUEUES + 1]; /* last = config */
    /* What the device model asked of the host. */
    unsigned nr_msis;
    uint64_t msi_addr[32];
    uint32_t msi_data[32];
    int isa_irq[16];
    unsigned nr_ioeventfds; /* assigned now */
    struct fg_ioeventfd {
        uint64_t addr;
        uint32_t len;
        int fd;
    } ioeventfds[16];
    unsigned ioeventfd_calls;
};

extern struct fake_guest fg;

/* Allocate RAM and the core.  Returns 0 (asserts on failure). */
void fg_setup(void);
void fg_teardown(void);

/* Host view of guest address gpa (no checks: tests only). */
void *fg_ptr(uint64_t gpa);

/* Write descriptor i of the main table (or of a table at `table`). */
void fg_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next);
void fg_desc_at(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
                uint16_t next);

/* Make chain `head` available (avail ring entry, then idx). */
void fg_avail(uint16_t head);

/* The device's used ring. */
uint16_t fg_used_idx(void);
struct vring_used_elem fg_used(unsigned i);

/* Point q at the fake rings (size fg.qsize). */
void fg_queue(struct virtq *q);

/* The same for queue q (0..3), whose rings sit at FG_QBASE(q). */
#define FG_QBASE(q) (0x1000u + 0x3000u * (q))
void fg_descq(unsigned q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next);
void fg_availq(unsigned q, uint16_t head);
uint16_t fg_used_idxq(unsigned q);
struct vring_used_elem fg_usedq(unsigned q, unsigned i);

/* Like fg_bring_up, with queues 0 .. nq - 1 on the FG_QBASE rings. */
void fg_bring_up_queues(struct virtio_dev *vd, unsigned nq);

/* A transport that counts interrupts in fg.interrupts. */
extern const struct virtio_transport_ops fg_transport;

/* Drive vd through reset, features (all offered ones), FEATURES_OK, queue
 * 0 on the fake rings, DRIVER_OK.  Asserts it worked. */
void fg_bring_up(struct virtio_dev *vd);

#endif
