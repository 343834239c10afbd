/* `stubctl create`: the toolstack side of the stub domain protocol.
 *
 * The foreground stubctl parses the config (any error: nothing is created),
 * makes sure a store runs, and forks the guest's supervisor, which does the
 * rest and reports "ok DOMID" or "error MESSAGE" back through a pipe:
 *
 *   1. in one store transaction: pick the guest's and the device model's
 *      domain ids (round robin from /tool/stubvisor/next-domid, skipping
 *      every id with a /local/domain/<id> or a /tool/stubvisor/domid/<id>
 *      mark), mark them in use, check the name is unused, write the nodes
 *      Xen's libxl writes, with its permissions (docs/toolstack.md);
 *   2. INTRODUCE both domains (the device model with one end of a
 *      socketpair, whose other end it gets as DMFD_STORE), SET_TARGET;
 *   3. start stubvmm --managed (paused) and wait for "ready" on its status
 *      pipe;
 *   4. wait for the device model to write "running" to
 *      /local/domain/<dm>/device-model/<guest>/state (30 s);
 *   5. unpause (unless -p).
 *
 * A restore (`stubctl restore`, ctl/cmd_save.c) is this very path with a
 * save file that was checked before anything was made: stubvmm gets it as
 * --restore-fd, dm-argv ends with `-incoming console2`, and step 4 waits
 * for the device model's "paused" (devices set up, state not yet loaded),
 * writes the command "continue" (it loads what stubvmm put on its console
 * 2) and waits for "running".  A restart after a restore boots afresh.
 *
 * The config as created (config_format: overrides applied, generated UUID
 * and MACs, absolute paths) is kept in the run directory as DIR/config;
 * `stubctl save` puts it into the save file.
 *
 * With device_model_placement = "inline" the device model runs inside
 * stubvmm: there is no device model domain (device-model-domid is 0, as
 * libxl writes for a dom0 device model), only the guest is introduced, no
 * dm-argv is written and step 4 is skipped.
 *
 * Then, like xl's per-domain child, the supervisor waits for stubvmm to
 * end, applies on_poweroff/on_reboot/on_crash (destroy or restart;
 * preserve is stubvmm's business: it keeps the guest) and removes every
 * trace of the guest: store nodes, run directory.  Only then, stubvmm
 * reaped, does it remove the ids' marks: the store keeps them across its
 * own restarts, so an id is never handed out again while anything of its
 * old domain may still run (docs/store.md, "Domain ids"). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl/config.h"
#include "ctl/dm_argv.h"
#include "ctl/stubctl.h"
#include "ctl/vif.h"
#include "lib/bootimage.h"
#include "lib/dmfds.h"
#include "lib/fdio.h"
#include "lib/log.h"

#define MAX_VMM_MEMORY_MIB 3072       /* stubvmm keeps RAM below the PCI hole */
#define MAX_KERNEL_FILE    (64 << 20) /* what stubvmm reads */
#define RESTART_LIMIT      5          /* restarts within RESTART_WINDOW s, then destroy */
#define RESTART_WINDOW     60
#define DOMID_MARKS        "/tool/stubvisor/domid"
#define NEXT_DOMID         "/tool/stubvisor/next-domid"
#define STORE_WAIT_MS      60000 /* how long the supervisor waits for a restarted store */

struct guest {
    struct domain_config *cfg;
    bool paused;
    int restore_fd; /* a checked save file, or -1 */
    unsigned domid, dm_domid;
    char uuid[CONFIG_UUID_STRLEN];
    char dir[PATH_MAX], log[PATH_MAX];
    pid_t vmm_pid;
    int status_fd;         /* read end of stubvmm's status pipe */
    struct ctl_dm_argv dm; /* the devices: dm-argv and stubvmm's descriptor options */
    struct vif_names vifs; /* the tap each tap vif opens (ctl/vif.c) */
};

static int perms(struct xsc *xs, uint32_t tx, const char *path, uint32_t owner, char other,
                 uint32_t id2, char perm2)
{
    struct xsc_perm p[2] = {{owner, other}, {id2, perm2}};
    int rc = xsc_mkdir(xs, tx, path);

    return rc < 0 ? rc : xsc_set_perms(xs, tx, path, p, perm2 ? 2 : 1);
}

/* Write /local/domain/<id>/<rel>. */
static int wr(struct xsc *xs, uint32_t tx, unsigned id, const char *rel, const char *value)
{
    char path[256];

    snprintf(path, sizeof(path), "/local/domain/%u/%s", id, rel);
    return xsc_write_str(xs, tx, path, value);
}

/* Mark the ids listed below path as used. */
static int scan_marks(struct xsc *xs, uint32_t tx, const char *path, bool *used)
{
    char **ids = NULL;
    unsigned n = 0;
    int rc = xsc_directory(xs, tx, path, &ids, &n);

    if (rc == -ENOENT)
        return 0;
    for (unsigned i = 0; rc == 0 && i < n; i++) {
        char *end;
        unsigned long id = strtoul(ids[i], &end, 10);
        if (!*end && id <= STUBCTL_MAX_DOMID)
            used[id] = true;
    }
    free(ids);
    return rc;
}

