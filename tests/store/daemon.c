/* Start and stop a private stubstored: see daemon.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/xs_client.h"
#include "tests/store/daemon.h"

static int spawn(struct test_store *ts, const char *const *extra)
{
    const char *bin = getenv("STUBVISOR_BIN");
    char prog[512], fdarg[16];
    int p[2];

    if (!bin) {
        fprintf(stderr, "STUBVISOR_BIN is not set: run through meson\n");
        return -1;
    }
    snprintf(prog, sizeof(prog), "%s/stubstored", bin);
    if (pipe(p) != 0)
        return -1;
    snprintf(fdarg, sizeof(fdarg), "%d", p[1]);
    const char *argv[40] = {prog, "--foreground", "--socket", ts->socket, "--ready-fd", fdarg};
    int argc = 6;
    bool volatile_state = false;
    for (int i = 0; extra && extra[i] && argc < 37; i++) {
        volatile_state |= strcmp(extra[i], "--volatile") == 0;
        argv[argc++] = extra[i];
    }
    if (!volatile_state) {
        argv[argc++] = "--state-dir";
        argv[argc++] = ts->state;
    }
    argv[argc] = NULL;
    ts->pid = fork();
    if (ts->pid < 0)
        return -1;
    if (ts->pid == 0) {
        close(p[0]);
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a crashed test */
        if (ts->nofile_soft || ts->nofile_hard) {
            struct rlimit rl = {ts->nofile_soft, ts->nofile_hard};
            if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
                _exit(126);
        }
        if (ts->log_file) {
            int fd = open(ts->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
            if (fd < 0 || dup2(fd, 2) < 0)
                _exit(126);
            close(fd);
        }
        execv(prog, (char *const *)argv);
        perror(prog);
        _exit(127);
    }
    close(p[1]);
    struct pollfd pfd = {.fd = p[0], .events = POLLIN};
    char c;
    int ok = poll(&pfd, 1, 20000) == 1 && read(p[0], &c, 1) == 1 && c == '\n';
    close(p[0]);
    if (!ok) {
        fprintf(stderr, "stubstored did not become ready\n");
        kill(ts->pid, SIGKILL);
        waitpid(ts->pid, NULL, 0);
        ts->pid = 0;
        return -1;
    }
    return 0;
}

int test_store_start(struct test_store *ts, const char *const *extra)
{
    snprintf(ts->dir, sizeof(ts->dir), "%s/stubstored-test.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(ts->dir))
        return -1;
    snprintf(ts->socket, sizeof(ts->socket), "%s/store.sock", ts->dir);
    snprintf(ts->state, sizeof(ts->state), "%s/state", ts->dir);
    snprintf(ts->log, sizeof(ts->log), "%s/store.log", ts->dir);
    return spawn(ts, extra);
}

int test_store_restart(struct test_store *ts, const char *const *extra)
{
    return spawn(ts, extra);
}

void test_store_kill(struct test_store *ts)
{
    if (ts->pid > 0) {
        kill(ts->pid, SIGKILL);
        waitpid(ts->pid, NULL, 0);
    }
    ts->pid = 0;
}

struct xsc *test_store_introduce(struct xsc *dom0, uint32_t domid)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return NULL;
    int rc = xsc_introduce(dom0, domid, sv[1]);
    close(sv[1]);
    if (rc) {
        close(sv[0]);
        return NULL;
    }
    return xsc_adopt(sv[0]);
}

int test_store_alive(struct test_store *ts)
{
    return ts->pid > 0 && waitpid(ts->pid, NULL, WNOHANG) == 0;
}

double test_store_cpu(struct test_store *ts)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)ts->pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields 14 and 15 (utime, stime) follow the command name's ')'. */
    char *p = strrchr(buf, ')');
    unsigned long ut, st;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Remove a folder and the files in it (one level: the state folder). */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            if (unlinkat(dirfd(d), e->d_name, 0) != 0 && errno == EISDIR) {
                char sub[600];
                snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
                remove_dir(sub);
            }
        }
        closedir(d);
    }
    rmdir(dir);
}

int test_store_term(struct test_store *ts)
{
    int status = -1;
    if (ts->pid > 0) {
        kill(ts->pid, SIGTERM);
        if (waitpid(ts->pid, &status, 0) != ts->pid)
            status = -1;
    }
    ts->pid = 0;
    return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int test_store_stop(struct test_store *ts)
{
    int status = test_store_term(ts);
    remove_dir(ts->dir);
    return status;
}
