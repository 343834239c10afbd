/* Start and stop a private stubstored for tests and benchmarks. */
#ifndef STUBVISOR_TESTS_STORE_DAEMON_H
#define STUBVISOR_TESTS_STORE_DAEMON_H

#include <sys/types.h>

struct test_store {
    pid_t pid;
    char dir[256];
    char socket[300];
};

/* Run $STUBVISOR_BIN/stubstored --foreground on a socket in a fresh
 * temporary folder with the extra arguments (NULL-terminated list), and wait
 * for its readiness line.  Returns 0 or -1 (message printed). */
int test_store_start(struct test_store *ts, const char *const *extra_args);

/* SIGTERM it and wait; returns its exit status (or -1), removes the folder. */
int test_store_stop(struct test_store *ts);

/* Whether the daemon is still running. */
int test_store_alive(struct test_store *ts);

#endif
