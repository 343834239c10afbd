/* stubstored: the xenstore-compatible store of stubvisor.
 *
 *   stubstored [--socket PATH] [--state-dir DIR | --volatile] [--compact-after BYTES]
 *              [--foreground]
 *              [--pid-file FILE] [--ready-fd N]
 *              [--quota-nodes N] [--quota-watches N] [--quota-transactions N]
 *              [--max-path-relative N] [--max-path-absolute N] [--max-value N]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/log.h"
#include "lib/version.h"
#include "store/persist.h"
#include "store/server.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: stubstored [--socket PATH] [--state-dir DIR | --volatile]\n"
               "                  [--compact-after BYTES] [--foreground] [--pid-file FILE] "
               "[--ready-fd N]\n"
               "                  [--quota-nodes N] [--quota-watches N] [--quota-transactions N]\n"
               "                  [--max-path-relative N] [--max-path-absolute N] [--max-value N]\n"
               "Serves the xenstore wire protocol on PATH (default\n"
               "$STUBVISOR_RUNDIR/store.sock, /run/stubvisor/store.sock when unset), keeping\n"
               "its contents in DIR (default $STUBVISOR_RUNDIR/store.state) so that they survive\n"
               "a restart; --volatile keeps them in memory only.\n");
}

static uint32_t number(const char *opt, const char *s, uint32_t min, uint32_t max)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || !*s || *end || v < min || v > max)
        die(EXIT_USAGE, "%s: expected a number from %u to %u, got '%s'", opt, min, max, s);
    return (uint32_t)v;
}

/* Reachable until exit, so that leak checkers do not complain. */
static char *kept[3];
static unsigned nkept;

/* Daemon mode leaves the working directory: make paths absolute first. */
static const char *absolute(const char *path)
{
    char cwd[4096], *abs;
    if (!path || path[0] == '/')
        return path;
    if (!getcwd(cwd, sizeof(cwd)) || asprintf(&abs, "%s/%s", cwd, path) < 0)
        die(EXIT_SYSTEM, "cannot resolve %s: %s", path, strerror(errno));
    if (nkept < 3)
        kept[nkept++] = abs;
    return abs;
}

static void write_pid_file(const char *path)
{
    char s[32];
    int n = snprintf(s, sizeof(s), "%ld\n", (long)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write_full(fd, s, (size_t)n) < 0 || close(fd) != 0)
        die(EXIT_SYSTEM, "cannot write pid file %s: %s", path, strerror(errno));
}

/* Fork into the background; the parent exits 0 once the child reports
 * readiness through the pipe, or 111 if the child dies first. */
static int daemonize(void)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        die(EXIT_SYSTEM, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        die(EXIT_SYSTEM, "fork: %s", strerror(errno));
    if (pid > 0) {
        char c;
        close(p[1]);
        _exit(read(p[0], &c, 1) == 1 ? 0 : EXIT_SYSTEM);
    }
    close(p[0]);
    setsid();
    if (chdir("/") != 0)
        die(EXIT_SYSTEM, "chdir /: %s", strerror(errno));
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        close(null);
    }
    return p[1];
}

/* Every client is a descriptor: take all the kernel allows (the soft limit
 * is often 1024, about 500 guests' worth). */
