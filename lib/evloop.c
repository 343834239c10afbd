/* The event loop (evloop.h).
 *
 * Registrations live in a growing array of slots.  Each round builds the
 * poll set from the live slots and remembers, for every entry, the slot and
 * the slot's generation at that moment: a handler that deletes a descriptor
 * (and maybe adds another in the same slot) bumps the generation, so the
 * stale readiness is never delivered to the new owner. */
#include "lib/evloop.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ev_source {
    int fd; /* -1: free slot */
    unsigned mask;
    unsigned gen;
    ev_fd_fn fn;
    void *opaque;
};

struct ev_timer {
    ev_timer_id id; /* 0: free slot */
    uint64_t when_ns;
    ev_timer_fn fn;
    void *opaque;
};

struct evloop {
    struct ev_source *src;
    size_t nsrc, src_cap;
    struct ev_timer *timers;
    size_t ntimers, timer_cap;
    ev_timer_id next_id;
    ev_hook_fn hook;
    void *hook_opaque;
    bool stop;
    /* This round's poll set. */
    struct pollfd *pfd;
    size_t *pfd_slot;
    unsigned *pfd_gen;
    size_t pfd_cap;
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Make room for n elements of size sz in *arr (capacity *cap). */
static int grow(void **arr, size_t *cap, size_t n, size_t sz)
{
    size_t want = *cap ? *cap : 8;
    void *p;

    if (n <= *cap)
        return 0;
    while (want < n)
        want *= 2;
    p = realloc(*arr, want * sz);
    if (!p)
        return -ENOMEM;
    *arr = p;
    *cap = want;
    return 0;
}

struct evloop *evloop_new(void)
{
    struct evloop *el = calloc(1, sizeof(*el));

