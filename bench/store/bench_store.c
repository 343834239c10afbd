/* stubstored request rate, on a small tree and once the tree holds 100,000
 * nodes.  Target: at least 50,000 READ or WRITE requests/s from one client,
 * and a flat cost per request as the tree grows (ratio close to 1).
 *
 * Three ways of measuring, because on a shared 2-core machine a synchronous
 * round trip is bounded by the scheduler, not by the store:
 *   sync       one client, each request waits for its reply (xs_client);
 *              shown next to a bare socket ping-pong of the same size,
 *              which is the ceiling for any daemon on this machine;
 *   pipelined  one client keeping 64 requests in flight (the store's own
 *              capacity when the client does not wait);
 *   in-process the store's message handling alone, no sockets; on the big
 *              tree both over all 100k keys (a working set far beyond the
 *              caches) and over the small tree's 100 keys (the cost of the
 *              tree's size alone).
 * Prints a table; asserts nothing about speed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/xs_client.h"
#include "lib/xs_wire.h"
#include "store/store.h"
#include "tests/store/daemon.h"

#define REQUESTS   100000
#define SMALL_KEYS 100
#define BIG_NODES  100000
#define DEPTH      64

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Keys spread over 1000 directories; visited in a scrambled order so that
 * a big tree is not walked cache-friendly. */
static size_t key(char *buf, size_t len, const char *top, unsigned i)
{
    return (size_t)snprintf(buf, len, "/%s/d%03u/n%06u", top, i % 1000, i);
}

static unsigned next_key(uint32_t *x, unsigned nkeys)
{
    *x = *x * 1664525u + 1013904223u;
    return (*x >> 8) % nkeys;
}

/* Build one READ or WRITE message for key k into msg; returns its size. */
static size_t build(char *msg, const char *top, unsigned k, bool write, uint32_t req)
{
    struct xs_msg_header h = {write ? XS_WRITE : XS_READ, req, 0, 0};
    size_t n = key(msg + sizeof(h), 64, top, k) + 1;
    if (write) {
        memcpy(msg + sizeof(h) + n, "value", 5);
        n += 5;
    }
    h.len = (uint32_t)n;
    memcpy(msg, &h, sizeof(h));
    return sizeof(h) + n;
}

static void die_rc(const char *what, int rc)
{
    fprintf(stderr, "%s: %s\n", what, strerror(rc < 0 ? -rc : rc));
    exit(1);
}

static double run_sync(struct xsc *h, const char *top, unsigned nkeys, bool write)
{
    char path[64];
    uint32_t x = 12345;
    double t0 = now();
    for (unsigned i = 0; i < REQUESTS; i++) {
        key(path, sizeof(path), top, next_key(&x, nkeys));
        int rc;
        if (write) {
            rc = xsc_write(h, 0, path, "value", 5);
        } else {
            char *v;
            rc = xsc_read(h, 0, path, &v, NULL);
            free(v);
        }
        if (rc)
            die_rc("request", rc);
    }
    return REQUESTS / (now() - t0);
}

static double run_pipelined(int fd, const char *top, unsigned nkeys, bool write)
{
    static char out[DEPTH * 128], in[DEPTH * 64];
    uint32_t x = 54321;
    double t0 = now();
    for (unsigned done = 0; done < REQUESTS; done += DEPTH) {
        size_t len = 0;
        for (unsigned j = 0; j < DEPTH; j++)
            len += build(out + len, top, next_key(&x, nkeys), write, done + j + 1);
        if (write_full(fd, out, len) != (ssize_t)len)
            die_rc("send", errno);
        for (unsigned j = 0; j < DEPTH; j++) {
            struct xs_msg_header h;
            if (read_full(fd, &h, sizeof(h)) != (ssize_t)sizeof(h) || h.len > sizeof(in) ||
                read_full(fd, in, h.len) != (ssize_t)h.len)
                die_rc("receive", errno ? errno : EPROTO);
            if (h.type == XS_ERROR)
                die_rc("pipelined request", EIO);
        }
    }
    return REQUESTS / (now() - t0);
}

/* The store without sockets: messages straight into conn_receive(). */
static double run_inprocess(struct store *s, struct conn *c, const char *top, unsigned nkeys,
                            bool write)
{
    uint32_t x = 999;
    double t0 = now();
    for (unsigned i = 0; i < REQUESTS; i++) {
        size_t n = build((char *)c->in, top, next_key(&x, nkeys), write, i + 1);
        conn_receive(c, n);
        conn_discard_output(c);
        s->flush = NULL;
        c->in_flush = false;
    }
    return REQUESTS / (now() - t0);
}

static void fill_inprocess(struct store *s, struct conn *c, const char *top, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        size_t len = build((char *)c->in, top, i, true, i + 1);
        conn_receive(c, len);
        conn_discard_output(c);
        s->flush = NULL;
        c->in_flush = false;
    }
}

static double fill(struct xsc *h, const char *top, unsigned n)
{
    char path[64];
    double t0 = now();
    for (unsigned i = 0; i < n; i++) {
        key(path, sizeof(path), top, i);
        int rc = xsc_write(h, 0, path, "value", 5);
        if (rc)
            die_rc("fill", rc);
    }
    return n / (now() - t0);
}

