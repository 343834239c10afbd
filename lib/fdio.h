/* Descriptor helpers: whole reads and writes, and passing descriptors over
 * Unix sockets (SCM_RIGHTS), used by the store (domain introduction), the
 * monitor and the device model (dm_op channel, spawn). */
#ifndef STUBVISOR_FDIO_H
#define STUBVISOR_FDIO_H

#include <stddef.h>
#include <sys/types.h>

/* Most descriptors one message may carry. */
#define FDIO_MAX_FDS 16

/* Read exactly len bytes, retrying on EINTR and short reads.  Returns len,
 * 0 on end of file before any byte, or -1 with errno set (EPIPE for an end
 * of file in the middle). */
ssize_t read_full(int fd, void *buf, size_t len);

/* Write exactly len bytes, retrying on EINTR and short writes.  Returns len
 * or -1 with errno set. */
ssize_t write_full(int fd, const void *buf, size_t len);

/* Write exactly len bytes to a console-like descriptor whose reader may go
 * away: a socket gets send(MSG_NOSIGNAL), so a gone peer is EPIPE rather
 * than SIGPIPE; anything else (a pipe, a file) write().  Returns len or -1
 * with errno set. */
ssize_t send_full(int fd, const void *buf, size_t len);

/* Send len bytes and nfds descriptors in one sendmsg().  The descriptors stay
 * open in the caller.  Returns bytes sent or -1 with errno set. */
ssize_t send_with_fds(int sock, const void *buf, size_t len, const int *fds, size_t nfds);

/* Receive one message of at most len bytes and up to *nfds descriptors.
 * On return *nfds holds how many arrived; they belong to the caller.  Extra
 * descriptors beyond the caller's room, or a truncated control message, are
 * closed and reported as -1 with errno EPROTO (nothing is leaked).  Returns
 * bytes received, 0 at end of file, or -1 with errno set. */
ssize_t recv_with_fds(int sock, void *buf, size_t len, int *fds, size_t *nfds);

/* Set or clear O_NONBLOCK / FD_CLOEXEC.  Return 0 or -1 with errno set. */
int fd_set_nonblock(int fd, int on);
int fd_set_cloexec(int fd, int on);

/* close() that ignores a -1 sentinel and keeps errno. */
void close_quietly(int fd);

#endif
