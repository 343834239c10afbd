/* The commands that name one domain: destroy, shutdown, reboot, pause,
 * unpause, domid, domname, log. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl/stubctl.h"
#include "lib/fdio.h"
#include "lib/log.h"

/* Common prologue: no options but -h, exactly one DOMAIN argument (left
 * in argv[1]), a store, the domain. */
static struct xsc *open_domain(int argc, char **argv, const char *cmd, unsigned *domid, int *rc)
{
    struct xsc *xs;
    int opt;

    optind = 1;
    while ((opt = ctl_getopt(argc, argv, "", cmd)) != -1) {
        *rc = ctl_opt_exit(opt);
        return NULL;
    }
    if (argc - optind != 1) {
        *rc = cmd_usage(cmd);
        return NULL;
    }
    argv[1] = argv[optind];
    xs = ctl_store_open(false);
    if (!xs) {
        *rc = EXIT_SYSTEM;
        return NULL;
    }
    if (ctl_find_domain(xs, argv[1], domid) < 0) {
        xsc_close(xs);
        *rc = 1;
        return NULL;
    }
    return xs;
}

/* Gone, or a zombie: the supervisor is a daemon, reaped by whoever is
 * pid 1 here, possibly late. */
static bool pid_gone(pid_t pid)
{
    char path[64], buf[256];
    int fd;
    ssize_t n;

    if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH))
        return true;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return true;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return true;
    buf[n] = '\0';
    char *paren = strrchr(buf, ')');
    return paren && paren[1] == ' ' && paren[2] == 'Z';
}

int ctl_end_domain(struct xsc *xs, unsigned domid, const char *what, const char *label)
{
    char reply[256], *spid;
    pid_t sup = 0;
    int rc;

    spid = ctl_read_dom(xs, domid, "stubvisor/supervisor-pid");
    if (spid)
        sup = (pid_t)strtol(spid, NULL, 10);
    free(spid);
    rc = ctl_control(xs, domid, what, reply, sizeof(reply));
    if (rc == -EREMOTEIO) {
        fprintf(stderr, "stubctl: %s: %s\n", label, reply);
        return 1;
    }
    if (rc < 0 || pid_gone(sup)) {
        /* Nobody left to clean up after the guest: do it here. */
        ctl_domain_cleanup(xs, domid);
    }
    if (strcmp(what, "reboot") != 0) {
        for (int i = 0; i < STUBCTL_DESTROY_TIMEOUT * 50 && !pid_gone(sup); i++) {
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (ctl_wait_released(xs, domid, STUBCTL_DESTROY_TIMEOUT) < 0) {
            fprintf(stderr, "stubctl: %s: still there after %d s\n", label,
                    STUBCTL_DESTROY_TIMEOUT);
            return EXIT_SYSTEM;
        }
    }
    return 0;
}

/* Ask stubvmm to end the guest and wait until the supervisor cleaned up. */
static int end_domain(int argc, char **argv, const char *cmd, const char *what)
{
    unsigned domid;
    int rc;
    struct xsc *xs = open_domain(argc, argv, cmd, &domid, &rc);

    if (!xs)
        return rc;
    rc = ctl_end_domain(xs, domid, what, argv[1]);
    xsc_close(xs);
    return rc;
}

int main_destroy(int argc, char **argv)
{
    return end_domain(argc, argv, "destroy", "destroy");
}

int main_shutdown(int argc, char **argv)
{
    return end_domain(argc, argv, "shutdown", "shutdown");
}

int main_reboot(int argc, char **argv)
{
    return end_domain(argc, argv, "reboot", "reboot");
}

static int simple(int argc, char **argv, const char *cmd)
{
    char reply[256];
    unsigned domid;
    int rc;
    struct xsc *xs = open_domain(argc, argv, cmd, &domid, &rc);

    if (!xs)
        return rc;
    rc = ctl_control(xs, domid, cmd, reply, sizeof(reply));
    xsc_close(xs);
    if (rc < 0) {
        fprintf(stderr, "stubctl: %s %s: %s\n", cmd, argv[1],
                rc == -EREMOTEIO ? reply : strerror(-rc));
        return 1;
    }
    return 0;
}

int main_pause(int argc, char **argv)
{
    return simple(argc, argv, "pause");
}

int main_unpause(int argc, char **argv)
{
    return simple(argc, argv, "unpause");
}

/* domid and domname know every domain `list` shows: Domain-0 (even with
 * no store running), guests and stub domains. */
static int resolve_any(int argc, char **argv, const char *cmd, unsigned *domid, char **name)
{
    struct xsc *xs;
    int opt, rc;

    optind = 1;
    while ((opt = ctl_getopt(argc, argv, "", cmd)) != -1)
        return ctl_opt_exit(opt);
    if (argc - optind != 1)
        return cmd_usage(cmd);
    xs = ctl_store_try_open();
    rc = ctl_find_any_domain(xs, argv[optind], domid) < 0 ? 1 : 0;
    if (rc == 0)
        *name = *domid == 0 ? strdup("Domain-0") : ctl_read_dom(xs, *domid, "name");
    xsc_close(xs);
    return rc;
}

int main_domid(int argc, char **argv)
{
    unsigned domid;
    char *name = NULL;
    int rc = resolve_any(argc, argv, "domid", &domid, &name);

    if (rc == 0)
        printf("%u\n", domid);
    free(name);
    return rc;
}

int main_domname(int argc, char **argv)
{
    unsigned domid;
    char *name = NULL;
    int rc = resolve_any(argc, argv, "domname", &domid, &name);

    if (rc == 0)
        printf("%s\n", name ? name : "");
    free(name);
    return rc;
}

int main_log(int argc, char **argv)
{
    char buf[4096], *path;
    unsigned domid;
    int rc, fd;
    ssize_t n;
    struct xsc *xs = open_domain(argc, argv, "log", &domid, &rc);

    if (!xs)
        return rc;
    path = ctl_read_dom(xs, domid, "stubvisor/log");
    xsc_close(xs);
    fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0) {
        fprintf(stderr, "stubctl: log of %s: %s\n", argv[1], path ? strerror(errno) : "unknown");
        free(path);
        return 1;
    }
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        if (write_full(STDOUT_FILENO, buf, (size_t)n) < 0)
            break;
    close(fd);
    free(path);
    return 0;
}

/* console [-t pv|serial] DOMAIN (xl's spelling). */
int main_console(int argc, char **argv)
{
    unsigned domid;
    bool pv = false;
    int opt, rc;
    struct xsc *xs;

    optind = 1;
    while ((opt = ctl_getopt(argc, argv, "t:", "console")) != -1) {
        if (opt != 't')
            return ctl_opt_exit(opt);
        if (strcmp(optarg, "pv") != 0 && strcmp(optarg, "serial") != 0) {
            fprintf(stderr, "stubctl console: -t takes pv or serial, not '%s'\n", optarg);
            return cmd_usage("console");
        }
        pv = strcmp(optarg, "pv") == 0;
    }
    if (argc - optind != 1)
        return cmd_usage("console");
    xs = ctl_store_open(false);
    if (!xs)
        return EXIT_SYSTEM;
    rc = ctl_find_domain(xs, argv[optind], &domid) < 0 ? 1 : 0;
    if (rc == 0)
        rc = ctl_console_attach_type(xs, domid, false, pv);
    xsc_close(xs);
    return rc;
}
