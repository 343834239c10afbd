/* dm_op messages: what a device model asks of its guest's monitor.
 *
 * Xen's device model issues XEN_DMOP_* hypercalls; here the device model
 * sends fixed-size messages on a SOCK_SEQPACKET socket that only it holds,
 * and stubvmm answers each with a struct dmop_reply (rc = 0 or a negative
 * errno).  Op numbers follow XEN_DMOP_* where Xen has one.  Descriptors
 * travel with SCM_RIGHTS (lib/fdio.h): the reply to GET_IOREQ_SERVER_INFO
 * carries the ioreq memfd and eventfds; IOEVENTFD / IRQFD carry the eventfd
 * (IRQFD with DMOP_FD_RESAMPLE two: the irqfd, then the resample eventfd).  stubvmm validates every
 * field and refuses what is out of range without changing anything.  docs/ioreq.md has the full
 * story.
 *
 * The inline placement builds the very same messages and calls stubvmm's
 * dispatcher directly, so validation is one code path for all placements.
 */
#ifndef STUBVISOR_DMOP_H
#define STUBVISOR_DMOP_H

#include <stdint.h>

enum dmop_op {
    DMOP_CREATE_IOREQ_SERVER = 1,
    DMOP_GET_IOREQ_SERVER_INFO = 2,
    DMOP_MAP_IO_RANGE_TO_IOREQ_SERVER = 3,
    DMOP_UNMAP_IO_RANGE_FROM_IOREQ_SERVER = 4,
    DMOP_SET_IOREQ_SERVER_STATE = 5,
    DMOP_DESTROY_IOREQ_SERVER = 6,
    DMOP_SET_PCI_INTX_LEVEL = 8,
    DMOP_SET_ISA_IRQ_LEVEL = 9,
    DMOP_SET_PCI_LINK_ROUTE = 10,
    DMOP_INJECT_MSI = 14,
    DMOP_REMOTE_SHUTDOWN = 16,
    /* stubvisor's own */
    DMOP_IOEVENTFD = 64,     /* one descriptor attached when assigning */
    DMOP_IRQFD = 65,         /* one descriptor attached when assigning (two to resample) */
    DMOP_PAUSE_VCPUS = 66,   /* QMP stop: no payload */
    DMOP_UNPAUSE_VCPUS = 67, /* QMP cont: no payload */
    DMOP_MSI_ROUTE = 68,     /* allocate/update/free an MSI route: a GSI for irqfd */
};

/* Range types (Xen's XEN_DMOP_IO_RANGE_*). */
enum {
    DMOP_IO_RANGE_PORT = 0,
    DMOP_IO_RANGE_MEMORY = 1,
    DMOP_IO_RANGE_PCI = 2, /* start/end are SBDFs: seg << 16 | bus << 8 | dev << 3 | fn */
};

#define DMOP_RANGE_POSTED 0x1u /* writes may go through the buffered ring */

#define DMOP_FD_DEASSIGN  0x1u /* ioeventfd/irqfd: remove instead of add */
#define DMOP_FD_DATAMATCH 0x2u /* ioeventfd: only when the written value matches */
/* irqfd: a level-triggered line (KVM_IRQFD_FLAG_RESAMPLE).  Writing the
 * irqfd asserts the GSI; KVM lowers it when the guest acknowledges it (EOI)
 * and signals the resample eventfd, and the device model asserts again if
 * its line is still high.  Only for a GSI a PCI link is routed to
 * (SET_PCI_LINK_ROUTE), one per GSI; the irqfd goes when no link is routed
 * there any more. */
#define DMOP_FD_RESAMPLE 0x4u

/* MSI_ROUTE actions. */
enum {
    DMOP_MSI_ROUTE_ALLOC = 0,  /* addr, data -> reply u.route.gsi */
    DMOP_MSI_ROUTE_UPDATE = 1, /* gsi gets a new addr, data */
    DMOP_MSI_ROUTE_FREE = 2,   /* gsi goes, and any irqfd bound to it */
};

/* Bounds stubvmm enforces per ioreq server, each on its own, sized for the
 * largest guest (8 disks, 4 NICs, a console and an RNG: 14 transitional
 * virtio functions) with room to spare:
 *   ranges: the platform's ~10 plus 2 BARs per function = 38;
 *   ioeventfds: one per queue = 8 + 4 * 2 + 2 + 1 = 19;
 *   MSI routes: one per MSI-X vector in use = 8 * 2 + 4 * 3 + 3 + 2 = 33;
 *   irqfds: one per MSI route and per irqchip pin (the PCI links' lines). */
