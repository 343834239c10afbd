/* What list, uptime, top and vcpu-list show of a domain: the store's
 * nodes, stubvmm's `status` over the control socket, and the host's /proc
 * for memory (dominfo.c). */
#ifndef STUBVISOR_CTL_DOMINFO_H
#define STUBVISOR_CTL_DOMINFO_H

#include <stdbool.h>

#include "ctl/stubctl.h"

struct dominfo {
    unsigned domid, dm_domid;               /* dm_domid 0: inline, no stub domain */
    char *name, *uuid;                      /* malloc'd; NULL when the store has none */
    char placement[16];                     /* stubdom, process, inline */
    unsigned long long mem_kib, dm_mem_kib; /* memory/target of each */
    unsigned vcpus;
    char state[8], dm_state[8]; /* xl's six letters, "r-----" */
    bool answered;              /* stubvmm answered `status` */
    double cpu_s, dm_cpu_s;
    int pid, dm_pid;                        /* stubvmm's and the device model's (0: none) */
    unsigned long long rss_kib, dm_rss_kib; /* resident memory of each process */
    double start_time;                      /* /vm/<uuid>/start_time, 0 unknown */
    char reason[200];                       /* why it is paused or stopped */
};

/* Fill d for guest domid (stubvmm asked once).  Free with
 * ctl_dominfo_dispose. */
void ctl_dominfo_get(struct xsc *xs, unsigned domid, struct dominfo *d);
void ctl_dominfo_dispose(struct dominfo *d);

/* The guests' domain ids, ascending (stub domains left out), in a
 * malloc'd array; returns how many (0 with *ids NULL when none or no
 * store). */
unsigned ctl_guest_ids(struct xsc *xs, unsigned **ids);

/* Whether a guest given by the user (name or id) is domain id with name. */
bool ctl_domain_matches(const char *arg, unsigned domid, const char *name);

/* The domains the DOMAIN... arguments of a listing command (list, uptime,
 * vcpu-list) name: none means every domain.  Each argument must name a
 * domain list shows (a message and rc = 1 otherwise). */
struct dom_selection {
    int nargs;
    char **args;
    bool domain0; /* Domain-0's rows are wanted */
    int rc;       /* 1 when an argument named no domain */
};
void ctl_select(struct xsc *xs, int nargs, char **args, struct dom_selection *sel);

/* Call fn for every guest, ascending ids, whose rows sel wants: guest for
 * its own, dm for its stub domain's (only when it has one). */
typedef void ctl_dominfo_fn(struct xsc *xs, const struct dominfo *d, bool guest, bool dm,
                            void *opaque);
void ctl_dominfo_each(struct xsc *xs, const struct dom_selection *sel, ctl_dominfo_fn *fn,
                      void *opaque);

/* The host: memory in KiB (MemTotal, MemAvailable), CPU time of every CPU
 * in seconds (cpu = -1) or of one, the number of online CPUs, seconds
 * since boot. */
void ctl_host_memory(unsigned long long *total_kib, unsigned long long *free_kib);
double ctl_host_cpu_s(int cpu);
unsigned ctl_host_cpus(void);
double ctl_host_uptime(void);

/* Resident memory of a process in KiB (0 if it is gone). */
unsigned long long ctl_process_rss_kib(int pid);

#endif
