/* `stubctl vcpu-list [DOMAIN...]`: xl's columns, one row per vCPU.
 *
 *   Domain-0    one row per host CPU (its busy time from /proc/stat);
 *   a guest     one row per vCPU, from stubvmm's control request `vcpus`
 *               (each vCPU is a thread of stubvmm: its state, the host CPU
 *               it last ran on, its CPU time and affinity);
 *   <guest>-dm  one row, VCPU "-": the device model process, which has no
 *               vCPU of its own but runs somewhere and costs CPU time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/dominfo.h"
#include "lib/log.h"
#include "lib/procstat.h"

#define VCPUS_REPLY_MAX 8192 /* stubvmm's CONTROL_VCPUS_REPLY_MAX */

static void header(void)
{
    printf("%-32s %5s %5s %5s %5s %9s  %s\n", "Name", "ID", "VCPU", "CPU", "State", "Time(s)",
           "Affinity (Hard / Soft)");
}

static void row(const char *name, unsigned id, const char *vcpu, int cpu, const char *state,
                double time_s, const char *affinity)
{
    char cpu_s[16];

    if (cpu >= 0)
        snprintf(cpu_s, sizeof(cpu_s), "%d", cpu);
    else
        snprintf(cpu_s, sizeof(cpu_s), "-");
    printf("%-32s %5u %5s %5s %5s %9.1f  %s / all\n", name, id, vcpu, cpu_s, state, time_s,
           affinity);
}

/* xl's three letters from stubvmm's one: r running, b blocked, p paused. */
static const char *state_letters(char c)
{
    return c == 'r' ? "r--" : c == 'b' ? "-b-" : c == 'p' ? "--p" : "---";
}

static void domain0_rows(void)
{
    unsigned n = ctl_host_cpus();

    for (unsigned i = 0; i < n; i++) {
        char vcpu[16], aff[16];
        snprintf(vcpu, sizeof(vcpu), "%u", i);
        snprintf(aff, sizeof(aff), "%u", i);
        row("Domain-0", 0, vcpu, (int)i, "r--", ctl_host_cpu_s((int)i), aff);
    }
}

/* Parse stubvmm's `vcpus` reply into rows.  Words it does not understand
 * are skipped: the reply comes from another process. */
static void guest_rows(struct xsc *xs, const struct dominfo *d)
{
    char reply[VCPUS_REPLY_MAX], *save = NULL;
    const char *name = d->name ? d->name : "";

    if (ctl_control(xs, d->domid, "vcpus", reply, sizeof(reply)) != 0) {
        for (unsigned i = 0; i < d->vcpus; i++) {
            char vcpu[16];
            snprintf(vcpu, sizeof(vcpu), "%u", i);
            row(name, d->domid, vcpu, -1, "---", 0, "-");
        }
        return;
    }
    for (char *w = strtok_r(reply, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        unsigned id;
        char st;
        int cpu, used = 0;
        unsigned long long us;
        char aff[64] = "-", vcpu[16];
        if (sscanf(w, "%u:%c:%d:%llu:%n", &id, &st, &cpu, &us, &used) != 4 || !used)
            continue;
        snprintf(aff, sizeof(aff), "%s", w[used] ? w + used : "-");
        snprintf(vcpu, sizeof(vcpu), "%u", id);
        row(name, d->domid, vcpu, cpu, state_letters(st), (double)us / 1e6, aff);
    }
}

/* The device model process: the CPU it last ran on and its state, from
 * /proc (stubctl runs as root, as the device model's parent does). */
static void dm_row(const struct dominfo *d)
{
    struct proc_sched ps = {.cpu = -1, .affinity = "-"};
    char name[80], which[16];
    const char *state = "---";

    snprintf(name, sizeof(name), "%s-dm", d->name ? d->name : "");
    snprintf(which, sizeof(which), "%d", d->dm_pid);
    if (d->dm_pid > 0 && proc_sched_read(which, &ps) == 0)
        state = ps.state == 'R' ? "r--" : "-b-";
    row(name, d->dm_domid, "-", ps.cpu, state, d->dm_cpu_s, ps.affinity);
}

static void vcpu_rows(struct xsc *xs, const struct dominfo *d, bool guest, bool dm, void *opaque)
{
    if (guest)
        guest_rows(xs, d);
    if (dm)
        dm_row(d);
}

int main_vcpu_list(int argc, char **argv)
{
    struct dom_selection sel;
    struct xsc *xs;
    int opt;

    optind = 1;
    while ((opt = ctl_getopt(argc, argv, "", "vcpu-list")) != -1)
        return ctl_opt_exit(opt);
    xs = ctl_store_try_open();
    ctl_select(xs, argc - optind, argv + optind, &sel);
    header();
    if (sel.domain0)
        domain0_rows();
    ctl_dominfo_each(xs, &sel, vcpu_rows, NULL);
    xsc_close(xs);
    return sel.rc;
}
