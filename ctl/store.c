/* The embedded default: a store is started on $RUNDIR/store.sock when none
 * answers, so that `stubctl create` works on a fresh machine.
 *
 * Two stubctl starting at once: both fail to connect, both take
 * $RUNDIR/store.lock (flock), and the second one, once it has the lock,
 * finds the first one's store answering and uses it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl/stubctl.h"
#include "lib/fdio.h"
#include "lib/log.h"

static int start_store(const char *sock)
{
    char prog[PATH_MAX], pidfile[PATH_MAX], logpath[PATH_MAX], fdarg[16];
    int ready[2] = {-1, -1}, rc = 0, status;
    pid_t pid;

    if (ctl_program_path("stubstored", prog, sizeof(prog)) < 0)
        return -ENOENT;
    snprintf(pidfile, sizeof(pidfile), "%s/store.pid", ctl_rundir());
    snprintf(logpath, sizeof(logpath), "%s/stubstored.log", ctl_logdir());
    ctl_mkdirs(ctl_logdir(), 0755);
    if (pipe2(ready, O_CLOEXEC) < 0)
        return -errno;
    pid = fork();
    if (pid < 0) {
        rc = -errno;
        goto out;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        int logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0640);
        dup2(null, 0);
        dup2(logfd >= 0 ? logfd : null, 1);
        dup2(logfd >= 0 ? logfd : null, 2);
        fd_set_cloexec(ready[1], 0);
        snprintf(fdarg, sizeof(fdarg), "%d", ready[1]);
        execl(prog, "stubstored", "--socket", sock, "--pid-file", pidfile, "--ready-fd", fdarg,
              (char *)NULL);
        _exit(127);
    }
    close(ready[1]);
    ready[1] = -1;
    /* The daemon writes a newline once it accepts connections; its parent
     * exits 0 at the same moment. */
    struct pollfd p = {.fd = ready[0], .events = POLLIN};
    char c;
    if (poll(&p, 1, 10000) <= 0 || read(ready[0], &c, 1) != 1)
        rc = -EIO;
    if (waitpid(pid, &status, 0) == pid && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
        rc = -EIO;
    if (rc < 0)
        fprintf(stderr, "stubctl: could not start the store %s (see %s)\n", prog, logpath);
out:
    close_quietly(ready[0]);
    close_quietly(ready[1]);
    return rc;
}

struct xsc *ctl_store_try_open(void)
{
    char sock[PATH_MAX];

    ctl_store_path(sock, sizeof(sock));
    return xsc_open(sock);
}

struct xsc *ctl_store_open(bool start_if_needed)
{
    char sock[PATH_MAX], lock[PATH_MAX];
    struct xsc *xs;
    int lfd = -1, rc;

    ctl_store_path(sock, sizeof(sock));
    xs = xsc_open(sock);
    if (xs || !start_if_needed) {
        if (!xs)
            fprintf(stderr, "stubctl: no store at %s: %s\n", sock, strerror(errno));
        return xs;
    }
    rc = ctl_mkdirs(ctl_rundir(), 0755);
    if (rc < 0) {
        fprintf(stderr, "stubctl: %s: %s\n", ctl_rundir(), strerror(-rc));
        return NULL;
    }
    snprintf(lock, sizeof(lock), "%s/store.lock", ctl_rundir());
    lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lfd < 0 || flock(lfd, LOCK_EX) < 0) {
        fprintf(stderr, "stubctl: %s: %s\n", lock, strerror(errno));
        close_quietly(lfd);
        return NULL;
    }
    xs = xsc_open(sock); /* someone may have started it meanwhile */
    if (!xs && start_store(sock) == 0)
        xs = xsc_open(sock);
    if (!xs)
        fprintf(stderr, "stubctl: cannot reach the store at %s: %s\n", sock, strerror(errno));
    close(lfd); /* releases the lock */
    return xs;
}
