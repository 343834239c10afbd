/* The device model's own cgroup: limits (memory, tasks) and CPU accounting.
 * See cgroup.h for where the groups go and docs/sandbox.md for the files. */
#include "sandbox/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <linux/magic.h>

#include "lib/fdio.h"
#include "lib/log.h"

#define CG_MOUNT "/sys/fs/cgroup"

/* v1 controller mount points, in SANDBOX_CG_* order. */
static const char *const v1_controllers[SANDBOX_CG_DIRS] = {"memory", "pids", "cpuacct"};

static atomic_uint cgroup_counter;

static bool is_fs(const char *path, long magic)
{
    struct statfs st;
    return statfs(path, &st) == 0 && (long)st.f_type == magic;
}

/* Write a short string to a cgroup control file.  -errno on failure. */
static int cg_write(const char *dir, const char *file, const char *value)
{
    char path[SANDBOX_CGROUP_PATH_MAX + 64];
    int fd, rc = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (write_full(fd, value, strlen(value)) < 0)
        rc = -errno;
    close(fd);
    return rc;
}

/* The calling process's own cgroup in the hierarchy of `controller` ("" for
 * v2), from /proc/self/cgroup, e.g. "/system.slice/x.service". */
static int own_cgroup(const char *controller, char *out, size_t len)
{
    char line[1024];
    FILE *f = fopen("/proc/self/cgroup", "re");
    int rc = -ENOENT;

    if (!f)
        return -errno;
    while (fgets(line, sizeof(line), f)) {
        char *ctl = strchr(line, ':'), *path;
        if (!ctl || !(path = strchr(ctl + 1, ':')))
            continue;
        ctl++;
        *path++ = '\0';
        path[strcspn(path, "\n")] = '\0';
        bool match = false;
        if (!*controller) {
            match = !*ctl && strncmp(line, "0:", 2) == 0;
        } else {
            for (char *tok = strtok(ctl, ","); tok; tok = strtok(NULL, ","))
                match = match || strcmp(tok, controller) == 0;
        }
        if (match) {
            if ((size_t)snprintf(out, len, "%s", path) >= len)
                rc = -ENAMETOOLONG;
            else
                rc = 0;
            break;
        }
    }
    fclose(f);
    return rc;
}

/* "<mount><base>/stubvisor" for one hierarchy, created if missing (with
 * create; else -ENOENT when missing). */
