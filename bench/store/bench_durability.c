/* What durability costs stubstored, side by side in one run:
 *   - restart: time from starting stubstored to the first answered request
 *     with 1,000 guests' worth of nodes (100,000) in its state, loaded from
 *     a state file and, after a kill -9 before any compaction, from the
 *     journal alone;
 *   - writes: WRITE requests per second with the state kept (journal,
 *     group commit, fdatasync) against --volatile (memory only, the store
 *     as it was before), for a synchronous client and a pipelined one
 *     keeping 64 requests in flight; the state folder on tmpfs (/dev/shm:
 *     what /run, the default, is on a host) and on the disk under $TMPDIR,
 *     where each group commit waits for the disk.
 * Targets: restart <= 200 ms with 100k nodes; pipelined writes with
 * durability >= 0.8x volatile.  Prints a table; asserts nothing. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/xs_client.h"
#include "lib/xs_wire.h"
#include "store/persist.h"
#include "store/store.h"
#include "tests/store/daemon.h"

#define GUESTS    1000
#define PER_GUEST 100
#define SYNC_N    20000
#define PIPE_N    200000
#define DEPTH     64
#define KEYS      100
#define ROUNDS    3
#define RESTARTS  5

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die_msg(const char *what, int err)
{
    fprintf(stderr, "bench-store-durability: %s: %s\n", what, strerror(err));
    exit(1);
}

/* The node for guest g, item i: 100 per guest, spread as a toolstack
 * writes them (a few directories, short values). */
static size_t guest_node(char *buf, size_t len, unsigned g, unsigned i)
{
    static const char *const dirs[] = {"memory", "cpu", "device/vif", "device/vbd", "data"};
    return (size_t)snprintf(buf, len, "/local/domain/%u/%s/k%02u", g + 1, dirs[i % 5], i);
}

/* Write a state folder holding 100k nodes: as a state file, or (after a
 * store was killed) as a journal; returns the folder's path in dir. */
static void make_state_file(const char *dir)
{
    struct store_limits limits;
    struct store s;
    struct buf image = {0};
    char path[700];

    store_limits_default(&limits);
    if (store_init(&s, &limits) != 0)
        die_msg("store_init", ENOMEM);
    struct conn *c = conn_new(&s, -1, 0, NULL);
    for (unsigned g = 0; g < GUESTS; g++) {
        for (unsigned i = 0; i < PER_GUEST; i++) {
            struct xs_msg_header h = {XS_WRITE, 1, 0, 0};
            size_t n = guest_node((char *)c->in + sizeof(h), 128, g, i) + 1;
            memcpy(c->in + sizeof(h) + n, "value-12345", 11);
            h.len = (uint32_t)(n + 11);
            memcpy(c->in, &h, sizeof(h));
            conn_receive(c, sizeof(h) + h.len);
            conn_discard_output(c);
            s.flush = NULL;
            c->in_flush = false;
        }
    }
    if (persist_snapshot_image(&s, 1, 1, &image) != 0)
        die_msg("snapshot", ENOMEM);
    mkdir(dir, 0700);
    snprintf(path, sizeof(path), "%s/state", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write_full(fd, image.data, image.len) != (ssize_t)image.len)
        die_msg(path, errno);
    close(fd);
    printf("state file: %zu nodes, %.1f MB\n", s.tree.index.count, (double)image.len / 1e6);
    buf_dispose(&image);
    store_dispose(&s);
}

/* Restart the store in ts's folder RESTARTS times; the best and the median
 * time to the first answered request, in ms. */
static void time_restarts(struct test_store *ts, const char *const *args, double *best,
                          double *median)
{
    double t[RESTARTS];
    for (int r = 0; r < RESTARTS; r++) {
        double t0 = now();
        if (test_store_restart(ts, args) != 0)
            die_msg("restart", EIO);
        struct xsc *h = xsc_open(ts->socket);
        char *v = NULL;
        if (!h || xsc_read(h, 0, "/local/domain/1000/data/k99", &v, NULL) != 0)
            die_msg("first request after restart", EIO);
        t[r] = (now() - t0) * 1000;
        free(v);
        xsc_close(h);
        if (test_store_term(ts) != 0)
            die_msg("stop", EIO);
    }
    for (int i = 0; i < RESTARTS; i++)
        for (int j = i + 1; j < RESTARTS; j++)
            if (t[j] < t[i]) {
                double x = t[i];
                t[i] = t[j];
                t[j] = x;
            }
    *best = t[0];
    *median = t[RESTARTS / 2];
}

