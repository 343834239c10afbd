/* `stubctl info` (the host, as `xl info` shows Xen's) and `stubctl uptime`.
 * Neither needs a store: without one, info says so and uptime shows
 * Domain-0 alone. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "ctl/dominfo.h"
#include "lib/log.h"
#include "lib/version.h"

static void field(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* xl's layout: the key padded to 23 columns, " : ", the value. */
static void field(const char *key, const char *fmt, ...)
{
    va_list ap;

    printf("%-23s: ", key);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

/* KVM's API version (12 on every kernel since 2.6.22), or why not. */
static void kvm_version(char *buf, size_t len)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    int v;

    if (fd < 0) {
        snprintf(buf, len, "unavailable (/dev/kvm: %s)", strerror(errno));
        return;
    }
    v = ioctl(fd, KVM_GET_API_VERSION, 0);
    if (v < 0)
        snprintf(buf, len, "unavailable (KVM_GET_API_VERSION: %s)", strerror(errno));
    else
        snprintf(buf, len, "%d", v);
    close(fd);
}

/* The store: its pid from $RUNDIR/store.pid when one answers. */
static void store_state(char *buf, size_t len, unsigned *nr_guests)
{
    struct xsc *xs = ctl_store_try_open();
    char path[PATH_MAX], pid[32] = "";
    unsigned *ids = NULL;
    int fd;

    *nr_guests = 0;
    if (!xs) {
        snprintf(buf, len, "not running");
        return;
    }
    *nr_guests = ctl_guest_ids(xs, &ids);
    free(ids);
    xsc_close(xs);
    snprintf(path, sizeof(path), "%s/store.pid", ctl_rundir());
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, pid, sizeof(pid) - 1);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        close(fd);
    }
    if (pid[0])
        snprintf(buf, len, "running (pid %s)", pid);
    else
        snprintf(buf, len, "running");
}

int main_info(int argc, char **argv)
{
    struct utsname u;
    unsigned long long total, avail;
    char kvm[128], store[64], sock[PATH_MAX];
    unsigned nr_guests;
    int opt;

    optind = 1;
    while ((opt = ctl_getopt(argc, argv, "", "info")) != -1)
        return ctl_opt_exit(opt);
    if (optind != argc)
        return cmd_usage("info");
    uname(&u);
    ctl_host_memory(&total, &avail);
    kvm_version(kvm, sizeof(kvm));
    store_state(store, sizeof(store), &nr_guests);
    ctl_store_path(sock, sizeof(sock));
    field("host", "%s", u.nodename);
    field("release", "%s", u.release);
    field("version", "%s", u.version);
    field("machine", "%s", u.machine);
    field("nr_cpus", "%u", ctl_host_cpus());
    field("total_memory", "%llu", total / 1024);
    field("free_memory", "%llu", avail / 1024);
    field("virt_caps", "%s", strncmp(kvm, "unavailable", 11) == 0 ? "" : "hvm");
    field("kvm_api_version", "%s", kvm);
    field("stubvisor_version", "%s", stubvisor_version());
    field("store_path", "%s", sock);
    field("store", "%s", store);
    field("nr_guests", "%u", nr_guests);
    field("run_dir", "%s", ctl_rundir());
    field("log_dir", "%s", ctl_logdir());
    return fflush(stdout) == 0 ? 0 : EXIT_SYSTEM;
}

/* xl's uptime format: "[D day(s), ]HH:MM:SS". */
static void format_uptime(double seconds, char *buf, size_t len)
{
    unsigned long s = seconds > 0 ? (unsigned long)seconds : 0;
    unsigned long days = s / 86400;

    s %= 86400;
    if (days)
        snprintf(buf, len, "%lu day%s, %2lu:%02lu:%02lu", days, days == 1 ? "" : "s", s / 3600,
                 s / 60 % 60, s % 60);
    else
        snprintf(buf, len, "%2lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
}

static void uptime_row(bool short_form, const char *name, unsigned id, double seconds)
{
    char up[64];

    format_uptime(seconds, up, sizeof(up));
    if (short_form) {
        char now[16];
        time_t t = time(NULL);
        struct tm tm;
        strftime(now, sizeof(now), "%H:%M:%S", localtime_r(&t, &tm));
        printf(" %s up %s, %s (%u)\n", now, up, name, id);
    } else {
        printf("%-32s %5u %s\n", name, id, up);
    }
}

struct uptime_opts {
    bool short_form;
    double wall; /* now, seconds since 1970 */
};

static void uptime_rows(struct xsc *xs, const struct dominfo *d, bool guest, bool dm, void *opaque)
{
    const struct uptime_opts *o = opaque;
    /* The stub domain was started with its guest. */
    double up = d->start_time > 0 ? o->wall - d->start_time : 0;
    char dmname[80];

    if (guest)
        uptime_row(o->short_form, d->name ? d->name : "", d->domid, up);
    snprintf(dmname, sizeof(dmname), "%s-dm", d->name ? d->name : "");
    if (dm)
        uptime_row(o->short_form, dmname, d->dm_domid, up);
}

int main_uptime(int argc, char **argv)
{
    struct uptime_opts o = {0};
    struct dom_selection sel;
    struct timespec now;
    struct xsc *xs;
    int opt;

    optind = 1;
    while ((opt = ctl_getopt(argc, argv, "s", "uptime")) != -1) {
        if (opt != 's')
            return ctl_opt_exit(opt);
        o.short_form = true;
    }
    xs = ctl_store_try_open();
    ctl_select(xs, argc - optind, argv + optind, &sel);
    clock_gettime(CLOCK_REALTIME, &now);
    o.wall = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
    if (!o.short_form)
        printf("%-32s %5s %s\n", "Name", "ID", "Uptime");
    if (sel.domain0)
        uptime_row(o.short_form, "Domain-0", 0, ctl_host_uptime());
    ctl_dominfo_each(xs, &sel, uptime_rows, &o);
    xsc_close(xs);
    return sel.rc;
}
