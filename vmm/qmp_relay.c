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
#include "vmm/managed.h"

int qmp_relay_init(struct managed *m)
{
    char path[PATH_MAX];
    int sv[2];

    m->qmp_fd = m->qmp_listen = m->qmp_client = -1;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    m->qmp_fd = sv[0];
    m->vmm.dm_qmp_fd = sv[1];
    fd_set_nonblock(m->qmp_fd, 1);
    snprintf(path, sizeof(path), "%s/qmp.sock", m->dir);
    m->qmp_listen = managed_listen(path);
    return m->qmp_listen < 0 ? m->qmp_listen : 0;
}

unsigned qmp_relay_pollfds(struct managed *m, struct pollfd *pf)
{
    unsigned n = 0;

    pf[n++] = (struct pollfd){.fd = m->qmp_listen, .events = POLLIN};
    if (m->qmp_fd >= 0)
        pf[n++] = (struct pollfd){.fd = m->qmp_fd, .events = POLLIN};
    if (m->qmp_client >= 0)
        pf[n++] = (struct pollfd){.fd = m->qmp_client, .events = POLLIN | POLLRDHUP};
    return n;
}

static void to_dm(struct managed *m, char kind, const char *data, size_t len)
{
    char pkt[4097];

    pkt[0] = kind;
    if (len)
        memcpy(pkt + 1, data, len);
    if (m->qmp_fd >= 0 && send(m->qmp_fd, pkt, len + 1, MSG_NOSIGNAL) < 0)
        log_debug("qmp relay: %s", strerror(errno));
}

/* Forward what the current client still has to send; true if it has
 * hung up (end of stream or an error), false while it is there. */
static bool client_left(struct managed *m, char *buf, size_t len)
{
    ssize_t r;

    while ((r = recv(m->qmp_client, buf, len, MSG_DONTWAIT)) > 0)
        to_dm(m, 'D', buf, (size_t)r);
    return r == 0 || (errno != EAGAIN && errno != EINTR);
}

void qmp_relay_handle(struct managed *m, struct pollfd *pf, unsigned n)
{
    char buf[4096];

    for (unsigned i = 0; i < n; i++) {
        if (!pf[i].revents)
            continue;
        if (pf[i].fd == m->qmp_listen) {
            int c = accept4(m->qmp_listen, NULL, NULL, SOCK_CLOEXEC);
            if (c < 0)
                continue;
            /* The last client may have left in this same round, its
             * hang-up not seen yet: finish it first (what it sent still
             * goes to the device model).  Inline, nobody answers QMP: say
             * so rather than leave the client waiting for a greeting. */
            if (m->qmp_client >= 0 && client_left(m, buf, sizeof(buf))) {
                close_quietly(m->qmp_client);
                m->qmp_client = -1;
            }
            if (m->qmp_client >= 0 || !m->dm_alive || m->g.placement == PLACEMENT_INLINE) {
                static const char busy[] =
                    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP is busy, the "
                    "device model is gone, or it runs inline\"}}\n";
                if (send(c, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                    log_debug("qmp relay: %s", strerror(errno));
                close(c);
                continue;
            }
            m->qmp_client = c;
            to_dm(m, 'C', NULL, 0);
        } else if (pf[i].fd == m->qmp_fd && m->qmp_fd >= 0) {
            ssize_t r = recv(m->qmp_fd, buf, sizeof(buf), MSG_DONTWAIT);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
                close_quietly(m->qmp_fd); /* the device model is gone */
                m->qmp_fd = -1;
                close_quietly(m->qmp_client);
                m->qmp_client = -1;
            } else if (r > 0 && m->qmp_client >= 0 &&
                       write_full(m->qmp_client, buf, (size_t)r) < 0) {
                close_quietly(m->qmp_client);
                m->qmp_client = -1;
            }
        } else if (pf[i].fd == m->qmp_client && m->qmp_client >= 0) {
            ssize_t r = read(m->qmp_client, buf, sizeof(buf));
            if (r <= 0) {
                close_quietly(m->qmp_client);
                m->qmp_client = -1;
            } else {
                to_dm(m, 'D', buf, (size_t)r);
            }
        }
    }
}

void qmp_relay_dispose(struct managed *m)
{
    char path[PATH_MAX];

    close_quietly(m->qmp_client);
    close_quietly(m->qmp_listen);
    close_quietly(m->qmp_fd);
    m->qmp_client = m->qmp_listen = m->qmp_fd = -1;
    snprintf(path, sizeof(path), "%s/qmp.sock", m->dir);
    unlink(path);
}