/* Which ids are taken, and is the name? */
static int scan_domains(struct xsc *xs, uint32_t tx, const char *name, bool *used, bool *name_taken)
{
    char **ids = NULL;
    unsigned n = 0;
    int rc = scan_marks(xs, tx, DOMID_MARKS, used);

    rc = rc ?: xsc_directory(xs, tx, "/local/domain", &ids, &n);
    if (rc == -ENOENT)
        return 0;
    for (unsigned i = 0; rc == 0 && i < n; i++) {
        char *end, path[64], *v = NULL;
        unsigned long id = strtoul(ids[i], &end, 10);
        if (*end || id > STUBCTL_MAX_DOMID)
            continue;
        used[id] = true;
        snprintf(path, sizeof(path), "/local/domain/%lu/name", id);
        if (xsc_read(xs, tx, path, &v, NULL) == 0 && strcmp(v, name) == 0)
            *name_taken = true;
        free(v);
    }
    free(ids);
    return rc;
}

static int write_nodes(struct xsc *xs, uint32_t tx, struct guest *g)
{
    const struct domain_config *c = g->cfg;
    unsigned G = g->domid, D = g->dm_domid;
    char path[256], val[256], vm[64];
    int rc = 0;

    snprintf(vm, sizeof(vm), "/vm/%s", g->uuid);
    /* The guest's domain: dom0's, readable by the guest (libxl's roperm). */
    snprintf(path, sizeof(path), "/local/domain/%u", G);
    rc = rc ?: perms(xs, tx, path, 0, 'n', G, 'r');
    rc = rc ?: wr(xs, tx, G, "name", c->name);
    snprintf(val, sizeof(val), "%u", G);
    rc = rc ?: wr(xs, tx, G, "domid", val);
    rc = rc ?: wr(xs, tx, G, "vm", vm);
    snprintf(val, sizeof(val), "%llu", (unsigned long long)c->memory_mib * 1024);
    rc = rc ?: wr(xs, tx, G, "memory/target", val);
    rc = rc ?: wr(xs, tx, G, "memory/static-max", val);
    for (unsigned i = 0; i < c->vcpus && rc == 0; i++) {
        snprintf(path, sizeof(path), "/local/domain/%u/cpu/%u/availability", G, i);
        rc = xsc_write_str(xs, tx, path, "online");
    }
    snprintf(val, sizeof(val), "%u", D);
    rc = rc ?: wr(xs, tx, G, "image/device-model-domid", val);
    /* Guest-writable, as libxl makes them (rwperm). */
    snprintf(path, sizeof(path), "/local/domain/%u/data", G);
    rc = rc ?: perms(xs, tx, path, G, 'n', 0, 0);
    snprintf(path, sizeof(path), "/local/domain/%u/control/shutdown", G);
    rc = rc ?: perms(xs, tx, path, G, 'n', 0, 0);
    /* Toolstack bookkeeping: dom0 only. */
    snprintf(path, sizeof(path), "/local/domain/%u/stubvisor", G);
    rc = rc ?: perms(xs, tx, path, 0, 'n', 0, 0);
    rc = rc ?: wr(xs, tx, G, "stubvisor/log", g->log);
    snprintf(val, sizeof(val), "%ld", (long)getpid());
    rc = rc ?: wr(xs, tx, G, "stubvisor/supervisor-pid", val);
    rc = rc ?: wr(xs, tx, G, "stubvisor/placement", config_placement_name(c->placement));

    /* /vm/<uuid>: readable by the guest; dm-argv by the device model only. */
    rc = rc ?: perms(xs, tx, vm, 0, 'n', G, 'r');
    snprintf(path, sizeof(path), "%s/name", vm);
    rc = rc ?: xsc_write_str(xs, tx, path, c->name);
    snprintf(path, sizeof(path), "%s/uuid", vm);
    rc = rc ?: xsc_write_str(xs, tx, path, g->uuid);
    /* The devices: every placement's description, the DM's to read. */
    snprintf(path, sizeof(path), "%s/image/dm-argv", vm);
    rc = rc ?: perms(xs, tx, path, 0, 'n', D, D ? 'r' : 0);
    for (unsigned i = 0; i < g->dm.nr_words && rc == 0; i++) {
        snprintf(path, sizeof(path), "%s/image/dm-argv/%03u", vm, i);
        rc = perms(xs, tx, path, 0, 'n', D, D ? 'r' : 0);
        rc = rc ?: xsc_write_str(xs, tx, path, g->dm.words[i]);
    }
    /* When it started, as libxl writes it (`stubctl uptime`). */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    snprintf(path, sizeof(path), "%s/start_time", vm);
    snprintf(val, sizeof(val), "%lld.%02ld", (long long)now.tv_sec, now.tv_nsec / 10000000);
    rc = rc ?: xsc_write_str(xs, tx, path, val);
    if (D == 0)
        return rc; /* inline: no device model domain */
#ifdef STUBVISOR_TEST_HOOKS
    /* Test builds: more words for the device model (e.g. -selfcheck). */
    const char *extra = getenv("STUBVISOR_TEST_DM_ARGS");
    char *copy = extra ? strdup(extra) : NULL, *save = NULL;
    unsigned i = g->dm.nr_words;
    for (char *w = copy ? strtok_r(copy, " ", &save) : NULL; w && rc == 0 && i < 64;
         w = strtok_r(NULL, " ", &save), i++) {
        snprintf(path, sizeof(path), "%s/image/dm-argv/%03u", vm, i);
        rc = perms(xs, tx, path, 0, 'n', D, 'r');
        rc = rc ?: xsc_write_str(xs, tx, path, w);
    }
    free(copy);
#endif

    /* The device model's domain: dom0's, readable by the DM. */
    snprintf(path, sizeof(path), "/local/domain/%u", D);
    rc = rc ?: perms(xs, tx, path, 0, 'n', D, 'r');
    snprintf(val, sizeof(val), "%s-dm", c->name);
    rc = rc ?: wr(xs, tx, D, "name", val);
    snprintf(val, sizeof(val), "%u", D);
    rc = rc ?: wr(xs, tx, D, "domid", val);
    snprintf(val, sizeof(val), "%u", G);
    rc = rc ?: wr(xs, tx, D, "target", val);
    snprintf(val, sizeof(val), "%llu", (unsigned long long)c->stubdomain_memory_mib * 1024);
    rc = rc ?: wr(xs, tx, D, "memory/target", val);
    /* Owned by the device model, readable by its guest. */
    snprintf(path, sizeof(path), "/local/domain/%u/device-model/%u", D, G);
    rc = rc ?: perms(xs, tx, path, D, 'n', G, 'r');
    return rc;
}

