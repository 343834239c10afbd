/* Unit tests for lib/evloop: descriptors, interest changes, hang-ups,
 * registrations changed from inside handlers, timers and the hook. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/evloop.h"

struct seen {
    int calls;
    unsigned ready;
    int fd;
};

static void record(struct evloop *el, int fd, unsigned ready, void *opaque)
{
    struct seen *s = opaque;

    (void)el;
    s->calls++;
    s->ready |= ready;
    s->fd = fd;
}

static void drain(int fd)
{
    char buf[64];
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
}

/* A readable pipe is reported with EV_READ; a mask of 0 keeps it quiet; a
 * closed writer is a hang-up; bad registrations are refused. */
static void test_fd_ready_mask_hup(void **state)
{
    struct evloop *el = evloop_new();
    struct seen s = {0};
    int p[2];

    (void)state;
    assert_non_null(el);
    assert_int_equal(pipe2(p, O_NONBLOCK), 0);
    assert_int_equal(ev_fd_add(el, p[0], EV_READ, record, &s), 0);
    assert_int_equal(ev_fd_add(el, p[0], EV_READ, record, &s), -EEXIST);
    assert_int_equal(ev_fd_add(el, -1, EV_READ, record, &s), -EINVAL);
    assert_int_equal(ev_fd_add(el, p[1], EV_WRITE, NULL, &s), -EINVAL);
    assert_int_equal(ev_fd_mask(el, 999, EV_READ), -ENOENT);

    assert_int_equal(evloop_once(el, 0), 0); /* nothing yet */
    assert_int_equal(write(p[1], "x", 1), 1);
    assert_int_equal(evloop_once(el, 1000), 1);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.fd, p[0]);
    assert_true(s.ready & EV_READ);

    assert_int_equal(ev_fd_mask(el, p[0], 0), 0);
    assert_int_equal(evloop_once(el, 0), 0); /* still readable, not watched */
    assert_int_equal(ev_fd_mask(el, p[0], EV_READ), 0);
    drain(p[0]);
    close(p[1]);
    s = (struct seen){0};
    assert_int_equal(evloop_once(el, 1000), 1);
    assert_true(s.ready & EV_HUP);

    ev_fd_del(el, p[0]);
    ev_fd_del(el, p[0]); /* twice is harmless */
    assert_int_equal(evloop_once(el, 0), 0);
    close(p[0]);
    evloop_free(el);
}

/* Handlers that delete the other ready descriptor, or delete it and add a
 * new one that takes its slot: the stale readiness reaches nobody. */
struct pair {
    struct seen a, b, c;
    int fd_b, fd_c;
    bool replace;
};

static void other(struct evloop *el, int fd, unsigned ready, void *opaque);

static void first(struct evloop *el, int fd, unsigned ready, void *opaque)
{
    struct pair *p = opaque;

    record(el, fd, ready, &p->a);
    ev_fd_del(el, p->fd_b);
    if (p->replace)
        assert_int_equal(ev_fd_add(el, p->fd_c, EV_READ, other, opaque), 0);
}

static void other(struct evloop *el, int fd, unsigned ready, void *opaque)
{
    struct pair *p = opaque;

    record(el, fd, ready, fd == p->fd_b ? &p->b : &p->c);
}

static void test_changes_inside_handlers(void **state)
{
    for (int replace = 0; replace < 2; replace++) {
        struct evloop *el = evloop_new();
        struct pair pr = {.replace = replace};
        int a[2], b[2], c[2];

        (void)state;
        assert_int_equal(pipe2(a, O_NONBLOCK), 0);
        assert_int_equal(pipe2(b, O_NONBLOCK), 0);
        assert_int_equal(pipe2(c, O_NONBLOCK), 0);
        pr.fd_b = b[0];
        pr.fd_c = c[0];
        assert_int_equal(ev_fd_add(el, a[0], EV_READ, first, &pr), 0);
        assert_int_equal(ev_fd_add(el, b[0], EV_READ, other, &pr), 0);
        assert_int_equal(write(a[1], "x", 1), 1);
        assert_int_equal(write(b[1], "x", 1), 1);
        assert_int_equal(write(c[1], "x", 1), 1);
        assert_int_equal(evloop_once(el, 1000), 1);
        assert_int_equal(pr.a.calls, 1);
        assert_int_equal(pr.b.calls, 0);
        assert_int_equal(pr.c.calls, 0);
        if (replace) { /* the newcomer is reported from the next round */
            drain(a[0]);
            assert_int_equal(evloop_once(el, 1000), 1);
            assert_int_equal(pr.c.calls, 1);
        }
        for (int i = 0; i < 2; i++) {
            close(a[i]);
            close(b[i]);
            close(c[i]);
        }
        evloop_free(el);
    }
}