static void raise_nofile_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
        return;
    rlim_t was = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        log_warn("cannot raise the descriptor limit from %llu: %s", (unsigned long long)was,
                 strerror(errno));
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"socket", required_argument, NULL, 's'},
        {"foreground", no_argument, NULL, 'f'},
        {"pid-file", required_argument, NULL, 'p'},
        {"ready-fd", required_argument, NULL, 'r'},
        {"quota-nodes", required_argument, NULL, 'N'},
        {"quota-watches", required_argument, NULL, 'W'},
        {"quota-transactions", required_argument, NULL, 'T'},
        {"max-path-relative", required_argument, NULL, 'R'},
        {"max-path-absolute", required_argument, NULL, 'A'},
        {"max-value", required_argument, NULL, 'V'},
        {"state-dir", required_argument, NULL, 'S'},
        {"volatile", no_argument, NULL, 'v'},
        {"compact-after", required_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct store_limits limits;
    const char *socket_path = NULL, *pid_file = NULL, *state_dir = NULL;
    char default_path[4096], default_state[4096];
    bool foreground = false, volatile_state = false;
    uint32_t compact_bytes = 0;
    int ready_fd = -1, opt;
    struct store s;

    version_option(argc, argv, "stubstored");
    log_set_program("stubstored");
    store_limits_default(&limits);
    while ((opt = getopt_long(argc, argv, "s:fp:r:h", opts, NULL)) != -1) {
        switch (opt) {
        case 's':
            socket_path = optarg;
            break;
        case 'f':
            foreground = true;
            break;
        case 'p':
            pid_file = optarg;
            break;
        case 'r':
            ready_fd = (int)number("--ready-fd", optarg, 0, 1 << 20);
            break;
        case 'N':
            limits.nodes = number("--quota-nodes", optarg, 1, UINT32_MAX);
            break;
        case 'W':
            limits.watches = number("--quota-watches", optarg, 0, UINT32_MAX);
            break;
        case 'T':
            limits.transactions = number("--quota-transactions", optarg, 0, UINT32_MAX);
            break;
        case 'R':
            limits.path_rel = number("--max-path-relative", optarg, 1, XS_PAYLOAD_MAX);
            break;
        case 'A':
            limits.path_abs = number("--max-path-absolute", optarg, 1, XS_PAYLOAD_MAX);
            break;
        case 'V':
            limits.value = number("--max-value", optarg, 0, XS_PAYLOAD_MAX);
            break;
        case 'S':
            state_dir = optarg;
            break;
        case 'v':
            volatile_state = true;
            break;
        case 'C':
            compact_bytes = number("--compact-after", optarg, 1, UINT32_MAX);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (ready_fd >= 0 && fcntl(ready_fd, F_GETFD) < 0)
        die(EXIT_USAGE, "--ready-fd %d: not an open descriptor", ready_fd);
    if (state_dir && volatile_state)
        die(EXIT_USAGE, "--state-dir and --volatile exclude each other");
    const char *rundir = getenv("STUBVISOR_RUNDIR");
    if (!rundir || !*rundir)
        rundir = "/run/stubvisor";
    if (!socket_path) {
        snprintf(default_path, sizeof(default_path), "%s/store.sock", rundir);
        socket_path = default_path;
        mkdir(rundir, 0755); /* bind reports it if this did not help */
    }
    if (!state_dir && !volatile_state) {
        snprintf(default_state, sizeof(default_state), "%s/store.state", rundir);
        state_dir = default_state;
        mkdir(rundir, 0755); /* persist_open reports it if this did not help */
    }

    /* Fork first: a signalfd watched by epoll only wakes for signals to the
     * process that set it up.  The parent still exits 111 if start-up fails,
     * and the messages still go to stderr. */
    socket_path = absolute(socket_path);
    pid_file = absolute(pid_file);
    state_dir = absolute(state_dir);
    int notify_fd = foreground ? -1 : daemonize();
    raise_nofile_limit();
    if (store_init(&s, &limits) != 0)
        die(EXIT_SYSTEM, "out of memory");
    /* The state first: the socket answers only once it is all there. */
    if (state_dir && persist_open(&s, state_dir, compact_bytes) != 0) {
        store_dispose(&s);
        return EXIT_SYSTEM;
    }
    if (server_open(&s, socket_path) != 0) {
        persist_close(&s);
        store_dispose(&s);
        return EXIT_SYSTEM;
    }
    if (pid_file)
        write_pid_file(pid_file);
    if (ready_fd >= 0) {
        write_full(ready_fd, "\n", 1);
        close(ready_fd);
    }
    if (notify_fd >= 0) {
        write_full(notify_fd, "\n", 1);
        close(notify_fd);
    }
    log_info("serving %s", socket_path);
    int rc = server_run(&s);
    server_close(&s);
    persist_close(&s);
    store_dispose(&s);
    if (pid_file)
        unlink(pid_file);
    return rc == 0 ? 0 : EXIT_SYSTEM;
}