/* Step 1: ids and nodes in one transaction, retried on conflicts. */
static int allocate(struct xsc *xs, struct guest *g, char *err, size_t errlen)
{
    static bool used[STUBCTL_MAX_DOMID + 1];

    for (int attempt = 0; attempt < 50; attempt++) {
        bool name_taken = false;
        uint32_t tx;
        int rc = xsc_transaction_start(xs, &tx);

        if (rc < 0)
            goto fail;
        memset(used, 0, sizeof(used));
        used[0] = true;
        rc = scan_domains(xs, tx, g->cfg->name, used, &name_taken);
        if (rc == 0 && name_taken) {
            xsc_transaction_end(xs, tx, false);
            snprintf(err, errlen, "domain '%s' already exists", g->cfg->name);
            return -EEXIST;
        }
        bool inl = g->cfg->placement == PLACEMENT_INLINE;
        char *v = NULL, val[16], path[64];
        unsigned id = 1, last = 0;
        if (xsc_read(xs, tx, NEXT_DOMID, &v, NULL) == 0)
            id = (unsigned)strtoul(v, NULL, 10);
        free(v);
        if (id < 1 || id > STUBCTL_MAX_DOMID)
            id = 1;
        /* Round robin, as Xen hands out ids: a freed id comes back last. */
        g->domid = g->dm_domid = 0;
        for (unsigned k = 0; k < STUBCTL_MAX_DOMID && !g->dm_domid; k++) {
            unsigned cand = (id - 1 + k) % STUBCTL_MAX_DOMID + 1;
            if (used[cand])
                continue;
            last = cand;
            if (!g->domid)
                g->domid = cand;
            else
                g->dm_domid = cand;
            if (inl)
                break;
        }
        if (!g->domid || (!inl && !g->dm_domid)) {
            xsc_transaction_end(xs, tx, false);
            snprintf(err, errlen, "no free domain ids");
            return -ENOSPC;
        }
        snprintf(val, sizeof(val), "%u", last % STUBCTL_MAX_DOMID + 1);
        rc = rc ?: xsc_write_str(xs, tx, NEXT_DOMID, val);
        for (unsigned i = 0; i < 2; i++) {
            unsigned mark = i ? g->dm_domid : g->domid;
            snprintf(path, sizeof(path), "%s/%u", DOMID_MARKS, mark);
            if (mark)
                rc = rc ?: xsc_write_str(xs, tx, path, g->cfg->name);
        }
        rc = rc ?: write_nodes(xs, tx, g);
        if (rc < 0) {
            xsc_transaction_end(xs, tx, false);
            goto fail;
        }
        rc = xsc_transaction_end(xs, tx, true);
        if (rc == 0)
            return 0;
        if (rc != -EAGAIN)
            goto fail;
        continue;
    fail:
        snprintf(err, errlen, "writing the store: %s", strerror(-rc));
        return rc;
    }
    snprintf(err, errlen, "the store stayed too busy");
    return -EAGAIN;
}

/* Step 2: both domains introduced; dm_end is the DM's end of its connection. */
static int introduce(struct xsc *xs, struct guest *g, int *dm_end, char *err, size_t errlen)
{
    int gp[2] = {-1, -1}, dp[2] = {-1, -1}, rc;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, gp) < 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, dp) < 0) {
        rc = -errno;
        goto out;
    }
    /* The guest has no store client (no PV drivers): its end is closed at
     * once, but the store keeps its record until RELEASE. */
    rc = xsc_introduce(xs, g->domid, gp[0]);
    if (g->dm_domid) {
        rc = rc ?: xsc_introduce(xs, g->dm_domid, dp[0]);
        rc = rc ?: xsc_set_target(xs, g->dm_domid, g->domid);
    }
    if (rc == 0 && g->dm_domid) {
        *dm_end = dp[1];
        dp[1] = -1;
    }
