/* Bridged vifs: taps made by the toolstack, plugged into a Linux bridge by
 * the toolstack or by the vif's hotplug script (vif.h).
 *
 * Xen's conventions, which a script written for Xen relies on:
 *   argv     SCRIPT online|offline type_if=vif
 *   environ  script=SCRIPT XENBUS_TYPE=vif XENBUS_PATH=backend/vif/G/N
 *            XENBUS_BASE_PATH=backend netdev= vif=TAP, plus XENSTORED_PATH
 *            so that xenstore-read and friends reach this store
 *   store    /local/domain/0/backend/vif/G/N: frontend, frontend-id,
 *            online, script, mac, bridge, handle, type, vifname (and mtu);
 *            the script answers in hotplug-status ("connected", or "error"
 *            with hotplug-error saying why), as Xen's `success` and
 *            `fatal` write them.
 * XENBUS_PATH is relative: a control-domain connection's paths are
 * relative to /local/domain/0.  The host side of the tap gets the MAC
 * fe:ff:ff:ff:ff:ff, as Xen's scripts give it, so that a bridge never
 * takes the vif's address as its own. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/ethtool.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if_arp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl/vif.h"
#include "lib/log.h"

#define BACKEND_DIR "/local/domain/0/backend/vif"

bool vif_is_bridged(const struct vif_spec *v)
{
    return v->backend == VIF_BACKEND_TAP && v->bridge;
}

/* ---- interfaces ---- */

static int if_ioctl(unsigned long req, struct ifreq *ifr)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;

    if (fd < 0)
        return -errno;
    if (ioctl(fd, req, ifr) < 0)
        rc = -errno;
    close(fd);
    return rc;
}

static void ifreq_for(struct ifreq *ifr, const char *name)
{
    memset(ifr, 0, sizeof(*ifr));
    snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
}

/* Whether name is a Linux bridge: its driver says so (ethtool), which
 * works in any network namespace, unlike a look at /sys. */
static bool is_bridge(const char *name)
{
    struct ethtool_drvinfo info = {.cmd = ETHTOOL_GDRVINFO};
    struct ifreq ifr;

    ifreq_for(&ifr, name);
    ifr.ifr_data = (char *)&info;
    return if_ioctl(SIOCETHTOOL, &ifr) == 0 && strcmp(info.driver, "bridge") == 0;
}

static int set_up(const char *name, bool up)
{
    struct ifreq ifr;
    int rc;

    ifreq_for(&ifr, name);
    rc = if_ioctl(SIOCGIFFLAGS, &ifr);
    if (rc < 0)
        return rc;
    if (up)
        ifr.ifr_flags |= IFF_UP;
    else
        ifr.ifr_flags &= ~IFF_UP;
    return if_ioctl(SIOCSIFFLAGS, &ifr);
}

static int bridge_port(const char *bridge, const char *port, bool add)
{
    struct ifreq ifr;
    unsigned idx = if_nametoindex(port);

    if (!idx)
        return -errno;
    ifreq_for(&ifr, bridge);
    ifr.ifr_ifindex = (int)idx;
    return if_ioctl(add ? SIOCBRADDIF : SIOCBRDELIF, &ifr);
}

/* A persistent tap (persist) or the end of one (!persist: it goes once
 * nobody holds it). */
static int tap_persist(const char *name, bool persist)
{
    struct ifreq ifr;
    int fd, rc = 0;

    ifreq_for(&ifr, name);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETPERSIST, persist ? 1 : 0) < 0)
        rc = -errno;
    close(fd);
    return rc;
}

/* The tap's host side: Xen's fe:ff:ff:ff:ff:ff, the vif's MTU. */
static int tap_setup(const char *name, unsigned mtu)
{
    struct ifreq ifr;
    int rc;

    ifreq_for(&ifr, name);
    ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
    memset(ifr.ifr_hwaddr.sa_data, 0xff, 6);
    ifr.ifr_hwaddr.sa_data[0] = (char)0xfe;
    rc = if_ioctl(SIOCSIFHWADDR, &ifr);
    if (rc == 0 && mtu) {
        ifreq_for(&ifr, name);
        ifr.ifr_mtu = (int)mtu;
        rc = if_ioctl(SIOCSIFMTU, &ifr);
    }
    return rc;
}

