/* stubdm's event loop (dm/serve.c): the ioreq page and every descriptor
 * the device model listens on.  docs/ioreq.md walks through it. */
#ifndef STUBVISOR_DM_SERVE_H
#define STUBVISOR_DM_SERVE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdnoreturn.h>

#include "dm/server.h"
#include "lib/spin.h"

struct dm_loop;
struct dm_loop_source;

/* One descriptor the loop sleeps on and what to do when it is ready
 * (revents: what epoll said).  A source whose consumer is full pauses
 * itself (dm_loop_pause); resume(), if there is one, is asked after every
 * burst of requests whether it can take more (the guest may have made
 * room).  Handlers run on the loop's thread. */
typedef void (*dm_loop_ready_fn)(struct dm_loop *l, struct dm_loop_source *src, uint32_t revents);
typedef bool (*dm_loop_resume_fn)(struct dm_loop *l, struct dm_loop_source *src);

struct dm_loop_source {
    int fd;
    uint32_t events; /* EPOLLIN, EPOLLRDHUP ... */
    dm_loop_ready_fn ready;
    dm_loop_resume_fn resume;
    bool paused, removed;
};

#define DM_LOOP_MAX_SOURCES 8

struct dm_loop {
    struct ioreq_server *server;
    struct dm *dm;
    int epfd;
    struct dm_loop_source sources[DM_LOOP_MAX_SOURCES];
    unsigned nr_sources;
    /* Phase 1: spin for the next request this long after the last one. */
    struct spin_budget spin;
    uint64_t last_request;
    /* Phase 2: poll kicked queues until this long passed without work. */
    uint64_t poll_ns, last_poll;
    bool polling;
};

/* An empty loop over the server and its device model: spin budget
 * spin_us, queue polling poll_us.  0 or -errno (epoll_create1). */
int dm_loop_init(struct dm_loop *l, struct ioreq_server *s, struct dm *dm, unsigned spin_us,
                 unsigned poll_us);

/* Add a source (its fd into the epoll set); resume may be NULL.  0 or
 * -errno. */
int dm_loop_add(struct dm_loop *l, int fd, uint32_t events, dm_loop_ready_fn ready,
                dm_loop_resume_fn resume);

/* Stop listening to a source for now, or again; or for good. */
void dm_loop_pause(struct dm_loop *l, struct dm_loop_source *src, bool paused);
void dm_loop_remove(struct dm_loop *l, struct dm_loop_source *src);

/* Serve until the process ends. */
noreturn void dm_loop_run(struct dm_loop *l);

#endif
