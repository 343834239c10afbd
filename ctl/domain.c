/* Finding domains in the store and talking to their stubvmm. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl/stubctl.h"
#include "ctl/vif.h"
#include "lib/fdio.h"
#include "lib/savefile.h"

char *ctl_read_dom(struct xsc *xs, unsigned domid, const char *rel)
{
    char path[256], *v = NULL;

    snprintf(path, sizeof(path), "/local/domain/%u/%s", domid, rel);
    if (xsc_read(xs, 0, path, &v, NULL) < 0)
        return NULL;
    return v;
}

bool ctl_parse_domid(const char *s, unsigned *out)
{
    char *end;
    unsigned long v;

    if (!*s || *s == '-' || *s == '+')
        return false;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || v > STUBCTL_MAX_DOMID)
        return false;
    *out = (unsigned)v;
    return true;
}

/* Whether domain id exists, and (guest_only) is not a stub domain. */
static bool domain_exists(struct xsc *xs, unsigned id, bool guest_only)
{
    char *name = ctl_read_dom(xs, id, "name");
    char *target = guest_only ? ctl_read_dom(xs, id, "target") : NULL;
    bool ok = name && !target;

    free(name);
    free(target);
    return ok;
}

/* The domain called name (guest_only: a guest, not a stub domain). */
static int find_by_name(struct xsc *xs, const char *name, bool guest_only, unsigned *domid)
{
    char **ids = NULL;
    unsigned n = 0, id;
    int rc = xsc_directory(xs, 0, "/local/domain", &ids, &n);

    for (unsigned i = 0; rc == 0 && i < n; i++) {
        if (!ctl_parse_domid(ids[i], &id) || id == 0)
            continue;
        char *v = ctl_read_dom(xs, id, "name");
        bool ok = v && strcmp(v, name) == 0 && domain_exists(xs, id, guest_only);
        free(v);
        if (ok) {
            *domid = id;
            free(ids);
            return 0;
        }
    }
    free(ids);
    return -ENOENT;
}

int ctl_find_domain(struct xsc *xs, const char *name_or_id, unsigned *domid)
{
    unsigned id;

    if (ctl_parse_domid(name_or_id, &id) ? id != 0 && domain_exists(xs, id, true)
                                         : find_by_name(xs, name_or_id, true, &id) == 0) {
        *domid = id;
        return 0;
    }
    fprintf(stderr, "stubctl: %s is an invalid domain identifier\n", name_or_id);
    return -ENOENT;
}

int ctl_find_any_domain(struct xsc *xs, const char *name_or_id, unsigned *domid)
{
    unsigned id;

    if (strcmp(name_or_id, "Domain-0") == 0 || strcmp(name_or_id, "0") == 0) {
        *domid = 0;
        return 0;
    }
    /* A guest first: a guest may be called "x-dm" like x's stub domain. */
    if (xs &&
        (ctl_parse_domid(name_or_id, &id) ? domain_exists(xs, id, false)
                                          : find_by_name(xs, name_or_id, true, &id) == 0 ||
                                                find_by_name(xs, name_or_id, false, &id) == 0)) {
        *domid = id;
        return 0;
    }
    fprintf(stderr, "stubctl: %s is an invalid domain identifier\n", name_or_id);
    return -ENOENT;
}

void ctl_domain_dir(unsigned domid, char *buf, size_t len)
{
    snprintf(buf, len, "%s/dom%u", ctl_rundir(), domid);
}

int ctl_read_kept_config(unsigned domid, char **text, size_t *len)
{
    char dir[PATH_MAX], path[PATH_MAX + 8];
    int fd, rc = 0;

    *text = malloc(SAVEFILE_MAX_CONFIG + 1);
    if (!*text)
        return -ENOMEM;
    ctl_domain_dir(domid, dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/config", dir);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    *len = 0;
    for (;;) {
        ssize_t n = read(fd, *text + *len, SAVEFILE_MAX_CONFIG + 1 - *len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            break;
        }
        *len += (size_t)n;
        if (n == 0 || *len > SAVEFILE_MAX_CONFIG)
            break;
    }
    if (rc == 0 && *len > SAVEFILE_MAX_CONFIG)
        rc = -EFBIG;
    close(fd);
out:
    if (rc < 0) {
        free(*text);
        *text = NULL;
    }
    return rc;
}

int ctl_control_fd(unsigned domid, const char *cmd, int pass_fd, int seconds, char *reply,
                   size_t len)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char dir[PATH_MAX], line[256];
    size_t got = 0;
    int fd, rc = 0;

    reply[0] = '\0';
    ctl_domain_dir(domid, dir, sizeof(dir));
    if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/control.sock", dir) >=
            sizeof(sa.sun_path) ||
        (size_t)snprintf(line, sizeof(line), "%s\n", cmd) >= sizeof(line))
        return -ENAMETOOLONG;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    /* The line and its descriptor in one message: stubvmm takes both. */
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        send_with_fds(fd, line, strlen(line), pass_fd >= 0 ? &pass_fd : NULL,
                      pass_fd >= 0 ? 1 : 0) != (ssize_t)strlen(line)) {
        rc = -errno;
        goto out;
    }
    while (got + 1 < len) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, seconds * 1000);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = -ETIMEDOUT;
            goto out;
        }
        ssize_t n = read(fd, reply + got, len - 1 - got);
        if (n <= 0) {
            rc = -ECONNRESET;
            goto out;
        }
        got += (size_t)n;
        reply[got] = '\0';
        char *nl = strchr(reply, '\n');
        if (nl) {
            *nl = '\0';
            break;
        }
    }
    rc = strncmp(reply, "ok", 2) == 0 ? 0 : -EREMOTEIO;