static int parent_dir_of(const char *mount, const char *controller, bool create, char *out,
                         size_t len)
{
    char base[SANDBOX_CGROUP_PATH_MAX];
    const char *root = getenv("STUBVISOR_CGROUP_ROOT");
    int rc;

    if (root && *root) {
        if (root[0] != '/' || strstr(root, ".."))
            return -EINVAL;
        snprintf(base, sizeof(base), "%s", strcmp(root, "/") == 0 ? "" : root);
    } else {
        rc = own_cgroup(controller, base, sizeof(base));
        if (rc < 0)
            return rc;
        if (strcmp(base, "/") == 0)
            base[0] = '\0';
    }
    if ((size_t)snprintf(out, len, "%s%s/stubvisor", mount, base) >= len)
        return -ENAMETOOLONG;
    if (!create)
        return access(out, F_OK) < 0 ? -errno : 0;
    if (mkdir(out, 0755) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static int parent_dir(const char *mount, const char *controller, char *out, size_t len)
{
    return parent_dir_of(mount, controller, true, out, len);
}

/* Groups are named "<name>.<monitor pid>.<n>": unique among monitors that
 * run side by side, the same in every v1 hierarchy.  A monitor that died
 * without disposing leaves empty groups behind; remove those of monitors
 * that no longer exist (rmdir refuses a group that still holds a process,
 * so this cannot harm a live one). */
static void sweep_stale(const char *parent)
{
    DIR *d = opendir(parent);
    struct dirent *e;

    if (!d)
        return;
    while ((e = readdir(d))) {
        const char *dot = strchr(e->d_name, '.');
        char *end;
        if (e->d_type != DT_DIR || !dot || dot == e->d_name)
            continue;
        long pid = strtol(dot + 1, &end, 10);
        if (pid <= 0 || *end != '.' || pid == getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char path[SANDBOX_CGROUP_PATH_MAX + 300];
        snprintf(path, sizeof(path), "%s/%s", parent, e->d_name);
        if (rmdir(path) == 0)
            log_debug("sandbox: removed stale cgroup %s", path);
    }
    closedir(d);
}

static int make_group(const char *parent, const char *name, unsigned n, char *out, size_t len)
{
    if ((size_t)snprintf(out, len, "%s/%s.%d.%u", parent, name, (int)getpid(), n) >= len)
        return -ENAMETOOLONG;
    return mkdir(out, 0755) < 0 ? -errno : 0;
}

static enum sandbox_cgroup_mode pick_mode(const char **v2_mount, int *forced)
{
    const char *want = getenv("STUBVISOR_CGROUP");
    bool v2_root = is_fs(CG_MOUNT, CGROUP2_SUPER_MAGIC);
    bool v2_hybrid = is_fs(CG_MOUNT "/unified", CGROUP2_SUPER_MAGIC);
    bool v1 = false;

    for (int i = 0; i < SANDBOX_CG_DIRS; i++) {
        char p[64];
        snprintf(p, sizeof(p), CG_MOUNT "/%s", v1_controllers[i]);
        v1 = v1 || is_fs(p, CGROUP_SUPER_MAGIC);
    }
    *v2_mount = v2_root ? CG_MOUNT : CG_MOUNT "/unified";
    *forced = want && *want && strcmp(want, "auto") != 0;
    if (*forced) {
        if (strcmp(want, "none") == 0)
            return SANDBOX_CGROUP_NONE;
        if (strcmp(want, "v1") == 0)
            return SANDBOX_CGROUP_V1;
        if (strcmp(want, "v2") == 0)
            return SANDBOX_CGROUP_V2;
        log_warn("sandbox: STUBVISOR_CGROUP=%s: not auto, v1, v2 or none; using auto", want);
        *forced = 0;
    }
    if (v2_root)
        return SANDBOX_CGROUP_V2;
    if (v1)
        return SANDBOX_CGROUP_V1;
    if (v2_hybrid)
        return SANDBOX_CGROUP_V2;
    return SANDBOX_CGROUP_NONE;
}

static int create_v2(struct sandbox_child *child, const char *mount, const char *name,
                     uint64_t memory_limit, unsigned max_tasks, const char **step)
{
    char parent[SANDBOX_CGROUP_PATH_MAX], num[32];
    char *dir = child->cgroup_path[0];
    int rc;

    *step = "cgroup: stubvisor group";
    rc = parent_dir(mount, "", parent, sizeof(parent));
    if (rc < 0)
        return rc;
    /* Hand the memory and pids controllers down as far as the host lets us:
     * the parent of "stubvisor" refuses if it holds processes itself (the
     * no-internal-process rule), and then the group only accounts CPU. */
    char up[SANDBOX_CGROUP_PATH_MAX];
    snprintf(up, sizeof(up), "%s", parent);
    *strrchr(up, '/') = '\0';
    (void)cg_write(up, "cgroup.subtree_control", "+memory +pids");
    (void)cg_write(parent, "cgroup.subtree_control", "+memory +pids");

    sweep_stale(parent);
    *step = "cgroup: mkdir";
    for (int tries = 0; tries < 100; tries++) {
        rc = make_group(parent, name, atomic_fetch_add(&cgroup_counter, 1) + 1, dir,
                        SANDBOX_CGROUP_PATH_MAX);
        if (rc != -EEXIST)
            break;
    }
    if (rc < 0) {
        dir[0] = '\0';
        return rc;
    }
    *step = "cgroup: memory.max";
    snprintf(num, sizeof(num), "%" PRIu64, memory_limit);
    rc = cg_write(dir, "memory.max", num);
    if (rc == -ENOENT)
        log_debug("sandbox: %s: no memory controller; memory limited by rlimits only", dir);
    else if (rc < 0)
        goto fail;
    (void)cg_write(dir, "memory.swap.max", "0");
    *step = "cgroup: pids.max";
    snprintf(num, sizeof(num), "%u", max_tasks);
    rc = cg_write(dir, "pids.max", num);
    if (rc == -ENOENT)
        log_debug("sandbox: %s: no pids controller; tasks limited by RLIMIT_NPROC only", dir);
    else if (rc < 0)
        goto fail;
    return 0;
fail:
    rmdir(dir);
    dir[0] = '\0';
    return rc;
}

static int create_v1(struct sandbox_child *child, const char *name, uint64_t memory_limit,
                     unsigned max_tasks, const char **step)
{
    char parents[SANDBOX_CG_DIRS][SANDBOX_CGROUP_PATH_MAX], num[32];
    int rc = 0, made = 0;

    for (int i = 0; i < SANDBOX_CG_DIRS; i++) {
        char mount[64];
        parents[i][0] = '\0';
        snprintf(mount, sizeof(mount), CG_MOUNT "/%s", v1_controllers[i]);
        if (!is_fs(mount, CGROUP_SUPER_MAGIC))
            continue;
        *step = "cgroup: stubvisor group";
        rc = parent_dir(mount, v1_controllers[i], parents[i], sizeof(parents[i]));
        if (rc < 0)
            return rc;
        sweep_stale(parents[i]);
        made++;
    }
    if (!made) {
        *step = "cgroup: no v1 memory, pids or cpuacct hierarchy";
        return -ENOENT;
    }

    /* The same leaf name in every hierarchy: retry all with the next
     * number if one of them is taken. */
    *step = "cgroup: mkdir";
    for (int tries = 0; tries < 100; tries++) {
        unsigned n = atomic_fetch_add(&cgroup_counter, 1) + 1;
        for (int i = 0; i < SANDBOX_CG_DIRS && rc >= 0; i++) {
            if (parents[i][0])
                rc =
                    make_group(parents[i], name, n, child->cgroup_path[i], SANDBOX_CGROUP_PATH_MAX);
            if (rc < 0)
                child->cgroup_path[i][0] = '\0';
        }
        if (rc != -EEXIST)
            break;
        sandbox_cgroup_remove(child);
        rc = 0;
    }
    if (rc < 0)
        goto fail;

    if (child->cgroup_path[SANDBOX_CG_MEMORY][0]) {
        *step = "cgroup: memory.limit_in_bytes";
        snprintf(num, sizeof(num), "%" PRIu64, memory_limit);
        rc = cg_write(child->cgroup_path[SANDBOX_CG_MEMORY], "memory.limit_in_bytes", num);
        if (rc < 0)
            goto fail;
        /* Memory + swap: only where swap accounting exists. */
        (void)cg_write(child->cgroup_path[SANDBOX_CG_MEMORY], "memory.memsw.limit_in_bytes", num);
    }
    if (child->cgroup_path[SANDBOX_CG_PIDS][0]) {
        *step = "cgroup: pids.max";
        snprintf(num, sizeof(num), "%u", max_tasks);
        rc = cg_write(child->cgroup_path[SANDBOX_CG_PIDS], "pids.max", num);
        if (rc < 0)
            goto fail;
    }
    return 0;
fail:
    sandbox_cgroup_remove(child);
    return rc;
}

int sandbox_cgroup_create(struct sandbox_child *child, const char *name, uint64_t memory_limit,
                          unsigned max_tasks, const char **step)
{
    const char *v2_mount;
    int forced, rc;
    enum sandbox_cgroup_mode mode = pick_mode(&v2_mount, &forced);

    for (int i = 0; i < SANDBOX_CG_DIRS; i++)
        child->cgroup_path[i][0] = '\0';
    child->cgroup_mode = mode;
    if (mode == SANDBOX_CGROUP_NONE)
        return 0;
    if (mode == SANDBOX_CGROUP_V2)
        rc = create_v2(child, v2_mount, name, memory_limit, max_tasks, step);
    else
        rc = create_v1(child, name, memory_limit, max_tasks, step);
    if (rc < 0 && !forced && (rc == -EACCES || rc == -EPERM || rc == -EROFS)) {
        /* A hierarchy we may not write to (an unprivileged container):
         * carry on without, as on a host that has none. */
        log_debug("sandbox: %s: %s; no cgroup", *step, strerror(-rc));
        child->cgroup_mode = SANDBOX_CGROUP_NONE;
        return 0;
    }
    if (rc < 0)
        child->cgroup_mode = SANDBOX_CGROUP_NONE;
    return rc;
}

int sandbox_cgroup_attach(const struct sandbox_child *child, pid_t pid)
{
    char num[32];

    snprintf(num, sizeof(num), "%d\n", (int)pid);
    for (int i = 0; i < SANDBOX_CG_DIRS; i++) {
        if (!child->cgroup_path[i][0])
            continue;
        int rc = cg_write(child->cgroup_path[i], "cgroup.procs", num);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The file CPU time is read from: v2 cpu.stat, v1 cpuacct.usage. */
static const char *cpu_file(const struct sandbox_child *child, const char **dir)
{
    if (child->cgroup_mode == SANDBOX_CGROUP_V2 && child->cgroup_path[0][0]) {
        *dir = child->cgroup_path[0];
        return "cpu.stat";
    }
    if (child->cgroup_mode == SANDBOX_CGROUP_V1 && child->cgroup_path[SANDBOX_CG_CPUACCT][0]) {
        *dir = child->cgroup_path[SANDBOX_CG_CPUACCT];
        return "cpuacct.usage";
    }
    return NULL;
}

int sandbox_cgroup_cpu_open(const struct sandbox_child *child)
{
    char path[SANDBOX_CGROUP_PATH_MAX + 64];
    const char *dir, *file = cpu_file(child, &dir);
    int fd;

    if (!file)
        return -ENOENT;
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int sandbox_cgroup_cpu_read(const struct sandbox_child *child, int fd, uint64_t *usec)
{
    const char *dir;
    char buf[1024];
    ssize_t n;

    if (!cpu_file(child, &dir))
        return -ENOENT;
    n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n < 0)
        return -errno;
    buf[n] = '\0';
    if (child->cgroup_mode == SANDBOX_CGROUP_V2) {
        const char *p = strstr(buf, "usage_usec ");
        if (!p)
            return -EPROTO;
        *usec = strtoull(p + strlen("usage_usec "), NULL, 10);
    } else {
        *usec = strtoull(buf, NULL, 10) / 1000;
    }
    return 0;
}

void sandbox_cgroup_sweep(void)
{
    char parent[SANDBOX_CGROUP_PATH_MAX];
    const char *v2_mount;
    int forced;
    enum sandbox_cgroup_mode mode = pick_mode(&v2_mount, &forced);

    if (mode == SANDBOX_CGROUP_V2 &&
        parent_dir_of(v2_mount, "", false, parent, sizeof(parent)) == 0)
        sweep_stale(parent);
    if (mode != SANDBOX_CGROUP_V1)
        return;
    for (int i = 0; i < SANDBOX_CG_DIRS; i++) {
        char mount[64];
        snprintf(mount, sizeof(mount), CG_MOUNT "/%s", v1_controllers[i]);
        if (is_fs(mount, CGROUP_SUPER_MAGIC) &&
            parent_dir_of(mount, v1_controllers[i], false, parent, sizeof(parent)) == 0)
            sweep_stale(parent);
    }
}

void sandbox_cgroup_remove(struct sandbox_child *child)
{
    for (int i = 0; i < SANDBOX_CG_DIRS; i++) {
        char *dir = child->cgroup_path[i];
        if (!dir[0])
            continue;
        /* The kernel may take a moment to let go of a task that was just
         * reaped: retry EBUSY for a bounded while. */
        for (int tries = 0; rmdir(dir) < 0; tries++) {
            if (errno == ENOENT)
                break;
            if (errno != EBUSY || tries >= 500) {
                log_warn("sandbox: cannot remove cgroup %s: %s", dir, strerror(errno));
                break;
            }
            nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
        }
        dir[0] = '\0';
    }
}