    if (el)
        el->next_id = 1;
    return el;
}

void evloop_free(struct evloop *el)
{
    if (!el)
        return;
    free(el->src);
    free(el->timers);
    free(el->pfd);
    free(el->pfd_slot);
    free(el->pfd_gen);
    free(el);
}

static struct ev_source *find(struct evloop *el, int fd)
{
    for (size_t i = 0; i < el->nsrc; i++)
        if (el->src[i].fd == fd)
            return &el->src[i];
    return NULL;
}

int ev_fd_add(struct evloop *el, int fd, unsigned mask, ev_fd_fn fn, void *opaque)
{
    struct ev_source *s = NULL;

    if (fd < 0 || !fn)
        return -EINVAL;
    if (find(el, fd))
        return -EEXIST;
    for (size_t i = 0; i < el->nsrc && !s; i++)
        if (el->src[i].fd < 0)
            s = &el->src[i];
    if (!s) {
        if (grow((void **)&el->src, &el->src_cap, el->nsrc + 1, sizeof(*el->src)) < 0)
            return -ENOMEM;
        s = &el->src[el->nsrc++];
        s->gen = 0;
    }
    s->fd = fd;
    s->mask = mask & (EV_READ | EV_WRITE);
    s->gen++;
    s->fn = fn;
    s->opaque = opaque;
    return 0;
}

int ev_fd_mask(struct evloop *el, int fd, unsigned mask)
{
    struct ev_source *s = fd >= 0 ? find(el, fd) : NULL;

    if (!s)
        return -ENOENT;
    s->mask = mask & (EV_READ | EV_WRITE);
    return 0;
}

void ev_fd_del(struct evloop *el, int fd)
{
    struct ev_source *s = fd >= 0 ? find(el, fd) : NULL;

    if (s) {
        s->fd = -1;
        s->gen++;
    }
}

ev_timer_id ev_timer_add(struct evloop *el, unsigned ms, ev_timer_fn fn, void *opaque)
{
    struct ev_timer *t = NULL;

    if (!fn)
        return -EINVAL;
    for (size_t i = 0; i < el->ntimers && !t; i++)
        if (el->timers[i].id == 0)
            t = &el->timers[i];
    if (!t) {
        if (grow((void **)&el->timers, &el->timer_cap, el->ntimers + 1, sizeof(*el->timers)) < 0)
            return -ENOMEM;
        t = &el->timers[el->ntimers++];
    }
    t->id = el->next_id++;
    t->when_ns = now_ns() + (uint64_t)ms * 1000000u;
    t->fn = fn;
    t->opaque = opaque;
    return t->id;
}

void ev_timer_del(struct evloop *el, ev_timer_id id)
{
    for (size_t i = 0; id > 0 && i < el->ntimers; i++)
        if (el->timers[i].id == id)
            el->timers[i].id = 0;
}

void evloop_before_wait(struct evloop *el, ev_hook_fn fn, void *opaque)
{
    el->hook = fn;
    el->hook_opaque = opaque;
}

void evloop_stop(struct evloop *el)
{
    el->stop = true;
}

/* Milliseconds until the next timer (rounded up), capped by max_wait_ms. */
static int wait_ms(struct evloop *el, int max_wait_ms)
{
    uint64_t now = now_ns();
    int best = max_wait_ms;

    for (size_t i = 0; i < el->ntimers; i++) {
        const struct ev_timer *t = &el->timers[i];
        uint64_t left, ms;
        if (t->id == 0)
            continue;
        left = t->when_ns > now ? t->when_ns - now : 0;
        ms = (left + 999999u) / 1000000u;
        if (ms > INT_MAX)
            ms = INT_MAX;
        if (best < 0 || (int)ms < best)
            best = (int)ms;
    }
    return best;
}

static int run_fds(struct evloop *el, size_t n)
{
    int ran = 0;

    for (size_t k = 0; k < n; k++) {
        short rev = el->pfd[k].revents;
        struct ev_source *s = &el->src[el->pfd_slot[k]];
        unsigned ready = 0;

        if (!rev || s->gen != el->pfd_gen[k] || s->fd < 0)
            continue;
        if (rev & POLLIN)
            ready |= EV_READ;
        if (rev & POLLOUT)
            ready |= EV_WRITE;
        if (rev & (POLLHUP | POLLERR | POLLRDHUP | POLLNVAL))
            ready |= EV_HUP;
        ready &= s->mask | EV_HUP;
        if (!ready)
            continue;
        s->fn(el, s->fd, ready, s->opaque);
        ran++;
        /* Not open: forget it rather than report it in every round. */
        s = &el->src[el->pfd_slot[k]];
        if ((rev & POLLNVAL) && s->gen == el->pfd_gen[k] && s->fd >= 0)
            ev_fd_del(el, s->fd);
    }
    return ran;
}

static int run_timers(struct evloop *el)
{
    ev_timer_id last = el->next_id - 1; /* later ones wait for the next round */
    uint64_t now = now_ns();
    int ran = 0;

    for (size_t i = 0; i < el->ntimers; i++) {
        struct ev_timer *t = &el->timers[i];
        ev_timer_id id = t->id;
        int again;
        if (id == 0 || id > last || t->when_ns > now)
            continue;
        again = t->fn(el, t->opaque);
        ran++;
        /* The handler may have added timers (the array may have moved) or
         * deleted this one. */
        t = &el->timers[i];
        if (t->id != id)
            continue;
        if (again < 0)
            t->id = 0;
        else
            t->when_ns = now_ns() + (uint64_t)again * 1000000u;
    }
    return ran;
}

int evloop_once(struct evloop *el, int max_wait_ms)
{
    size_t n = 0;
    int r;

    if (el->hook)
        el->hook(el, el->hook_opaque);
    if (el->pfd_cap < el->nsrc) {
        /* The poll set and its two side arrays, all of nsrc entries. */
        size_t cap = el->src_cap;
        struct pollfd *pfd = realloc(el->pfd, cap * sizeof(*pfd));
        if (pfd)
            el->pfd = pfd;
        size_t *slot = pfd ? realloc(el->pfd_slot, cap * sizeof(*slot)) : NULL;
        if (slot)
            el->pfd_slot = slot;
        unsigned *gen = slot ? realloc(el->pfd_gen, cap * sizeof(*gen)) : NULL;
        if (!gen)
            return -ENOMEM;
        el->pfd_gen = gen;
        el->pfd_cap = cap;
    }
    for (size_t i = 0; i < el->nsrc; i++) {
        const struct ev_source *s = &el->src[i];
        if (s->fd < 0 || !s->mask)
            continue;
        el->pfd[n] = (struct pollfd){
            .fd = s->fd,
            .events = (short)(((s->mask & EV_READ) ? POLLIN | POLLRDHUP : 0) |
                              ((s->mask & EV_WRITE) ? POLLOUT : 0)),
        };
        el->pfd_slot[n] = i;
        el->pfd_gen[n] = s->gen;
        n++;
    }
    r = poll(el->pfd, n, wait_ms(el, max_wait_ms));
    if (r < 0 && errno != EINTR)
        return -errno;
    return (r > 0 ? run_fds(el, n) : 0) + run_timers(el);
}

int evloop_run(struct evloop *el)
{
    el->stop = false;
    while (!el->stop) {
        int r = evloop_once(el, -1);
        if (r < 0)
            return r;
    }
    return 0;
}
