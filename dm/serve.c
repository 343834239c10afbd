/* stubdm's event loop, in three phases (docs/ioreq.md):
 *
 *   1. spin:  serve the ioreq page (requests and posted writes) and look
 *             again for as long as the adaptive spin budget says the next
 *             request tends to come (spin.h): a busy guest then costs no
 *             wake-ups;
 *   2. poll:  while a kicked virtqueue is being polled (dm_pollers_run:
 *             its kicks are off in guest memory, as vhost does), look at
 *             it until poll_ns passed without work, then turn kicks back
 *             on;
 *   3. sleep: with dm_sleeping set (so stubvmm signals the notify
 *             eventfd), wait in epoll for any source and call its handler
 *             from the table of sources.
 *
 * Requests always come first.  Every 64 turns of phases 1 and 2 the loop
 * also runs what a busy guest must not starve: due timers, the devices'
 * watched descriptors (queue kicks, NIC back ends), paused sources that
 * may resume, queues kicked meanwhile.
 */
#include "dm/serve.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "dm/store_dm.h"
#include "lib/log.h"

#define HOUSEKEEPING_EVERY 64 /* turns; a power of two */

int dm_loop_init(struct dm_loop *l, struct ioreq_server *s, struct dm *dm, unsigned spin_us,
                 unsigned poll_us)
{
    memset(l, 0, sizeof(*l));
    l->server = s;
    l->dm = dm;
    l->poll_ns = (uint64_t)poll_us * 1000;
    l->last_request = spin_now_ns();
    spin_budget_init(&l->spin, (uint64_t)spin_us * 1000);
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    return l->epfd < 0 ? -errno : 0;
}

static int epoll_set(struct dm_loop *l, int op, struct dm_loop_source *src, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = src};

    return epoll_ctl(l->epfd, op, src->fd, &ev) < 0 ? -errno : 0;
}

int dm_loop_add(struct dm_loop *l, int fd, uint32_t events, dm_loop_ready_fn ready,
                dm_loop_resume_fn resume)
{
    struct dm_loop_source *src;

    if (l->nr_sources == DM_LOOP_MAX_SOURCES)
        return -ENOSPC;
    src = &l->sources[l->nr_sources];
    *src = (struct dm_loop_source){.fd = fd, .events = events, .ready = ready, .resume = resume};
    int rc = epoll_set(l, EPOLL_CTL_ADD, src, events);
    if (rc == 0)
        l->nr_sources++;
    return rc;
}

void dm_loop_pause(struct dm_loop *l, struct dm_loop_source *src, bool paused)
{
    if (src->removed || src->paused == paused)
        return;
    src->paused = paused;
    epoll_set(l, EPOLL_CTL_MOD, src, paused ? 0 : src->events);
}

void dm_loop_remove(struct dm_loop *l, struct dm_loop_source *src)
{
    if (src->removed)
        return;
    src->removed = true;
    epoll_set(l, EPOLL_CTL_DEL, src, 0);
}

/* Paused sources whose consumer has room again listen again. */
static void resume_sources(struct dm_loop *l)
{
    for (unsigned i = 0; i < l->nr_sources; i++) {
        struct dm_loop_source *src = &l->sources[i];
        if (src->paused && !src->removed && src->resume && src->resume(l, src))
            dm_loop_pause(l, src, false);
    }
}

/* Phase 1's work: one pass over the ioreq page.  True if it served any. */
static bool serve_requests(struct dm_loop *l)
{
    int n = ioreq_server_poll(l->server, l->dm);

    if (n < 0)
        die(EXIT_SYSTEM, "stubvmm broke the ioreq protocol; stopping");
    if (n == 0)
        return false;
    uint64_t now = spin_now_ns();
    resume_sources(l);
    spin_budget_update(&l->spin, now - l->last_request);
    l->last_request = now;
    return true;
}

/* Queues kicked since the last look get polled (poll_ns 0: no polling,
 * kicks stay on). */
static void start_polling(struct dm_loop *l)
{
    if (l->polling)
        return;
    dm_pollers_run(l->dm, l->poll_ns == 0, &l->polling);
    l->last_poll = spin_now_ns();
}

/* Phase 2: true while the polled queues are still within their window
 * (the loop goes round again without sleeping). */
static bool poll_queues(struct dm_loop *l, unsigned turn)
{
    uint64_t now = spin_now_ns();

    if (dm_pollers_run(l->dm, false, &l->polling) > 0) {
        l->last_poll = now;
        return true;
    }
    if (now - l->last_poll < l->poll_ns) {
        if ((turn & (HOUSEKEEPING_EVERY - 1)) == 0) {
            dm_timer_poll(l->dm);
            dm_events_run(l->dm); /* back ends, other queues' kicks */
        }
        __builtin_ia32_pause();
        return true;
    }
    dm_pollers_run(l->dm, true, &l->polling); /* idle: kicks back on */
    return false;
}

/* What a busy guest must not starve. */
static void housekeeping(struct dm_loop *l)
{
    dm_timer_poll(l->dm);
    dm_events_run(l->dm); /* queue kicks (ioeventfds) while we spin */
    resume_sources(l);
    start_polling(l);
}

/* Phase 3: tell stubvmm we sleep, look once more (a request published
 * before it saw the flag), wait, and hand each ready source to its
 * handler. */
static void sleep_until_ready(struct dm_loop *l)
{
    struct ioreq_page *page = l->server->page;

    atomic_store_explicit(&page->dm_sleeping, 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
    if (!ioreq_server_pending(l->server)) {
        struct epoll_event evs[DM_LOOP_MAX_SOURCES];
        int n = epoll_wait(l->epfd, evs, DM_LOOP_MAX_SOURCES, -1);
        if (n < 0 && errno != EINTR)
            die(EXIT_SYSTEM, "epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++) {
            struct dm_loop_source *src = evs[i].data.ptr;
            if (!src->removed)
                src->ready(l, src, evs[i].events);
        }
    }
    atomic_store_explicit(&page->dm_sleeping, 0, memory_order_relaxed);
    resume_sources(l);
    start_polling(l); /* kicks came: poll those queues */
}

noreturn void dm_loop_run(struct dm_loop *l)
{
    for (unsigned turn = 0;; turn++) {
        if (store_dm_quiesced()) { /* between save and continue: I/O is held */
            if (l->polling)
                dm_pollers_run(l->dm, true, &l->polling);
            store_dm_hold();
            continue;
        }
        if (serve_requests(l))
            continue;
        if (l->polling && poll_queues(l, turn))
            continue;
        bool housekeeping_turn = (turn & (HOUSEKEEPING_EVERY - 1)) == 0;
        if (housekeeping_turn)
            housekeeping(l);
        /* Spin while within the budget; never sleep while a queue's kicks
         * are off; sleep only right after housekeeping. */
        if (l->polling || !housekeeping_turn || spin_now_ns() - l->last_request < l->spin.cur_ns) {
            __builtin_ia32_pause();
            continue;
        }
        sleep_until_ready(l);
    }
}