/* Build one WRITE for key k into msg; returns its size. */
static size_t build_write(char *msg, unsigned k, uint32_t req)
{
    struct xs_msg_header h = {XS_WRITE, req, 0, 0};
    size_t n = (size_t)snprintf(msg + sizeof(h), 64, "/bench/d%02u/n%03u", k % 10, k) + 1;
    memcpy(msg + sizeof(h) + n, "value", 5);
    h.len = (uint32_t)(n + 5);
    memcpy(msg, &h, sizeof(h));
    return sizeof(h) + h.len;
}

static double run_sync(struct xsc *h)
{
    char path[64];
    double t0 = now();
    for (unsigned i = 0; i < SYNC_N; i++) {
        snprintf(path, sizeof(path), "/bench/d%02u/n%03u", i % KEYS % 10, i % KEYS);
        int rc = xsc_write(h, 0, path, "value", 5);
        if (rc)
            die_msg("sync write", -rc);
    }
    return SYNC_N / (now() - t0);
}

/* DEPTH requests in flight at all times: each reply received lets one
 * more request go. */
static double run_pipelined(int fd)
{
    static char out[DEPTH * 64], in[64 * 1024];
    unsigned sent = 0, done = 0;
    size_t have = 0;
    double t0 = now();
    while (done < PIPE_N) {
        size_t len = 0;
        while (sent < PIPE_N && sent - done < DEPTH) {
            len += build_write(out + len, sent % KEYS, sent + 1);
            sent++;
        }
        if (len && write_full(fd, out, len) != (ssize_t)len)
            die_msg("send", errno);
        ssize_t n = recv(fd, in + have, sizeof(in) - have, 0);
        if (n <= 0)
            die_msg("receive", n ? errno : ECONNRESET);
        have += (size_t)n;
        size_t off = 0;
        for (;;) {
            struct xs_msg_header h;
            if (have - off < sizeof(h))
                break;
            memcpy(&h, in + off, sizeof(h));
            if (have - off < sizeof(h) + h.len)
                break;
            if (h.type == XS_ERROR)
                die_msg("pipelined write", EIO);
            off += sizeof(h) + h.len;
            done++;
        }
        memmove(in, in + off, have - off);
        have -= off;
    }
    return PIPE_N / (now() - t0);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One round of both clients against a store started with args. */
static void measure(const char *const *args, double *sync, double *pipe)
{
    struct test_store ts = {0};
    if (test_store_start(&ts, args) != 0)
        die_msg("start", EIO);
    struct xsc *h = xsc_open(ts.socket), *raw = xsc_open(ts.socket);
    if (!h || !raw)
        die_msg("connect", errno);
    *sync = run_sync(h);
    *pipe = run_pipelined(xsc_fd(raw));
    xsc_close(raw);
    xsc_close(h);
    test_store_stop(&ts);
}

/* Fill a running store with the 100k nodes over its socket (pipelined). */
static void fill_over_socket(struct test_store *ts)
{
    static char out[DEPTH * 128];
    struct xsc *raw = xsc_open(ts->socket);
    if (!raw)
        die_msg("connect", errno);
    int fd = xsc_fd(raw);
    unsigned total = GUESTS * PER_GUEST;
    for (unsigned done = 0; done < total; done += DEPTH) {
        size_t len = 0;
        unsigned batch = total - done < DEPTH ? total - done : DEPTH;
        for (unsigned j = 0; j < batch; j++) {
            struct xs_msg_header h = {XS_WRITE, done + j + 1, 0, 0};
            unsigned k = done + j;
            size_t n = guest_node(out + len + sizeof(h), 96, k / PER_GUEST, k % PER_GUEST) + 1;
            memcpy(out + len + sizeof(h) + n, "value-12345", 11);
            h.len = (uint32_t)(n + 11);
            memcpy(out + len, &h, sizeof(h));
            len += sizeof(h) + h.len;
        }
        if (write_full(fd, out, len) != (ssize_t)len)
            die_msg("fill", errno);
        for (unsigned j = 0; j < batch; j++) {
            struct xs_msg_header h;
            char in[64];
            if (read_full(fd, &h, sizeof(h)) != (ssize_t)sizeof(h) || h.len > sizeof(in) ||
                read_full(fd, in, h.len) != (ssize_t)h.len || h.type == XS_ERROR)
                die_msg("fill reply", EIO);
        }
    }
    xsc_close(raw);
}

int main(void)
{
    static const char *const vol[] = {"--volatile", NULL};
    static const char *const big_journal[] = {"--compact-after", "4000000000", NULL};
    double vs[ROUNDS], vp[ROUNDS], ds[ROUNDS], dp[ROUNDS];
    struct test_store ts = {0};
    struct statfs fs;
    char dir[512];

    /* Restart from a state file. */
    if (test_store_start(&ts, NULL) != 0)
        return 1;
    if (test_store_term(&ts) != 0)
        return 1;
    snprintf(dir, sizeof(dir), "%s", ts.state);
    /* Replace the (empty) state with 100k nodes: state file only. */
    for (unsigned g = 1; g < 16; g++) {
        char name[700];
        snprintf(name, sizeof(name), "%s/journal.%u", dir, g);
        unlink(name);
    }
    make_state_file(dir);
    statfs(dir, &fs);
    double file_best, file_median;
    time_restarts(&ts, NULL, &file_best, &file_median);
    test_store_stop(&ts);

    /* Restart from the journal alone: 100k nodes written over the socket,
     * then kill -9 before any compaction. */
    struct test_store tj = {0};
    if (test_store_start(&tj, big_journal) != 0)
        return 1;
    double t0 = now();
    fill_over_socket(&tj);
    double fill_s = now() - t0;
    test_store_kill(&tj);
    double j_best, j_median;
    /* The first restart replays the journal; later ones too (the journal
     * is compacted only past --compact-after). */
    time_restarts(&tj, big_journal, &j_best, &j_median);
    test_store_stop(&tj);

    /* Writes: volatile, durable on tmpfs, durable on disk; interleaved. */
    double ts_s[ROUNDS], ts_p[ROUNDS];
    const char *tmpdir = getenv("TMPDIR");
    char *saved = tmpdir ? strdup(tmpdir) : NULL;
    bool shm = access("/dev/shm", W_OK) == 0;
    for (int r = 0; r < ROUNDS; r++) {
        measure(vol, &vs[r], &vp[r]);
        if (shm) {
            setenv("TMPDIR", "/dev/shm", 1);
            measure(NULL, &ts_s[r], &ts_p[r]);
            if (saved)
                setenv("TMPDIR", saved, 1);
            else
                unsetenv("TMPDIR");
        } else {
            ts_s[r] = ts_p[r] = 0;
        }
        measure(NULL, &ds[r], &dp[r]);
    }
    free(saved);
    double *all[] = {vs, vp, ds, dp, ts_s, ts_p};
    for (unsigned i = 0; i < 6; i++)
        qsort(all[i], ROUNDS, sizeof(double), cmp_double);
    int m = ROUNDS / 2;

    printf("\nstubstored: the cost of durability (median of %d rounds; disk: filesystem type "
           "0x%lx)\n",
           ROUNDS, (unsigned long)fs.f_type);
    printf("%-32s %10s %10s %6s %10s %6s\n", "WRITE requests/s", "--volatile", "tmpfs", "ratio",
           "disk", "ratio");
    printf("%-32s %10.0f %10.0f %5.2fx %10.0f %5.2fx\n", "sync (one at a time)", vs[m], ts_s[m],
           ts_s[m] / vs[m], ds[m], ds[m] / vs[m]);
    printf("%-32s %10.0f %10.0f %5.2fx %10.0f %5.2fx\n", "pipelined (64 in flight)", vp[m], ts_p[m],
           ts_p[m] / vp[m], dp[m], dp[m] / vp[m]);
    printf("target: pipelined durable >= 0.80x volatile with the state where it is by default\n"
           "(tmpfs); on a disk every group commit waits for one fdatasync\n\n");
    printf("%-44s %9s %9s\n", "restart to first answer, 100,000 nodes", "best ms", "median ms");
    printf("%-44s %9.1f %9.1f\n", "from the state file", file_best, file_median);
    printf("%-44s %9.1f %9.1f\n", "from the journal alone (after kill -9)", j_best, j_median);
    printf("target: <= 200 ms from the state file\n");
    printf("(filling 100,000 nodes over the socket, pipelined and durable: %.2f s)\n", fill_s);
    return 0;
}
