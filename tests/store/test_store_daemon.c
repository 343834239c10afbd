/* stubstored as a process: what it does at its descriptor limit, and what
 * survives when it is killed and started again. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/fdio.h"
#include "lib/xs_client.h"
#include "lib/xs_wire.h"
#include "tests/store/daemon.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static void expect_read(struct xsc *h, uint32_t tx, const char *path, const char *want)
{
    char *v = NULL;
    size_t len;
    int rc = xsc_read(h, tx, path, &v, &len);
    if (rc)
        fail_msg("read %s: %s", path, strerror(-rc));
    assert_int_equal(len, strlen(want));
    assert_string_equal(v, want);
    free(v);
}

/* A connection that does not wait for the store to accept it. */
static int connect_nonblocking(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    assert_true(strlen(path) < sizeof(a.sun_path));
    memcpy(a.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 && errno != EAGAIN) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Lines of the daemon's log that contain `what`. */
static unsigned log_lines(struct test_store *ts, const char *what)
{
    FILE *f = fopen(ts->log, "r");
    char line[512];
    unsigned n = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (strstr(line, what))
            n++;
    fclose(f);
    return n;
}

/* At its descriptor limit the store stops accepting for a moment instead
 * of spinning: an existing client is still served, CPU stays low, the
 * condition is logged once, and accepting resumes once descriptors free. */
static void test_descriptor_limit(void **state)
{
    (void)state;
    enum { FLOOD = 120, WATCH_S = 2 };
    struct test_store ts = {.nofile_soft = 40, .nofile_hard = 40, .log_file = true};
    int flood[FLOOD];

    assert_int_equal(test_store_start(&ts, NULL), 0);
    struct xsc *h = xsc_open(ts.socket);
    assert_non_null(h);
    assert_int_equal(xsc_write_str(h, 0, "/alive", "yes"), 0);
    for (unsigned i = 0; i < FLOOD; i++)
        flood[i] = connect_nonblocking(ts.socket);
    double cpu0 = test_store_cpu(&ts), t0 = now();
    unsigned served = 0;
    while (now() - t0 < WATCH_S) {
        expect_read(h, 0, "/alive", "yes");
        served++;
        sleep_ms(50);
    }
    double cpu = test_store_cpu(&ts) - cpu0, wall = now() - t0;
    assert_true(served >= 5);
    assert_true(test_store_alive(&ts));
    /* Spinning shows as a core's worth of CPU and a warning per accept();
     * waiting shows as neither. */
    unsigned warnings = log_lines(&ts, "descriptors");
    if (warnings < 1 || warnings > 3 || cpu > 0.25 * wall)
        fail_msg("at the limit: %u warnings, %.2f s CPU in %.2f s", warnings, cpu, wall);
    assert_int_equal(log_lines(&ts, "accept:"), 0);
    /* Descriptors free again: new clients are accepted (within seconds). */
    for (unsigned i = 0; i < FLOOD; i++)
        close_quietly(flood[i]);
    struct xsc *late = NULL;
    for (int i = 0; i < 100 && !late; i++) {
        late = xsc_open(ts.socket);
        if (!late)
            sleep_ms(50);
    }
    assert_non_null(late);
    expect_read(late, 0, "/alive", "yes");
    xsc_close(late);
    xsc_close(h);
    assert_int_equal(test_store_stop(&ts), 0);
}

/* The soft limit is raised to the hard one at start: with a soft limit of
 * 32 and a hard one of 256, 150 clients are all served. */
static void test_descriptor_soft_limit_raised(void **state)
{
    (void)state;
    enum { CLIENTS = 150 };
    struct test_store ts = {.nofile_soft = 32, .nofile_hard = 256};
    struct xsc *c[CLIENTS];

    assert_int_equal(test_store_start(&ts, NULL), 0);
    /* A store that cannot accept or answer is a failure, not a hang. */
    struct timeval tv = {.tv_sec = 10};
    for (unsigned i = 0; i < CLIENTS; i++) {
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        memcpy(a.sun_path, ts.socket, strlen(ts.socket) + 1);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
        assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
        assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
        c[i] = xsc_adopt(fd);
        assert_non_null(c[i]);
    }
    assert_int_equal(xsc_write_str(c[0], 0, "/many", "m"), 0);
    for (unsigned i = 0; i < CLIENTS; i++)
        expect_read(c[i], 0, "/many", "m");
    for (unsigned i = 0; i < CLIENTS; i++)
        xsc_close(c[i]);
    assert_int_equal(test_store_stop(&ts), 0);
}

/* ---- durability ---------------------------------------------------------- */

/* Introduce domid with a fresh socket pair; returns the domain's handle. */
static struct xsc *introduce(struct xsc *dom0, uint32_t domid)
{
    struct xsc *h = test_store_introduce(dom0, domid);
    assert_non_null(h);
    return h;
}

static void expect_event(struct xsc *h, const char *path, const char *token)
{
    struct xsc_event *ev = NULL;
    int rc = xsc_read_watch(h, 10000, &ev);
    if (rc)
        fail_msg("waiting for %s %s: %s", path, token, strerror(-rc));
    assert_string_equal(ev->path, path);
    assert_string_equal(ev->token, token);
    free(ev);
}

static void expect_perms(struct xsc *h, const char *path, const char *want)
{
    struct xsc_perm *p = NULL;
    unsigned n;
    char got[128] = "";
    assert_int_equal(xsc_get_perms(h, 0, path, &p, &n), 0);
    for (unsigned i = 0; i < n; i++)
        snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%c%u", i ? "," : "", p[i].perm,
                 p[i].domid);
    free(p);
    assert_string_equal(got, want);
}