/* ---- hotplug scripts ---- */

/* Run `script action type_if=vif` with Xen's environment; 0 when it
 * exits 0, else -EIO with err saying how it ended. */
static int run_script(const char *script, const char *action, unsigned domid, unsigned devid,
                      const char *tap, char *err, size_t errlen)
{
    char path[64], store[PATH_MAX];
    int status = 0, waited = 0;
    pid_t pid, r;

    snprintf(path, sizeof(path), "backend/vif/%u/%u", domid, devid);
    ctl_store_path(store, sizeof(store));
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return -errno;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        setpgid(0, 0); /* killed as a group on a timeout */
        dup2(null, STDIN_FILENO);
        if (setenv("script", script, 1) || setenv("XENBUS_TYPE", "vif", 1) ||
            setenv("XENBUS_PATH", path, 1) || setenv("XENBUS_BASE_PATH", "backend", 1) ||
            setenv("netdev", "", 1) || setenv("vif", tap, 1) || setenv("XENSTORED_PATH", store, 1))
            _exit(127);
        execl(script, script, action, "type_if=vif", (char *)NULL);
        fprintf(stderr, "stubctl: %s: %s\n", script, strerror(errno));
        _exit(127);
    }
    /* Bounded polling: the supervisor waits for its own stubvmm by pid
     * elsewhere, so no SIGCHLD handler is ours to take. */
    while ((r = waitpid(pid, &status, WNOHANG)) == 0 && waited < VIF_SCRIPT_TIMEOUT * 50) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        waited++;
    }
    if (r == 0) {
        kill(-pid, SIGKILL);
        waitpid(pid, &status, 0);
        snprintf(err, errlen, "%s %s: still running after %d s; killed", script, action,
                 VIF_SCRIPT_TIMEOUT);
        return -ETIMEDOUT;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status))
        snprintf(err, errlen, "%s %s exited %d", script, action, WEXITSTATUS(status));
    else
        snprintf(err, errlen, "%s %s killed by signal %d", script, action, WTERMSIG(status));
    return -EIO;
}

/* ---- the store ---- */

static int write_node(struct xsc *xs, uint32_t tx, unsigned domid, unsigned devid, const char *leaf,
                      const char *value)
{
    char path[128];

    snprintf(path, sizeof(path), BACKEND_DIR "/%u/%u/%s", domid, devid, leaf);
    return xsc_write_str(xs, tx, path, value);
}

static char *read_node(struct xsc *xs, unsigned domid, const char *devid, const char *leaf)
{
    char path[128], *v = NULL;

    snprintf(path, sizeof(path), BACKEND_DIR "/%u/%s/%s", domid, devid, leaf);
    return xsc_read(xs, 0, path, &v, NULL) == 0 ? v : NULL;
}

/* Every bridged vif's backend directory, in one transaction: owned by the
 * control domain, readable by the guest, as libxl makes them. */
static int write_backends(struct xsc *xs, unsigned domid, const struct domain_config *cfg,
                          const struct vif_names *names)
{
    int rc = -EAGAIN;

    for (int attempt = 0; attempt < 50 && rc == -EAGAIN; attempt++) {
        uint32_t tx;
        rc = xsc_transaction_start(xs, &tx);
        if (rc < 0)
            return rc;
        for (unsigned i = 0; i < cfg->nvifs && rc == 0; i++) {
            const struct vif_spec *v = &cfg->vifs[i];
            char path[128], val[64];
            const uint8_t *m = v->mac;
            if (!vif_is_bridged(v))
                continue;
            snprintf(path, sizeof(path), BACKEND_DIR "/%u/%u", domid, i);
            struct xsc_perm perms[2] = {{0, 'n'}, {domid, 'r'}};
            rc = xsc_mkdir(xs, tx, path);
            rc = rc ?: xsc_set_perms(xs, tx, path, perms, 2);
            snprintf(val, sizeof(val), "/local/domain/%u/device/vif/%u", domid, i);
            rc = rc ?: write_node(xs, tx, domid, i, "frontend", val);
            snprintf(val, sizeof(val), "%u", domid);
            rc = rc ?: write_node(xs, tx, domid, i, "frontend-id", val);
            snprintf(val, sizeof(val), "%u", i);
            rc = rc ?: write_node(xs, tx, domid, i, "handle", val);
            rc = rc ?: write_node(xs, tx, domid, i, "online", "1");
            rc = rc ?: write_node(xs, tx, domid, i, "type", "vif");
            rc = rc ?: write_node(xs, tx, domid, i, "script", v->script ? v->script : "");
            rc = rc ?: write_node(xs, tx, domid, i, "bridge", v->bridge);
            snprintf(val, sizeof(val), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
                     m[4], m[5]);
            rc = rc ?: write_node(xs, tx, domid, i, "mac", val);
            rc = rc ?: write_node(xs, tx, domid, i, "vifname", names->name[i]);
            if (v->mtu) {
                snprintf(val, sizeof(val), "%u", v->mtu);
                rc = rc ?: write_node(xs, tx, domid, i, "mtu", val);
            }
        }
        if (rc < 0) {
            xsc_transaction_end(xs, tx, false);
            return rc;
        }
        rc = xsc_transaction_end(xs, tx, true);
    }
    return rc;
}

