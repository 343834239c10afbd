/* The stub domain sandbox, checked from outside: spawn sandbox-probe through
 * sandbox_spawn() and look at what the kernel says about it (/proc/<pid>/...,
 * its cgroup), and at what the probe reports from inside (descriptor 3).
 *
 * Usage: test-sandbox PATH-TO-sandbox-probe.  Needs root (skips otherwise). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/fdio.h"
#include "sandbox/sandbox.h"

static const char *probe_path;
static int probe_fd = -1;
static int probe_dynamic;

struct run {
    struct sandbox_child child;
    int sock;
    char out[8192];
    size_t len;
};

static int spawn_probe(enum sandbox_level level, const char *name, char *const *argv,
                       const int *extra, size_t nextra, struct run *r)
{
    int sv[2], fds[8];
    memset(r, 0, sizeof(*r));
    r->sock = -1;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    fds[0] = sv[1];
    for (size_t i = 0; i < nextra; i++)
        fds[1 + i] = extra[i];
    struct sandbox_spec spec = {
        .level = level,
        .name = name,
        .exe_fd = probe_fd,
        .argv = argv,
        .fds = fds,
        .nfds = 1 + nextra,
        .log_fd = STDERR_FILENO,
    };
    int rc = sandbox_spawn(&spec, &r->child);
    close(sv[1]);
    if (rc < 0) {
        close(sv[0]);
        return rc;
    }
    r->sock = sv[0];
    return 0;
}

/* Read the probe's lines until one starts with `until` (or end of file),
 * with a generous bound for slow sanitizer builds. */
static void read_until(struct run *r, const char *until)
{
    for (;;) {
        r->out[r->len] = '\0';
        char *hit = strstr(r->out, until);
        if (hit && (hit == r->out || hit[-1] == '\n') && strchr(hit, '\n'))
            return;
        struct pollfd p = {.fd = r->sock, .events = POLLIN};
        int n = poll(&p, 1, 30000);
        assert_int_equal(n, 1);
        ssize_t got = read(r->sock, r->out + r->len, sizeof(r->out) - 1 - r->len);
        assert_true(got >= 0);
        if (got == 0)
            return;
        r->len += (size_t)got;
    }
}

/* The value of "key=value" in the probe's report, or "" if absent. */
static const char *fact(const struct run *r, const char *key)
{
    static char val[256];
    char pat[64];
    snprintf(pat, sizeof(pat), "%s=", key);
    for (const char *l = r->out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, pat, strlen(pat)) == 0) {
            size_t n = strcspn(l + strlen(pat), "\n");
            snprintf(val, sizeof(val), "%.*s", (int)n, l + strlen(pat));
            return val;
        }
    }
    val[0] = '\0';
    return val;
}

#define assert_fact(r, key, want)                                                                  \
    do {                                                                                           \
        const char *got_ = fact(r, key);                                                           \
        if (strcmp(got_, want) != 0)                                                               \
            fail_msg("%s: expected '%s', got '%s'", key, want, got_);                              \
    } while (0)

static int wait_child(pid_t pid)
{
    int status;
    pid_t w;
    do {
        w = waitpid(pid, &status, 0);
    } while (w < 0 && errno == EINTR);
    assert_int_equal(w, pid);
    return status;
}

/* Let the probe exit, check that it exited 0. */
static void finish(struct run *r)
{
    assert_int_equal(write(r->sock, "x", 1), 1);
    int status = wait_child(r->child.pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("probe: status %#x\n%s", status, r->out);
    close(r->sock);
}

static void read_file(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail_msg("%s: %s", path, strerror(errno));
    ssize_t n = read(fd, buf, len - 1);
    assert_true(n >= 0);
    buf[n] = '\0';
    close(fd);
}

static void expect_status_line(const char *status, const char *line)
{
    if (!strstr(status, line))
        fail_msg("/proc/<pid>/status lacks '%s':\n%s", line, status);
}

/* The descriptors open in pid, as "0,1,2,..."; none may point at a path
 * in `forbidden`. */
static void list_fds(pid_t pid, char *out, size_t len, const char *const *forbidden)
{
    char dir[64];
    int have[256] = {0}, max = -1;
    snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        int fd = atoi(e->d_name);
        assert_true(fd >= 0 && fd < 256);
        have[fd] = 1;
        max = fd > max ? fd : max;
        char path[320], target[256];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        assert_true(n > 0);
        target[n] = '\0';
        for (size_t i = 0; forbidden && forbidden[i]; i++)
            if (strcmp(target, forbidden[i]) == 0)
                fail_msg("child holds descriptor %d -> %s", fd, target);
    }
    closedir(d);
    out[0] = '\0';
    for (int fd = 0; fd <= max; fd++) {
        if (have[fd]) {
            size_t l = strlen(out);
            snprintf(out + l, len - l, "%s%d", l ? "," : "", fd);
        }
    }
}

