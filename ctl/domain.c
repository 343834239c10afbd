/* Finding domains in the store and talking to their stubvmm. */
#include <errno.h>
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
#include "lib/fdio.h"

char *ctl_read_dom(struct xsc *xs, unsigned domid, const char *rel)
{
    char path[256], *v = NULL;

    snprintf(path, sizeof(path), "/local/domain/%u/%s", domid, rel);
    if (xsc_read(xs, 0, path, &v, NULL) < 0)
        return NULL;
    return v;
}

static bool parse_domid(const char *s, unsigned *out)
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

int ctl_find_domain(struct xsc *xs, const char *name_or_id, unsigned *domid)
{
    char **ids = NULL;
    unsigned n = 0, id;
    int rc;

    if (parse_domid(name_or_id, &id)) {
        char *name = ctl_read_dom(xs, id, "name"), *target = ctl_read_dom(xs, id, "target");
        bool ok = name && !target && id != 0;
        free(name);
        free(target);
        if (ok) {
            *domid = id;
            return 0;
        }
    } else {
        rc = xsc_directory(xs, 0, "/local/domain", &ids, &n);
        for (unsigned i = 0; rc == 0 && i < n; i++) {
            if (!parse_domid(ids[i], &id) || id == 0)
                continue;
            char *name = ctl_read_dom(xs, id, "name"), *target = ctl_read_dom(xs, id, "target");
            bool ok = name && !target && strcmp(name, name_or_id) == 0;
            free(name);
            free(target);
            if (ok) {
                *domid = id;
                free(ids);
                return 0;
            }
        }
        free(ids);
    }
    fprintf(stderr, "stubctl: %s is an invalid domain identifier\n", name_or_id);
    return -ENOENT;
}

void ctl_domain_dir(unsigned domid, char *buf, size_t len)
{
    snprintf(buf, len, "%s/dom%u", ctl_rundir(), domid);
}

int ctl_control(struct xsc *xs, unsigned domid, const char *cmd, char *reply, size_t len)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char dir[PATH_MAX];
    size_t got = 0;
    int fd, rc = 0;

    (void)xs;
    ctl_domain_dir(domid, dir, sizeof(dir));
    if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/control.sock", dir) >=
        sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        write_full(fd, cmd, strlen(cmd)) < 0 || write_full(fd, "\n", 1) < 0) {
        rc = -errno;
        goto out;
    }
    reply[0] = '\0';
    while (got + 1 < len) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5000) <= 0) {
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

    if (dmid && parse_domid(dmid, &dm) && dm != 0) {
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
    rmdir(dir);
    free(vm);
    free(dmid);
}
