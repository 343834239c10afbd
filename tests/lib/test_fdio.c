/* Unit tests for lib/fdio: whole reads/writes and descriptor passing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fdio.h"

static void test_full_roundtrip_and_eof(void **state)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write_full(p[1], "abcdef", 6), 6);
    close(p[1]);
    char buf[4];
    assert_int_equal(read_full(p[0], buf, 4), 4);
    assert_memory_equal(buf, "abcd", 4);
    /* Two bytes left but four asked: an end of file in the middle is EPIPE. */
    assert_int_equal(read_full(p[0], buf, 4), -1);
    assert_int_equal(errno, EPIPE);
    assert_int_equal(read_full(p[0], buf, 4), 0);
    close(p[0]);
}

/* send_full: whole writes to a socket and to a pipe; a socket whose peer is
 * gone is EPIPE, and the process is not killed by SIGPIPE. */
static void test_send_full(void **state)
{
    int sp[2], pp[2];
    char buf[8];

    (void)state;
    signal(SIGPIPE, SIG_DFL);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    assert_int_equal(pipe(pp), 0);
    assert_int_equal(send_full(sp[0], "console", 7), 7);
    assert_int_equal(read_full(sp[1], buf, 7), 7);
    assert_memory_equal(buf, "console", 7);
    assert_int_equal(send_full(pp[1], "pipe", 4), 4);
    assert_int_equal(read_full(pp[0], buf, 4), 4);
    assert_memory_equal(buf, "pipe", 4);
    close(sp[1]);
    assert_int_equal(send_full(sp[0], "gone", 4), -1);
    assert_int_equal(errno, EPIPE);
    close(sp[0]);
    close(pp[0]);
    close(pp[1]);
}

static void test_fd_passing(void **state)
{
    int sv[2], p[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    assert_int_equal(pipe(p), 0);
    int send_fds[2] = {p[0], p[1]};
    assert_int_equal(send_with_fds(sv[0], "hi", 2, send_fds, 2), 2);

    char buf[8];
    int fds[2];
    size_t nfds = 2;
    assert_int_equal(recv_with_fds(sv[1], buf, sizeof(buf), fds, &nfds), 2);
    assert_int_equal(nfds, 2);
    /* The received write end reaches the original read end. */
    assert_int_equal(write_full(fds[1], "x", 1), 1);
    assert_int_equal(read_full(p[0], buf, 1), 1);
    assert_int_equal(buf[0], 'x');
    assert_true(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
    close(fds[0]);
    close(fds[1]);
    close(p[0]);
    close(p[1]);
    close(sv[0]);
    close(sv[1]);
}

static void test_too_many_fds_are_closed(void **state)
{
    int sv[2], p[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    assert_int_equal(pipe(p), 0);
    int send_fds[2] = {p[0], p[1]};
    assert_int_equal(send_with_fds(sv[0], "hi", 2, send_fds, 2), 2);
    close(p[0]);

    char buf[8];
    int fds[1];
    size_t nfds = 1;
    assert_int_equal(recv_with_fds(sv[1], buf, sizeof(buf), fds, &nfds), -1);
    assert_int_equal(errno, EPROTO);
    assert_int_equal(nfds, 0);
    /* Every received copy of the read end was closed, so the pipe has no
     * reader left and a write fails. */
    signal(SIGPIPE, SIG_IGN);
    assert_int_equal(write(p[1], "x", 1), -1);
    assert_int_equal(errno, EPIPE);
    close(p[1]);
    close(sv[0]);
    close(sv[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_roundtrip_and_eof),
        cmocka_unit_test(test_send_full),
        cmocka_unit_test(test_fd_passing),
        cmocka_unit_test(test_too_many_fds_are_closed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
