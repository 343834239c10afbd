/* The stub domain sandbox: how the monitor spawns a device model, and how the
 * device model locks itself down once it is set up (docs/design.md §7,
 * docs/sandbox.md).
 *
 * Typical use in the monitor (single-threaded spawn from the main thread,
 * because the child's parent-death signal follows the spawning *thread*):
 *
 *     struct sandbox_spec spec = {
 *         .level = SANDBOX_STUBDOM, .name = "web1-dm", .exe_fd = stubdm_fd,
 *         .argv = argv, .fds = fds, .nfds = nfds, .log_fd = log_fd,
 *     };
 *     struct sandbox_child child;
 *     int rc = sandbox_spawn(&spec, &child);      // child.pid, child.pidfd
 *     ...                                          // poll child.pidfd
 *     waitpid(child.pid, &status, 0);
 *     sandbox_child_cpu_usage(&child, &usec);     // optional, before dispose
 *     sandbox_child_dispose(&child);
 *
 * and in the device model, after every descriptor, mapping and thread it
 * needs exists and before it reads its first I/O request:
 *
 *     if (sandbox_lockdown() < 0) die(...);
 */
#ifndef STUBVISOR_SANDBOX_H
#define STUBVISOR_SANDBOX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum sandbox_level {
    /* 'process' placement: a plain separate process with only the listed
     * descriptors and a clean environment; no namespaces, no limits. */
    SANDBOX_NONE,
    /* The full stub domain sandbox: user/mount/PID/net/IPC/UTS/cgroup
     * namespaces, empty read-only root, no capabilities, no_new_privs,
     * resource limits, its own cgroup where the host offers one. */
    SANDBOX_STUBDOM,
};

/* Longest name accepted in sandbox_spec.name (without the NUL). */
#define SANDBOX_NAME_MAX 63
/* Most descriptors one child may be handed (sandbox_spec.nfds). */
#define SANDBOX_MAX_FDS 256
/* Memory limit used when sandbox_spec.memory_limit is 0 (256 MiB; 1 GiB in
 * sanitizer builds, whose shadow memory and quarantine need more). */
#define SANDBOX_DEFAULT_MEMORY_LIMIT ((uint64_t)256 << 20)
/* Threads (RLIMIT_NPROC within the child's user namespace, pids.max). */
#define SANDBOX_MAX_THREADS 64
/* Descriptors the child may open on top of those it was handed
 * (RLIMIT_NOFILE = 3 + nfds + this).  A device model of the largest guest
 * (8 disks, 4 NICs, console, RNG, 8 vCPUs) makes about 75: an ioeventfd per
 * queue, an eventfd per MSI-X vector, the PIIX's 8, epoll, timerfd, and
 * the ioreq memfd and eventfds it receives. */
#define SANDBOX_EXTRA_FDS 128
/* The sandbox's uid/gid 0 is mapped to host id SANDBOX_HOST_ID_BASE + the
 * child's host pid: unique among live sandboxes, unused on the host, and
 * never root or nobody (see docs/sandbox.md). */
#define SANDBOX_HOST_ID_BASE 0x70000000u

struct sandbox_spec {
    enum sandbox_level level;
    /* e.g. "web1-dm": used for the cgroup name, the hostname (UTS namespace)
     * and log messages.  1..SANDBOX_NAME_MAX characters of [A-Za-z0-9._-],
     * not starting with '.'; anything else is rejected with -EINVAL. */
    const char *name;
    /* The device model binary, typically opened O_PATH|O_CLOEXEC by the
     * caller early (before any untrusted input).  The child executes it
     * through this descriptor (execveat AT_EMPTY_PATH), never by path.  The
     * caller keeps ownership. */
    int exe_fd;
    /* NULL-terminated; argv[0] = "stubdm".  Not copied; only read during
     * sandbox_spawn(). */
    char *const *argv;
    /* fds[i] becomes descriptor 3 + i in the child, in this order.  Every
     * other descriptor is closed at exec; stdin and stdout are /dev/null.
     * The caller keeps ownership of its copies. */
    const int *fds;
    size_t nfds;
    /* Becomes the child's stderr (descriptor 2); -1: /dev/null. */
    int log_fd;
    /* SANDBOX_STUBDOM: bytes of memory the child may charge (its cgroup's
     * memory limit) and its private memory (RLIMIT_DATA: heap, stacks,
     * private mappings; shared mappings such as guest RAM are not
     * counted).  0 = SANDBOX_DEFAULT_MEMORY_LIMIT. */
    uint64_t memory_limit;
    /* SANDBOX_STUBDOM: RLIMIT_AS in bytes, 0 = none.  Must cover every
     * mapping, including the guest RAM the device model maps, so only the
     * caller can size it.  Ignored in sanitizer builds. */
    uint64_t address_space_limit;
};

enum sandbox_cgroup_mode {
    SANDBOX_CGROUP_NONE, /* no usable cgroup: limits by rlimits, accounting via /proc */
    SANDBOX_CGROUP_V1,   /* separate memory, pids, cpuacct hierarchies */
    SANDBOX_CGROUP_V2,   /* the unified hierarchy */
};

