/* sandbox_spawn(): fork the device model into its sandbox and exec it through
 * a descriptor.
 *
 * The parent and the child talk over a SOCK_SEQPACKET pair:
 *
 *   parent                              child (clone with new namespaces)
 *   cgroup dirs made, limits set
 *   clone() ------------------------->  PR_SET_PDEATHSIG(SIGKILL); wait for "go"
 *   uid_map/gid_map, cgroup.procs
 *   send "go" ----------------------->  become the mapped uid/gid, hostname,
 *                                       empty root, rlimits, descriptors,
 *                                       capabilities, no_new_privs
 *   recv(): 0 bytes = exec happened <-  execveat(exe_fd) closes its end (CLOEXEC)
 *           a report = step + errno <-  or: report the failing step, _exit(127)
 *
 * Waiting for "go" also tells the child that the parent is still alive after
 * it set its death signal: if the parent died first, recv() sees end of file
 * and the child exits.  Between clone() and exec the child runs on a copy of
 * a possibly multi-threaded parent, so it makes system calls only: no malloc,
 * no stdio, nothing that takes a lock.  Everything it needs (environment,
 * paths) is prepared by the parent beforehand. */
#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/securebits.h>

#include "lib/fdio.h"
#include "lib/log.h"
#include "sandbox/cgroup.h"
#include "sandbox/internal.h"

/* Where the new root is built before pivot_root(): any directory that
 * exists on every host will do, since the tmpfs mounted over it is only
 * visible in the child's own mount namespace. */
#define NEWROOT "/tmp"

/* Library directories bind-mounted read-only for a dynamic (sanitizer)
 * build; symbolic links among them (merged /usr) are recreated as links. */
static const char *const lib_dirs[] = {"/lib", "/lib64", "/usr/lib", "/usr/lib64"};
#define NLIB_DIRS (sizeof(lib_dirs) / sizeof(lib_dirs[0]))

struct lib_entry {
    bool present, is_link;
    char dst[128];  /* NEWROOT + path */
    char link[128]; /* target, when is_link */
};

#define MAX_ENV 4

struct child_args {
    const struct sandbox_spec *spec;
    int sock, devnull;
    char *envp[MAX_ENV + 1];
    bool dynamic;
    struct lib_entry libs[NLIB_DIRS];
    uint64_t memory_limit;
};

struct child_report {
    int err;
    char step[60];
};

static noreturn void child_fail(int sock, const char *step, int err)
{
    struct child_report rep = {.err = err ? err : EIO};
    for (size_t i = 0; step[i] && i < sizeof(rep.step) - 1; i++)
        rep.step[i] = step[i];
    ssize_t r = send(sock, &rep, sizeof(rep), MSG_NOSIGNAL);
    (void)r;
    _exit(127);
}

#define TRY(expr, step)                                                                            \
    do {                                                                                           \
        if ((expr) < 0)                                                                            \
            child_fail(sock, step, errno);                                                         \
    } while (0)

static int set_limit(int resource, rlim_t value)
{
    struct rlimit rl = {.rlim_cur = value, .rlim_max = value};
    return setrlimit(resource, &rl);
}

/* Mount an empty tmpfs, bind the library directories into it if the binary
 * is dynamic, make it the root and seal it read-only. */
static void child_empty_root(const struct child_args *a, int sock)
{
    TRY(mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL), "make mounts private");
    TRY(mount("stubdom", NEWROOT, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "mode=0555,size=16k,nr_inodes=16"),
        "mount tmpfs root");
    if (a->dynamic) {
        TRY(chmod(NEWROOT, 0755), "chmod new root");
        if (mkdir(NEWROOT "/usr", 0755) < 0 && errno != EEXIST)
            child_fail(sock, "mkdir /usr in new root", errno);
        for (size_t i = 0; i < NLIB_DIRS; i++) {
            const struct lib_entry *e = &a->libs[i];
            if (!e->present)
                continue;
            if (e->is_link) {
                TRY(symlink(e->link, e->dst), "symlink library directory");
                continue;
            }
            TRY(mkdir(e->dst, 0755), "mkdir library directory");
            TRY(mount(lib_dirs[i], e->dst, NULL, MS_BIND | MS_REC, NULL),
                "bind-mount library directory");
            struct mount_attr attr = {
                .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
            };
            TRY(mount_setattr(AT_FDCWD, e->dst, AT_RECURSIVE, &attr, sizeof(attr)),
                "make library directory read-only");
        }
    }
    TRY(chdir(NEWROOT), "chdir new root");
    /* pivot_root(".", "."): the old root ends up on top of the new one and
     * is detached right away, so no path leads back to the host. */
    TRY(syscall(SYS_pivot_root, ".", "."), "pivot_root");
    TRY(umount2(".", MNT_DETACH), "detach old root");
    TRY(chdir("/"), "chdir /");
    TRY(mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL),
        "remount root read-only");
}