static void setup_state(struct xsc *dom0)
{
    struct xsc_perm home5 = {5, 'n'}, acl[] = {{0, 'n'}, {5, 'r'}};
    assert_int_equal(xsc_write_str(dom0, 0, "/vm/a/name", "guest-a"), 0);
    assert_int_equal(xsc_write(dom0, 0, "/vm/a/bin", "x\0y", 3), 0);
    assert_int_equal(xsc_write_str(dom0, 0, "/vm/a/gone", "soon"), 0);
    assert_int_equal(xsc_rm(dom0, 0, "/vm/a/gone"), 0);
    assert_int_equal(xsc_mkdir(dom0, 0, "/local/domain/5"), 0);
    assert_int_equal(xsc_set_perms(dom0, 0, "/local/domain/5", &home5, 1), 0);
    assert_int_equal(xsc_write_str(dom0, 0, "/vm/a/shared", "s"), 0);
    assert_int_equal(xsc_set_perms(dom0, 0, "/vm/a/shared", acl, 2), 0);
    uint32_t t;
    assert_int_equal(xsc_transaction_start(dom0, &t), 0);
    assert_int_equal(xsc_write_str(dom0, t, "/tool/stubvisor/next-domid", "7"), 0);
    assert_int_equal(xsc_write_str(dom0, t, "/tool/stubvisor/domid/5", ""), 0);
    assert_int_equal(xsc_transaction_end(dom0, t, true), 0);
}

static void check_state(struct xsc *dom0)
{
    char *v = NULL;
    size_t len;
    expect_read(dom0, 0, "/vm/a/name", "guest-a");
    assert_int_equal(xsc_read(dom0, 0, "/vm/a/bin", &v, &len), 0);
    assert_int_equal(len, 3);
    assert_memory_equal(v, "x\0y", 3);
    free(v);
    assert_int_equal(xsc_read(dom0, 0, "/vm/a/gone", &v, NULL), -ENOENT);
    expect_perms(dom0, "/local/domain/5", "n5");
    expect_perms(dom0, "/vm/a/shared", "n0,r5");
    expect_read(dom0, 0, "/tool/stubvisor/next-domid", "7");
    expect_read(dom0, 0, "/tool/stubvisor/domid/5", "");
    assert_int_equal(xsc_request(dom0, XS_CONTROL, 0, "check", 6, -1, NULL, NULL), 0);
}

/* Nodes, permissions, domains, targets, quota accounting and a domain's
 * watches survive a kill -9 (and, the second time, a clean stop); a domain
 * is attached again with a fresh socket. */
