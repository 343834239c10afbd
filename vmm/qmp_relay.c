/* QMP for the toolstack: DIR/qmp.sock (mode 0600), one client at a time,
 * relayed to the device model, which has no right to open sockets of its
 * own.  Framing on the DM's SOCK_SEQPACKET channel (dm/qmp.h): 'C' when a
 * client connects, 'D' + bytes for what it sends; the DM's packets go to
 * the client as they are. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/log.h"
#include "vmm/monitor.h"

static void to_dm(struct monitor *m, char kind, const char *data, size_t len)
{
    char pkt[4097];

    pkt[0] = kind;
    if (len)
        memcpy(pkt + 1, data, len);
    if (m->qmp_fd >= 0 && send(m->qmp_fd, pkt, len + 1, MSG_NOSIGNAL) < 0)
        log_debug("qmp relay: %s", strerror(errno));
}

static void close_client(struct monitor *m)
{
    if (m->qmp_client < 0)
        return;
    ev_fd_del(m->loop, m->qmp_client);
    close(m->qmp_client);
    m->qmp_client = -1;
}

/* Relay what the client sent; at its end, close it.  Never blocks. */
static void client_input(struct monitor *m)
{
    char buf[4096];

    while (m->qmp_client >= 0) {
        ssize_t r = recv(m->qmp_client, buf, sizeof(buf), MSG_DONTWAIT);
        if (r <= 0) {
            if (r == 0 || (errno != EAGAIN && errno != EINTR))
                close_client(m);
            return;
        }
        to_dm(m, 'D', buf, (size_t)r);
    }
}

static void on_client(struct evloop *el, int fd, unsigned ready, void *opaque)
{
    client_input(opaque);
}

/* The device model's side: its packets go to the client as they are. */
static void on_dm(struct evloop *el, int fd, unsigned ready, void *opaque)
{
    struct monitor *m = opaque;
    char buf[4096];
    ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
        ev_fd_del(el, m->qmp_fd); /* the device model is gone */
        close_quietly(m->qmp_fd);
        m->qmp_fd = -1;
        close_client(m);
    } else if (r > 0 && m->qmp_client >= 0 && write_full(m->qmp_client, buf, (size_t)r) < 0) {
        close_client(m);
    }
}

static void on_listen(struct evloop *el, int fd, unsigned ready, void *opaque)
{
    struct monitor *m = opaque;
    int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

    if (c < 0)
        return;
    /* A client that just hung up may not have been seen yet: look first. */
    client_input(m);
    /* Inline, nobody answers QMP: say so rather than leave the client
     * waiting for a greeting. */
    if (m->qmp_client >= 0 || !m->dm_alive || m->qmp_fd < 0 ||
        ev_fd_add(el, c, EV_READ, on_client, m) < 0) {
        static const char busy[] =
            "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP is busy, the "
            "device model is gone, or it runs inline\"}}\n";
        if (send(c, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
            log_debug("qmp relay: %s", strerror(errno));
        close(c);
        return;
    }
    m->qmp_client = c;
    to_dm(m, 'C', NULL, 0);
}

int qmp_relay_init(struct monitor *m)
{
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    m->qmp_fd = sv[0];
    m->vmm.dm_qmp_fd = sv[1];
    fd_set_nonblock(m->qmp_fd, 1);
    m->qmp_listen = monitor_listen(m, "qmp.sock");
    if (m->qmp_listen < 0)
        return m->qmp_listen;
    if (m->opt.g.placement == PLACEMENT_INLINE) {
        /* Nobody answers QMP inline. */
        close(m->qmp_fd);
        m->qmp_fd = -1;
    } else if (ev_fd_add(m->loop, m->qmp_fd, EV_READ, on_dm, m) < 0) {
        return -ENOMEM;
    }
    return ev_fd_add(m->loop, m->qmp_listen, EV_READ, on_listen, m);
}

void qmp_relay_dispose(struct monitor *m)
{
    close_client(m);
    if (m->qmp_listen >= 0) {
        ev_fd_del(m->loop, m->qmp_listen);
        close(m->qmp_listen);
        monitor_unlink(m, "qmp.sock");
    }
    if (m->qmp_fd >= 0) {
        ev_fd_del(m->loop, m->qmp_fd);
        close(m->qmp_fd);
    }
    m->qmp_listen = m->qmp_fd = -1;
}