static void child_limits(const struct child_args *a, int sock)
{
    TRY(set_limit(RLIMIT_CORE, 0), "setrlimit(RLIMIT_CORE)");
    TRY(set_limit(RLIMIT_NPROC, SANDBOX_MAX_THREADS), "setrlimit(RLIMIT_NPROC)");
    TRY(set_limit(RLIMIT_MEMLOCK, 0), "setrlimit(RLIMIT_MEMLOCK)");
    TRY(set_limit(RLIMIT_MSGQUEUE, 0), "setrlimit(RLIMIT_MSGQUEUE)");
    TRY(set_limit(RLIMIT_NICE, 0), "setrlimit(RLIMIT_NICE)");
    TRY(set_limit(RLIMIT_RTPRIO, 0), "setrlimit(RLIMIT_RTPRIO)");
    if (!SANDBOX_ASAN) {
        /* ASan's shadow is terabytes of private mappings: no AS/DATA limit. */
        TRY(set_limit(RLIMIT_DATA, a->memory_limit), "setrlimit(RLIMIT_DATA)");
        if (a->spec->address_space_limit)
            TRY(set_limit(RLIMIT_AS, a->spec->address_space_limit), "setrlimit(RLIMIT_AS)");
    }
    /* RLIMIT_FSIZE stays: the device model writes to disk image files. */
}

static void child_drop_privileges(int sock)
{
    TRY(prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                                     SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
                                     SECBIT_NO_CAP_AMBIENT_RAISE |
                                     SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED),
        "prctl(PR_SET_SECUREBITS)");
    for (unsigned long cap = 0; cap < 64; cap++) {
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
            if (errno == EINVAL)
                break;
            child_fail(sock, "prctl(PR_CAPBSET_DROP)", errno);
        }
    }
    TRY(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clear ambient capabilities");
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct data[2] = {{0}};
    TRY(syscall(SYS_capset, &hdr, data), "capset");
    TRY(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)");
}

static noreturn void child_main(struct child_args *a)
{
    const struct sandbox_spec *spec = a->spec;
    int sock = a->sock;
    int above = 3 + (int)spec->nfds;
    int moved[SANDBOX_MAX_FDS];
    int exe, devnull, logfd = -1;
    char go;

    TRY(prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)");
    ssize_t n = recv(sock, &go, 1, 0);
    if (n != 1)
        _exit(127); /* the parent is gone or gave up: nobody to report to */
    if (spec->level == SANDBOX_STUBDOM) {
        /* A new user namespace does not change who we are on the host
         * (still host root): become the mapped id for real.  Changing the
         * effective uid clears the parent-death signal, so set it again,
         * then make sure the parent did not die in between (it keeps its
         * end of the socket open until our exec). */
        TRY(setresgid(0, 0, 0), "setresgid");
        TRY(setresuid(0, 0, 0), "setresuid");
        TRY(prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)");
        if (recv(sock, &go, 1, MSG_DONTWAIT) == 0)
            _exit(127);
    }
    TRY(setsid(), "setsid");

    if (spec->level == SANDBOX_STUBDOM) {
        TRY(sethostname(spec->name, strlen(spec->name)), "sethostname");
        child_empty_root(a, sock);
        child_limits(a, sock);
    }

    /* Descriptors: first move everything we still need above the target
     * range 0..2+nfds (close-on-exec), then dup2 each into place, then mark
     * the rest close-on-exec; the report socket lives until the exec. */
    TRY(sock = fcntl(sock, F_DUPFD_CLOEXEC, above), "move descriptors");
    TRY(exe = fcntl(spec->exe_fd, F_DUPFD_CLOEXEC, above), "move descriptors");
    TRY(devnull = fcntl(a->devnull, F_DUPFD_CLOEXEC, above), "move descriptors");
    if (spec->log_fd >= 0)
        TRY(logfd = fcntl(spec->log_fd, F_DUPFD_CLOEXEC, above), "move descriptors");
    for (size_t i = 0; i < spec->nfds; i++)
        TRY(moved[i] = fcntl(spec->fds[i], F_DUPFD_CLOEXEC, above), "move descriptors");
    TRY(dup2(devnull, 0), "dup2 stdin");
    TRY(dup2(devnull, 1), "dup2 stdout");
    TRY(dup2(logfd >= 0 ? logfd : devnull, 2), "dup2 stderr");
    for (size_t i = 0; i < spec->nfds; i++)
        TRY(dup2(moved[i], 3 + (int)i), "dup2 listed descriptor");
    TRY(syscall(SYS_close_range, (unsigned)above, ~0U, CLOSE_RANGE_CLOEXEC),
        "close_range(CLOSE_RANGE_CLOEXEC)");

    if (spec->level == SANDBOX_STUBDOM) {
        TRY(set_limit(RLIMIT_NOFILE, (rlim_t)above + SANDBOX_EXTRA_FDS),
            "setrlimit(RLIMIT_NOFILE)");
        child_drop_privileges(sock);
    }

    execveat(exe, "", spec->argv, a->envp, AT_EMPTY_PATH);
    child_fail(sock, "exec", errno);
}