static void test_restart_keeps_state(void **state)
{
    (void)state;
    static const char *const args[] = {"--quota-nodes", "10", NULL};
    struct test_store ts = {0};
    bool yes;
    char *v = NULL;

    assert_int_equal(test_store_start(&ts, args), 0);
    struct xsc *dom0 = xsc_open(ts.socket);
    assert_non_null(dom0);
    setup_state(dom0);
    struct xsc *d5 = introduce(dom0, 5), *d6 = introduce(dom0, 6);
    assert_int_equal(xsc_set_target(dom0, 6, 5), 0);
    /* Domain 5 owns its home and 4 more: 5 of its quota of 10. */
    for (int i = 0; i < 4; i++) {
        char path[16];
        snprintf(path, sizeof(path), "n%d", i);
        assert_int_equal(xsc_write_str(d5, 0, path, "x"), 0);
    }
    assert_int_equal(xsc_watch(d5, "n0", "mine"), 0);
    expect_event(d5, "n0", "mine");
    assert_int_equal(xsc_watch(d5, "/vm/a/shared", "abs"), 0);
    expect_event(d5, "/vm/a/shared", "abs");

    for (int round = 0; round < 2; round++) {
        /* The store goes away under its clients (a client hanging up
         * first would end its domain's watches). */
        if (round == 0)
            test_store_kill(&ts);
        else
            assert_int_equal(test_store_term(&ts), 0);
        xsc_close(d5);
        xsc_close(d6);
        xsc_close(dom0);
        assert_int_equal(test_store_restart(&ts, args), 0);
        dom0 = xsc_open(ts.socket);
        assert_non_null(dom0);
        check_state(dom0);
        /* Known, but without a connection until introduced again. */
        assert_int_equal(xsc_is_domain_introduced(dom0, 5, &yes), 0);
        assert_false(yes);
        assert_int_equal(xsc_request(dom0, XS_RESUME, 0, "5", 2, -1, NULL, NULL), 0);
        d5 = introduce(dom0, 5);
        d6 = introduce(dom0, 6);
        assert_int_equal(xsc_is_domain_introduced(dom0, 5, &yes), 0);
        assert_true(yes);
        /* Its watches are back, each fired once. */
        expect_event(d5, "n0", "mine");
        expect_event(d5, "/vm/a/shared", "abs");
        assert_int_equal(xsc_write_str(dom0, 0, "/local/domain/5/n0", "changed"), 0);
        expect_event(d5, "n0", "mine");
        assert_int_equal(xsc_watch(d5, "n0", "mine"), -EEXIST);
        /* Its nodes and their accounting. */
        expect_read(d5, 0, "n1", "x");
        /* The target: domain 6 still acts for domain 5. */
        expect_read(d6, 0, "/local/domain/5/n1", "x");
        assert_int_equal(xsc_read(d6, 0, "/vm/a/name", &v, NULL), -EACCES);
    }
    /* The quota counts what domain 5 owned before: 5 more fill it. */
    int i = 0, rc = 0;
    for (; i < 10 && rc == 0; i++) {
        char path[16];
        snprintf(path, sizeof(path), "m%d", i);
        rc = xsc_write_str(d5, 0, path, "x");
    }
    assert_int_equal(rc, -ENOSPC);
    assert_int_equal(i, 6);
    /* A released domain stays released across a restart. */
    assert_int_equal(xsc_release(dom0, 6), 0);
    xsc_close(d5);
    xsc_close(d6);
    xsc_close(dom0);
    test_store_kill(&ts);
    assert_int_equal(test_store_restart(&ts, args), 0);
    dom0 = xsc_open(ts.socket);
    assert_int_equal(xsc_request(dom0, XS_RESUME, 0, "6", 2, -1, NULL, NULL), -ENOENT);
    assert_int_equal(xsc_request(dom0, XS_RESUME, 0, "5", 2, -1, NULL, NULL), 0);
    xsc_close(dom0);
    assert_int_equal(test_store_stop(&ts), 0);
}

/* The invariant: every write whose reply a client received survives a
 * kill -9, even with a pipeline of writes in flight and compactions
 * running all the time. */
static void acknowledged_writes_survive(void);

static void test_acknowledged_writes_survive(void **state)
{
    (void)state;
    acknowledged_writes_survive();
}

/* The same with the state on tmpfs, as /run is on a host: no sync thread,
 * the output leaves once the journal is written. */
static void test_acknowledged_writes_survive_tmpfs(void **state)
{
    (void)state;
    if (access("/dev/shm", W_OK) != 0)
        skip();
    const char *was = getenv("TMPDIR");
    char *saved = was ? strdup(was) : NULL;
    setenv("TMPDIR", "/dev/shm", 1);
    acknowledged_writes_survive();
    if (saved)
        setenv("TMPDIR", saved, 1);
    else
        unsetenv("TMPDIR");
    free(saved);
}

