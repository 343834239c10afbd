/* The dm_op socket: the transport of the device model in its own process
 * (placements process and stubdom), which asks stubvmm for everything
 * through dm/dmop_host.c's requests. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dm/server.h"
#include "lib/dmfds.h"
#include "lib/fdio.h"
#include "lib/log.h"

int dmop_call(int fd, const struct dmop_req *req, int attach_fd, struct dmop_reply *rep, int *fds,
              size_t *nfds)
{
    return dmop_call_fds(fd, req, &attach_fd, attach_fd >= 0 ? 1 : 0, rep, fds, nfds);
}

int dmop_call_fds(int fd, const struct dmop_req *req, const int *attach, size_t nattach,
                  struct dmop_reply *rep, int *fds, size_t *nfds)
{
    struct dmop_reply local;
    int scratch[FDIO_MAX_FDS];
    size_t n = FDIO_MAX_FDS;
    ssize_t r;

    if (!rep)
        rep = &local;
    r = send_with_fds(fd, req, sizeof(*req), attach, nattach);
    if (r < 0)
        return -errno;
    do {
        r = recv_with_fds(fd, rep, sizeof(*rep), scratch, &n);
    } while (r < 0 && errno == EINTR);
    if (r < 0)
        return -errno;
    if (r == 0)
        return -EPIPE;
    if ((size_t)r != sizeof(*rep) || rep->op != req->op || rep->rc > 0 || (!fds && n > 0) ||
        (fds && n > *nfds)) {
        for (size_t i = 0; i < n; i++)
            close(scratch[i]);
        return -EPROTO;
    }
    if (fds) {
        memcpy(fds, scratch, n * sizeof(int));
        *nfds = n;
    }
    return rep->rc;
}

/* The transport of dmop_host.h: the dm_op socket. */
static int socket_call(void *transport, const struct dmop_req *req, const int *fds, size_t nfds,
                       struct dmop_reply *rep)
{
    struct ioreq_server *s = transport;

    return dmop_call_fds(s->dmop_fd, req, fds, nfds, rep, NULL, NULL);
}

/* Consoles 0-3 are descriptors DMFD_CONSOLE0 + idx, handed over at spawn. */
static int console_fd(const struct ioreq_server *s, unsigned idx)
{
    (void)s;
    return idx <= 3 ? DMFD_CONSOLE0 + (int)idx : -1;
}

static int socket_console_write(void *transport, unsigned idx, const void *buf, size_t len)
{
    int fd = console_fd(transport, idx);

    if (fd < 0)
        return -EBADF;
    return send_full(fd, buf, len) < 0 ? -errno : 0;
}

static ssize_t socket_console_read(void *transport, unsigned idx, void *buf, size_t len)
{
    int fd = console_fd(transport, idx);
    ssize_t r;

    if (fd < 0)
        return -EBADF;
    r = recv(fd, buf, len, MSG_DONTWAIT);
    if (r < 0)
        return errno == EAGAIN ? 0 : -errno;
    return r;
}

void ioreq_server_host_init(struct ioreq_server *s)
{
    s->host = (struct dmop_host){
        .call = socket_call,
        .transport = s,
        .console_write = socket_console_write,
        .console_read = socket_console_read,
    };
}