/* A bare 20-byte request / 20-byte reply ping-pong between two processes. */
static double pingpong(void)
{
    int sv[2];
    char b[32] = {0};
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return 0;
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        while (read_full(sv[1], b, 20) == 20 && write_full(sv[1], b, 20) == 20)
            ;
        _exit(0);
    }
    close(sv[1]);
    double t0 = now();
    for (unsigned i = 0; i < REQUESTS; i++)
        if (write_full(sv[0], b, 20) != 20 || read_full(sv[0], b, 20) != 20)
            break;
    double r = REQUESTS / (now() - t0);
    close(sv[0]);
    waitpid(pid, NULL, 0);
    return r;
}

static void row(const char *name, double rate, double base)
{
    char ratio[16] = "-";
    if (base > 0)
        snprintf(ratio, sizeof(ratio), "%.2fx", rate / base);
    printf("%-40s %12.0f %9.2fx %12s\n", name, rate, rate / 50000, ratio);
}

int main(void)
{
    /* The request handling alone: the cost of durability is what
     * bench_durability.c measures. */
    static const char *const args[] = {"--volatile", NULL};
    struct test_store ts = {0};
    if (test_store_start(&ts, args) != 0)
        return 1;
    struct xsc *h = xsc_open(ts.socket);
    struct xsc *raw = xsc_open(ts.socket); /* only its descriptor is used */
    if (!h || !raw) {
        perror("connect");
        return 1;
    }
    int fd = xsc_fd(raw);

    double ping = pingpong();
    fill(h, "small", SMALL_KEYS);
    double sr = run_sync(h, "small", SMALL_KEYS, false);
    double sw = run_sync(h, "small", SMALL_KEYS, true);
    double pr = run_pipelined(fd, "small", SMALL_KEYS, false);
    double pw = run_pipelined(fd, "small", SMALL_KEYS, true);
    double create = fill(h, "big", BIG_NODES);
    double br = run_sync(h, "big", BIG_NODES, false);
    double bw = run_sync(h, "big", BIG_NODES, true);
    double bpr = run_pipelined(fd, "big", BIG_NODES, false);
    double bpw = run_pipelined(fd, "big", BIG_NODES, true);
    xsc_close(raw);
    xsc_close(h);
    int status = test_store_stop(&ts);

    struct store_limits limits;
    struct store s;
    store_limits_default(&limits);
    if (store_init(&s, &limits) != 0)
        return 1;
    struct conn *c = conn_new(&s, -1, 0, NULL);
    fill_inprocess(&s, c, "small", SMALL_KEYS);
    double ir = run_inprocess(&s, c, "small", SMALL_KEYS, false);
    double iw = run_inprocess(&s, c, "small", SMALL_KEYS, true);
    fill_inprocess(&s, c, "big", BIG_NODES);
    double ibr = run_inprocess(&s, c, "big", BIG_NODES, false);
    double ibw = run_inprocess(&s, c, "big", BIG_NODES, true);
    /* The same 100 keys as on the small tree, now among 100k nodes: what
     * the tree's size alone costs, without a bigger working set. */
    double ihr = run_inprocess(&s, c, "small", SMALL_KEYS, false);
    double ihw = run_inprocess(&s, c, "small", SMALL_KEYS, true);
    size_t nodes = s.tree.index.count;
    store_dispose(&s);

    printf("\nstubstored: READ/WRITE requests per second, one client (%u requests each)\n",
           REQUESTS);
    printf("%-40s %12s %10s %12s\n", "case", "requests/s", "vs 50k", "vs small");
    row("bare socket ping-pong (machine ceiling)", ping, 0);
    row("sync READ,  small tree", sr, 0);
    row("sync WRITE, small tree", sw, 0);
    row("pipelined READ,  small tree", pr, 0);
    row("pipelined WRITE, small tree", pw, 0);
    row("in-process READ,  small tree", ir, 0);
    row("in-process WRITE, small tree", iw, 0);
    row("sync WRITE creating 100k nodes", create, 0);
    row("sync READ,  100k-node tree", br, sr);
    row("sync WRITE, 100k-node tree", bw, sw);
    row("pipelined READ,  100k-node tree", bpr, pr);
    row("pipelined WRITE, 100k-node tree", bpw, pw);
    row("in-process READ,  100k-node tree", ibr, ir);
    row("in-process WRITE, 100k-node tree", ibw, iw);
    row("in-process READ,  same 100 keys, 100k", ihr, ir);
    row("in-process WRITE, same 100 keys, 100k", ihw, iw);
    printf("(in-process tree: %zu nodes)\n", nodes);
    printf("target: >= 50,000 requests/s (vs 50k >= 1.00x); flat cost (vs small ~1.00x)\n");
    printf("sync is bounded by the ping-pong ceiling of this machine: sync/ceiling = %.2f\n",
           sr / ping);
    return status == 0 ? 0 : 1;
}
