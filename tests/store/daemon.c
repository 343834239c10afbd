/* Start and stop a private stubstored: see daemon.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/store/daemon.h"

int test_store_start(struct test_store *ts, const char *const *extra)
{
    const char *bin = getenv("STUBVISOR_BIN");
    char prog[512], fdarg[16];
    int p[2];

    if (!bin) {
        fprintf(stderr, "STUBVISOR_BIN is not set: run through meson\n");
        return -1;
    }
    snprintf(prog, sizeof(prog), "%s/stubstored", bin);
    snprintf(ts->dir, sizeof(ts->dir), "%s/stubstored-test.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(ts->dir) || pipe(p) != 0)
        return -1;
    snprintf(ts->socket, sizeof(ts->socket), "%s/store.sock", ts->dir);
    snprintf(fdarg, sizeof(fdarg), "%d", p[1]);
    const char *argv[32] = {prog, "--foreground", "--socket", ts->socket, "--ready-fd", fdarg};
    int argc = 6;
    for (int i = 0; extra && extra[i] && argc < 31; i++)
        argv[argc++] = extra[i];
    argv[argc] = NULL;
    ts->pid = fork();
    if (ts->pid < 0)
        return -1;
    if (ts->pid == 0) {
        close(p[0]);
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a crashed test */
        execv(prog, (char *const *)argv);
        perror(prog);
        _exit(127);
    }
    close(p[1]);
    struct pollfd pfd = {.fd = p[0], .events = POLLIN};
    char c;
    int ok = poll(&pfd, 1, 10000) == 1 && read(p[0], &c, 1) == 1 && c == '\n';
    close(p[0]);
    if (!ok) {
        fprintf(stderr, "stubstored did not become ready\n");
        kill(ts->pid, SIGKILL);
        waitpid(ts->pid, NULL, 0);
        return -1;
    }
    return 0;
}

int test_store_alive(struct test_store *ts)
{
    return waitpid(ts->pid, NULL, WNOHANG) == 0;
}

int test_store_stop(struct test_store *ts)
{
    int status;
    kill(ts->pid, SIGTERM);
    if (waitpid(ts->pid, &status, 0) != ts->pid)
        return -1;
    unlink(ts->socket);
    rmdir(ts->dir);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