static bool valid_name(const char *name)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > SANDBOX_NAME_MAX || name[0] == '.')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static int validate(const struct sandbox_spec *spec)
{
    if (spec->level != SANDBOX_NONE && spec->level != SANDBOX_STUBDOM) {
        log_error("sandbox: unknown level %d", (int)spec->level);
        return -EINVAL;
    }
    if (!valid_name(spec->name)) {
        log_error("sandbox: invalid name (1-%d of [A-Za-z0-9._-], not starting with '.')",
                  SANDBOX_NAME_MAX);
        return -EINVAL;
    }
    if (!spec->argv || !spec->argv[0]) {
        log_error("sandbox: %s: empty argv", spec->name);
        return -EINVAL;
    }
    if (spec->nfds > SANDBOX_MAX_FDS || (spec->nfds && !spec->fds)) {
        log_error("sandbox: %s: too many descriptors (%zu, at most %d)", spec->name, spec->nfds,
                  SANDBOX_MAX_FDS);
        return -EINVAL;
    }
    if (spec->exe_fd < 0 || fcntl(spec->exe_fd, F_GETFD) < 0) {
        log_error("sandbox: %s: executable descriptor: %s", spec->name, strerror(EBADF));
        return -EBADF;
    }
    if (spec->log_fd >= 0 && fcntl(spec->log_fd, F_GETFD) < 0) {
        log_error("sandbox: %s: log descriptor: %s", spec->name, strerror(EBADF));
        return -EBADF;
    }
    for (size_t i = 0; i < spec->nfds; i++) {
        if (spec->fds[i] < 0 || fcntl(spec->fds[i], F_GETFD) < 0) {
            log_error("sandbox: %s: descriptor #%zu (%d): %s", spec->name, i, spec->fds[i],
                      strerror(EBADF));
            return -EBADF;
        }
    }
    return 0;
}

/* The child's environment: nothing but the debug switch and, in sanitizer
 * builds, the sanitizer options with LeakSanitizer forced off (it cannot
 * work under seccomp: it ptraces the process from a helper thread). */
static int build_env(struct child_args *a)
{
    size_t n = 0;
    const char *v;

    if ((v = getenv("STUBVISOR_DEBUG")) && asprintf(&a->envp[n++], "STUBVISOR_DEBUG=%s", v) < 0)
        goto nomem;
    if (SANDBOX_ASAN) {
        v = getenv("ASAN_OPTIONS");
        if (asprintf(&a->envp[n++], "ASAN_OPTIONS=%s%sdetect_leaks=0", v ? v : "",
                     v && *v ? ":" : "") < 0)
            goto nomem;
        if ((v = getenv("UBSAN_OPTIONS")) && asprintf(&a->envp[n++], "UBSAN_OPTIONS=%s", v) < 0)
            goto nomem;
    }
    a->envp[n] = NULL;
    return 0;
nomem:
    a->envp[n - 1] = NULL;
    return -ENOMEM;
}

