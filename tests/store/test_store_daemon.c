/* stubstored as a process: what it does at its descriptor limit, and what
 * survives when it is killed and started again. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptor_limit),
        cmocka_unit_test(test_descriptor_soft_limit_raised),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