/* A line of /proc/<pid>/limits: soft and hard both `want`. */
static void expect_limit(const char *limits, const char *name, long long want)
{
    const char *line = strstr(limits, name);
    long long soft, hard;
    if (!line)
        fail_msg("no '%s' in /proc/<pid>/limits", name);
    if (sscanf(line + strlen(name), " %lld %lld", &soft, &hard) != 2 || soft != want ||
        hard != want)
        fail_msg("%s: expected %lld, got: %.60s", name, want, line);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int count_groups(const char *prefix);

/* ---- the full sandbox ---- */

static void check_stubdom(const char *cgroup_mode)
{
    struct run r;
    char self[32], buf[4096], path[SANDBOX_CGROUP_PATH_MAX + 64];
    char real_probe[4096];
    int kvm = open("/dev/kvm", O_RDWR); /* no O_CLOEXEC: it must not leak anyway */
    int marker = open(probe_path, O_RDONLY);
    assert_true(marker >= 0);
    assert_non_null(realpath(probe_path, real_probe));

    setenv("STUBVISOR_CGROUP", cgroup_mode, 1);
    snprintf(self, sizeof(self), "%d", (int)getpid());
    char *argv[] = {"sandbox-probe", "lockdown", self, NULL};
    assert_int_equal(spawn_probe(SANDBOX_STUBDOM, "probe-dm", argv, NULL, 0, &r), 0);
    pid_t pid = r.child.pid;
    assert_true(pid > 0);
    assert_true(r.child.pidfd >= 0);
    read_until(&r, "done=");

    /* From inside: its own namespaces, only descriptors 0-3, and every
     * forbidden call refused. */
    assert_fact(&r, "hostname", "probe-dm");
    assert_fact(&r, "uid", "0");
    assert_fact(&r, "pid", "1");
    assert_fact(&r, "fds", "0,1,2,3");
    assert_fact(&r, "lockdown", "ok");
    static const char *const refused[] = {
        "open",
        "openat",
        "stat",
        "socket",
        "ptrace_traceme",
        "ptrace_attach",
        "kill_host",
        "kill_self",
        "fork",
        "mmap_exec",
        "mmap_shared_anon",
        "mprotect_exec",
        "early_thread_openat",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        assert_fact(&r, refused[i], "EPERM");
    static const char *const allowed[] = {"fstat",   "mmap_rw", "mprotect_ro", "malloc", "printf",
                                          "fprintf", "time",    "nanosleep",   "thread"};
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        assert_fact(&r, allowed[i], "ok");

    /* From outside, while it waits. */
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    read_file(path, buf, sizeof(buf));
    expect_status_line(buf, "Seccomp:\t2\n");
    expect_status_line(buf, "NoNewPrivs:\t1\n");
    expect_status_line(buf, "CapInh:\t0000000000000000\n");
    expect_status_line(buf, "CapPrm:\t0000000000000000\n");
    expect_status_line(buf, "CapEff:\t0000000000000000\n");
    expect_status_line(buf, "CapBnd:\t0000000000000000\n");
    expect_status_line(buf, "CapAmb:\t0000000000000000\n");
    char uid_line[128];
    snprintf(uid_line, sizeof(uid_line), "Uid:\t%u\t%u\t%u\t%u\n", r.child.host_id, r.child.host_id,
             r.child.host_id, r.child.host_id);
    expect_status_line(buf, uid_line);
    assert_true(r.child.host_id >= SANDBOX_HOST_ID_BASE);

    snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
    read_file(path, buf, sizeof(buf));
    char map[64];
    snprintf(map, sizeof(map), "0 %u 1", r.child.host_id);
    char *squeezed = buf; /* "         0 1879048192          1" */
    for (char *from = buf, last = ' '; *from; from++) {
        if (*from == ' ' && last == ' ')
            continue;
        last = *squeezed++ = *from;
    }
    *squeezed = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    if (strncmp(buf, map, strlen(map)) != 0)
        fail_msg("uid_map: expected '%s', got '%s'", map, buf);

    /* Resource limits, as the kernel shows them. */
    snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
    read_file(path, buf, sizeof(buf));
    expect_limit(buf, "Max open files", 3 + 1 + SANDBOX_EXTRA_FDS);
    expect_limit(buf, "Max processes", SANDBOX_MAX_THREADS);
    expect_limit(buf, "Max core file size", 0);
    expect_limit(buf, "Max locked memory", 0);
#if !defined(__SANITIZE_ADDRESS__)
    expect_limit(buf, "Max data size", (long long)SANDBOX_DEFAULT_MEMORY_LIMIT);
#endif

    static const char *const ns[] = {"net", "mnt", "pid", "user", "ipc", "uts", "cgroup"};
    for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
        char mine[128], theirs[128], p[64];
        snprintf(p, sizeof(p), "/proc/self/ns/%s", ns[i]);
        ssize_t a = readlink(p, mine, sizeof(mine) - 1);
        snprintf(p, sizeof(p), "/proc/%d/ns/%s", (int)pid, ns[i]);
        ssize_t b = readlink(p, theirs, sizeof(theirs) - 1);
        assert_true(a > 0 && b > 0);
        mine[a] = theirs[b] = '\0';
        if (strcmp(mine, theirs) == 0)
            fail_msg("namespace %s is shared with the host: %s", ns[i], mine);
    }

    const char *const forbidden[] = {"/dev/kvm", real_probe, NULL};
    list_fds(pid, buf, sizeof(buf), forbidden);
    assert_string_equal(buf, "0,1,2,3");

    /* Its root: empty and read-only (a dynamic sanitizer build also sees
     * the library directories, read-only). */
    snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
    DIR *d = opendir(path);
    assert_non_null(d);
    struct dirent *e;
    int entries = 0;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        entries++;
        if (!probe_dynamic || (strcmp(e->d_name, "lib") != 0 && strcmp(e->d_name, "lib64") != 0 &&
                               strcmp(e->d_name, "usr") != 0))
            fail_msg("unexpected entry in the sandbox root: %s", e->d_name);
    }
    closedir(d);
    if (!probe_dynamic)
        assert_int_equal(entries, 0);
    struct statvfs sv;
    assert_int_equal(statvfs(path, &sv), 0);
    assert_true(sv.f_flag & ST_RDONLY);

    /* Its cgroup. */
    if (strcmp(cgroup_mode, "none") == 0) {
        assert_int_equal(r.child.cgroup_mode, SANDBOX_CGROUP_NONE);
    } else if (strcmp(cgroup_mode, "v2") == 0) {
        assert_int_equal(r.child.cgroup_mode, SANDBOX_CGROUP_V2);
    } else if (exists("/sys/fs/cgroup/memory/memory.limit_in_bytes")) {
        /* This is a v1 host (auto picks v1): limits must be in place. */
        assert_int_equal(r.child.cgroup_mode, SANDBOX_CGROUP_V1);
        snprintf(path, sizeof(path), "%s/memory.limit_in_bytes",
                 r.child.cgroup_path[SANDBOX_CG_MEMORY]);
        read_file(path, buf, sizeof(buf));
        uint64_t want = SANDBOX_DEFAULT_MEMORY_LIMIT;
#if defined(__SANITIZE_ADDRESS__)
        want = (uint64_t)1 << 30;
#endif
        assert_int_equal(strtoull(buf, NULL, 10), want);
        if (r.child.cgroup_path[SANDBOX_CG_PIDS][0]) {
            snprintf(path, sizeof(path), "%s/pids.max", r.child.cgroup_path[SANDBOX_CG_PIDS]);
            read_file(path, buf, sizeof(buf));
            assert_int_equal(atoi(buf), SANDBOX_MAX_THREADS);
        }
    }
    char membership[2048];
    snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
    read_file(path, membership, sizeof(membership));
    for (int i = 0; i < SANDBOX_CG_DIRS; i++) {
        const char *dir = r.child.cgroup_path[i];
        if (!dir[0])
            continue;
        snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
        read_file(path, buf, sizeof(buf));
        assert_int_equal(atoi(buf), pid);
        const char *leaf = strstr(dir, "/stubvisor/");
        assert_non_null(leaf);
        if (!strstr(membership, leaf))
            fail_msg("/proc/%d/cgroup does not show %s:\n%s", (int)pid, leaf, membership);
    }

    uint64_t usec = 0;
    assert_int_equal(sandbox_child_cpu_usage(&r.child, &usec), 0);

    finish(&r);
    if (r.child.cgroup_mode != SANDBOX_CGROUP_NONE) {
        /* Still counted after the child was reaped. */
        assert_int_equal(sandbox_child_cpu_usage(&r.child, &usec), 0);
        assert_true(usec > 0);
    }
    char dirs[SANDBOX_CG_DIRS][SANDBOX_CGROUP_PATH_MAX];
    memcpy(dirs, r.child.cgroup_path, sizeof(dirs));
    sandbox_child_dispose(&r.child);
    assert_int_equal(r.child.pidfd, -1);
    for (int i = 0; i < SANDBOX_CG_DIRS; i++)
        if (dirs[i][0] && exists(dirs[i]))
            fail_msg("cgroup %s still exists after dispose", dirs[i]);
    close_quietly(kvm);
    close(marker);
    unsetenv("STUBVISOR_CGROUP");
}

