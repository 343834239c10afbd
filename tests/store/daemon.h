/* Start, stop, kill and restart a private stubstored for tests and
 * benchmarks. */
#ifndef STUBVISOR_TESTS_STORE_DAEMON_H
#define STUBVISOR_TESTS_STORE_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct test_store {
    pid_t pid;
    char dir[256];    /* private folder: socket, state, log */
    char socket[300]; /* dir/store.sock */
    char state[300];  /* dir/state: the daemon's --state-dir */
    char log[300];    /* dir/store.log, when log_file is set */
    /* Set before starting (zero: defaults). */
    unsigned nofile_soft, nofile_hard; /* RLIMIT_NOFILE for the daemon */
    bool log_file;                     /* its stderr to `log`, not the test's */
};

/* Run $STUBVISOR_BIN/stubstored --foreground on a socket and a state
 * folder in a fresh temporary folder with the extra arguments
 * (NULL-terminated list), and wait for its readiness line.  Zero-initialise
 * ts (then set the options) first.  Returns 0 or -1 (message printed). */
int test_store_start(struct test_store *ts, const char *const *extra_args);

/* Start it again in the same folder (after test_store_kill or a stop that
 * kept the folder), so that it finds its state. */
int test_store_restart(struct test_store *ts, const char *const *extra_args);

/* SIGTERM it and wait; returns its exit status (or -1); the folder stays. */
int test_store_term(struct test_store *ts);

/* SIGKILL it and wait; the folder and its state stay. */
void test_store_kill(struct test_store *ts);

/* SIGTERM it and wait; returns its exit status (or -1), removes the folder. */
int test_store_stop(struct test_store *ts);

/* Whether the daemon is still running. */
int test_store_alive(struct test_store *ts);

struct xsc;

/* Introduce domid on dom0 with a fresh socket pair and return the domain's
 * handle on the other end, or NULL. */
struct xsc *test_store_introduce(struct xsc *dom0, uint32_t domid);

/* CPU time (user + system) the daemon has used so far, in seconds. */
double test_store_cpu(struct test_store *ts);

#endif
