/* The device model core: one trap registry, one host-ops table.
 *
 * Device code is written once and runs in every placement.  A device
 * registers its traps with dm_register() (kvmtool style) and reaches the
 * outside world only through the dm_host_ops table the placement provides:
 *   - dm/host_dmop.c: dm_op messages to stubvmm (process and stubdom);
 *   - vmm/inline.c:   direct calls inside stubvmm (inline), on the vCPU
 *                     thread, serialised by one lock.
 * The core itself is single-threaded: callers serialise dm_dispatch(),
 * dm_console_poll() and everything else on one struct dm.
 */
#ifndef STUBVISOR_DM_H
#define STUBVISOR_DM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/ioreq.h"

struct dm;

/* Trap types: the ioreq types of lib/ioreq.h. */
enum dm_trap_type {
    DM_TRAP_PIO = IOREQ_TYPE_PIO,
    DM_TRAP_MMIO = IOREQ_TYPE_COPY,
    DM_TRAP_PCI = IOREQ_TYPE_PCI_CONFIG, /* addr = SBDF << 32 | register */
};

/* Every handler: addr is the absolute address of the access, data holds
 * `size` bytes (1, 2, 4 or 8) in little-endian order: filled by the handler
 * on reads, given on writes.  A handler never fails: what it cannot do it
 * ignores (writes) or answers with all-ones (reads). */
typedef void (*dm_trap_fn)(struct dm *dm, uint64_t addr, uint8_t *data, uint32_t size,
                           bool is_write, void *opaque);

#define DM_TRAP_POSTED 0x1u /* writes need no reply (the buffered ring) */

/* What the outside world does for the device model.  `h` is host_opaque.
 * Every function returns 0 or a negative errno. */
struct dm_host_ops {
    int (*map_range)(void *h, int type, uint64_t start, uint64_t end, uint32_t flags);
    int (*unmap_range)(void *h, int type, uint64_t start, uint64_t end);
    int (*set_isa_irq)(void *h, unsigned irq, int level);
    int (*inject_msi)(void *h, uint64_t addr, uint32_t data);
    /* Assign (deassign = false) or remove an ioeventfd / irqfd.  The core
     * keeps ownership of fd. */
    int (*ioeventfd)(void *h, int type, uint64_t addr, uint32_t len, int fd, bool deassign);
    int (*irqfd)(void *h, unsigned gsi, int fd, bool deassign);
    /* The guest asked to stop: reason DMOP_SHUTDOWN_*, status 0..255. */
    int (*shutdown)(void *h, unsigned reason, unsigned status);
    /* Console `idx` (3 = COM1): write all of buf; read what is there
     * without blocking (0 when nothing, -EAGAIN is reported as 0). */
    int (*console_write)(void *h, unsigned idx, const void *buf, size_t len);
    ssize_t (*console_read)(void *h, unsigned idx, void *buf, size_t len);
    /* MSI routes for irqfds (DMOP_MSI_ROUTE_*): returns the route's GSI or
     * a negative errno.  NULL where MSIs are cheap to inject (inline). */
    int (*msi_route)(void *h, unsigned action, unsigned gsi, uint64_t addr, uint32_t data);
};

/* Create a device model core bound to a host.  guest_ram/ram_size describe
 * guest-physical memory from 0 (may be NULL/0: no device touches RAM yet).
 * Returns NULL on allocation failure.  The caller owns the result and frees
 * it with dm_free(); host and RAM must outlive it. */
struct dm *dm_new(const struct dm_host_ops *host, void *host_opaque, void *guest_ram,
                  uint64_t ram_size);
void dm_free(struct dm *dm);

/* Register a trap over [addr, addr + len) and ask the host to route it here.
 * Returns 0, -EINVAL (empty or wrapping), -EEXIST (overlaps another trap),
 * -ENOSPC (registry full), or the host's error (nothing registered). */
int dm_register(struct dm *dm, enum dm_trap_type type, uint64_t addr, uint64_t len, uint32_t flags,
                dm_trap_fn fn, void *opaque);

/* Remove the trap that starts at addr and ask the host to stop routing it.
 * Returns 0, -ENOENT, or the host's error (nothing removed). */
int dm_unregister(struct dm *dm, enum dm_trap_type type, uint64_t addr);

/* Bytes of guest RAM from guest-physical 0 (0 if the core has none). */
uint64_t dm_guest_ram_size(const struct dm *dm);

/* Find the trap covering [addr, addr + size) and call it.  Accesses no trap
 * fully covers read as all-ones and drop writes.  size must be 1, 2, 4 or 8
 * (anything else is treated as unclaimed).  Returns true if claimed. */
bool dm_dispatch(struct dm *dm, enum dm_trap_type type, uint64_t addr, uint8_t *data, uint32_t size,
                 bool is_write);

/* Host services for devices, forwarding to the ops table. */
int dm_set_isa_irq(struct dm *dm, unsigned irq, int level);
int dm_inject_msi(struct dm *dm, uint64_t addr, uint32_t data);
int dm_ioeventfd(struct dm *dm, enum dm_trap_type type, uint64_t addr, uint32_t len, int fd,
                 bool deassign);
