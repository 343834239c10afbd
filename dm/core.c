/* The device model core: trap registry, dispatch, console plumbing. */
#include "dm/dm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"

struct dm_trap {
    enum dm_trap_type type;
    uint64_t start;
    uint64_t last; /* inclusive, so a trap may end at UINT64_MAX */
    dm_trap_fn fn;
    void *opaque;
};

struct dm {
    const struct dm_host_ops *host;
    void *h;
    uint8_t *ram;
    uint64_t ram_size;
    struct dm_trap traps[DM_MAX_TRAPS];
    unsigned nr_traps;
    struct dm_console_rx consoles[DM_MAX_CONSOLES];
    int epfd; /* -1 unless dm_events_enable() */
    struct dm_watch {
        int fd;
        dm_fd_fn fn;
        void *opaque;
    } watches[DM_MAX_WATCHES];
    unsigned nr_watches;
    struct {
        dm_poll_fn fn;
        void *opaque;
    } pollers[DM_MAX_POLLERS];
    unsigned nr_pollers;
    /* Timers, multiplexed on one timerfd created by the first dm_timer_add
     * (so before the sandbox lockdown). */
    int timer_fd;
    uint64_t timer_armed; /* the deadline timer_fd is set to, 0 = none */
    struct {
        dm_timer_fn fn;
        void *opaque;
        uint64_t deadline; /* CLOCK_MONOTONIC ns, 0 = stopped */
    } timers[DM_MAX_TIMERS];
    unsigned nr_timers;
};

struct dm *dm_new(const struct dm_host_ops *host, void *host_opaque, void *guest_ram,
                  uint64_t ram_size)
{
    struct dm *dm = calloc(1, sizeof(*dm));

    if (!dm)
        return NULL;
    dm->host = host;
    dm->h = host_opaque;
    dm->ram = guest_ram;
    dm->ram_size = guest_ram ? ram_size : 0;
    dm->epfd = -1;
    dm->timer_fd = -1;
    return dm;
}

void dm_free(struct dm *dm)
{
    if (dm && dm->epfd >= 0)
        close(dm->epfd);
    if (dm && dm->timer_fd >= 0)
        close(dm->timer_fd);
    free(dm);
}

/* The host speaks in SBDFs for PCI ranges (lib/dmop.h), traps in
 * SBDF << 32 | register. */
static int host_range(struct dm *dm, enum dm_trap_type type, uint64_t start, uint64_t last,
                      uint32_t flags, bool map)
{
    if (type == DM_TRAP_PCI) {
        start >>= 32;
        last >>= 32;
    }
    if (map)
        return dm->host->map_range(dm->h, type, start, last, flags);
    return dm->host->unmap_range(dm->h, type, start, last);
}

int dm_register(struct dm *dm, enum dm_trap_type type, uint64_t addr, uint64_t len, uint32_t flags,
                dm_trap_fn fn, void *opaque)
{
    uint64_t last;
    int rc;

    if (len == 0 || addr + (len - 1) < addr || !fn)
        return -EINVAL;
    last = addr + (len - 1);
    for (unsigned i = 0; i < dm->nr_traps; i++) {
        const struct dm_trap *t = &dm->traps[i];
        if (t->type == type && addr <= t->last && t->start <= last)
            return -EEXIST;
    }
    if (dm->nr_traps == DM_MAX_TRAPS)
        return -ENOSPC;
    rc = host_range(dm, type, addr, last, flags, true);
    if (rc < 0)
        return rc;
    dm->traps[dm->nr_traps++] = (struct dm_trap){type, addr, last, fn, opaque};
    return 0;
}

int dm_unregister(struct dm *dm, enum dm_trap_type type, uint64_t addr)
{
    for (unsigned i = 0; i < dm->nr_traps; i++) {
        struct dm_trap *t = &dm->traps[i];
        if (t->type != type || t->start != addr)
            continue;
        int rc = host_range(dm, type, t->start, t->last, 0, false);
        if (rc < 0)
            return rc;
        dm->traps[i] = dm->traps[--dm->nr_traps];
        return 0;
    }
    return -ENOENT;
}

uint64_t dm_guest_ram_size(const struct dm *dm)
{
    return dm->ram_size;
}