static void test_stubdom_auto(void **state)
{
    check_stubdom("auto");
}

static void test_stubdom_v2(void **state)
{
    if (!exists("/sys/fs/cgroup/cgroup.procs") && !exists("/sys/fs/cgroup/unified/cgroup.procs"))
        skip();
    check_stubdom("v2");
}

static void test_stubdom_no_cgroup(void **state)
{
    check_stubdom("none");
}

/* Calls that are on neither list kill the whole process with SIGSYS. */
static void test_unlisted_calls_kill(void **state)
{
    static const char *const calls[] = {"uname", "execve", "ioctl", "unshare"};
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        struct run r;
        char *argv[] = {"sandbox-probe", "die", (char *)calls[i], NULL};
        assert_int_equal(spawn_probe(SANDBOX_STUBDOM, "probe-die", argv, NULL, 0, &r), 0);
        read_until(&r, "alive=");
        int status = wait_child(r.child.pid);
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS)
            fail_msg("%s: expected death by SIGSYS, status %#x\n%s", calls[i], status, r.out);
        char want[64];
        snprintf(want, sizeof(want), "locked=%s\n", calls[i]);
        assert_non_null(strstr(r.out, want));
        assert_null(strstr(r.out, "alive="));
        close(r.sock);
        sandbox_child_dispose(&r.child);
    }

    /* abort() is not a seccomp death: as PID 1 the probe ignores its own
     * SIGABRT, and glibc's fallback ends it with SIGSEGV (a sanitizer build
     * reports that and exits 1). */
    struct run r;
    char *argv[] = {"sandbox-probe", "die", "abort", NULL};
    assert_int_equal(spawn_probe(SANDBOX_STUBDOM, "probe-abort", argv, NULL, 0, &r), 0);
    read_until(&r, "alive=");
    int status = wait_child(r.child.pid);
    bool crashed = WIFSIGNALED(status) ? WTERMSIG(status) == SIGABRT || WTERMSIG(status) == SIGSEGV
                                       : WIFEXITED(status) && WEXITSTATUS(status) != 0;
    if (!crashed)
        fail_msg("abort: status %#x\n%s", status, r.out);
    assert_null(strstr(r.out, "alive="));
    close(r.sock);
    sandbox_child_dispose(&r.child);
}