static void acknowledged_writes_survive(void)
{
    enum { WRITES = 3000, DEPTH = 64 };
    static const char *const args[] = {"--compact-after", "20000", NULL};
    struct test_store ts = {0};
    static char out[DEPTH * 64];
    unsigned acked = 0, sent = 0;

    assert_int_equal(test_store_start(&ts, args), 0);
    struct xsc *raw = xsc_open(ts.socket);
    assert_non_null(raw);
    int fd = xsc_fd(raw);
    /* Keep DEPTH writes in flight; count the replies; kill -9 mid-way. */
    while (acked < WRITES) {
        size_t len = 0;
        while (sent < WRITES && sent - acked < DEPTH) {
            struct xs_msg_header h = {XS_WRITE, sent + 1, 0, 0};
            char *p = out + len + sizeof(h);
            int n = snprintf(p, 48, "/ack/d%u/n%u", sent % 17, sent) + 1;
            n += snprintf(p + n, 16, "v%u", sent);
            h.len = (uint32_t)n;
            memcpy(out + len, &h, sizeof(h));
            len += sizeof(h) + (size_t)n;
            sent++;
        }
        assert_int_equal(write_full(fd, out, len), (ssize_t)len);
        struct xs_msg_header h;
        char in[64];
        assert_int_equal(read_full(fd, &h, sizeof(h)), sizeof(h));
        assert_true(h.len < sizeof(in));
        assert_int_equal(read_full(fd, in, h.len), (ssize_t)h.len);
        assert_int_equal(h.type, XS_WRITE);
        assert_int_equal(h.req_id, acked + 1);
        acked++;
        if (acked == WRITES / 2)
            break;
    }
    test_store_kill(&ts);
    xsc_close(raw);
    assert_int_equal(test_store_restart(&ts, args), 0);
    struct xsc *h = xsc_open(ts.socket);
    assert_non_null(h);
    for (unsigned i = 0; i < acked; i++) {
        char path[48], want[16];
        snprintf(path, sizeof(path), "/ack/d%u/n%u", i % 17, i);
        snprintf(want, sizeof(want), "v%u", i);
        expect_read(h, 0, path, want);
    }
    assert_int_equal(xsc_request(h, XS_CONTROL, 0, "check", 6, -1, NULL, NULL), 0);
    xsc_close(h);
    assert_int_equal(test_store_stop(&ts), 0);
}

/* The newest journal in the state folder: its path into buf. */
static void last_journal(struct test_store *ts, char *buf, size_t len)
{
    unsigned long long best = 0;
    for (unsigned long long g = 1; g < 10000; g++) {
        snprintf(buf, len, "%s/journal.%llu", ts->state, g);
        if (access(buf, F_OK) == 0)
            best = g;
    }
    assert_true(best > 0);
    snprintf(buf, len, "%s/journal.%llu", ts->state, best);
}

static off_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

/* Change one byte of a file, or append bytes to it. */
static void damage(const char *path, off_t at, const void *bytes, size_t n, bool append)
{
    int fd = open(path, O_WRONLY | (append ? O_APPEND : 0));
    assert_true(fd >= 0);
    if (append)
        assert_int_equal(write(fd, bytes, n), (ssize_t)n);
    else
        assert_int_equal(pwrite(fd, bytes, n, at), (ssize_t)n);
    close(fd);
}

/* The daemon must refuse to start: exit 111 with `what` in its log. */
static void expect_refused(struct test_store *ts, const char *what)
{
    assert_int_equal(test_store_restart(ts, NULL), -1);
    assert_true(log_lines(ts, what) > 0);
    assert_true(log_lines(ts, "refusing to start") > 0);
}

static void write_some(struct test_store *ts, const char *prefix, unsigned n)
{
    struct xsc *h = xsc_open(ts->socket);
    assert_non_null(h);
    for (unsigned i = 0; i < n; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/%s/n%u", prefix, i);
        assert_int_equal(xsc_write_str(h, 0, path, "value"), 0);
    }
    xsc_close(h);
}

