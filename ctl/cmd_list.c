/* `stubctl list`: xl's columns, Domain-0 first, then each guest followed by
 * its stub domain "<guest>-dm", so that the device model's memory and CPU
 * time show next to (and are accounted to) its guest.
 *
 * State letters, xl's six columns r b p s c d: a running guest is "r-----",
 * paused "--p---", shut down (preserved) "---s--", crashed (preserved)
 * "----c-"; a stub domain is "-b----" while its device model runs (it waits
 * for requests) and "----c-" once it died; "-----d" when stubvmm does not
 * answer (dying). */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/stubctl.h"
#include "lib/log.h"

struct dominfo {
    unsigned domid, dm_domid;
    char *name, *uuid;
    unsigned long long mem_kib, dm_mem_kib;
    unsigned vcpus;
    char state[8], dm_state[8];
    double cpu_s, dm_cpu_s;
    int dm_pid;
    char reason[200];
    char paused_by[64];           /* "toolstack,device-model", "" for nobody */
    unsigned seccomp, dm_seccomp; /* system calls each filter allows, 0: none */
};

static unsigned long long host_mem_mib(void)
{
    FILE *f = fopen("/proc/meminfo", "re");
    unsigned long long kib = 0;

    if (f) {
        if (fscanf(f, "MemTotal: %llu kB", &kib) != 1)
            kib = 0;
        fclose(f);
    }
    return kib / 1024;
}

static double host_cpu_s(void)
{
    FILE *f = fopen("/proc/stat", "re");
    unsigned long long u = 0, n = 0, s = 0;

    if (f) {
        if (fscanf(f, "cpu %llu %llu %llu", &u, &n, &s) != 3)
            u = n = s = 0;
        fclose(f);
    }
    return (double)(u + n + s) / (double)sysconf(_SC_CLK_TCK);
}

static unsigned long long read_ull(struct xsc *xs, unsigned domid, const char *rel)
{
    char *v = ctl_read_dom(xs, domid, rel);
    unsigned long long r = v ? strtoull(v, NULL, 10) : 0;

    free(v);
    return r;
}

static void get_info(struct xsc *xs, unsigned domid, struct dominfo *d)
{
    char reply[512], **cpus = NULL, *vm;
    unsigned n = 0;

    memset(d, 0, sizeof(*d));
    d->domid = domid;
    d->name = ctl_read_dom(xs, domid, "name");
    vm = ctl_read_dom(xs, domid, "vm");
    d->uuid = vm && strncmp(vm, "/vm/", 4) == 0 ? strdup(vm + 4) : NULL;
    free(vm);
    d->mem_kib = read_ull(xs, domid, "memory/target");
    d->dm_domid = (unsigned)read_ull(xs, domid, "image/device-model-domid");
    d->dm_mem_kib = d->dm_domid ? read_ull(xs, d->dm_domid, "memory/target") : 0;
    char path[64];
    snprintf(path, sizeof(path), "/local/domain/%u/cpu", domid);
    if (xsc_directory(xs, 0, path, &cpus, &n) == 0)
        d->vcpus = n;
    free(cpus);
    strcpy(d->state, "-----d");
    strcpy(d->dm_state, "-----d");
    if (ctl_control(xs, domid, "status", reply, sizeof(reply)) == 0) {
        char st[16] = "", dm[16] = "";
        unsigned long long cpu = 0, dmcpu = 0;
        sscanf(reply, "ok state=%15s dm=%15s dm_pid=%d cpu_us=%llu dm_cpu_us=%llu", st, dm,
               &d->dm_pid, &cpu, &dmcpu);
        const char *r = strstr(reply, "reason=");
        snprintf(d->reason, sizeof(d->reason), "%s", r ? r + 7 : "");
        /* Before the reason, which runs to the end of the line. */
        const char *p = strstr(reply, " paused_by=");
        if (p && (!r || p < r) &&
            sscanf(p, " paused_by=%63s seccomp=%u dm_seccomp=%u", d->paused_by, &d->seccomp,
                   &d->dm_seccomp) >= 1 &&
            strcmp(d->paused_by, "-") == 0)
            d->paused_by[0] = '\0';
        d->cpu_s = (double)cpu / 1e6;
        d->dm_cpu_s = (double)dmcpu / 1e6;
        strcpy(d->state, strcmp(st, "running") == 0    ? "r-----"
                         : strcmp(st, "shutdown") == 0 ? "---s--"
                         : strcmp(st, "crashed") == 0  ? "----c-"
                                                       : "--p---");
        strcpy(d->dm_state, strcmp(dm, "running") == 0 ? "-b----" : "----c-");
    }
}

static void free_info(struct dominfo *d)
{
    free(d->name);
    free(d->uuid);
}