/* A sanitizer build of the device model must still be able to report a bug
 * once locked down (writing the report needs no forbidden call), and then
 * exit rather than be killed by seccomp. */
static void test_sanitizer_report(void **state)
{
#if defined(__SANITIZE_ADDRESS__)
    struct run r;
    int logp[2];
    char *argv[] = {"sandbox-probe", "overflow", NULL};
    assert_int_equal(pipe2(logp, O_CLOEXEC), 0);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    struct sandbox_spec spec = {.level = SANDBOX_STUBDOM,
                                .name = "probe-asan",
                                .exe_fd = probe_fd,
                                .argv = argv,
                                .fds = &sv[1],
                                .nfds = 1,
                                .log_fd = logp[1]};
    memset(&r, 0, sizeof(r));
    assert_int_equal(sandbox_spawn(&spec, &r.child), 0);
    close(sv[1]);
    close(logp[1]);
    r.sock = sv[0];
    read_until(&r, "alive=");
    int status = wait_child(r.child.pid);
    char log[16384];
    size_t len = 0;
    ssize_t n;
    while ((n = read(logp[0], log + len, sizeof(log) - 1 - len)) > 0)
        len += (size_t)n;
    log[len] = '\0';
    if (!WIFEXITED(status) || WEXITSTATUS(status) == 0)
        fail_msg("expected an exit with an error, status %#x\n%s", status, log);
    assert_non_null(strstr(r.out, "locked=overflow"));
    assert_null(strstr(r.out, "alive="));
    if (!strstr(log, "AddressSanitizer: heap-buffer-overflow"))
        fail_msg("no ASan report in the log:\n%s", log);
    close(logp[0]);
    close(r.sock);
    sandbox_child_dispose(&r.child);
#else
    skip();
#endif
}

