/* `stubctl list`: xl's columns, Domain-0 first, then each guest followed by
 * its stub domain "<guest>-dm", so that the device model's memory and CPU
 * time show next to (and are accounted to) its guest.
 *
 * State letters, xl's six columns r b p s c d: a running guest is "r-----",
 * paused "--p---", shut down (preserved) "---s--", crashed (preserved)
 * "----c-"; a stub domain is "-b----" while its device model runs (it waits
 * for requests) and "----c-" once it died; "-----d" when stubvmm does not
 * answer (dying).
 *
 * With no store running there are no guests: Domain-0 alone, exit 0, as
 * xl always lists.  -v adds the UUID and the reason a domain is paused or
 * stopped; -n where each device model runs. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/dominfo.h"
#include "lib/log.h"

struct list_opts {
    bool verbose, placement;
};

static json_t *info_json(const struct dominfo *d)
{
    return json_pack("{s:i, s:s, s:s?, s:s, s:I, s:i, s:f, s:s, s:s, s:{s:i, s:s+, s:i, s:s, s:I, "
                     "s:f}}",
                     "domid", (int)d->domid, "name", d->name ? d->name : "", "uuid", d->uuid,
                     "state", d->state, "memory_kib", (json_int_t)d->mem_kib, "vcpus",
                     (int)d->vcpus, "cpu_time", d->cpu_s, "reason", d->reason, "placement",
                     d->placement, "device_model", "domid", (int)d->dm_domid, "name",
                     d->name ? d->name : "", "-dm", "pid", d->dm_pid, "state", d->dm_state,
                     "memory_kib", (json_int_t)d->dm_mem_kib, "cpu_time", d->dm_cpu_s);
}

static void header(const struct list_opts *o)
{
    printf("%-32s %5s %5s %5s %6s %8s", "Name", "ID", "Mem", "VCPUs", "State", "Time(s)");
    if (o->placement)
        printf(" %-9s", "Placement");
    if (o->verbose)
        printf(" %-36s %s", "UUID", "Reason");
    printf("\n");
}

static void row(const struct list_opts *o, const char *name, unsigned id, unsigned long long mib,
                unsigned vcpus, const char *state, double cpu_s, const char *placement,
                const char *uuid, const char *reason)
{
    printf("%-32s %5u %5llu %5u %6s %8.1f", name, id, mib, vcpus, state, cpu_s);
    if (o->placement)
        printf(" %-9s", placement);
    if (o->verbose)
        printf(" %-36s %s", uuid && *uuid ? uuid : "-", reason && *reason ? reason : "-");
    printf("\n");
}

static void domain0_row(const struct list_opts *o)
{
    unsigned long long total, avail;

    ctl_host_memory(&total, &avail);
    row(o, "Domain-0", 0, total / 1024, ctl_host_cpus(), "r-----", ctl_host_cpu_s(-1), "-",
        "00000000-0000-0000-0000-000000000000", "");
}

/* The guest's row (unless only its stub domain was asked for), then its
 * stub domain's. */
static void guest_rows(const struct list_opts *o, const struct dominfo *d, bool guest)
{
    char dmname[80];
    const char *name = d->name ? d->name : "";

    if (guest)
        row(o, name, d->domid, d->mem_kib / 1024, d->vcpus, d->state, d->cpu_s, d->placement,
            d->uuid, d->reason);
    if (!d->dm_domid)
        return;
    snprintf(dmname, sizeof(dmname), "%s-dm", name);
    /* A stub domain has no UUID of its own here; its placement is its
     * guest's (stubdom or process). */
    row(o, dmname, d->dm_domid, d->dm_mem_kib / 1024, 0, d->dm_state, d->dm_cpu_s, d->placement, "",
        "");
}

struct list_run {
    const struct list_opts *o;
    json_t *arr; /* -l: the objects; else rows are printed */
};

static void list_rows(struct xsc *xs, const struct dominfo *d, bool guest, bool dm, void *opaque)
{
    struct list_run *r = opaque;

    if (r->arr)
        json_array_append_new(r->arr, info_json(d));
    else
        guest_rows(r->o, d, guest);
}

int main_list(int argc, char **argv)
{
    struct list_opts o = {0};
    struct list_run run = {.o = &o};
    struct dom_selection sel;
    bool longfmt = false;
    struct xsc *xs;
    int opt;

    optind = 1;
    while ((opt = ctl_getopt(argc, argv, "lvn", "list")) != -1) {
        if (opt == 'l')
            longfmt = true;
        else if (opt == 'v')
            o.verbose = true;
        else if (opt == 'n')
            o.placement = true;
        else
            return ctl_opt_exit(opt);
    }
    /* No store: no guests, Domain-0 alone. */
    xs = ctl_store_try_open();
    ctl_select(xs, argc - optind, argv + optind, &sel);
    if (longfmt) {
        run.arr = json_array();
    } else {
        header(&o);
        if (sel.domain0)
            domain0_row(&o);
    }
    ctl_dominfo_each(xs, &sel, list_rows, &run);
    if (longfmt) {
        char *text = json_dumps(run.arr, JSON_INDENT(4));
        if (text)
            puts(text);
        free(text);
        json_decref(run.arr);
    }
    xsc_close(xs);
    return sel.rc;
}
