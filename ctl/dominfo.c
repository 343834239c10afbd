/* What the listing commands show of a domain (dominfo.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/dominfo.h"
#include "lib/log.h"
#include "lib/procstat.h"

static unsigned long long read_ull(struct xsc *xs, unsigned domid, const char *rel)
{
    char *v = ctl_read_dom(xs, domid, rel);
    unsigned long long r = v ? strtoull(v, NULL, 10) : 0;

    free(v);
    return r;
}

/* The value after "key=" in a status reply (up to the next blank). */
static unsigned long long status_field(const char *reply, const char *key)
{
    char pat[32];
    const char *p;

    snprintf(pat, sizeof(pat), " %s=", key);
    p = strstr(reply, pat);
    return p ? strtoull(p + strlen(pat), NULL, 10) : 0;
}

static void status_word(const char *reply, const char *key, char *out, size_t len)
{
    char pat[32];
    const char *p;

    snprintf(pat, sizeof(pat), " %s=", key);
    p = strstr(reply, pat);
    out[0] = '\0';
    if (p) {
        p += strlen(pat);
        snprintf(out, len, "%.*s", (int)strcspn(p, " "), p);
    }
}

void ctl_dominfo_get(struct xsc *xs, unsigned domid, struct dominfo *d)
{
    char reply[512], **cpus = NULL, *vm, *v, path[64];
    unsigned n = 0;

    memset(d, 0, sizeof(*d));
    d->domid = domid;
    d->name = ctl_read_dom(xs, domid, "name");
    vm = ctl_read_dom(xs, domid, "vm");
    d->uuid = vm && strncmp(vm, "/vm/", 4) == 0 ? strdup(vm + 4) : NULL;
    if (d->uuid && !strchr(d->uuid, '/')) {
        char *t = NULL;
        snprintf(path, sizeof(path), "/vm/%.36s/start_time", d->uuid);
        if (xsc_read(xs, 0, path, &t, NULL) == 0)
            d->start_time = strtod(t, NULL);
        free(t);
    }
    free(vm);
    d->mem_kib = read_ull(xs, domid, "memory/target");
    d->dm_domid = (unsigned)read_ull(xs, domid, "image/device-model-domid");
    if (d->dm_domid > STUBCTL_MAX_DOMID)
        d->dm_domid = 0;
    d->dm_mem_kib = d->dm_domid ? read_ull(xs, d->dm_domid, "memory/target") : 0;
    v = ctl_read_dom(xs, domid, "stubvisor/placement");
    snprintf(d->placement, sizeof(d->placement), "%s", v ? v : "-");
    free(v);
    snprintf(path, sizeof(path), "/local/domain/%u/cpu", domid);
    if (xsc_directory(xs, 0, path, &cpus, &n) == 0)
        d->vcpus = n;
    free(cpus);
    strcpy(d->state, "-----d");
    strcpy(d->dm_state, "-----d");
    if (ctl_control(xs, domid, "status", reply, sizeof(reply)) != 0)
        return;
    char st[16], dm[16];
    const char *r = strstr(reply, " reason=");
    /* reason= runs to the end of the line: nothing after it is a field. */
    if (r) {
        snprintf(d->reason, sizeof(d->reason), "%s", r + 8);
        reply[r - reply] = '\0';
    }
    d->answered = true;
    status_word(reply, "state", st, sizeof(st));
    status_word(reply, "dm", dm, sizeof(dm));
    d->dm_pid = (int)status_field(reply, "dm_pid");
    d->pid = (int)status_field(reply, "pid");
    d->cpu_s = (double)status_field(reply, "cpu_us") / 1e6;
    d->dm_cpu_s = (double)status_field(reply, "dm_cpu_us") / 1e6;
    d->rss_kib = ctl_process_rss_kib(d->pid);
    d->dm_rss_kib = ctl_process_rss_kib(d->dm_pid);
    strcpy(d->state, strcmp(st, "running") == 0    ? "r-----"
                     : strcmp(st, "shutdown") == 0 ? "---s--"
                     : strcmp(st, "crashed") == 0  ? "----c-"
                                                   : "--p---");
    strcpy(d->dm_state, strcmp(dm, "running") == 0 ? "-b----" : "----c-");
}

void ctl_dominfo_dispose(struct dominfo *d)
{
    free(d->name);
    free(d->uuid);
    memset(d, 0, sizeof(*d));
}

static int compare_ids(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return (x > y) - (x < y);
}

