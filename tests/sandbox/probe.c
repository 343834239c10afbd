/* sandbox-probe: a stand-in for the device model, spawned by test-sandbox
 * through sandbox_spawn().  It reports on descriptor 3 (a socket) one line
 * per fact, "what=result", where result is "ok" or an errno name, then
 * waits for the test to write a byte (so that the test can inspect it from
 * outside while it is locked down), then exits 0.
 *
 *   sandbox-probe lockdown HOSTPID   facts, sandbox_lockdown(), forbidden calls
 *   sandbox-probe die CALL           sandbox_lockdown(), then CALL, which must
 *                                    kill it (SIGSYS): uname, execve, ioctl, unshare
 *   sandbox-probe plain              facts only (SANDBOX_NONE)
 *   sandbox-probe overflow           sandbox_lockdown(), then a heap overflow:
 *                                    a sanitizer build must report it and abort */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/sandbox.h"

#define OUT 3

static void say(const char *what, const char *result)
{
    char line[256];
    int n = snprintf(line, sizeof(line), "%s=%s\n", what, result);
    if (write(OUT, line, (size_t)n) != n)
        _exit(3);
}

/* Report a system call's outcome: "ok" or the errno name. */
static void report(const char *what, long r)
{
    say(what, r < 0 ? strerrorname_np(errno) : "ok");
}

static void facts(void)
{
    struct utsname u;
    char buf[512] = "";

    if (uname(&u) == 0)
        say("hostname", u.nodename);
    snprintf(buf, sizeof(buf), "%d", (int)getuid());
    say("uid", buf);
    snprintf(buf, sizeof(buf), "%d", (int)getpid());
    say("pid", buf);
    buf[0] = '\0';
    for (int fd = 0; fd < 1024; fd++) {
        if (fcntl(fd, F_GETFD) >= 0) {
            size_t len = strlen(buf);
            snprintf(buf + len, sizeof(buf) - len, "%s%d", len ? "," : "", fd);
        }
    }
    say("fds", buf);
}

static void *thread_main(void *arg)
{
    return arg;
}

/* A thread started before the lockdown: the filter must cover it too. */
static pthread_mutex_t early_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t early_cond = PTHREAD_COND_INITIALIZER;
static int early_go;
static long early_result;
static int early_errno;

static void *early_thread(void *arg)
{
    pthread_mutex_lock(&early_lock);
    while (!early_go)
        pthread_cond_wait(&early_cond, &early_lock);
    pthread_mutex_unlock(&early_lock);
    early_result = openat(AT_FDCWD, "/", O_RDONLY | O_DIRECTORY);
    early_errno = errno;
    return arg;
}

static void forbidden(pid_t host_pid)
{
    struct stat st;
    long r;

    report("open", syscall(SYS_open, "/etc/passwd", O_RDONLY));
    report("openat", openat(AT_FDCWD, "/", O_RDONLY | O_DIRECTORY));
    report("stat", fstatat(AT_FDCWD, "/", &st, 0));
    report("fstat", fstat(OUT, &st));
    report("socket", socket(AF_INET, SOCK_STREAM, 0));
    report("ptrace_traceme", ptrace(PTRACE_TRACEME, 0, NULL, NULL));
    report("ptrace_attach", ptrace(PTRACE_ATTACH, host_pid, NULL, NULL));
    report("kill_host", kill(host_pid, SIGTERM));
    report("kill_self", kill(getpid(), 0));
    r = syscall(SYS_clone, (unsigned long)SIGCHLD, NULL, NULL, NULL, 0UL);
    if (r == 0)
        _exit(0);
    report("fork", r);

    void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    report("mmap_exec", p == MAP_FAILED ? -1 : 0);
    p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    report("mmap_shared_anon", p == MAP_FAILED ? -1 : 0);
    p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    report("mmap_rw", p == MAP_FAILED ? -1 : 0);
    if (p != MAP_FAILED) {
        report("mprotect_exec", mprotect(p, 4096, PROT_READ | PROT_EXEC));
        report("mprotect_ro", mprotect(p, 4096, PROT_READ));
        munmap(p, 4096);
    }
    char *heap = malloc(1 << 20); /* large: mmap in malloc */
    report("malloc", heap ? 0 : -1);
    free(heap);

    /* stdio on /dev/null (a character device: glibc asks isatty) and on
     * the log descriptor. */
    report("printf", printf("probe: stdout\n") < 0 || fflush(stdout) != 0 ? -1 : 0);
    report("fprintf", fprintf(stderr, "probe: stderr\n") < 0 ? -1 : 0);
    report("time", time(NULL) == (time_t)-1 ? -1 : 0);
    struct timespec ts = {0, 1000};
    report("nanosleep", nanosleep(&ts, NULL));

    pthread_t t;
    int e = pthread_create(&t, NULL, thread_main, NULL);
    if (e == 0)
        e = pthread_join(t, NULL);
    errno = e;
    report("thread", e ? -1 : 0);
}

static void die_by(const char *call)
{
    if (strcmp(call, "uname") == 0) {
        struct utsname u;
        syscall(SYS_uname, &u);
    } else if (strcmp(call, "execve") == 0) {
        char *argv[] = {"x", NULL};
        syscall(SYS_execve, "/x", argv, argv + 1);
    } else if (strcmp(call, "ioctl") == 0) {
        int n;
        ioctl(OUT, FIONREAD, &n);
    } else if (strcmp(call, "unshare") == 0) {
        syscall(SYS_unshare, 0);
    } else if (strcmp(call, "abort") == 0) {
        abort();
    }
}

int main(int argc, char **argv)
{
    char byte;

    if (argc < 2)
        return 100;
    if (strcmp(argv[1], "plain") == 0) {
        facts();
    } else if (strcmp(argv[1], "lockdown") == 0 && argc == 3) {
        facts();
        pthread_t early;
        if (pthread_create(&early, NULL, early_thread, NULL) != 0)
            return 1;
        int rc = sandbox_lockdown();
        errno = -rc;
        report("lockdown", rc);
        forbidden((pid_t)atoi(argv[2]));
        pthread_mutex_lock(&early_lock);
        early_go = 1;
        pthread_cond_signal(&early_cond);
        pthread_mutex_unlock(&early_lock);
        pthread_join(early, NULL);
        errno = early_errno;
        report("early_thread_openat", early_result);
    } else if (strcmp(argv[1], "overflow") == 0) {
        int rc = sandbox_lockdown();
        if (rc < 0)
            return 1;
        say("locked", "overflow");
        /* The size comes from outside so that the compiler cannot see the
         * overflow coming. */
        size_t size = strlen(argv[1]) + 8; /* 16 */
        volatile char *p = malloc(size);
        p[size] = 1;
        free((void *)p);
        say("alive", "overflow");
        return 0;
    } else if (strcmp(argv[1], "die") == 0 && argc == 3) {
        int rc = sandbox_lockdown();
        if (rc < 0) {
            errno = -rc;
            report("lockdown", -1);
            return 1;
        }
        say("locked", argv[2]);
        die_by(argv[2]);
        say("alive", argv[2]);
        return 0;
    } else {
        return 100;
    }
    say("done", "1");
    if (read(OUT, &byte, 1) < 0)
        return 1;
    return 0;
}