/* Several device models of the same name side by side: distinct cgroups,
 * distinct host ids, each its own. */
static void test_side_by_side(void **state)
{
    enum { N = 4 };
    struct run r[N];
    char self[32];
    snprintf(self, sizeof(self), "%d", (int)getpid());
    char *argv[] = {"sandbox-probe", "lockdown", self, NULL};
    for (int i = 0; i < N; i++)
        assert_int_equal(spawn_probe(SANDBOX_STUBDOM, "probe-twin", argv, NULL, 0, &r[i]), 0);
    for (int i = 0; i < N; i++) {
        read_until(&r[i], "done=");
        assert_fact(&r[i], "lockdown", "ok");
        assert_fact(&r[i], "pid", "1");
        for (int j = 0; j < i; j++) {
            assert_int_not_equal(r[i].child.host_id, r[j].child.host_id);
            for (int k = 0; k < SANDBOX_CG_DIRS; k++)
                if (r[i].child.cgroup_path[k][0])
                    assert_string_not_equal(r[i].child.cgroup_path[k], r[j].child.cgroup_path[k]);
        }
    }
    for (int i = 0; i < N; i++) {
        finish(&r[i]);
        sandbox_child_dispose(&r[i].child);
    }
    assert_int_equal(count_groups("probe-twin"), 0);
}

/* The device model dies with the process that spawned it. */
static void test_dies_with_parent(void **state)
{
    int sv[2], report[2], release[2];
    char byte;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(pipe2(report, O_CLOEXEC), 0);
    assert_int_equal(pipe2(release, O_CLOEXEC), 0);

    pid_t helper = fork();
    assert_true(helper >= 0);
    if (helper == 0) {
        close(sv[0]);
        close(report[0]);
        close(release[1]);
        char self[32];
        snprintf(self, sizeof(self), "%d", (int)getpid());
        char *argv[] = {"sandbox-probe", "lockdown", self, NULL};
        struct sandbox_spec spec = {.level = SANDBOX_STUBDOM,
                                    .name = "probe-orphan",
                                    .exe_fd = probe_fd,
                                    .argv = argv,
                                    .fds = &sv[1],
                                    .nfds = 1,
                                    .log_fd = STDERR_FILENO};
        struct sandbox_child child;
        if (sandbox_spawn(&spec, &child) < 0)
            _exit(1);
        /* Plain data: hand the whole description to the test. */
        if (write_full(report[1], &child, sizeof(child)) < 0 || read(release[0], &byte, 1) < 0)
            _exit(1);
        _exit(0); /* without reaping or disposing: the test does that */
    }
    close(sv[1]);
    close(report[1]);
    close(release[0]);

    struct sandbox_child child;
    assert_int_equal(read_full(report[0], &child, sizeof(child)), (ssize_t)sizeof(child));
    child.pidfd = -1; /* the helper's descriptor, not ours */
    int pidfd = (int)syscall(SYS_pidfd_open, child.pid, 0);
    assert_true(pidfd >= 0);
    struct run r = {.sock = sv[0]};
    read_until(&r, "done=");
    assert_fact(&r, "lockdown", "ok");

    /* Still alive (we hold its socket open), until its parent exits. */
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 0), 0);
    close(release[1]);
    int status = wait_child(helper);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(poll(&p, 1, 30000), 1);

    /* Its init reaps it; then its cgroup can go. */
    for (int i = 0; i < 3000 && kill(child.pid, 0) == 0; i++)
        usleep(10000);
    sandbox_child_dispose(&child);
    close(pidfd);
    close(report[0]);
    close(sv[0]);
}