int dm_irqfd(struct dm *dm, unsigned gsi, int fd, bool deassign);
/* -EOPNOTSUPP when the host has no MSI routes (use dm_inject_msi). */
int dm_msi_route(struct dm *dm, unsigned action, unsigned gsi, uint64_t addr, uint32_t data);
bool dm_has_msi_routes(const struct dm *dm);
int dm_shutdown(struct dm *dm, unsigned reason, unsigned status);
int dm_console_write(struct dm *dm, unsigned idx, const void *buf, size_t len);

/* A guest-physical range as a host pointer, or NULL if any byte of
 * [gpa, gpa + len) lies outside guest RAM (overflow-safe).  The only way
 * device code may turn a guest address into a pointer. */
void *dm_guest_ptr(struct dm *dm, uint64_t gpa, uint64_t len);

/* Console input.  A device that consumes console `idx` attaches a receiver:
 * room() says how many bytes it can take now, rx() takes them. */
struct dm_console_rx {
    size_t (*room)(void *opaque);
    void (*rx)(void *opaque, const uint8_t *buf, size_t len);
    void *opaque;
};
int dm_console_attach(struct dm *dm, unsigned idx, const struct dm_console_rx *rx);

/* Move what console input is waiting into the devices, reading it with
 * host->console_read only as far as they have room.  Returns true if some
 * device is full (its input waits in the host; call again after the guest
 * ran), false otherwise. */
bool dm_console_poll(struct dm *dm);

/* Descriptors a device wants to hear from (ioeventfds, NIC back ends):
 * the core calls fn when fd is readable.  A placement that runs an event
 * loop for the device model calls dm_events_enable() before the devices
 * are set up, waits on the descriptor it returns and then calls
 * dm_events_run() (with the device lock held, inline).  Without it
 * dm_watch_fd() fails with -EOPNOTSUPP and devices take their
 * notifications through traps. */
typedef void (*dm_fd_fn)(struct dm *dm, int fd, void *opaque);
int dm_events_enable(struct dm *dm); /* an epoll descriptor the core owns, or -errno */
int dm_watch_fd(struct dm *dm, int fd, dm_fd_fn fn, void *opaque);
/* Stop (false) or resume (true) calling fn for a watched fd, e.g. while a
 * device has nowhere to put what it would read.  0 or a negative errno. */
int dm_watch_enable(struct dm *dm, int fd, bool enable);
void dm_events_run(struct dm *dm); /* without blocking */

#define DM_MAX_WATCHES 32

/* Busy polling (placements with an event loop of their own): a device that
 * was kicked through an ioeventfd may turn the guest's kicks off and ask to
 * be polled for more work instead, as vhost does, so that a busy queue
 * costs the guest no exits and the device model no wake-ups.  poll(stop =
 * false) serves what is there and returns >0 if it found work, 0 if it is
 * polling but found none, <0 if it is not polling; poll(stop = true) turns
 * kicks back on (and serves what raced in).  The event loop decides how
 * long to poll (dm/main.c). */
typedef int (*dm_poll_fn)(struct dm *dm, void *opaque, bool stop);
int dm_poller_add(struct dm *dm, dm_poll_fn fn, void *opaque);
/* Run every poller: returns how many found work; *active tells whether any
 * is still polling (false after stop). */
unsigned dm_pollers_run(struct dm *dm, bool stop, bool *active);

#define DM_MAX_POLLERS 16

/* Timers: a device asks to be called back at a CLOCK_MONOTONIC time.
 * The core multiplexes them on one timerfd, created by the first
 * dm_timer_add() (call it at set-up, before any sandbox lockdown); the
 * placement watches dm_timer_fd() and calls dm_timer_poll() when it is
 * readable (and may call it any time: it is cheap when nothing is due).
 * Callbacks run on the caller's thread, serialised like everything else.
 * Timers are one-shot: a callback re-arms with dm_timer_set(). */
typedef void (*dm_timer_fn)(struct dm *dm, void *opaque);

/* Add a timer (stopped).  Returns its id, -ENOSPC, or -errno of
 * timerfd_create. */
int dm_timer_add(struct dm *dm, dm_timer_fn fn, void *opaque);
/* Fire at deadline_ns (CLOCK_MONOTONIC); 0 stops it. */
void dm_timer_set(struct dm *dm, int id, uint64_t deadline_ns);
uint64_t dm_timer_deadline(const struct dm *dm, int id);
/* The timerfd (-1 until a timer exists). */
int dm_timer_fd(const struct dm *dm);
/* Run what is due now / at now_ns (tests). */
void dm_timer_poll(struct dm *dm);
void dm_timer_run(struct dm *dm, uint64_t now_ns);
uint64_t dm_now_ns(void);

#define DM_MAX_TRAPS    32
#define DM_MAX_TIMERS   4
#define DM_MAX_CONSOLES 8

#endif