unsigned ctl_guest_ids(struct xsc *xs, unsigned **out)
{
    char **ids = NULL;
    unsigned n = 0, count = 0, *list;

    *out = NULL;
    if (!xs || xsc_directory(xs, 0, "/local/domain", &ids, &n) < 0 || n == 0) {
        free(ids);
        return 0;
    }
    list = calloc(n, sizeof(*list));
    for (unsigned i = 0; list && i < n; i++) {
        unsigned id;
        char *target;
        if (!ctl_parse_domid(ids[i], &id) || id == 0)
            continue;
        target = ctl_read_dom(xs, id, "target");
        if (!target)
            list[count++] = id;
        free(target);
    }
    free(ids);
    if (count)
        qsort(list, count, sizeof(*list), compare_ids);
    *out = list;
    return count;
}

bool ctl_domain_matches(const char *arg, unsigned domid, const char *name)
{
    char num[16];

    snprintf(num, sizeof(num), "%u", domid);
    return strcmp(arg, num) == 0 || (name && strcmp(arg, name) == 0);
}

void ctl_select(struct xsc *xs, int nargs, char **args, struct dom_selection *sel)
{
    *sel = (struct dom_selection){.nargs = nargs, .args = args, .domain0 = nargs == 0};
    for (int a = 0; a < nargs; a++) {
        unsigned id;
        if (ctl_find_any_domain(xs, args[a], &id) < 0)
            sel->rc = 1;
        else if (id == 0)
            sel->domain0 = true;
    }
}

void ctl_dominfo_each(struct xsc *xs, const struct dom_selection *sel, ctl_dominfo_fn *fn,
                      void *opaque)
{
    unsigned *ids = NULL, count = ctl_guest_ids(xs, &ids);

    for (unsigned i = 0; i < count; i++) {
        struct dominfo d;
        char dmname[80];
        bool guest = sel->nargs == 0, dm = sel->nargs == 0;
        ctl_dominfo_get(xs, ids[i], &d);
        snprintf(dmname, sizeof(dmname), "%s-dm", d.name ? d.name : "");
        for (int a = 0; a < sel->nargs; a++) {
            guest = guest || ctl_domain_matches(sel->args[a], d.domid, d.name);
            dm = dm || (d.dm_domid && ctl_domain_matches(sel->args[a], d.dm_domid, dmname));
        }
        if (guest || (dm && d.dm_domid))
            fn(xs, &d, guest, dm && d.dm_domid, opaque);
        ctl_dominfo_dispose(&d);
    }
    free(ids);
}

void ctl_host_memory(unsigned long long *total_kib, unsigned long long *free_kib)
{
    char buf[4096];
    const char *p;

    *total_kib = *free_kib = 0;
    if (proc_read_small("/proc/meminfo", buf, sizeof(buf)) <= 0)
        return;
    if ((p = strstr(buf, "MemTotal:")))
        *total_kib = strtoull(p + 9, NULL, 10);
    if ((p = strstr(buf, "MemAvailable:")))
        *free_kib = strtoull(p + 13, NULL, 10);
}

double ctl_host_cpu_s(int cpu)
{
    char buf[16384], want[16];
    unsigned long long u = 0, n = 0, s = 0;
    const char *p;

    if (proc_read_small("/proc/stat", buf, sizeof(buf)) <= 0)
        return 0;
    if (cpu < 0)
        snprintf(want, sizeof(want), "cpu ");
    else
        snprintf(want, sizeof(want), "\ncpu%d ", cpu);
    p = strstr(buf, want);
    if (!p || sscanf(p + strlen(want), "%llu %llu %llu", &u, &n, &s) != 3)
        return 0;
    return (double)(u + n + s) / (double)sysconf(_SC_CLK_TCK);
}

unsigned ctl_host_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

double ctl_host_uptime(void)
{
    char buf[128];
    return proc_read_small("/proc/uptime", buf, sizeof(buf)) > 0 ? strtod(buf, NULL) : 0;
}

unsigned long long ctl_process_rss_kib(int pid)
{
    char path[64], buf[256];
    unsigned long long size, rss;

    if (pid <= 0)
        return 0;
    snprintf(path, sizeof(path), "/proc/%d/statm", pid);
    if (proc_read_small(path, buf, sizeof(buf)) <= 0 || sscanf(buf, "%llu %llu", &size, &rss) != 2)
        return 0;
    return rss * (unsigned long long)sysconf(_SC_PAGESIZE) / 1024;
}
