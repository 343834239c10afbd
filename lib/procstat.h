/* A process's or thread's scheduler facts from /proc, for the listings
 * (stubctl vcpu-list, stubvmm's control request `vcpus`). */
#ifndef STUBVISOR_PROCSTAT_H
#define STUBVISOR_PROCSTAT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_sched {
    char state;        /* the kernel's letter: R running, S sleeping, ... */
    int cpu;           /* the CPU it last ran on */
    uint64_t cpu_us;   /* user + system time */
    char affinity[64]; /* the CPUs it may run on, as a list: "0-3,6" */
};

/* Read a small file (a /proc entry) into buf, NUL-terminated, at most
 * len - 1 bytes.  Returns the bytes read or -errno (-EIO when empty). */
ssize_t proc_read_small(const char *path, char *buf, size_t len);

/* Read /proc/<which>/stat and /proc/<which>/status, where which is "PID"
 * or "self/task/TID".  Returns 0 or -errno (gone, unreadable, or not what
 * the kernel writes). */
int proc_sched_read(const char *which, struct proc_sched *out);

#endif