/* "toolstack,device-model" as a JSON array of names. */
static json_t *holders_json(const char *list)
{
    json_t *a = json_array();
    char copy[64], *save = NULL;

    snprintf(copy, sizeof(copy), "%s", list);
    for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save))
        json_array_append_new(a, json_string(w));
    return a;
}

static json_t *info_json(const struct dominfo *d)
{
    return json_pack(
        "{s:i, s:s, s:s?, s:s, s:I, s:i, s:f, s:s, s:o, s:i, s:{s:i, s:s+, s:i, s:s, "
        "s:I, s:f, s:i}}",
        "domid", (int)d->domid, "name", d->name ? d->name : "", "uuid", d->uuid, "state", d->state,
        "memory_kib", (json_int_t)d->mem_kib, "vcpus", (int)d->vcpus, "cpu_time", d->cpu_s,
        "reason", d->reason, "paused_by", holders_json(d->paused_by), "seccomp_syscalls",
        (int)d->seccomp, "device_model", "domid", (int)d->dm_domid, "name", d->name ? d->name : "",
        "-dm", "pid", d->dm_pid, "state", d->dm_state, "memory_kib", (json_int_t)d->dm_mem_kib,
        "cpu_time", d->dm_cpu_s, "seccomp_syscalls", (int)d->dm_seccomp);
}

int main_list(int argc, char **argv)
{
    bool longfmt = false;
    char **ids = NULL;
    unsigned n = 0;
    struct xsc *xs;
    json_t *arr = NULL;
    int opt, rc = 0;

    optind = 1;
    while ((opt = getopt(argc, argv, "+lh")) != -1) {
        if (opt == 'l')
            longfmt = true;
        else
            return cmd_usage("list");
    }
    xs = ctl_store_open(false);
    if (!xs)
        return EXIT_SYSTEM;
    if (longfmt)
        arr = json_array();
    else
        printf("%-32s %5s %5s %5s %6s %8s\n", "Name", "ID", "Mem", "VCPUs", "State", "Time(s)");
    if (!longfmt && optind == argc)
        printf("%-32s %5u %5llu %5ld %6s %8.1f\n", "Domain-0", 0u, host_mem_mib(),
               sysconf(_SC_NPROCESSORS_ONLN), "r-----", host_cpu_s());
    if (xsc_directory(xs, 0, "/local/domain", &ids, &n) < 0)
        n = 0;
    /* Ascending domain ids. */
    unsigned *list = calloc(n + 1, sizeof(*list)), count = 0;
    for (unsigned i = 0; list && i < n; i++) {
        char *end, *target;
        unsigned long id = strtoul(ids[i], &end, 10);
        if (*end || id == 0 || id > STUBCTL_MAX_DOMID)
            continue;
        target = ctl_read_dom(xs, (unsigned)id, "target");
        if (!target)
            list[count++] = (unsigned)id;
        free(target);
    }
    for (unsigned i = 1; i < count; i++)
        for (unsigned j = i; j > 0 && list[j - 1] > list[j]; j--) {
            unsigned t = list[j];
            list[j] = list[j - 1];
            list[j - 1] = t;
        }
    for (int a = optind; a < argc; a++) {
        unsigned id;
        if (ctl_find_domain(xs, argv[a], &id) < 0)
            rc = 1;
    }
    for (unsigned i = 0; i < count; i++) {
        struct dominfo d;
        bool wanted = optind == argc;
        get_info(xs, list[i], &d);
        for (int a = optind; a < argc && !wanted; a++) {
            char num[16];
            snprintf(num, sizeof(num), "%u", list[i]);
            wanted = (d.name && strcmp(argv[a], d.name) == 0) || strcmp(argv[a], num) == 0;
        }
        if (wanted && longfmt) {
            json_array_append_new(arr, info_json(&d));
        } else if (wanted) {
            char dmname[80];
            printf("%-32s %5u %5llu %5u %6s %8.1f\n", d.name ? d.name : "", d.domid,
                   d.mem_kib / 1024, d.vcpus, d.state, d.cpu_s);
            if (d.dm_domid) {
                snprintf(dmname, sizeof(dmname), "%s-dm", d.name ? d.name : "");
                printf("%-32s %5u %5llu %5u %6s %8.1f\n", dmname, d.dm_domid, d.dm_mem_kib / 1024,
                       0u, d.dm_state, d.dm_cpu_s);
            }
        }
        free_info(&d);
    }
    if (longfmt) {
        char *s = json_dumps(arr, JSON_INDENT(4));
        if (s)
            puts(s);
        free(s);
        json_decref(arr);
    }
    free(list);
    free(ids);
    xsc_close(xs);
    return rc;
}