/* A torn tail (a write cut short) is dropped; the rest is kept. */
static void test_torn_journal_tail(void **state)
{
    (void)state;
    struct test_store ts = {.log_file = true};
    char journal[400];

    assert_int_equal(test_store_start(&ts, NULL), 0);
    write_some(&ts, "torn", 20);
    test_store_kill(&ts);
    last_journal(&ts, journal, sizeof(journal));
    off_t size = file_size(journal);
    /* Half a record: its header promises more than follows. */
    static const uint8_t half[] = {60, 0, 0, 0, 4, 0, 0, 0, 99, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5};
    damage(journal, 0, half, sizeof(half), true);
    assert_int_equal(test_store_restart(&ts, NULL), 0);
    assert_true(log_lines(&ts, "torn tail") > 0);
    assert_int_equal(file_size(journal), size); /* truncated back */
    struct xsc *h = xsc_open(ts.socket);
    expect_read(h, 0, "/torn/n19", "value");
    assert_int_equal(xsc_write_str(h, 0, "/torn/after", "x"), 0);
    xsc_close(h);
    /* Still good after another restart. */
    test_store_kill(&ts);
    assert_int_equal(test_store_restart(&ts, NULL), 0);
    h = xsc_open(ts.socket);
    expect_read(h, 0, "/torn/after", "x");
    xsc_close(h);
    assert_int_equal(test_store_stop(&ts), 0);
}

/* Damage followed by valid records is not a torn tail: refused. */
static void test_corrupt_journal_refused(void **state)
{
    (void)state;
    struct test_store ts = {.log_file = true};
    char journal[400];

    assert_int_equal(test_store_start(&ts, NULL), 0);
    write_some(&ts, "mid", 20);
    test_store_kill(&ts);
    last_journal(&ts, journal, sizeof(journal));
    damage(journal, file_size(journal) / 2, "\xff", 1, false);
    expect_refused(&ts, "damaged");
    test_store_stop(&ts);
}

/* A damaged state file is refused with a clear message, never half-loaded. */
static void test_corrupt_state_refused(void **state)
{
    (void)state;
    static const char *const args[] = {"--compact-after", "1", NULL};
    struct test_store ts = {.log_file = true};
    char path[400];

    assert_int_equal(test_store_start(&ts, args), 0);
    write_some(&ts, "st", 50);
    /* The compaction runs in a child: wait for the state file. */
    snprintf(path, sizeof(path), "%s/state", ts.state);
    for (int i = 0; i < 200 && access(path, F_OK) != 0; i++)
        sleep_ms(50);
    assert_int_equal(test_store_term(&ts), 0);
    /* State file plus journal: everything is back. */
    assert_int_equal(test_store_restart(&ts, args), 0);
    struct xsc *h = xsc_open(ts.socket);
    expect_read(h, 0, "/st/n49", "value");
    xsc_close(h);
    assert_int_equal(test_store_term(&ts), 0);

    uint8_t *good = NULL;
    size_t len = (size_t)file_size(path);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0 && (good = malloc(len)) && read_full(fd, good, len) == (ssize_t)len);
    close(fd);
    /* Cut short. */
    assert_int_equal(truncate(path, (off_t)len / 2), 0);
    expect_refused(&ts, "state is damaged");
    /* Put back: fine again. */
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0 && write_full(fd, good, len) == (ssize_t)len);
    close(fd);
    assert_int_equal(test_store_restart(&ts, args), 0);
    assert_int_equal(test_store_term(&ts), 0);
    /* One byte changed anywhere. */
    snprintf(path, sizeof(path), "%s/state", ts.state);
    damage(path, (off_t)len * 2 / 3, "\x5a", 1, false);
    expect_refused(&ts, "state is damaged");
    free(good);
    test_store_stop(&ts);
}

/* ---- clients coming back -------------------------------------------------- */

static void count_reconnection(struct xsc *h, void *opaque)
{
    (void)h;
    (*(unsigned *)opaque)++;
}

/* A client of the public socket comes back by itself: the request in
 * flight is served by the new store, its watches fire again, its lost
 * transaction answers EAGAIN, and it says that it reconnected. */
