/* `stubctl store status` and `stubctl store stop [-f]`.
 *
 * The store is whatever answers on $RUNDIR/store.sock, started by
 * `stubctl create`, by hand, or by stubstored.service; its pid comes from
 * the socket itself (SO_PEERCRED), so no pid file has to be right.
 * status exits 0 when a store answers and 1 when none does; stop is
 * refused while domains exist (they would be left without a store), unless
 * -f, and is a no-op when no store runs, so that it can be a unit's
 * ExecStop. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl/dominfo.h"
#include "lib/fdio.h"
#include "lib/log.h"

#define STORE_STOP_TIMEOUT 10 /* seconds for the store to exit */

/* The pid of the process listening on the store's socket, or -errno. */
static int store_pid(const char *sock)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct ucred cred;
    socklen_t len = sizeof(cred);
    int fd, rc;

    if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
        rc = -errno;
    else
        rc = cred.pid > 0 ? cred.pid : -ESRCH;
    close(fd);
    return rc;
}

/* Whether pid is (still) a stubstored. */
static bool is_store(int pid)
{
    char path[64], comm[32] = "";
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/comm", pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, comm, sizeof(comm) - 1);
    close(fd);
    comm[n > 0 ? n : 0] = '\0';
    comm[strcspn(comm, "\n")] = '\0';
    return strcmp(comm, "stubstored") == 0;
}

/* Whether a store answers on sock (saying so when none does), and how
 * many guests it holds. */
static bool store_running(const char *sock, unsigned *guests)
{
    struct xsc *xs = ctl_store_try_open();
    unsigned *ids = NULL;

    if (!xs) {
        printf("store: not running (nothing answers on %s)\n", sock);
        return false;
    }
    *guests = ctl_guest_ids(xs, &ids);
    free(ids);
    xsc_close(xs);
    return true;
}

static int store_status(void)
{
    char sock[PATH_MAX];
    unsigned n;
    int pid;

    ctl_store_path(sock, sizeof(sock));
    if (!store_running(sock, &n))
        return 1;
    pid = store_pid(sock);
    printf("store: running on %s", sock);
    if (pid > 0)
        printf(", pid %d", pid);
    printf(", %u guest%s\n", n, n == 1 ? "" : "s");
    return 0;
}

static int store_stop(bool force)
{
    char sock[PATH_MAX];
    unsigned n;
    int pid;

    ctl_store_path(sock, sizeof(sock));
    if (!store_running(sock, &n))
        return 0;
    if (n && !force) {
        fprintf(stderr,
                "stubctl: %u guest%s still exist%s; destroy or save them first (or stop the "
                "store with -f and leave them without one)\n",
                n, n == 1 ? "" : "s", n == 1 ? "s" : "");
        return 1;
    }
    pid = store_pid(sock);
    if (pid < 0 || !is_store(pid)) {
        fprintf(stderr, "stubctl: cannot tell which process serves %s: %s\n", sock,
                pid < 0 ? strerror(-pid) : "it is not stubstored");
        return EXIT_SYSTEM;
    }
    if (kill(pid, SIGTERM) < 0) {
        fprintf(stderr, "stubctl: stopping the store (pid %d): %s\n", pid, strerror(errno));
        return EXIT_SYSTEM;
    }
    /* Bounded polling: a daemon that is not our child gives no exit event. */
    for (int i = 0; i < STORE_STOP_TIMEOUT * 50; i++) {
        if (kill(pid, 0) < 0 || !is_store(pid)) {
            printf("store: stopped (pid %d)\n", pid);
            return 0;
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "stubctl: the store (pid %d) is still there after %d s\n", pid,
            STORE_STOP_TIMEOUT);
    return EXIT_SYSTEM;
}

int main_store(int argc, char **argv)
{
    bool force = false;
    int opt;

    optind = 1;
    while ((opt = ctl_getopt(argc, argv, "", "store")) != -1)
        return ctl_opt_exit(opt);
    if (argc - optind < 1)
        return cmd_usage("store");
    const char *what = argv[optind];
    if (strcmp(what, "status") == 0 && argc - optind == 1)
        return store_status();
    if (strcmp(what, "stop") == 0) {
        argc -= optind;
        argv += optind;
        optind = 1;
        while ((opt = ctl_getopt(argc, argv, "f", "store")) != -1) {
            if (opt != 'f')
                return ctl_opt_exit(opt);
            force = true;
        }
        if (optind != argc)
            return cmd_usage("store");
        return store_stop(force);
    }
    return cmd_usage("store");
}