bool dm_dispatch(struct dm *dm, enum dm_trap_type type, uint64_t addr, uint8_t *data, uint32_t size,
                 bool is_write)
{
    if (size == 1 || size == 2 || size == 4 || size == 8) {
        uint64_t last = addr + (size - 1);
        for (unsigned i = 0; last >= addr && i < dm->nr_traps; i++) {
            const struct dm_trap *t = &dm->traps[i];
            if (t->type == type && t->start <= addr && last <= t->last) {
                t->fn(dm, addr, data, size, is_write, t->opaque);
                return true;
            }
        }
    } else {
        size = 8; /* data always has room for 8 bytes */
    }
    if (!is_write)
        memset(data, 0xff, size);
    return false;
}

int dm_set_isa_irq(struct dm *dm, unsigned irq, int level)
{
    return dm->host->set_isa_irq(dm->h, irq, level);
}

int dm_inject_msi(struct dm *dm, uint64_t addr, uint32_t data)
{
    return dm->host->inject_msi(dm->h, addr, data);
}

int dm_irqfd(struct dm *dm, unsigned gsi, int fd, bool deassign)
{
    if (!dm->host->irqfd)
        return -EOPNOTSUPP;
    return dm->host->irqfd(dm->h, gsi, fd, deassign);
}

bool dm_has_msi_routes(const struct dm *dm)
{
    return dm->host->msi_route && dm->host->irqfd;
}

int dm_msi_route(struct dm *dm, unsigned action, unsigned gsi, uint64_t addr, uint32_t data)
{
    if (!dm_has_msi_routes(dm))
        return -EOPNOTSUPP;
    return dm->host->msi_route(dm->h, action, gsi, addr, data);
}

int dm_shutdown(struct dm *dm, unsigned reason, unsigned status)
{
    return dm->host->shutdown(dm->h, reason, status);
}

int dm_console_write(struct dm *dm, unsigned idx, const void *buf, size_t len)
{
    return dm->host->console_write(dm->h, idx, buf, len);
}

void *dm_guest_ptr(struct dm *dm, uint64_t gpa, uint64_t len)
{
    if (gpa > dm->ram_size || len > dm->ram_size - gpa)
        return NULL;
    return dm->ram + gpa;
}

int dm_console_attach(struct dm *dm, unsigned idx, const struct dm_console_rx *rx)
{
    if (idx >= DM_MAX_CONSOLES || !rx->room || !rx->rx)
        return -EINVAL;
    if (dm->consoles[idx].rx)
        return -EEXIST;
    dm->consoles[idx] = *rx;
    return 0;
}

bool dm_console_poll(struct dm *dm)
{
    bool full = false;

    for (unsigned idx = 0; idx < DM_MAX_CONSOLES; idx++) {
        struct dm_console_rx *c = &dm->consoles[idx];
        uint8_t buf[64];
        size_t room;
        ssize_t n;

        if (!c->rx)
            continue;
        /* Read no more than the device takes: what it cannot take yet stays
         * in the host's socket buffer, which is the flow control. */
        while ((room = c->room(c->opaque)) > 0) {
            if (room > sizeof(buf))
                room = sizeof(buf);
            n = dm->host->console_read(dm->h, idx, buf, room);
            if (n <= 0)
                break;
            c->rx(c->opaque, buf, (size_t)n);
            /* A short read drained the source: reading again could block. */
            if ((size_t)n < room)
                break;
        }
        if (room == 0)
            full = true;
    }
    return full;
}

int dm_ioeventfd(struct dm *dm, enum dm_trap_type type, uint64_t addr, uint32_t len, int fd,
                 bool deassign)
{
    if (!dm->host->ioeventfd)
        return -EOPNOTSUPP;
    return dm->host->ioeventfd(dm->h, type, addr, len, fd, deassign);
}

int dm_events_enable(struct dm *dm)
{
    if (dm->epfd < 0)
        dm->epfd = epoll_create1(EPOLL_CLOEXEC);
    return dm->epfd < 0 ? -errno : dm->epfd;
}