static void test_client_reconnects(void **state)
{
    (void)state;
    struct test_store ts = {0};
    unsigned called = 0;
    uint32_t t;
    char *v = NULL;

    assert_int_equal(test_store_start(&ts, NULL), 0);
    struct xsc *h = xsc_open(ts.socket);
    assert_non_null(h);
    struct xsc_reconnect how = {
        .max_wait_ms = 20000, .reconnected = count_reconnection, .opaque = &called};
    assert_int_equal(xsc_set_reconnect(h, &how), 0);
    assert_int_equal(xsc_watch(h, "/r", "tok"), 0);
    expect_event(h, "/r", "tok");
    assert_int_equal(xsc_write_str(h, 0, "/r/a", "1"), 0);
    expect_event(h, "/r/a", "tok");
    assert_int_equal(xsc_transaction_start(h, &t), 0);
    expect_read(h, t, "/r/a", "1");

    test_store_kill(&ts);
    assert_int_equal(test_store_restart(&ts, NULL), 0);
    expect_read(h, 0, "/r/a", "1"); /* transparently, on a new connection */
    assert_int_equal(xsc_reconnections(h), 1);
    assert_int_equal(called, 1);
    expect_event(h, "/r", "tok"); /* registered again: fires once */
    /* The transaction died with the connection. */
    assert_int_equal(xsc_write_str(h, t, "/r/t", "x"), -EAGAIN);
    assert_int_equal(xsc_transaction_end(h, t, true), -EAGAIN);
    assert_int_equal(xsc_read(h, 0, "/r/t", &v, NULL), -ENOENT);
    /* The watch works on the new connection. */
    struct xsc *other = xsc_open(ts.socket);
    assert_int_equal(xsc_write_str(other, 0, "/r/b", "2"), 0);
    expect_event(h, "/r/b", "tok");

    /* Waiting for an event across a restart: the wait notices, reconnects
     * and delivers the watch's fresh event. */
    test_store_kill(&ts);
    xsc_close(other);
    assert_int_equal(test_store_restart(&ts, NULL), 0);
    expect_event(h, "/r", "tok");
    assert_int_equal(xsc_reconnections(h), 2);
    /* A store that stays away: -ECONNRESET after max_wait_ms, and the next
     * call tries again. */
    how.max_wait_ms = 200;
    assert_int_equal(xsc_set_reconnect(h, &how), 0);
    test_store_kill(&ts);
    assert_int_equal(xsc_read(h, 0, "/r/a", &v, NULL), -ECONNRESET);
    assert_int_equal(test_store_restart(&ts, NULL), 0);
    expect_read(h, 0, "/r/a", "1");
    xsc_close(h);
    assert_int_equal(test_store_stop(&ts), 0);
}

struct dom_source {
    const char *socket;
    uint32_t domid;
};

/* How a domain's owner gets a new connection: the toolstack introduces the
 * domain again with a fresh socket pair (here, on its own connection). */
static int reintroduce(void *opaque)
{
    struct dom_source *src = opaque;
    int sv[2];
    struct xsc *dom0 = xsc_open(src->socket);
    if (!dom0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        xsc_close(dom0);
        return -ECONNREFUSED;
    }
    int rc = xsc_introduce(dom0, src->domid, sv[1]);
    close(sv[1]);
    xsc_close(dom0);
    if (rc) {
        close(sv[0]);
        return rc;
    }
    return sv[0];
}

/* A domain's handle comes back through its owner's connect function and
 * keeps its identity: nodes, watches (fired once), permissions. */