/* ---- 'process' placement ---- */

static void test_none_fds_and_env(void **state)
{
    struct run r;
    int p[2], marker = open(probe_path, O_RDONLY); /* inheritable on purpose */
    char real_probe[4096], buf[4096], path[64];
    assert_true(marker >= 0);
    assert_non_null(realpath(probe_path, real_probe));
    assert_int_equal(pipe(p), 0); /* inheritable too */
    setenv("SANDBOX_TEST_SECRET", "leak", 1);

    char *argv[] = {"sandbox-probe", "plain", NULL};
    assert_int_equal(spawn_probe(SANDBOX_NONE, "probe-plain", argv, &p[0], 1, &r), 0);
    read_until(&r, "done=");
    assert_fact(&r, "fds", "0,1,2,3,4");
    const char *const forbidden[] = {real_probe, NULL};
    list_fds(r.child.pid, buf, sizeof(buf), forbidden);
    assert_string_equal(buf, "0,1,2,3,4");

    /* Descriptor 4 is our pipe: what we write comes out there. */
    snprintf(path, sizeof(path), "/proc/%d/fd/4", (int)r.child.pid);
    struct stat a, b;
    assert_int_equal(stat(path, &a), 0);
    assert_int_equal(fstat(p[0], &b), 0);
    assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);

    /* A clean environment: at most the variables the sandbox passes on. */
    snprintf(path, sizeof(path), "/proc/%d/environ", (int)r.child.pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    assert_true(n >= 0);
    for (ssize_t off = 0; off < n; off += (ssize_t)strlen(buf + off) + 1) {
        const char *v = buf + off;
        if (strncmp(v, "STUBVISOR_DEBUG=", 16) != 0 && strncmp(v, "ASAN_OPTIONS=", 13) != 0 &&
            strncmp(v, "UBSAN_OPTIONS=", 14) != 0)
            fail_msg("unexpected environment variable in the child: %s", v);
        if (strncmp(v, "ASAN_OPTIONS=", 13) == 0 && !strstr(v, ":detect_leaks=0") &&
            strcmp(v, "ASAN_OPTIONS=detect_leaks=0") != 0)
            fail_msg("LeakSanitizer not forced off: %s", v);
    }
    finish(&r);
    sandbox_child_dispose(&r.child);
    close(p[0]);
    close(p[1]);
    close(marker);
    unsetenv("SANDBOX_TEST_SECRET");
}

/* ---- failures: an error, and nothing left behind ---- */

/* Entries named "<prefix>.*" in every stubvisor cgroup parent we can find. */
static int count_groups(const char *prefix)
{
    static const char *const mounts[] = {"/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids",
                                         "/sys/fs/cgroup/cpuacct", "/sys/fs/cgroup/unified",
                                         "/sys/fs/cgroup"};
    int count = 0;
    char line[1024];
    FILE *f = fopen("/proc/self/cgroup", "re");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        char *own = strrchr(line, ':');
        if (!own)
            continue;
        own[strcspn(own, "\n")] = '\0';
        own++;
        for (size_t m = 0; m < sizeof(mounts) / sizeof(mounts[0]); m++) {
            char dir[2048];
            snprintf(dir, sizeof(dir), "%s%s/stubvisor", mounts[m], strcmp(own, "/") ? own : "");
            DIR *d = opendir(dir);
            if (!d)
                continue;
            struct dirent *e;
            while ((e = readdir(d)))
                if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 &&
                    e->d_name[strlen(prefix)] == '.')
                    count++;
            closedir(d);
        }
    }
    fclose(f);
    return count;
}

