/* A small event loop in the manner of Redis's ae.c: descriptors with a
 * handler and an opaque pointer, timers that re-arm themselves through
 * their return value, and one hook that runs before each wait.
 *
 *     struct evloop *el = evloop_new();
 *     ev_fd_add(el, listen_fd, EV_READ, on_accept, srv);   // srv: opaque
 *     ev_timer_add(el, 5, tick, srv);     // tick returns 5: every 5 ms
 *     evloop_run(el);                     // until a handler calls evloop_stop
 *     evloop_free(el);                    // closes no descriptor
 *
 * Built on poll(): the programs here watch tens of descriptors, and poll
 * keeps no kernel state that could outlive a descriptor closed without
 * ev_fd_del().  Single-threaded: every call comes from the thread that runs
 * the loop; other threads wake it through a descriptor of their own (an
 * eventfd).
 *
 * Handlers may add and delete any registration, their own included.  A
 * descriptor deleted (or deleted and added again) during a round is not
 * reported again in that round; a timer added during a round runs at the
 * earliest in the next one.  Descriptors stay the caller's: the loop never
 * closes one.
 */
#ifndef STUBVISOR_EVLOOP_H
#define STUBVISOR_EVLOOP_H

#include <stdint.h>

struct evloop;

/* Interest (ev_fd_add, ev_fd_mask) and readiness (handler's `ready`). */
enum {
    EV_READ = 1u,  /* readable: data, a connection, or end of file */
    EV_WRITE = 2u, /* writable */
    EV_HUP = 4u,   /* reported only, whatever the interest: hang-up or error */
};

/* A descriptor is ready: `ready` holds EV_READ/EV_WRITE among those asked
 * for, and EV_HUP. */
typedef void (*ev_fd_fn)(struct evloop *el, int fd, unsigned ready, void *opaque);

/* A timer is due: return the milliseconds until it runs again, or
 * EV_TIMER_DONE to end it (its id is then no longer valid). */
typedef int (*ev_timer_fn)(struct evloop *el, void *opaque);
#define EV_TIMER_DONE (-1)

/* Runs before every wait (evloop_before_wait). */
typedef void (*ev_hook_fn)(struct evloop *el, void *opaque);

/* A timer's id: > 0; 0 is never one (a handy "none"). */
typedef int64_t ev_timer_id;

/* A new, empty loop, or NULL (out of memory). */
struct evloop *evloop_new(void);

/* Free the loop and every registration (no handler runs; no descriptor is
 * closed).  NULL is fine. */
void evloop_free(struct evloop *el);

/* Watch fd for `mask` (EV_READ, EV_WRITE; 0: registered but not watched).
 * Returns 0, -EINVAL (fd < 0, no handler), -EEXIST (fd already there) or
 * -ENOMEM. */
int ev_fd_add(struct evloop *el, int fd, unsigned mask, ev_fd_fn fn, void *opaque);

/* Change what fd is watched for.  Returns 0 or -ENOENT. */
int ev_fd_mask(struct evloop *el, int fd, unsigned mask);

/* Stop watching fd (nothing if it is not there).  Call it before closing
 * the descriptor.  A descriptor poll() reports as not open is deleted by
 * the loop itself, after its handler was told EV_HUP. */
void ev_fd_del(struct evloop *el, int fd);

/* Run fn in `ms` milliseconds (0: in the next round).  Returns its id, or
 * -ENOMEM. */
ev_timer_id ev_timer_add(struct evloop *el, unsigned ms, ev_timer_fn fn, void *opaque);

/* Cancel a timer (nothing if id is 0 or already gone). */
void ev_timer_del(struct evloop *el, ev_timer_id id);

/* fn(el, opaque) before every wait, e.g. for work that must follow any
 * event.  One hook per loop; NULL removes it. */
void evloop_before_wait(struct evloop *el, ev_hook_fn fn, void *opaque);

/* Make evloop_run() return after the current round. */
void evloop_stop(struct evloop *el);

/* One round: the hook, a wait of at most max_wait_ms (-1: until something
 * happens; never past the next timer), the ready descriptors' handlers,
 * then the due timers.  Returns the number of handlers run, or -errno if
 * poll() failed (EINTR counts as a round with nothing ready). */
int evloop_once(struct evloop *el, int max_wait_ms);

/* Rounds until evloop_stop().  Returns 0, or -errno if poll() failed. */
int evloop_run(struct evloop *el);

#endif