/* A descriptor closed while registered: told EV_HUP once, then forgotten. */
static void test_closed_descriptor_forgotten(void **state)
{
    struct evloop *el = evloop_new();
    struct seen s = {0};
    int p[2];

    (void)state;
    assert_int_equal(pipe(p), 0);
    assert_int_equal(ev_fd_add(el, p[0], EV_READ, record, &s), 0);
    close(p[0]);
    assert_int_equal(evloop_once(el, 1000), 1);
    assert_true(s.ready & EV_HUP);
    assert_int_equal(evloop_once(el, 0), 0);
    assert_int_equal(s.calls, 1);
    close(p[1]);
    evloop_free(el);
}

struct ticks {
    int count, limit;
    struct evloop *el;
    ev_timer_id victim;
    int victim_runs;
};

static int tick(struct evloop *el, void *opaque)
{
    struct ticks *t = opaque;

    if (++t->count == t->limit) {
        evloop_stop(el);
        return EV_TIMER_DONE;
    }
    return 1;
}

static int victim(struct evloop *el, void *opaque)
{
    struct ticks *t = opaque;

    (void)el;
    t->victim_runs++;
    return 1;
}

static int killer(struct evloop *el, void *opaque)
{
    struct ticks *t = opaque;

    ev_timer_del(el, t->victim);
    return EV_TIMER_DONE;
}

/* Timers re-arm by their return value, end with EV_TIMER_DONE, can be
 * cancelled (also by another timer), and bound the wait. */
static void test_timers(void **state)
{
    struct evloop *el = evloop_new();
    struct ticks t = {.limit = 5};
    struct timespec a, b;

    (void)state;
    assert_true(ev_timer_add(el, 1, tick, &t) > 0);
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(evloop_run(el), 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    assert_int_equal(t.count, 5);
    /* Four re-arms of 1 ms: at least 4 ms passed (no upper bound asserted). */
    assert_true((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) >= 4000000L);
    assert_int_equal(evloop_once(el, 0), 0); /* the ended timer is gone */

    t.victim = ev_timer_add(el, 0, victim, &t);
    assert_true(t.victim > 0);
    ev_timer_del(el, t.victim);
    ev_timer_del(el, 0);
    assert_int_equal(evloop_once(el, 0), 0);
    assert_int_equal(t.victim_runs, 0);

    /* killer runs first (added first, both due): victim never runs. */
    assert_true(ev_timer_add(el, 0, killer, &t) > 0);
    t.victim = ev_timer_add(el, 0, victim, &t);
    nanosleep(&(struct timespec){.tv_nsec = 2000000}, NULL);
    assert_int_equal(evloop_once(el, 0), 1);
    assert_int_equal(t.victim_runs, 0);
    evloop_free(el);
}

static void count_hook(struct evloop *el, void *opaque)
{
    (void)el;
    (*(int *)opaque)++;
}

static void test_hook(void **state)
{
    struct evloop *el = evloop_new();
    int n = 0;

    (void)state;
    evloop_before_wait(el, count_hook, &n);
    evloop_once(el, 0);
    evloop_once(el, 0);
    assert_int_equal(n, 2);
    evloop_before_wait(el, NULL, NULL);
    evloop_once(el, 0);
    assert_int_equal(n, 2);
    evloop_free(el);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fd_ready_mask_hup),
        cmocka_unit_test(test_changes_inside_handlers),
        cmocka_unit_test(test_closed_descriptor_forgotten),
        cmocka_unit_test(test_timers),
        cmocka_unit_test(test_hook),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