int dm_watch_fd(struct dm *dm, int fd, dm_fd_fn fn, void *opaque)
{
    struct epoll_event ev = {.events = EPOLLIN};

    if (dm->epfd < 0)
        return -EOPNOTSUPP;
    if (fd < 0 || !fn)
        return -EINVAL;
    if (dm->nr_watches == DM_MAX_WATCHES)
        return -ENOSPC;
    ev.data.u32 = dm->nr_watches;
    if (epoll_ctl(dm->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        return -errno;
    dm->watches[dm->nr_watches++] = (struct dm_watch){fd, fn, opaque};
    return 0;
}

int dm_watch_enable(struct dm *dm, int fd, bool enable)
{
    for (unsigned i = 0; i < dm->nr_watches; i++) {
        if (dm->watches[i].fd == fd) {
            struct epoll_event ev = {.events = enable ? EPOLLIN : 0, .data.u32 = i};
            return epoll_ctl(dm->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
        }
    }
    return -ENOENT;
}

void dm_events_run(struct dm *dm)
{
    struct epoll_event evs[DM_MAX_WATCHES];
    int n;

    if (dm->epfd < 0)
        return;
    n = epoll_wait(dm->epfd, evs, DM_MAX_WATCHES, 0);
    for (int i = 0; i < n; i++) {
        const struct dm_watch *w = &dm->watches[evs[i].data.u32];
        w->fn(dm, w->fd, w->opaque);
    }
}

int dm_poller_add(struct dm *dm, dm_poll_fn fn, void *opaque)
{
    if (!fn)
        return -EINVAL;
    if (dm->nr_pollers == DM_MAX_POLLERS)
        return -ENOSPC;
    dm->pollers[dm->nr_pollers].fn = fn;
    dm->pollers[dm->nr_pollers].opaque = opaque;
    dm->nr_pollers++;
    return 0;
}

unsigned dm_pollers_run(struct dm *dm, bool stop, bool *active)
{
    unsigned busy = 0;

    *active = false;
    for (unsigned i = 0; i < dm->nr_pollers; i++) {
        int r = dm->pollers[i].fn(dm, dm->pollers[i].opaque, stop);
        if (r > 0)
            busy++;
        if (r >= 0 && !stop)
            *active = true;
    }
    return busy;
}

uint64_t dm_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int dm_timer_add(struct dm *dm, dm_timer_fn fn, void *opaque)
{
    if (!fn)
        return -EINVAL;
    if (dm->nr_timers == DM_MAX_TIMERS)
        return -ENOSPC;
    if (dm->timer_fd < 0) {
        dm->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (dm->timer_fd < 0)
            return -errno;
    }
    dm->timers[dm->nr_timers].fn = fn;
    dm->timers[dm->nr_timers].opaque = opaque;
    dm->timers[dm->nr_timers].deadline = 0;
    return (int)dm->nr_timers++;
}

/* Point the timerfd at the earliest deadline (a syscall only when that
 * changes). */
static void timer_rearm(struct dm *dm)
{
    uint64_t first = 0;
    struct itimerspec its = {0};

    for (unsigned i = 0; i < dm->nr_timers; i++) {
        uint64_t d = dm->timers[i].deadline;
        if (d && (!first || d < first))
            first = d;
    }
    if (first == dm->timer_armed || dm->timer_fd < 0)
        return;
    its.it_value.tv_sec = (time_t)(first / 1000000000u);
    its.it_value.tv_nsec = (long)(first % 1000000000u);
    if (timerfd_settime(dm->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
        log_error("timerfd_settime: %s", strerror(errno));
        return;
    }
    dm->timer_armed = first;
}

void dm_timer_set(struct dm *dm, int id, uint64_t deadline_ns)
{
    if (id < 0 || (unsigned)id >= dm->nr_timers)
        return;
    dm->timers[id].deadline = deadline_ns;
    timer_rearm(dm);
}

uint64_t dm_timer_deadline(const struct dm *dm, int id)
{
    if (id < 0 || (unsigned)id >= dm->nr_timers)
        return 0;
    return dm->timers[id].deadline;
}

int dm_timer_fd(const struct dm *dm)
{
    return dm->timer_fd;
}

void dm_timer_run(struct dm *dm, uint64_t now_ns)
{
    for (unsigned i = 0; i < dm->nr_timers; i++) {
        if (dm->timers[i].deadline && dm->timers[i].deadline <= now_ns) {
            /* One-shot: the callback sets the next deadline if it wants. */
            dm->timers[i].deadline = 0;
            dm->timers[i].fn(dm, dm->timers[i].opaque);
        }
    }
    timer_rearm(dm);
}

void dm_timer_poll(struct dm *dm)
{
    uint64_t expirations;

    if (dm->timer_armed == 0 || dm_now_ns() < dm->timer_armed)
        return;
    if (read(dm->timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
        log_debug("timerfd: %s", strerror(errno));
    dm->timer_armed = 0; /* it fired: set it again */
    dm_timer_run(dm, dm_now_ns());
}
