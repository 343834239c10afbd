/* Host ops over dm_op messages: the device model in its own process
 * (placements process and stubdom) asks stubvmm for everything. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dm/devices.h"
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

static int host_map(void *h, int type, uint64_t start, uint64_t end, uint32_t flags)
{
    struct ioreq_server *s = h;
    struct dmop_req req = {.op = DMOP_MAP_IO_RANGE_TO_IOREQ_SERVER};

    req.u.range.id = s->id;
    req.u.range.type = (uint32_t)type;
    req.u.range.flags = (flags & DM_TRAP_POSTED) ? DMOP_RANGE_POSTED : 0;
    req.u.range.start = start;
    req.u.range.end = end;
    return dmop_call(s->dmop_fd, &req, -1, NULL, NULL, NULL);
}

static int host_unmap(void *h, int type, uint64_t start, uint64_t end)
{
    struct ioreq_server *s = h;
    struct dmop_req req = {.op = DMOP_UNMAP_IO_RANGE_FROM_IOREQ_SERVER};

    req.u.range.id = s->id;
    req.u.range.type = (uint32_t)type;
    req.u.range.start = start;
    req.u.range.end = end;
    return dmop_call(s->dmop_fd, &req, -1, NULL, NULL, NULL);
}

static int host_isa_irq(void *h, unsigned irq, int level)
{
    struct ioreq_server *s = h;
    struct dmop_req req = {.op = DMOP_SET_ISA_IRQ_LEVEL};

    req.u.isa_irq.isa_irq = (uint8_t)irq;
    req.u.isa_irq.level = level ? 1 : 0;
    return dmop_call(s->dmop_fd, &req, -1, NULL, NULL, NULL);
}

static int host_msi(void *h, uint64_t addr, uint32_t data)
{
    struct ioreq_server *s = h;
    struct dmop_req req = {.op = DMOP_INJECT_MSI};

    req.u.msi.addr = addr;
    req.u.msi.data = data;
    return dmop_call(s->dmop_fd, &req, -1, NULL, NULL, NULL);
}

static int host_ioeventfd(void *h, int type, uint64_t addr, uint32_t len, int fd, bool deassign)
{
    struct ioreq_server *s = h;
    struct dmop_req req = {.op = DMOP_IOEVENTFD};

    req.u.ioeventfd.id = s->id;
    req.u.ioeventfd.type = (uint32_t)type;
    req.u.ioeventfd.addr = addr;
    req.u.ioeventfd.len = len;
    req.u.ioeventfd.flags = deassign ? DMOP_FD_DEASSIGN : 0;
    return dmop_call(s->dmop_fd, &req, deassign ? -1 : fd, NULL, NULL, NULL);
}

static int host_irqfd(void *h, unsigned gsi, int fd, bool deassign)
{
    struct ioreq_server *s = h;
    struct dmop_req req = {.op = DMOP_IRQFD};

    req.u.irqfd.gsi = gsi;
    req.u.irqfd.flags = deassign ? DMOP_FD_DEASSIGN : 0;
    return dmop_call(s->dmop_fd, &req, fd, NULL, NULL, NULL);
}

static int host_set_pci_link_route(void *h, unsigned link, unsigned irq)
{
    struct ioreq_server *s = h;
    struct dmop_req req = {.op = DMOP_SET_PCI_LINK_ROUTE};

    req.u.pci_link.link = (uint8_t)link;
    req.u.pci_link.isa_irq = (uint8_t)irq;
    return dmop_call(s->dmop_fd, &req, -1, NULL, NULL, NULL);
}

static int host_irqfd_resample(void *h, unsigned gsi, int fd, int resample_fd, bool deassign)
{
    struct ioreq_server *s = h;
    struct dmop_req req = {.op = DMOP_IRQFD};
    int fds[2] = {fd, resample_fd};

    req.u.irqfd.gsi = gsi;
    req.u.irqfd.flags = deassign ? DMOP_FD_DEASSIGN : DMOP_FD_RESAMPLE;
    return dmop_call_fds(s->dmop_fd, &req, fds, deassign ? 0 : 2, NULL, NULL, NULL);
}

static int host_msi_route(void *h, unsigned action, unsigned gsi, uint64_t addr, uint32_t data)
{
    struct ioreq_server *s = h;
    struct dmop_req req = {.op = DMOP_MSI_ROUTE};
    struct dmop_reply rep;
    int rc;

    req.u.route.action = action;
    req.u.route.gsi = gsi;
    req.u.route.addr = addr;
    req.u.route.data = data;
    rc = dmop_call(s->dmop_fd, &req, -1, &rep, NULL, NULL);
    if (rc < 0)
        return rc;
    return action == DMOP_MSI_ROUTE_FREE ? 0 : (int)rep.u.route.gsi;
}

static int host_shutdown(void *h, unsigned reason, unsigned status)
{
    struct ioreq_server *s = h;
    struct dmop_req req = {.op = DMOP_REMOTE_SHUTDOWN};

    req.u.shutdown.reason = reason;
    req.u.shutdown.status = status;
    return dmop_call(s->dmop_fd, &req, -1, NULL, NULL, NULL);
}

/* Consoles 0-3 are descriptors DMFD_CONSOLE0 + idx, handed over at spawn;
 * the virtio console's comes after the disks and NICs. */
static int console_fd(const struct ioreq_server *s, unsigned idx)
{
    if (idx <= 3)
        return DMFD_CONSOLE0 + (int)idx;
    if (idx == DM_VIRTIO_CONSOLE && s->virtio_console_fd > 0)
        return s->virtio_console_fd;
    return -1;
}

static int host_console_write(void *h, unsigned idx, const void *buf, size_t len)
{
    int fd = console_fd(h, idx);

    if (fd < 0)
        return -EBADF;
    return send_full(fd, buf, len) < 0 ? -errno : 0;
}

static ssize_t host_console_read(void *h, unsigned idx, void *buf, size_t len)
{
    int fd = console_fd(h, idx);
    ssize_t r;

    if (fd < 0)
        return -EBADF;
    r = recv(fd, buf, len, MSG_DONTWAIT);
    if (r < 0)
        return errno == EAGAIN ? 0 : -errno;
    return r;
}

const struct dm_host_ops dm_host_dmop_ops = {
    .map_range = host_map,
    .unmap_range = host_unmap,
    .set_isa_irq = host_isa_irq,
    .inject_msi = host_msi,
    .ioeventfd = host_ioeventfd,
    .irqfd = host_irqfd,
    .msi_route = host_msi_route,
    .shutdown = host_shutdown,
    .console_write = host_console_write,
    .console_read = host_console_read,
    .set_pci_link_route = host_set_pci_link_route,
    .irqfd_resample = host_irqfd_resample,
};
