/* tap and datagram-socket back ends: one frame per read/write. */
#include "dm/net/net.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

int net_backend_open(struct net_backend *b, int fd)
{
    struct stat st;
    int type = 0, fl;
    socklen_t len = sizeof(type);

    b->fd = -1;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (S_ISSOCK(st.st_mode)) {
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
            return -errno;
        if (type != SOCK_DGRAM && type != SOCK_SEQPACKET)
            return -EINVAL; /* a stream has no frame boundaries */
        b->is_socket = true;
    } else if (S_ISCHR(st.st_mode)) {
        b->is_socket = false;
    } else {
        return -EINVAL;
    }
    fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    b->fd = fd;
    return 0;
}

int net_backend_send(struct net_backend *b, const struct iovec *iov, int n)
{
    ssize_t r;

    do {
        r = writev(b->fd, iov, n);
    } while (r < 0 && errno == EINTR);
    if (r < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    return 0;
}

ssize_t net_backend_recv(struct net_backend *b, void *buf, size_t len)
{
    ssize_t r;

    do {
        r = read(b->fd, buf, len);
    } while (r < 0 && errno == EINTR);
    if (r < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
    return r;
}

void net_backend_close(struct net_backend *b)
{
    if (b->fd >= 0)
        close(b->fd);
    b->fd = -1;
}