/* Remove the directories above a guest's backend nodes that nothing else
 * uses any more, so that a host with no guests has no /local/domain/0
 * left (the control domain has no nodes of its own here).  In a
 * transaction: a vif another guest adds meanwhile makes it retry. */
static void prune_empty(struct xsc *xs)
{
    static const char *const dirs[] = {BACKEND_DIR, "/local/domain/0/backend", "/local/domain/0"};

    for (int attempt = 0; attempt < 50; attempt++) {
        bool abort = false;
        uint32_t tx;
        int rc = xsc_transaction_start(xs, &tx);
        if (rc < 0)
            return;
        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
            char **kids = NULL;
            unsigned n = 0;
            rc = xsc_directory(xs, tx, dirs[i], &kids, &n);
            free(kids);
            if (rc < 0 || n > 0) {
                abort = rc < 0 && rc != -ENOENT;
                break; /* gone, or in use: nothing above it can go */
            }
            rc = xsc_rm(xs, tx, dirs[i]);
            if (rc < 0) {
                abort = true;
                break;
            }
        }
        if (xsc_transaction_end(xs, tx, !abort) != -EAGAIN)
            return;
    }
}

/* ---- up and down ---- */

int vif_check(const char *what, const struct domain_config *cfg)
{
    for (size_t i = 0; i < cfg->nvifs; i++) {
        const struct vif_spec *v = &cfg->vifs[i];
        if (!vif_is_bridged(v))
            continue;
        if (v->tap_name && if_nametoindex(v->tap_name)) {
            fprintf(stderr, "stubctl: %s: vif %zu: an interface called %s exists already\n", what,
                    i, v->tap_name);
            return -EEXIST;
        }
        if (v->script) {
            if (access(v->script, X_OK) < 0) {
                fprintf(stderr, "stubctl: %s: vif %zu: script %s: %s\n", what, i, v->script,
                        strerror(errno));
                return -ENOENT;
            }
            continue; /* the script knows what to do with the bridge */
        }
        if (!if_nametoindex(v->bridge)) {
            fprintf(stderr,
                    "stubctl: %s: vif %zu: there is no bridge %s (make one: ip link add %s type "
                    "bridge; ip link set %s up)\n",
                    what, i, v->bridge, v->bridge, v->bridge);
            return -ENOENT;
        }
        if (!is_bridge(v->bridge)) {
            fprintf(stderr, "stubctl: %s: vif %zu: %s is not a bridge\n", what, i, v->bridge);
            return -EINVAL;
        }
    }
    return 0;
}