out:
    if (rc < 0)
        snprintf(err, errlen, "introducing the domains: %s", strerror(-rc));
    close_quietly(gp[0]);
    close_quietly(gp[1]);
    close_quietly(dp[0]);
    close_quietly(dp[1]);
    return rc;
}

/* Step 3. */
static int spawn_vmm(struct guest *g, int dm_end, char *err, size_t errlen)
{
    const struct domain_config *c = g->cfg;
    char prog[PATH_MAX], mem[16], vcpus[16], sfd[16], dfd[16], preserve[64] = "none";
    int st[2] = {-1, -1}, logfd = -1, rc;

    rc = ctl_program_path("stubvmm", prog, sizeof(prog));
    if (rc < 0 || pipe2(st, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "cannot find stubvmm");
        return -ENOENT;
    }
    logfd = open(g->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (logfd < 0) {
        rc = -errno;
        snprintf(err, errlen, "log file %s: %s", g->log, strerror(errno));
        goto out;
    }
    snprintf(mem, sizeof(mem), "%llu", (unsigned long long)c->memory_mib);
    snprintf(vcpus, sizeof(vcpus), "%u", c->vcpus);
    snprintf(preserve, sizeof(preserve), "%s,%s,%s",
             c->on_poweroff == ACTION_PRESERVE ? "poweroff" : "-",
             c->on_reboot == ACTION_PRESERVE ? "reboot" : "-",
             c->on_crash == ACTION_PRESERVE ? "crash" : "-");
    g->vmm_pid = fork();
    if (g->vmm_pid < 0) {
        rc = -errno;
        snprintf(err, errlen, "fork: %s", strerror(errno));
        goto out;
    }
    if (g->vmm_pid == 0) {
        /* The save file out of the way of the fixed numbers first. */
        int restore = g->restore_fd >= 0 ? fcntl(g->restore_fd, F_DUPFD_CLOEXEC, 10) : -1;
        int null = open("/dev/null", O_RDONLY);
        dup2(null, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        /* Up to three descriptors pass: fixed numbers above stdio. */
        dup2(st[1], 3);
        if (dm_end >= 0)
            dup2(dm_end, 4);
        if (restore >= 0)
            dup2(restore, 5);
        snprintf(sfd, sizeof(sfd), "3");
        snprintf(dfd, sizeof(dfd), "4");
        const char *argv[36 + 2 * CTL_DM_ARGV_MAX];
        int n = 0;
        argv[n++] = "stubvmm";
        argv[n++] = "--managed";
        argv[n++] = "--dir", argv[n++] = g->dir;
        if (c->kernel)
            argv[n++] = "--kernel", argv[n++] = c->kernel;
        else
            argv[n++] = "--firmware", argv[n++] = c->firmware;
        /* The descriptors the devices take, in dm-argv's order. */
        for (unsigned k = 0; k < g->dm.nr_vmm_args; k++)
            argv[n++] = g->dm.vmm_args[k];
        argv[n++] = "--memory", argv[n++] = mem;
        argv[n++] = "--vcpus", argv[n++] = vcpus;
        if (c->kernel)
            argv[n++] = "--cmdline", argv[n++] = c->cmdline ? c->cmdline : "";
        if (c->kernel && c->ramdisk)
            argv[n++] = "--ramdisk", argv[n++] = c->ramdisk;
        if (c->cpuid)
            argv[n++] = "--cpuid", argv[n++] = c->cpuid;
        argv[n++] = "--dm", argv[n++] = config_placement_name(c->placement);
        argv[n++] = "--status-fd", argv[n++] = sfd;
        if (dm_end >= 0)
            argv[n++] = "--store-fd", argv[n++] = dfd;
        argv[n++] = "--preserve", argv[n++] = preserve;
        if (c->nserials && c->serials[0].kind == SERIAL_FILE)
            argv[n++] = "--serial-file", argv[n++] = c->serials[0].path;
        if (g->restore_fd >= 0)
            argv[n++] = "--restore-fd", argv[n++] = "5";
        if (!g->dm_domid) { /* inline: the devices are stubvmm's to build */
            argv[n++] = "--";
            for (unsigned k = 0; k < g->dm.nr_words; k++)
                argv[n++] = g->dm.words[k];
        }
        argv[n] = NULL;
        execv(prog, (char **)argv);
        fprintf(stderr, "stubctl: exec %s: %s\n", prog, strerror(errno));
        _exit(127);
    }
    g->status_fd = st[0];
    st[0] = -1;
    rc = 0;
out:
    close_quietly(st[0]);
    close_quietly(st[1]);
    close_quietly(logfd);
    return rc;
}

/* Read one line from stubvmm's status pipe (timeout_ms, -1 forever). */
static int status_line(struct guest *g, char *buf, size_t len, int timeout_ms)
{
    size_t got = 0;

    while (got + 1 < len) {
        struct pollfd p = {.fd = g->status_fd, .events = POLLIN};
        int r = poll(&p, 1, timeout_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -ETIMEDOUT;
        if (read(g->status_fd, buf + got, 1) != 1)
            return -EPIPE;
        if (buf[got] == '\n')
            break;
        got++;
    }
    buf[got] = '\0';
    return 0;
}

/* Step 4: the device model's "running" (a restore: "paused", "continue",
 * "running"), or why not. */
static int wait_dm_ready(struct xsc *xs, struct guest *g, char *err, size_t errlen)
{
    char why[256];
    int rc;

    if (g->restore_fd < 0)
        rc = ctl_dm_wait_state(xs, g->domid, g->dm_domid, "running", STUBCTL_READY_TIMEOUT, why,
                               sizeof(why));
    else
        rc = ctl_dm_wait_state(xs, g->domid, g->dm_domid, "paused", STUBCTL_READY_TIMEOUT, why,
                               sizeof(why))
                 ?: ctl_dm_command(xs, g->domid, g->dm_domid, "continue", "running", why,
                                   sizeof(why));
    if (rc < 0)
        snprintf(err, errlen, "%s (see %s)", why, g->log);
    return rc;
}

/* DIR/config: what `stubctl save` puts into a save file. */
static int keep_config(struct guest *g, char *err, size_t errlen)
{
    char path[PATH_MAX + 8], *text = NULL;
    size_t len = 0;
    int fd = -1, rc;

    snprintf(path, sizeof(path), "%s/config", g->dir);
    rc = config_format(g->cfg, &text, &len);
    if (rc == 0) {
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || write_full(fd, text, len) < 0)
            rc = -errno;
    }
    if (rc < 0)
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
    close_quietly(fd);
    free(text);
    return rc;
}

/* stubvmm is reaped and the guest cleaned up: its ids may be used again. */
static void release_domids(struct xsc *xs, const struct guest *g)
{
    char path[64];
    unsigned ids[2] = {g->domid, g->dm_domid};

    for (unsigned i = 0; i < 2; i++) {
        if (!ids[i])
            continue;
        snprintf(path, sizeof(path), "%s/%u", DOMID_MARKS, ids[i]);
        if (xsc_rm(xs, 0, path) < 0)
            log_warn("cannot free domain id %u in the store", ids[i]);
    }
}

static void kill_vmm(struct guest *g)
{
    if (g->vmm_pid > 0) {
        kill(g->vmm_pid, SIGTERM);
        waitpid(g->vmm_pid, NULL, 0);
        g->vmm_pid = 0;
    }
    close_quietly(g->status_fd);
    g->status_fd = -1;
}

/* The last "stubvmm: error: " line stubvmm left in the guest's log (the
 * reason it did not start), without the prefix.  0, or -ENOENT. */
static int vmm_last_error(const char *log, char *out, size_t len)
{
    static const char prefix[] = "stubvmm: error: ";
    char tail[4097], *line, *found = NULL, *save = NULL;
    ssize_t n = -1;
    off_t size;
    int fd = open(log, O_RDONLY | O_CLOEXEC);

    if (fd >= 0 && (size = lseek(fd, 0, SEEK_END)) >= 0)
        n = pread(fd, tail, sizeof(tail) - 1, size > 4096 ? size - 4096 : 0);
    close_quietly(fd);
    if (n <= 0)
        return -ENOENT;
    tail[n] = '\0';
    for (line = strtok_r(tail, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        if (strncmp(line, prefix, sizeof(prefix) - 1) == 0)
            found = line + sizeof(prefix) - 1;
    if (!found)
        return -ENOENT;
    snprintf(out, len, "%s", found);
    return 0;
}

/* Steps 1-5.  On failure everything made so far is undone. */
static int start_guest(struct xsc *xs, struct guest *g, char *err, size_t errlen)
{
    char line[128], reply[512];
    int dm_end = -1, rc;

    g->vmm_pid = 0;
    g->status_fd = -1;
    config_uuid_format(g->cfg->uuid, g->uuid);
    ctl_dm_argv_dispose(&g->dm); /* a restart builds them afresh */
    rc = ctl_dm_argv_build(&g->dm, g->cfg,
                           g->restore_fd >= 0 && g->cfg->placement != PLACEMENT_INLINE, NULL);
    if (rc < 0) {
        snprintf(err, errlen, "describing the devices: %s", strerror(-rc));
        return rc;
    }
    snprintf(g->log, sizeof(g->log), "%s/%s.log", ctl_logdir(), g->cfg->name);
    rc = allocate(xs, g, err, errlen);
    if (rc < 0)
        return rc;
    ctl_domain_dir(g->domid, g->dir, sizeof(g->dir));
    rc = ctl_mkdirs(g->dir, 0700);
    if (rc < 0) {
        snprintf(err, errlen, "%s: %s", g->dir, strerror(-rc));
        goto fail;
    }
    rc = keep_config(g, err, errlen);
    rc = rc ?: vif_up(xs, g->domid, g->cfg, &g->vifs, err, errlen);
    if (rc == 0) {
        /* The same words again, now with the taps vif_up made for stubvmm
         * to open. */
        ctl_dm_argv_dispose(&g->dm);
        rc = ctl_dm_argv_build(
            &g->dm, g->cfg, g->restore_fd >= 0 && g->cfg->placement != PLACEMENT_INLINE, &g->vifs);
        if (rc < 0)
            snprintf(err, errlen, "describing the devices: %s", strerror(-rc));
    }
    rc = rc ?: introduce(xs, g, &dm_end, err, errlen);
    rc = rc ?: spawn_vmm(g, dm_end, err, errlen);
    close_quietly(dm_end);
    if (rc < 0)
        goto fail;
    if (status_line(g, line, sizeof(line), STUBCTL_READY_TIMEOUT * 1000) < 0 ||
        strcmp(line, "ready") != 0) {
        char why[256];
        if (vmm_last_error(g->log, why, sizeof(why)) == 0)
            snprintf(err, errlen, "stubvmm failed to start: %s (see %s)", why, g->log);
        else
            snprintf(err, errlen, "stubvmm failed to start (see %s)", g->log);
        rc = -EIO;
        goto fail;
    }
    if (g->dm_domid) /* inline: the device model is ready with stubvmm */
        rc = wait_dm_ready(xs, g, err, errlen);
    if (rc < 0)
        goto fail;
    if (!g->paused && (rc = ctl_control(xs, g->domid, "unpause", reply, sizeof(reply))) < 0) {
        snprintf(err, errlen, "unpausing: %s", rc == -EREMOTEIO ? reply : strerror(-rc));
        goto fail;
    }
    return 0;
fail:
    kill_vmm(g);
    ctl_domain_cleanup(xs, g->domid);
    release_domids(xs, g);
    return rc;
}

/* The supervisor's life after a successful start: returns when the guest
 * is gone for good. */
static void supervise(struct xsc *xs, struct guest *g)
{
    time_t restarts[RESTART_LIMIT] = {0};
    unsigned nrestarts = 0;

    for (;;) {
        char line[128] = "", reason[32] = "destroy", err[512];
        int status = 0, why = 0;
        enum lifecycle_action action = ACTION_DESTROY;

        /* "exit REASON STATUS [WHY]": WHY says what a crash was. */
        if (status_line(g, line, sizeof(line), -1) == 0 &&
            sscanf(line, "exit %31s %d %n", reason, &status, &why) < 2)
            why = 0;
        waitpid(g->vmm_pid, NULL, 0);
        g->vmm_pid = 0;
        close_quietly(g->status_fd);
        g->status_fd = -1;
        if (strcmp(reason, "poweroff") == 0)
            action = g->cfg->on_poweroff;
        else if (strcmp(reason, "reboot") == 0)
            action = g->cfg->on_reboot;
        else if (strcmp(reason, "crash") == 0)
            action = g->cfg->on_crash;
        /* `stubctl rename` changed the store's name: a restart keeps it. */
        char *renamed = ctl_read_dom(xs, g->domid, "name");
        if (renamed && strcmp(renamed, g->cfg->name) != 0) {
            free(g->cfg->name);
            g->cfg->name = renamed;
            renamed = NULL;
        }
        free(renamed);
        log_info("domain %u (%s): %s%s%s%s, status %d; action %s", g->domid, g->cfg->name, reason,
                 why && line[why] ? " (" : "", why ? line + why : "", why && line[why] ? ")" : "",
                 status, config_action_name(action));
        ctl_domain_cleanup(xs, g->domid);
        release_domids(xs, g);
        if (action != ACTION_RESTART)
            return;
        time_t now = time(NULL);
        if (nrestarts == RESTART_LIMIT && now - restarts[0] < RESTART_WINDOW) {
            log_error("domain %s restarted %d times in %d s; not restarting it again", g->cfg->name,
                      RESTART_LIMIT, RESTART_WINDOW);
            return;
        }
        if (nrestarts == RESTART_LIMIT) {
            memmove(restarts, restarts + 1, sizeof(restarts[0]) * (RESTART_LIMIT - 1));
            nrestarts--;
        }
        restarts[nrestarts++] = now;
        g->paused = false;
        if (start_guest(xs, g, err, sizeof(err)) < 0) {
            log_error("restarting %s: %s", g->cfg->name, err);
            return;
        }
        log_info("domain %s restarted as domain %u", g->cfg->name, g->domid);
    }
}

/* The forked supervisor: never returns. */
static noreturn void supervisor(struct guest *g, int report_fd)
{
    char err[512] = "", msg[600];
    struct xsc *xs;
    int null, logfd, rc;

    setsid();
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    if (chdir("/") < 0)
        _exit(EXIT_SYSTEM);
    ctl_mkdirs(ctl_logdir(), 0755);
    snprintf(g->log, sizeof(g->log), "%s/%s.log", ctl_logdir(), g->cfg->name);
    null = open("/dev/null", O_RDWR);
    logfd = open(g->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    dup2(null, 0);
    dup2(logfd >= 0 ? logfd : null, 1);
    dup2(logfd >= 0 ? logfd : null, 2);
    close_quietly(null);
    close_quietly(logfd);
    log_set_program("stubctl");
    xs = ctl_store_open(false);
    if (!xs) {
        snprintf(msg, sizeof(msg), "error cannot reach the store\n");
        rc = -EIO;
    } else {
        /* The store may be restarted while the guest runs: its contents
         * survive, the connection comes back. */
        struct xsc_reconnect how = {.max_wait_ms = STORE_WAIT_MS};
        xsc_set_reconnect(xs, &how);
        rc = start_guest(xs, g, err, sizeof(err));
        if (rc < 0)
            snprintf(msg, sizeof(msg), "error %s\n", err);
        else
            snprintf(msg, sizeof(msg), "ok %u\n", g->domid);
    }
    if (write_full(report_fd, msg, strlen(msg)) < 0)
        log_debug("the foreground stubctl went away");
    close(report_fd);
    close_quietly(g->restore_fd); /* a restart boots afresh */
    g->restore_fd = -1;
    if (rc == 0)
        supervise(xs, g);
    xsc_close(xs);
    ctl_dm_argv_dispose(&g->dm);
    config_dispose(g->cfg);
    _exit(rc == 0 ? 0 : EXIT_SYSTEM);
}

/* Disks and NICs stubvmm can hand over; a NIC without a MAC gets a random
 * one now (00:16:3e, Xen's prefix), so that it survives restarts. */
static int check_devices(const char *file, struct domain_config *cfg)
{
    if (cfg->ndisks > DMFD_MAX_DISKS || cfg->nvifs > DMFD_MAX_NICS) {
        fprintf(stderr, "stubctl: %s: at most %d disks and %d vifs\n", file, DMFD_MAX_DISKS,
                DMFD_MAX_NICS);
        return -EINVAL;
    }
    for (size_t i = 0; i < cfg->nvifs; i++) {
        struct vif_spec *v = &cfg->vifs[i];
        if (v->backend == VIF_BACKEND_NONE) {
            fprintf(stderr,
                    "stubctl: %s: vif %zu: backend=none is not supported yet (leave backend= "
                    "out for a tap on a bridge, or give backend=socket:PATH)\n",
                    file, i);
            return -EINVAL;
        }
        if (v->backend == VIF_BACKEND_TAP && !v->tap_name && !vif_is_bridged(v)) {
            fprintf(stderr,
                    "stubctl: %s: vif %zu: a tap on no bridge needs its name (vifname= or "
                    "backend=tap:NAME)\n",
                    file, i);
            return -EINVAL;
        }
        if (!v->mac_set) {
            uint8_t r[3];
            if (getrandom(r, sizeof(r), 0) != sizeof(r))
                return -EIO;
            v->mac[0] = 0x00, v->mac[1] = 0x16, v->mac[2] = 0x3e;
            v->mac[3] = r[0] & 0x7f, v->mac[4] = r[1], v->mac[5] = r[2];
            v->mac_set = true;
        }
    }
    return vif_check(file, cfg);
}

/* The kernel is one stubvmm boots and the ramdisk fits beside it in the
 * guest's RAM: the loader's own parser (lib/bootimage.c) says so now, with
 * the line that set the file, rather than stubvmm at start-up. */
static int check_boot_files(const char *what, struct domain_config *cfg)
{
    struct boot_image *bi = calloc(1, sizeof(*bi));
    uint64_t ram = cfg->memory_mib << 20, gpa;
    const char *where = cfg->kernel_origin ? cfg->kernel_origin : what;
    char err[300];
    uint8_t *img = NULL;
    size_t size = 0;
    struct stat st;
    int fd = -1, rc = -EINVAL;

    if (!bi)
        return -ENOMEM;
    fd = open(cfg->kernel, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        st.st_size > MAX_KERNEL_FILE) {
        fprintf(stderr, "stubctl: %s: kernel: %s: not a readable file of 1 byte to %d MiB\n", where,
                cfg->kernel, MAX_KERNEL_FILE >> 20);
        goto out;
    }
    size = (size_t)st.st_size;
    img = malloc(size);
    if (!img || read_full(fd, img, size) != (ssize_t)size) {
        fprintf(stderr, "stubctl: %s: kernel: %s: cannot read it\n", where, cfg->kernel);
        goto out;
    }
    if (boot_image_parse(img, size, ram, bi, err, sizeof(err)) < 0) {
        fprintf(stderr, "stubctl: %s: %s\n", where, err);
        goto out;
    }
    if (cfg->ramdisk) {
        where = cfg->ramdisk_origin ? cfg->ramdisk_origin : what;
        if (stat(cfg->ramdisk, &st) < 0) {
            fprintf(stderr, "stubctl: %s: ramdisk: %s: %s\n", where, cfg->ramdisk, strerror(errno));
            goto out;
        }
        if (!S_ISREG(st.st_mode) || st.st_size <= 0) {
            fprintf(stderr, "stubctl: %s: ramdisk: %s: not a non-empty regular file\n", where,
                    cfg->ramdisk);
            goto out;
        }
        if (boot_ramdisk_place(bi, ram, (uint64_t)st.st_size, &gpa, err, sizeof(err)) < 0) {
            fprintf(stderr, "stubctl: %s: %s (memory = %llu)\n", where, err,
                    (unsigned long long)cfg->memory_mib);
            goto out;
        }
    }
    rc = 0;
out:
    close_quietly(fd);
    free(img);
    free(bi);
    return rc;
}

int ctl_check_config(const char *what, struct domain_config *cfg)
{
    char image[PATH_MAX];
    char **path = cfg->kernel ? &cfg->kernel : &cfg->firmware;

    if (check_devices(what, cfg) < 0)
        return -EINVAL;
    if (cfg->memory_mib > MAX_VMM_MEMORY_MIB) {
        fprintf(stderr, "stubctl: %s: memory: at most %d MiB\n", what, MAX_VMM_MEMORY_MIB);
        return -EINVAL;
    }
    if (!realpath(*path, image)) {
        fprintf(stderr, "stubctl: %s: %s: %s: %s\n", what, cfg->kernel ? "kernel" : "firmware",
                *path, strerror(errno));
        return -ENOENT;
    }
    free(*path);
    *path = strdup(image);
    if (!*path)
        return -ENOMEM;
    return cfg->kernel ? check_boot_files(what, cfg) : 0;
}

int ctl_create_domain(struct domain_config *cfg, bool paused, bool console, int restore_fd)
{
    struct guest g = {.cfg = cfg, .paused = paused || console, .restore_fd = restore_fd};
    char reply[700];
    struct xsc *xs = NULL;
    int rc = EXIT_SYSTEM, pfd[2] = {-1, -1};
    pid_t pid;

    xs = ctl_store_open(true);
    if (!xs)
        goto out;
    xsc_close(xs); /* the supervisor makes its own connection */
    xs = NULL;
    if (pipe2(pfd, O_CLOEXEC) < 0)
        goto out;
    fflush(NULL);
    pid = fork();
    if (pid < 0)
        goto out;
    if (pid == 0) {
        close(pfd[0]);
        /* Detach from the foreground: the supervisor's child is a daemon. */
        pid_t daemon = fork();
        if (daemon != 0)
            _exit(daemon < 0 ? EXIT_SYSTEM : 0);
        supervisor(&g, pfd[1]);
    }
    close(pfd[1]);
    pfd[1] = -1;
    waitpid(pid, NULL, 0);
    size_t got = 0;
    ssize_t n;
    while (got + 1 < sizeof(reply) && (n = read(pfd[0], reply + got, sizeof(reply) - 1 - got)) > 0)
        got += (size_t)n;
    reply[got] = '\0';
    reply[strcspn(reply, "\n")] = '\0';
    if (strncmp(reply, "ok ", 3) != 0) {
        fprintf(
            stderr, "stubctl: %s %s: %s\n", restore_fd >= 0 ? "restoring" : "creating", cfg->name,
            reply[0] ? reply + (strncmp(reply, "error ", 6) == 0 ? 6 : 0) : "the supervisor died");
        goto out;
    }
    rc = 0;
    if (console) {
        unsigned domid = (unsigned)strtoul(reply + 3, NULL, 10);
        xs = ctl_store_open(false);
        rc = xs ? ctl_console_attach(xs, domid, !paused) : EXIT_SYSTEM;
    }
out:
    close_quietly(pfd[0]);
    close_quietly(pfd[1]);
    xsc_close(xs);
    return rc;
}

int main_create(int argc, char **argv)
{
    struct domain_config cfg = {0};
    struct config_error cerr;
    bool console = false, paused = false;
    int opt, rc = EXIT_USAGE;

    optind = 1;
    while ((opt = ctl_getopt(argc, argv, "cp", "create")) != -1) {
        if (opt == 'c')
            console = true;
        else if (opt == 'p')
            paused = true;
        else
            return ctl_opt_exit(opt);
    }
    if (optind >= argc)
        return cmd_usage("create");
    for (int i = optind + 1; i < argc; i++) {
        if (!strchr(argv[i], '=')) {
            fprintf(stderr, "stubctl: %s: expected KEY=VALUE\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    fprintf(stderr, "Parsing config from %s\n", argv[optind]);
    config_error_init(&cerr);
    /* The overrides take part in every check, as with xl. */
    if (config_parse_file_with(argv[optind], argv + optind + 1, (size_t)(argc - optind - 1), &cfg,
                               &cerr) < 0)
        goto config_failed;
    for (size_t i = 0; i < cerr.nwarnings; i++)
        fprintf(stderr, "stubctl: warning: %s\n", cerr.warnings[i]);
    /* What this stubvmm cannot do yet is refused before anything exists. */
    if (ctl_check_config(argv[optind], &cfg) < 0)
        goto out;
    rc = ctl_create_domain(&cfg, paused, console, -1);
    goto out;
config_failed:
    for (size_t i = 0; i < cerr.nwarnings; i++)
        fprintf(stderr, "stubctl: warning: %s\n", cerr.warnings[i]);
    fprintf(stderr, "stubctl: %s\n", cerr.message);
    rc = EXIT_USAGE;
out:
    config_error_dispose(&cerr);
    config_dispose(&cfg);
    return rc;
}
