/* The ioreq ABI: how stubvmm hands a guest's I/O exits to a device model.
 *
 * It follows Xen's public/hvm/ioreq.h: one shared page with a slot per vCPU,
 * a buffered ring for posted writes, and notification in both directions
 * (eventfds here, event channels in Xen).  The shared memory is one memfd,
 * created by stubvmm and handed to the device model, laid out as:
 *
 *   page 0                  struct ioreq_page: slot[v] for vCPU v
 *   page 1                  struct ioreq_buf_page: the buffered ring
 *   page 2 + v              the bounce page of vCPU v (string PIO data)
 *
 * Deviations from Xen, all documented in docs/ioreq.md:
 *   - `state` has a byte of its own (Xen packs it in a bitfield) so both
 *     sides can use C11 atomics on it;
 *   - `vp_eport` (an event channel port in Xen) is the vCPU's "sleeping"
 *     flag: non-zero while the vCPU blocks on its eventfd, so the device
 *     model only pays for a signal when the vCPU stopped spinning;
 *   - `data_is_ptr` means "data is an offset in this vCPU's bounce page",
 *     not a guest address: string PIO data travels in the bounce page, one
 *     request per rep instruction instead of one per element.
 *
 * State machine of a slot (only ever forward, anything else is a fault of
 * the device model):
 *   NONE --stubvmm fills, release--> READY --DM takes--> INPROCESS
 *        --DM writes data, release--> IORESP_READY --stubvmm reads--> NONE
 */
#ifndef STUBVISOR_IOREQ_H
#define STUBVISOR_IOREQ_H

#include <stdatomic.h>
#include <stdint.h>

#define IOREQ_PAGE_SIZE 4096u

/* Request types (Xen's IOREQ_TYPE_*). */
enum {
    IOREQ_TYPE_PIO = 0,
    IOREQ_TYPE_COPY = 1, /* MMIO */
    IOREQ_TYPE_PCI_CONFIG = 2,
};

/* Slot states (Xen's STATE_*). */
enum {
    STATE_IOREQ_NONE = 0,
    STATE_IOREQ_READY = 1,
    STATE_IOREQ_INPROCESS = 2,
    STATE_IORESP_READY = 3,
};

/* Directions (Xen's IOREQ_WRITE / IOREQ_READ). */
enum {
    IOREQ_WRITE = 0,
    IOREQ_READ = 1,
};

/* Most vCPUs one ioreq page serves: the reply to get_ioreq_server_info
 * carries one eventfd per vCPU plus two more, within FDIO_MAX_FDS. */
#define IOREQ_MAX_VCPUS 8

/* One request.  32 bytes, as in Xen.  For PCI_CONFIG, addr is
 * (SBDF << 32) | register.  For string PIO (count > 1) with data_is_ptr set,
 * data is the offset in the vCPU's bounce page where count * size bytes
 * start (in for writes, out for reads). */
struct ioreq {
    uint64_t addr;
    uint64_t data;
    uint32_t count;
    uint32_t size;
    _Atomic uint32_t vp_eport; /* here: non-zero while the vCPU sleeps on its eventfd */
    _Atomic uint8_t state;     /* STATE_* */
    uint8_t dir;               /* IOREQ_WRITE / IOREQ_READ */
    uint8_t type;              /* IOREQ_TYPE_* */
    uint8_t flags;             /* IOREQ_F_* */
};

#define IOREQ_F_DATA_IS_PTR 0x1u
#define IOREQ_F_DF          0x2u

_Static_assert(sizeof(struct ioreq) == 32, "ioreq ABI is 32 bytes");
_Static_assert(sizeof(_Atomic uint8_t) == 1 && sizeof(_Atomic uint32_t) == 4,
               "atomics have the plain types' layout");

/* Page 0.  dm_sleeping is non-zero while the device model blocks on its
 * notify eventfd: stubvmm signals only then (after a full fence). */
struct ioreq_page {
    struct ioreq slot[IOREQ_MAX_VCPUS];
    _Atomic uint32_t dm_sleeping;
};

/* A posted write: no reply, the vCPU goes on at once.  16 bytes. */
struct ioreq_buf_slot {
    uint64_t addr;
    uint32_t data;
    uint8_t type; /* IOREQ_TYPE_PIO or IOREQ_TYPE_COPY */
    uint8_t size; /* 1, 2 or 4 */
    uint16_t pad;
};

#define IOREQ_BUF_SLOTS 128u /* a power of two */

/* Page 1.  Pointers run freely (mod 2^32); slot = pointer % IOREQ_BUF_SLOTS.
 * stubvmm (producer) writes the slot then stores write_pointer with release;
 * the DM (consumer) loads write_pointer with acquire, reads slots, then
 * stores read_pointer with release.  write - read > IOREQ_BUF_SLOTS is a
 * fault of whoever wrote it. */
struct ioreq_buf_page {
    _Atomic uint32_t read_pointer;
    _Atomic uint32_t write_pointer;
    uint32_t pad[14];
    struct ioreq_buf_slot slot[IOREQ_BUF_SLOTS];
};

_Static_assert(sizeof(struct ioreq_page) <= IOREQ_PAGE_SIZE, "ioreq page fits");
_Static_assert(sizeof(struct ioreq_buf_page) <= IOREQ_PAGE_SIZE, "buffered page fits");

#define IOREQ_BUF_PAGE_OFFSET     (1u * IOREQ_PAGE_SIZE)
#define IOREQ_BOUNCE_OFFSET(vcpu) ((2u + (unsigned)(vcpu)) * IOREQ_PAGE_SIZE)
#define IOREQ_SHM_SIZE(nr_vcpus)  ((2u + (unsigned)(nr_vcpus)) * IOREQ_PAGE_SIZE)

#endif