static void free_env(struct child_args *a)
{
    for (size_t i = 0; i < MAX_ENV && a->envp[i]; i++) {
        free(a->envp[i]);
        a->envp[i] = NULL;
    }
}

static void prepare_libs(struct child_args *a)
{
    for (size_t i = 0; i < NLIB_DIRS; i++) {
        struct lib_entry *e = &a->libs[i];
        struct stat st;
        memset(e, 0, sizeof(*e));
        if (lstat(lib_dirs[i], &st) < 0)
            continue;
        snprintf(e->dst, sizeof(e->dst), NEWROOT "%s", lib_dirs[i]);
        if (S_ISLNK(st.st_mode)) {
            ssize_t n = readlink(lib_dirs[i], e->link, sizeof(e->link) - 1);
            if (n <= 0)
                continue;
            e->link[n] = '\0';
            e->is_link = true;
        } else if (!S_ISDIR(st.st_mode)) {
            continue;
        }
        e->present = true;
    }
}

static int write_proc(pid_t pid, const char *file, const char *text)
{
    char path[64];
    int fd, rc = 0;

    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (write_full(fd, text, strlen(text)) < 0)
        rc = -errno;
    close(fd);
    return rc;
}

/* Map the sandbox's root to one unprivileged host id, without supplementary
 * groups.  Written from the parent: the child has no privilege on the host. */
static int map_ids(pid_t pid, uint32_t host_id, const char **step)
{
    char map[64];
    int rc;

    snprintf(map, sizeof(map), "0 %u 1\n", host_id);
    *step = "write setgroups";
    if ((rc = write_proc(pid, "setgroups", "deny")) < 0)
        return rc;
    *step = "write gid_map";
    if ((rc = write_proc(pid, "gid_map", map)) < 0)
        return rc;
    *step = "write uid_map";
    return write_proc(pid, "uid_map", map);
}

static void reap(pid_t pid)
{
    while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
        ;
}

int sandbox_spawn(const struct sandbox_spec *spec, struct sandbox_child *child)
{
    struct child_args a = {.spec = spec, .sock = -1, .devnull = -1};
    int sv[2] = {-1, -1}, pidfd = -1, rc;
    pid_t pid = -1;
    const char *step = "prepare";
    const bool stubdom = spec->level == SANDBOX_STUBDOM;

    memset(child, 0, sizeof(*child));
    child->pid = -1;
    child->pidfd = -1;
    rc = validate(spec);
    if (rc < 0)
        return rc;
    const char *name = spec->name;

    rc = build_env(&a);
    if (rc < 0)
        goto out_log;
    a.memory_limit = spec->memory_limit
                         ? spec->memory_limit
                         : (SANDBOX_ASAN ? (uint64_t)1 << 30 : SANDBOX_DEFAULT_MEMORY_LIMIT);
    if (stubdom) {
        step = "read executable";
        rc = sandbox_exe_is_dynamic(spec->exe_fd);
        if (rc < 0)
            goto out_log;
        a.dynamic = rc == 1;
        if (a.dynamic)
            prepare_libs(&a);
    }
    step = "open /dev/null";
    a.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (a.devnull < 0) {
        rc = -errno;
        goto out_log;
    }
    step = "socketpair";
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        rc = -errno;
        goto out_log;
    }
    a.sock = sv[1];
    if (stubdom) {
        rc = sandbox_cgroup_create(child, name, a.memory_limit, SANDBOX_MAX_THREADS, &step);
        if (rc < 0)
            goto out_log;
    }

    unsigned long flags = SIGCHLD | CLONE_PIDFD;
    if (stubdom)
        flags |= CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
                 CLONE_NEWUTS | CLONE_NEWCGROUP;
    step = "clone";
    pid = (pid_t)syscall(SYS_clone, flags, NULL, &pidfd, NULL, 0);
    if (pid < 0) {
        rc = -errno;
        pid = -1;
        goto out_log;
    }
    if (pid == 0)
        child_main(&a);

    close(sv[1]);
    sv[1] = -1;
    if (stubdom) {
        child->host_id = SANDBOX_HOST_ID_BASE + (uint32_t)pid;
        rc = map_ids(pid, child->host_id, &step);
        if (rc < 0)
            goto out_log;
        step = "cgroup: add process";
        rc = sandbox_cgroup_attach(child, pid);
        if (rc < 0)
            goto out_log;
    }
    step = "start child";
    if (send(sv[0], "g", 1, MSG_NOSIGNAL) != 1) {
        rc = -errno;
        goto out_log;
    }

    struct child_report rep;
    ssize_t n;
    do {
        n = recv(sv[0], &rep, sizeof(rep), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        step = "wait for exec";
        rc = -errno;
        goto out_log;
    }
    if (n > 0) {
        rep.step[sizeof(rep.step) - 1] = '\0';
        step = rep.step;
        rc = n == sizeof(rep) && rep.err > 0 ? -rep.err : -EPROTO;
        log_error("sandbox: %s: %s: %s", name, step, strerror(-rc));
        goto out;
    }

    child->pid = pid;
    child->pidfd = pidfd;
    child->level = spec->level;
    pidfd = -1;
    pid = -1;
    rc = 0;
    goto out;

out_log:
    log_error("sandbox: %s: %s: %s", name, step, strerror(-rc));
out:
    if (pid > 0) {
        kill(pid, SIGKILL);
        reap(pid);
    }
    if (rc < 0) {
        sandbox_cgroup_remove(child);
        child->cgroup_mode = SANDBOX_CGROUP_NONE;
        child->host_id = 0;
    }
    close_quietly(pidfd);
    close_quietly(sv[0]);
    close_quietly(sv[1]);
    close_quietly(a.devnull);
    free_env(&a);
    return rc;
}