/* Plug one made tap in: the script, or the bridge and up. */
static int plug(struct xsc *xs, unsigned domid, unsigned devid, const struct vif_spec *v,
                const char *tap, char *err, size_t errlen)
{
    char id[16];
    int rc;

    if (!v->script) {
        rc = bridge_port(v->bridge, tap, true);
        if (rc < 0) {
            snprintf(err, errlen, "vif %u: adding %s to bridge %s: %s", devid, tap, v->bridge,
                     strerror(-rc));
            return rc;
        }
        rc = set_up(tap, true);
        if (rc < 0)
            snprintf(err, errlen, "vif %u: %s up: %s", devid, tap, strerror(-rc));
        return rc;
    }
    rc = run_script(v->script, "online", domid, devid, tap, err, errlen);
    /* A script that says why (Xen's `fatal`) is the better message. */
    snprintf(id, sizeof(id), "%u", devid);
    char *status = read_node(xs, domid, id, "hotplug-status");
    if (status && strcmp(status, "error") == 0) {
        char *why = read_node(xs, domid, id, "hotplug-error");
        snprintf(err, errlen, "%s online: %s", v->script, why ? why : "hotplug-status error");
        free(why);
        rc = -EIO;
    }
    free(status);
    return rc;
}

int vif_up(struct xsc *xs, unsigned domid, const struct domain_config *cfg, struct vif_names *names,
           char *err, size_t errlen)
{
    int rc;

    memset(names, 0, sizeof(*names));
    for (unsigned i = 0; i < cfg->nvifs; i++) {
        const struct vif_spec *v = &cfg->vifs[i];
        if (v->backend != VIF_BACKEND_TAP)
            continue;
        if (v->tap_name)
            snprintf(names->name[i], sizeof(names->name[i]), "%s", v->tap_name);
        else
            snprintf(names->name[i], sizeof(names->name[i]), "vif%u.%u", domid, i);
    }
    /* The store first: whatever happens next, vif_down finds it there. */
    rc = write_backends(xs, domid, cfg, names);
    if (rc < 0) {
        snprintf(err, errlen, "writing the vifs' backend nodes: %s", strerror(-rc));
        return rc;
    }
    for (unsigned i = 0; i < cfg->nvifs; i++) {
        const struct vif_spec *v = &cfg->vifs[i];
        const char *tap = names->name[i];
        if (!vif_is_bridged(v))
            continue;
        if (if_nametoindex(tap)) {
            snprintf(err, errlen, "vif %u: an interface called %s exists already", i, tap);
            rc = -EEXIST;
            goto fail;
        }
        rc = tap_persist(tap, true);
        if (rc == 0 && write_node(xs, 0, domid, i, "stubvisor-tap", tap) < 0)
            rc = -EIO;
        rc = rc ?: tap_setup(tap, v->mtu);
        if (rc < 0) {
            snprintf(err, errlen, "vif %u: making tap %s: %s", i, tap, strerror(-rc));
            goto fail;
        }
        rc = plug(xs, domid, i, v, tap, err, errlen);
        if (rc < 0)
            goto fail;
        log_info("domain %u: vif %u is %s, %s", domid, i, tap,
                 v->script ? "plugged in by its script" : "on its bridge");
    }
    return 0;
fail:
    vif_down(xs, domid);
    return rc;
}

void vif_down(struct xsc *xs, unsigned domid)
{
    char path[64], **devs = NULL, err[256];
    unsigned n = 0;

    snprintf(path, sizeof(path), BACKEND_DIR "/%u", domid);
    if (xsc_directory(xs, 0, path, &devs, &n) < 0)
        n = 0;
    for (unsigned i = 0; i < n; i++) {
        char *tap = read_node(xs, domid, devs[i], "stubvisor-tap");
        char *script = read_node(xs, domid, devs[i], "script");
        char *bridge = read_node(xs, domid, devs[i], "bridge");
        unsigned devid = (unsigned)strtoul(devs[i], NULL, 10);
        /* Only a tap this toolstack made (the node is dom0's alone). */
        if (tap && *tap && if_nametoindex(tap)) {
            if (script && *script) {
                if (run_script(script, "offline", domid, devid, tap, err, sizeof(err)) < 0)
                    log_warn("domain %u: vif %u: %s", domid, devid, err);
            } else {
                if (bridge && *bridge)
                    bridge_port(bridge, tap, false);
                set_up(tap, false);
            }
            int rc = tap_persist(tap, false);
            if (rc < 0)
                log_warn("domain %u: vif %u: deleting tap %s: %s", domid, devid, tap,
                         strerror(-rc));
        }
        free(tap);
        free(script);
        free(bridge);
    }
    free(devs);
    xsc_rm(xs, 0, path);
    prune_empty(xs);
}