out:
    close(fd);
    return rc;
}

int ctl_control(struct xsc *xs, unsigned domid, const char *cmd, char *reply, size_t len)
{
    (void)xs;
    return ctl_control_fd(domid, cmd, -1, 5, reply, len);
}

static void dm_state_path(unsigned domid, unsigned dm_domid, const char *leaf, char *buf,
                          size_t len)
{
    snprintf(buf, len, "/local/domain/%u/device-model/%u/%s", dm_domid, domid, leaf);
}

int ctl_dm_wait_state(struct xsc *xs, unsigned domid, unsigned dm_domid, const char *want,
                      int seconds, char *err, size_t errlen)
{
    char path[128], token[] = "dm-state", *v = NULL;
    struct timespec start, now;
    int rc;

    dm_state_path(domid, dm_domid, "state", path, sizeof(path));
    rc = xsc_watch(xs, path, token);
    if (rc < 0) {
        snprintf(err, errlen, "watching %s: %s", path, strerror(-rc));
        return rc;
    }
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        struct xsc_event *ev = NULL;
        char reply[512];

        if (xsc_read(xs, 0, path, &v, NULL) == 0) {
            if (strcmp(v, want) == 0)
                break;
            if (strcmp(v, "error") == 0) {
                snprintf(err, errlen, "the device model answered error instead of %s", want);
                rc = -EREMOTEIO;
                goto out;
            }
        }
        free(v);
        v = NULL;
        /* A device model that dies or exits never answers: ask. */
        if (ctl_control(xs, domid, "status", reply, sizeof(reply)) == 0 &&
            strstr(reply, "dm=dead")) {
            snprintf(err, errlen, "the device model is gone (it did not report %s)", want);
            rc = -EIO;
            goto out;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= seconds) {
            snprintf(err, errlen, "the device model did not report %s within %d s", want, seconds);
            rc = -ETIMEDOUT;
            goto out;
        }
        if (xsc_read_watch(xs, 200, &ev) == 0)
            free(ev);
    }
    rc = 0;
out:
    free(v);
    xsc_unwatch(xs, path, token);
    return rc;
}

int ctl_dm_command(struct xsc *xs, unsigned domid, unsigned dm_domid, const char *cmd,
                   const char *want, char *err, size_t errlen)
{
    char path[128];
    int rc;

    /* A stale answer (an earlier "error") must not end the wait. */
    dm_state_path(domid, dm_domid, "state", path, sizeof(path));
    rc = xsc_write_str(xs, 0, path, "");
    dm_state_path(domid, dm_domid, "parameter", path, sizeof(path));
    rc = rc ?: xsc_write_str(xs, 0, path, "");
    dm_state_path(domid, dm_domid, "command", path, sizeof(path));
    rc = rc ?: xsc_write_str(xs, 0, path, cmd);
    if (rc < 0) {
        snprintf(err, errlen, "writing %s: %s", path, strerror(-rc));
        return rc;
    }
    return ctl_dm_wait_state(xs, domid, dm_domid, want, STUBCTL_READY_TIMEOUT, err, errlen);
}

int ctl_wait_released(struct xsc *xs, unsigned domid, int seconds)
{
    char path[64], *v = NULL;
    struct timespec start, now;

    snprintf(path, sizeof(path), "/local/domain/%u", domid);
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        int rc = xsc_read(xs, 0, path, &v, NULL);
        free(v);
        v = NULL;
        if (rc == -ENOENT)
            return 0;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= seconds)
            return -ETIMEDOUT;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL); /* bounded polling: the store has no "node gone" wait */
    }
}

void ctl_domain_cleanup(struct xsc *xs, unsigned domid)
{
    char *vm = ctl_read_dom(xs, domid, "vm"),
         *dmid = ctl_read_dom(xs, domid, "image/device-model-domid");
    char dir[PATH_MAX], path[PATH_MAX + 32];
    unsigned dm;

    vif_down(xs, domid); /* its taps, before the nodes that name them go */
    if (dmid && ctl_parse_domid(dmid, &dm) && dm != 0) {
        if (xsc_release(xs, dm) < 0)
            snprintf(path, sizeof(path), "/local/domain/%u", dm), xsc_rm(xs, 0, path);
    }
    if (vm && strncmp(vm, "/vm/", 4) == 0 && !strstr(vm, ".."))
        xsc_rm(xs, 0, vm);
    if (xsc_release(xs, domid) < 0) {
        snprintf(path, sizeof(path), "/local/domain/%u", domid);
        xsc_rm(xs, 0, path);
    }
    ctl_domain_dir(domid, dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/control.sock", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/console.sock", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/dm-state", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/qmp.sock", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/config", dir);
    unlink(path);
    rmdir(dir);
    free(vm);
    free(dmid);
}