/* Longest cgroup directory path kept in sandbox_child. */
#define SANDBOX_CGROUP_PATH_MAX 512
/* Index in sandbox_child.cgroup_path: v2 uses [0] only; v1 one per controller. */
enum { SANDBOX_CG_MEMORY, SANDBOX_CG_PIDS, SANDBOX_CG_CPUACCT, SANDBOX_CG_DIRS };

/* What sandbox_spawn() fills in.  Plain data: may be copied. */
struct sandbox_child {
    pid_t pid; /* host pid, for waitpid() */
    int pidfd; /* pidfd of the child (readable once it exits), owned by this struct */
    enum sandbox_level level;
    uint32_t host_id; /* host uid/gid of the sandbox's root (SANDBOX_STUBDOM), else 0 */
    enum sandbox_cgroup_mode cgroup_mode;
    /* Full paths of the child's cgroup directories (e.g.
     * "/sys/fs/cgroup/memory/stubvisor/web1-dm.1234.1"): v2: [0]; v1:
     * [SANDBOX_CG_MEMORY], [SANDBOX_CG_PIDS], [SANDBOX_CG_CPUACCT], ""
     * where that controller is not mounted.  All "" without a cgroup. */
    char cgroup_path[SANDBOX_CG_DIRS][SANDBOX_CGROUP_PATH_MAX];
};

/* Spawn spec->argv from spec->exe_fd at spec->level and fill in *child.
 * Returns 0, or -errno with nothing left behind (no process, no cgroup, no
 * descriptor).  Failures are logged as "sandbox: <name>: <step>: <strerror>"
 * (steps that run in the child report the step and errno back through a
 * socket before the exec).  -EINVAL: bad spec.  Needs root (or CAP_SYS_ADMIN and
 * friends) for SANDBOX_STUBDOM.
 *
 * The child gets SIGKILL when the calling *thread* exits (PR_SET_PDEATHSIG),
 * so spawn from a thread that lives as long as the child.  In SANDBOX_STUBDOM
 * the child is PID 1 of its own PID namespace: it ignores every signal it
 * has no handler for, except SIGKILL/SIGSTOP; stop it with SIGKILL (or give
 * it a SIGTERM handler).  The caller reaps the child (waitpid / pidfd). */
int sandbox_spawn(const struct sandbox_spec *spec, struct sandbox_child *child);

/* CPU time (user + system) consumed by the child so far, in microseconds:
 * from its cgroup (cpu.stat usage_usec on v2, cpuacct.usage on v1) when it
 * has one, which still counts after the child was reaped; else from
 * /proc/<pid>/stat, which only works until it is reaped.  Returns 0 or
 * -errno. */
int sandbox_child_cpu_usage(const struct sandbox_child *child, uint64_t *usec);

/* The same through a descriptor opened beforehand, for a caller that may
 * not open files when it asks (a monitor under its own seccomp filter):
 * sandbox_child_cpu_open() opens the file sandbox_child_cpu_usage() would
 * read (do it right after the spawn) and returns the descriptor, which is
 * the caller's to close, or -errno; sandbox_child_cpu_read() reads it
 * afresh each time. */
int sandbox_child_cpu_open(const struct sandbox_child *child);
int sandbox_child_cpu_read(const struct sandbox_child *child, int fd, uint64_t *usec);

/* Release what sandbox_spawn() created, after the caller has reaped the
 * child: remove its cgroup directories and close its pidfd.  Idempotent;
 * safe on a zero-filled struct whose pidfd is -1. */
void sandbox_child_dispose(struct sandbox_child *child);

/* The same for a caller that can no longer remove directories (a monitor
 * under its own seccomp filter): close the pidfd and forget the cgroup
 * directories, which stay, empty, until sandbox_cgroup_sweep() runs in a
 * process that outlives the caller (the toolstack), or the next spawn next
 * to them sweeps them. */
void sandbox_child_release(struct sandbox_child *child);

/* Remove the empty cgroup directories of device models whose monitor no
 * longer runs, in the hierarchies sandbox_spawn() would use from this
 * process's cgroup.  Best effort and quiet; creates nothing. */
void sandbox_cgroup_sweep(void);

/* Called by the device model itself, after its set-up and before it reads
 * its first I/O request: installs the seccomp allow-list (libseccomp,
 * applied to every thread of the process) and sets no_new_privs.  From then
 * on it can read/write/poll its descriptors, map memory without PROT_EXEC,
 * use futexes, clocks and threads, and exit; open/socket/ptrace/kill/exec
 * mappings fail with EPERM, and any system call not on the list kills the
 * process (SIGSYS).  The full list is in docs/sandbox.md.  So create every
 * epoll instance, eventfd, timerfd and mapping with PROT_EXEC (none) and
 * open every file before calling it.  Returns 0 or -errno (nothing
 * installed on error). */
int sandbox_lockdown(void);

/* How many system calls sandbox_lockdown()'s filter allows (with or without
 * conditions on their arguments), without installing it; -errno on error.
 * For reports next to other filters' counts. */
int sandbox_lockdown_count(void);

/* Whether the ELF executable behind fd (O_PATH is fine) has a program
 * interpreter (PT_INTERP), i.e. is dynamically linked.  1 yes, 0 no,
 * -errno on error (-ENOEXEC: not a 64-bit ELF of this machine).  Used to
 * decide the test-build library mounts; exposed for tests. */
int sandbox_exe_is_dynamic(int fd);

#endif