static void test_domain_reconnects(void **state)
{
    (void)state;
    struct test_store ts = {0};
    struct dom_source src = {.domid = 7};
    char *v = NULL;

    assert_int_equal(test_store_start(&ts, NULL), 0);
    src.socket = ts.socket;
    struct xsc *dom0 = xsc_open(ts.socket);
    struct xsc_perm home = {7, 'n'};
    assert_int_equal(xsc_mkdir(dom0, 0, "/local/domain/7"), 0);
    assert_int_equal(xsc_set_perms(dom0, 0, "/local/domain/7", &home, 1), 0);
    xsc_close(dom0);
    int fd = reintroduce(&src);
    assert_true(fd >= 0);
    struct xsc *d = xsc_adopt(fd);
    struct xsc_reconnect how = {.max_wait_ms = 20000, .connect = reintroduce, .opaque = &src};
    struct xsc_reconnect no_source = {.max_wait_ms = 1};
    assert_int_equal(xsc_set_reconnect(d, &no_source), -EINVAL);
    assert_int_equal(xsc_set_reconnect(d, &how), 0);
    assert_int_equal(xsc_write_str(d, 0, "mine", "m"), 0);
    assert_int_equal(xsc_watch(d, "mine", "w"), 0);
    expect_event(d, "mine", "w");

    test_store_kill(&ts);
    assert_int_equal(test_store_restart(&ts, NULL), 0);
    expect_read(d, 0, "mine", "m");
    assert_int_equal(xsc_reconnections(d), 1);
    /* The store gave the watch back (fired once); registering it again
     * found it there and fired nothing more. */
    expect_event(d, "mine", "w");
    assert_int_equal(xsc_read_watch(d, 200, &(struct xsc_event *){NULL}), -ETIMEDOUT);
    /* Still domain 7: its own nodes yes, domain 0's no. */
    dom0 = xsc_open(ts.socket);
    assert_int_equal(xsc_write_str(dom0, 0, "/private", "p"), 0);
    assert_int_equal(xsc_read(d, 0, "/private", &v, NULL), -EACCES);
    assert_int_equal(xsc_write_str(dom0, 0, "/local/domain/7/mine", "again"), 0);
    expect_event(d, "mine", "w");
    xsc_close(dom0);
    xsc_close(d);
    assert_int_equal(test_store_stop(&ts), 0);
}

struct restarter {
    struct test_store *ts;
    int done[2]; /* the main thread writes a byte when the test is over */
};

/* Kill the store a moment after the main thread sent a commit to it
 * (stopped, so that the commit waits unanswered), and start it again.
 * The thread lives until the test is over: the store it started gets
 * SIGKILL when its parent thread ends (PR_SET_PDEATHSIG). */
static void *kill_and_restart(void *arg)
{
    struct restarter *r = arg;
    char c;
    sleep_ms(300);
    test_store_kill(r->ts);
    if (test_store_restart(r->ts, NULL) != 0)
        r->ts->pid = 0;
    if (read(r->done[0], &c, 1) < 0)
        perror("restarter");
    return NULL;
}

/* A commit whose answer was lost with the store: the client cannot know
 * whether it happened, and says so (ECONNRESET) instead of guessing; the
 * handle is connected again. */
static void test_commit_in_flight(void **state)
{
    (void)state;
    struct test_store ts = {0};
    pthread_t th;
    uint32_t t;
    char *v = NULL;

    assert_int_equal(test_store_start(&ts, NULL), 0);
    struct xsc *h = xsc_open(ts.socket);
    struct xsc_reconnect how = {.max_wait_ms = 20000};
    assert_int_equal(xsc_set_reconnect(h, &how), 0);
    assert_int_equal(xsc_transaction_start(h, &t), 0);
    assert_int_equal(xsc_write_str(h, t, "/c/x", "1"), 0);
    struct restarter r = {.ts = &ts};
    assert_int_equal(pipe(r.done), 0);
    assert_int_equal(kill(ts.pid, SIGSTOP), 0);
    assert_int_equal(pthread_create(&th, NULL, kill_and_restart, &r), 0);
    int rc = xsc_transaction_end(h, t, true);
    int rc2 = xsc_read(h, 0, "/c/x", &v, NULL);
    unsigned n = xsc_reconnections(h);
    xsc_close(h);
    int status = test_store_stop(&ts);
    assert_int_equal(write(r.done[1], "x", 1), 1);
    pthread_join(th, NULL);
    close(r.done[0]);
    close(r.done[1]);
    assert_int_equal(rc, -ECONNRESET);
    /* Connected again; here the store never saw the commit. */
    assert_int_equal(rc2, -ENOENT);
    assert_int_equal(n, 1);
    assert_int_equal(status, 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptor_limit),
        cmocka_unit_test(test_descriptor_soft_limit_raised),
        cmocka_unit_test(test_restart_keeps_state),
        cmocka_unit_test(test_acknowledged_writes_survive),
        cmocka_unit_test(test_acknowledged_writes_survive_tmpfs),
        cmocka_unit_test(test_torn_journal_tail),
        cmocka_unit_test(test_corrupt_journal_refused),
        cmocka_unit_test(test_corrupt_state_refused),
        cmocka_unit_test(test_client_reconnects),
        cmocka_unit_test(test_domain_reconnects),
        cmocka_unit_test(test_commit_in_flight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