#define DMOP_MAX_RANGES     64
#define DMOP_MAX_IOEVENTFDS 32
#define DMOP_MAX_MSI_ROUTES 64
#define DMOP_MAX_IRQFDS     (DMOP_MAX_MSI_ROUTES + 24)
#define DMOP_MSI_GSI_BASE   24 /* MSI routes take GSIs 24 .. 24 + 63 */

/* Shutdown reasons (Xen's SHUTDOWN_*).  With POWEROFF the status is the
 * guest's exit status (0..255); with CRASH it says what the device model
 * saw, one of DMOP_CRASH_* (anything else is refused); REBOOT takes 0. */
enum {
    DMOP_SHUTDOWN_POWEROFF = 0,
    DMOP_SHUTDOWN_REBOOT = 1,
    DMOP_SHUTDOWN_CRASH = 3,
};

/* What a crash report says. */
enum {
    DMOP_CRASH_UNSPECIFIED = 0,
    DMOP_CRASH_PANIC = 1, /* the guest announced a panic (pvpanic) */
};

struct dmop_req {
    uint32_t op;
    uint32_t pad;
    union {
        struct {
            uint8_t handle_bufioreq; /* non-zero: use the buffered ring */
        } create;
        struct {
            uint16_t id;
        } server; /* GET_IOREQ_SERVER_INFO, DESTROY */
        struct {
            uint16_t id;
            uint16_t pad;
            uint32_t type; /* DMOP_IO_RANGE_* */
            uint32_t flags;
            uint32_t pad2;
            uint64_t start; /* inclusive */
            uint64_t end;   /* inclusive */
        } range;
        struct {
            uint16_t id;
            uint8_t enabled;
        } state;
        struct {
            uint16_t domain;
            uint8_t bus;
            uint8_t device;
            uint8_t intx; /* 0..3 = INTA..INTD */
            uint8_t level;
        } pci_intx;
        struct {
            uint8_t isa_irq;
            uint8_t level;
        } isa_irq;
        struct {
            uint8_t link; /* 0..3 */
            uint8_t isa_irq;
        } pci_link;
        struct {
            uint64_t addr;
            uint32_t data;
        } msi;
        struct {
            uint16_t id;
            uint16_t pad;
            uint32_t type; /* DMOP_IO_RANGE_PORT or _MEMORY */
            uint32_t flags;
            uint32_t len; /* 1, 2, 4 or 8 */
            uint64_t addr;
            uint64_t datamatch;
        } ioeventfd;
        struct {
            uint32_t gsi;
            uint32_t flags;
        } irqfd;
        struct {
            uint32_t action; /* DMOP_MSI_ROUTE_* */
            uint32_t gsi;    /* UPDATE, FREE */
            uint64_t addr;   /* ALLOC, UPDATE: 0xFEExxxxx */
            uint32_t data;
        } route;
        struct {
            uint32_t reason; /* DMOP_SHUTDOWN_* */
            uint32_t status; /* the guest's exit status */
        } shutdown;
        uint8_t raw[40];
    } u;
};

struct dmop_reply {
    uint32_t op;
    int32_t rc; /* 0 or -errno */
    union {
        struct {
            uint16_t id;
        } create;
        struct {
            uint32_t nr_vcpus;
            uint32_t shm_size; /* bytes of the ioreq memfd */
            uint32_t bufioreq; /* the buffered ring is in use */
        } info;
        struct {
            uint32_t gsi;
        } route;
        uint8_t raw[16];
    } u;
};

_Static_assert(sizeof(struct dmop_req) == 48, "dm_op request size is ABI");
_Static_assert(sizeof(struct dmop_reply) == 24, "dm_op reply size is ABI");

/* Descriptors in the reply to GET_IOREQ_SERVER_INFO, in this order. */
enum {
    DMOP_INFO_FD_SHM = 0,    /* the ioreq memfd (IOREQ_SHM_SIZE bytes) */
    DMOP_INFO_FD_NOTIFY = 1, /* stubvmm -> DM: work in a slot or the ring */
    DMOP_INFO_FD_VCPU0 = 2,  /* DM -> vCPU v's thread: at 2 + v */
};

#endif