static void expect_no_children(void)
{
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

static void test_failures(void **state)
{
    struct sandbox_child child;
    char *argv[] = {"sandbox-probe", "plain", NULL};
    struct sandbox_spec spec = {
        .level = SANDBOX_STUBDOM, .name = "bad-dm", .exe_fd = probe_fd, .argv = argv, .log_fd = -1};

    /* Bad specs, refused before anything happens. */
    static const char *const bad_names[] = {"",
                                            ".hidden",
                                            "a/b",
                                            "../x",
                                            "sp ace",
                                            "0123456789012345678901234567890123456789"
                                            "012345678901234567890123"};
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        spec.name = bad_names[i];
        assert_int_equal(sandbox_spawn(&spec, &child), -EINVAL);
    }
    spec.name = "bad-dm";
    spec.exe_fd = -1;
    assert_int_equal(sandbox_spawn(&spec, &child), -EBADF);
    spec.exe_fd = probe_fd;
    int closed_fd = dup(0);
    close(closed_fd);
    spec.fds = &closed_fd;
    spec.nfds = 1;
    assert_int_equal(sandbox_spawn(&spec, &child), -EBADF);
    spec.nfds = 0;
    spec.argv = (char *const[]){NULL};
    assert_int_equal(sandbox_spawn(&spec, &child), -EINVAL);
    spec.argv = argv;

    /* Not an ELF executable: refused in the parent. */
    int text = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    assert_true(text >= 0);
    spec.exe_fd = text;
    assert_int_equal(sandbox_spawn(&spec, &child), -ENOEXEC);
    close(text);

    /* A step that fails inside the child (the exec: a copy of the probe
     * without execute permission), after its cgroup was made: reported,
     * and the process and the cgroup are gone. */
    char copy[] = "/tmp/sandbox-noexec.XXXXXX";
    int out = mkstemp(copy);
    assert_true(out >= 0);
    int in = open(probe_path, O_RDONLY | O_CLOEXEC);
    assert_true(in >= 0);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof(buf))) > 0)
        assert_int_equal(write_full(out, buf, (size_t)n), n);
    close(in);
    assert_int_equal(fchmod(out, 0644), 0);
    close(out);
    int noexec = open(copy, O_PATH | O_CLOEXEC);
    assert_true(noexec >= 0);
    unlink(copy);

    spec.exe_fd = noexec;
    spec.level = SANDBOX_STUBDOM;
    assert_int_equal(sandbox_spawn(&spec, &child), -EACCES);
    assert_int_equal(child.pidfd, -1);
    expect_no_children();
    assert_int_equal(count_groups("bad-dm"), 0);

    spec.level = SANDBOX_NONE;
    assert_int_equal(sandbox_spawn(&spec, &child), -EACCES);
    expect_no_children();
    close(noexec);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH-TO-sandbox-probe\n", argv[0]);
        return 100;
    }
    if (geteuid() != 0) {
        printf("SKIP: test-sandbox: needs root (user namespaces with an id map, cgroups)\n");
        return 77;
    }
    probe_path = argv[1];
    probe_fd = open(probe_path, O_PATH | O_CLOEXEC);
    if (probe_fd < 0) {
        fprintf(stderr, "%s: %s\n", probe_path, strerror(errno));
        return 111;
    }
    probe_dynamic = sandbox_exe_is_dynamic(probe_fd);
    if (probe_dynamic < 0) {
        fprintf(stderr, "%s: %s\n", probe_path, strerror(-probe_dynamic));
        return 111;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stubdom_auto),      cmocka_unit_test(test_stubdom_v2),
        cmocka_unit_test(test_stubdom_no_cgroup), cmocka_unit_test(test_unlisted_calls_kill),
        cmocka_unit_test(test_sanitizer_report),  cmocka_unit_test(test_side_by_side),
        cmocka_unit_test(test_dies_with_parent),  cmocka_unit_test(test_none_fds_and_env),
        cmocka_unit_test(test_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
