/* `stubctl top [-b] [-i N] [-d DELAY]`: xentop's view, every domain's CPU
 * and memory, each guest followed by its stub domain so that what a
 * guest's device model costs shows next to it.
 *
 *   NAME      the domain (Domain-0, a guest, <guest>-dm)
 *   STATE     xl's letters (list's)
 *   CPU(sec)  CPU time: stubvmm's (vCPUs and monitor), the device model's
 *   CPU(%)    of one CPU over the last interval (0 in the first frame)
 *   MEM(k)    resident memory of stubvmm (guest RAM in use and monitor),
 *             of the device model; Domain-0: the host's memory in use
 *   MAXMEM(k) memory/target: the guest's RAM, the stub domain's limit
 *   VCPUS
 *
 * Batch mode (-b) prints plain frames on stdout, as `xentop -b`; without
 * it the terminal is redrawn each frame and 'q' quits.  -i N stops after
 * N frames. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "ctl/dominfo.h"
#include "lib/log.h"

#define TOP_MAX_ROWS (2 * (STUBCTL_MAX_DOMID + 1))

/* What the previous frame saw, for CPU(%). */
struct top_sample {
    unsigned domid;
    double cpu_s;
};

struct top {
    bool batch;
    struct top_sample *prev, *cur;
    unsigned nprev, ncur;
    double prev_wall, wall;
    unsigned long long host_total_kib;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU(%) of domid over the last interval: 0 when it was not there. */
static double cpu_percent(struct top *t, unsigned domid, double cpu_s)
{
    if (t->ncur < TOP_MAX_ROWS)
        t->cur[t->ncur++] = (struct top_sample){domid, cpu_s};
    for (unsigned i = 0; i < t->nprev; i++)
        if (t->prev[i].domid == domid && t->wall > t->prev_wall)
            return 100.0 * (cpu_s - t->prev[i].cpu_s) / (t->wall - t->prev_wall);
    return 0;
}

static void row(struct top *t, const char *name, unsigned domid, const char *state, double cpu_s,
                unsigned long long mem_kib, unsigned long long max_kib, unsigned vcpus)
{
    double total = t->host_total_kib ? (double)t->host_total_kib : 1;
    double pct = cpu_percent(t, domid, cpu_s);

    printf("%20.20s %6s %10.0f %6.1f %10llu %6.1f %10llu %9.1f %5u\n", name, state, cpu_s,
           pct < 0 ? 0 : pct, mem_kib, 100.0 * (double)mem_kib / total, max_kib,
           100.0 * (double)max_kib / total, vcpus);
}

static void frame(struct top *t)
{
    unsigned long long total, avail;
    unsigned *ids = NULL, count, running = 0, paused = 0, other = 0;
    struct dominfo *doms;
    struct xsc *xs = ctl_store_try_open();
    char clock[16];
    time_t wall = time(NULL);
    struct tm tm;

    t->ncur = 0;
    t->wall = now_s();
    ctl_host_memory(&total, &avail);
    t->host_total_kib = total;
    count = ctl_guest_ids(xs, &ids);
    doms = calloc(count ? count : 1, sizeof(*doms));
    for (unsigned i = 0; doms && i < count; i++) {
        ctl_dominfo_get(xs, ids[i], &doms[i]);
        if (doms[i].state[0] == 'r')
            running++;
        else if (doms[i].state[2] == 'p')
            paused++;
        else
            other++;
    }
    if (!t->batch)
        printf("\033[H\033[2J"); /* home, clear */
    strftime(clock, sizeof(clock), "%H:%M:%S", localtime_r(&wall, &tm));
    printf("stubctl top - %s   %u guests: %u running, %u paused, %u stopped%s\n", clock, count,
           running, paused, other, xs ? "" : " (no store running)");
    printf("Mem: %lluk total, %lluk used, %lluk free    CPUs: %u\n", total, total - avail, avail,
           ctl_host_cpus());
    printf("%20s %6s %10s %6s %10s %6s %10s %9s %5s\n", "NAME", "STATE", "CPU(sec)", "CPU(%)",
           "MEM(k)", "MEM(%)", "MAXMEM(k)", "MAXMEM(%)", "VCPUS");
    row(t, "Domain-0", 0, "r-----", ctl_host_cpu_s(-1), total - avail, total, ctl_host_cpus());
    for (unsigned i = 0; doms && i < count; i++) {
        const struct dominfo *d = &doms[i];
        char dmname[80];
        row(t, d->name ? d->name : "", d->domid, d->state, d->cpu_s, d->rss_kib, d->mem_kib,
            d->vcpus);
        if (d->dm_domid) {
            snprintf(dmname, sizeof(dmname), "%s-dm", d->name ? d->name : "");
            row(t, dmname, d->dm_domid, d->dm_state, d->dm_cpu_s, d->dm_rss_kib, d->dm_mem_kib, 0);
        }
        ctl_dominfo_dispose(&doms[i]);
    }
    free(doms);
    free(ids);
    xsc_close(xs);
    fflush(stdout);
    /* This frame's samples are the next one's baseline. */
    struct top_sample *swap = t->prev;
    t->prev = t->cur;
    t->cur = swap;
    t->nprev = t->ncur;
    t->prev_wall = t->wall;
}

/* Wait delay seconds; true if the user pressed q (interactive only). */
static bool wait_or_quit(bool interactive, double delay)
{
    double end = now_s() + delay;

    for (;;) {
        double left = end - now_s();
        if (left <= 0)
            return false;
        struct pollfd p = {.fd = interactive ? STDIN_FILENO : -1, .events = POLLIN};
        int r = poll(&p, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno != EINTR)
            return false;
        if (r > 0 && (p.revents & POLLIN)) {
            char c;
            if (read(STDIN_FILENO, &c, 1) != 1 || c == 'q' || c == 'Q')
                return true;
        }
    }
}

static bool parse_number(const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

int main_top(int argc, char **argv)
{
    struct top t = {0};
    double delay = 3, iterations = 0;
    struct termios saved, raw;
    bool tty = false;
    int opt, rc = 0;

    optind = 1;
    while ((opt = ctl_getopt(argc, argv, "bi:d:", "top")) != -1) {
        if (opt == 'b') {
            t.batch = true;
        } else if (opt == 'i') {
            if (!parse_number(optarg, 1, 1e9, &iterations) || iterations != (long)iterations) {
                fprintf(stderr, "stubctl top: -i takes a whole number of frames, not '%s'\n",
                        optarg);
                return cmd_usage("top");
            }
        } else if (opt == 'd') {
            if (!parse_number(optarg, 0.1, 86400, &delay)) {
                fprintf(stderr, "stubctl top: -d takes seconds (0.1 to 86400), not '%s'\n", optarg);
                return cmd_usage("top");
            }
        } else {
            return ctl_opt_exit(opt);
        }
    }
    if (optind != argc)
        return cmd_usage("top");
    t.prev = calloc(TOP_MAX_ROWS, sizeof(*t.prev));
    t.cur = calloc(TOP_MAX_ROWS, sizeof(*t.cur));
    if (!t.prev || !t.cur) {
        rc = EXIT_SYSTEM;
        goto out;
    }
    if (!t.batch && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
        raw = saved;
        raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        tcsetattr(STDIN_FILENO, TCSANOW, &raw);
        tty = true;
    }
    for (long n = 1;; n++) {
        frame(&t);
        if (iterations && n >= (long)iterations)
            break;
        if (t.batch)
            printf("\n");
        if (wait_or_quit(tty, delay))
            break;
    }
    if (tty)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
out:
    free(t.prev);
    free(t.cur);
    return rc;
}