/* CPU time from /proc/<pid>/stat (utime + stime), for children without a
 * cgroup.  The pidfd guards against opening a recycled pid's file; a
 * descriptor opened while the child was ours reads that child only (and
 * fails once it is reaped). */
static int proc_cpu_open(const struct sandbox_child *child)
{
    char path[64];
    int fd;

    if (syscall(SYS_pidfd_send_signal, child->pidfd, 0, NULL, 0) < 0)
        return -errno;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)child->pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (syscall(SYS_pidfd_send_signal, child->pidfd, 0, NULL, 0) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

static int proc_cpu_read(int fd, uint64_t *usec)
{
    char buf[1024];
    unsigned long long utime, stime;
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

    if (n <= 0)
        return n < 0 ? -errno : -EPROTO;
    buf[n] = '\0';
    /* The command name may hold anything, so skip to its closing ')'. */
    const char *p = strrchr(buf, ')');
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                     &stime) != 2)
        return -EPROTO;
    long tck = sysconf(_SC_CLK_TCK);
    *usec = (utime + stime) * (1000000ULL / (unsigned long long)(tck > 0 ? tck : 100));
    return 0;
}

int sandbox_child_cpu_open(const struct sandbox_child *child)
{
    int fd = sandbox_cgroup_cpu_open(child);

    if (fd != -ENOENT || child->pidfd < 0)
        return fd;
    return proc_cpu_open(child);
}

int sandbox_child_cpu_read(const struct sandbox_child *child, int fd, uint64_t *usec)
{
    int rc = sandbox_cgroup_cpu_read(child, fd, usec);

    return rc == -ENOENT ? proc_cpu_read(fd, usec) : rc;
}

int sandbox_child_cpu_usage(const struct sandbox_child *child, uint64_t *usec)
{
    int fd = sandbox_child_cpu_open(child), rc;

    if (fd < 0)
        return fd;
    rc = sandbox_child_cpu_read(child, fd, usec);
    close(fd);
    return rc;
}

void sandbox_child_release(struct sandbox_child *child)
{
    for (int i = 0; i < SANDBOX_CG_DIRS; i++)
        child->cgroup_path[i][0] = '\0';
    child->cgroup_mode = SANDBOX_CGROUP_NONE;
    close_quietly(child->pidfd);
    child->pidfd = -1;
}

void sandbox_child_dispose(struct sandbox_child *child)
{
    sandbox_cgroup_remove(child);
    child->cgroup_mode = SANDBOX_CGROUP_NONE;
    close_quietly(child->pidfd);
    child->pidfd = -1;
}
