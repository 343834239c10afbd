/* The device model's host services as dm_op requests (dmop_host.h). */
#include "dm/dmop_host.h"

#include <errno.h>
#include <string.h>

/* Narrow a number into a request field of `bits` bits without wrapping: a
 * value too large for the field becomes the field's largest, which the
 * monitor refuses, where truncating could turn it into a valid one (IRQ
 * 260 into IRQ 4). */
static uint32_t clamp_field(uint64_t v, unsigned bits)
{
    uint64_t max = (1ull << bits) - 1;

    return (uint32_t)(v > max ? max : v);
}

static int call(struct dmop_host *h, const struct dmop_req *req, const int *fds, size_t nfds,
                struct dmop_reply *rep)
{
    struct dmop_reply local;

    return h->call(h->transport, req, fds, nfds, rep ? rep : &local);
}

static int host_range(void *opaque, uint32_t op, int type, uint64_t start, uint64_t end,
                      uint32_t flags)
{
    struct dmop_host *h = opaque;
    struct dmop_req req = {
        .op = op,
        .u.range = {.id = h->server_id,
                    .type = (uint32_t)type,
                    .flags = (flags & DM_TRAP_POSTED) ? DMOP_RANGE_POSTED : 0,
                    .start = start,
                    .end = end},
    };

    return call(h, &req, NULL, 0, NULL);
}

static int host_map(void *h, int type, uint64_t start, uint64_t end, uint32_t flags)
{
    return host_range(h, DMOP_MAP_IO_RANGE_TO_IOREQ_SERVER, type, start, end, flags);
}

static int host_unmap(void *h, int type, uint64_t start, uint64_t end)
{
    return host_range(h, DMOP_UNMAP_IO_RANGE_FROM_IOREQ_SERVER, type, start, end, 0);
}

static int host_isa_irq(void *h, unsigned irq, int level)
{
    struct dmop_req req = {
        .op = DMOP_SET_ISA_IRQ_LEVEL,
        .u.isa_irq = {.isa_irq = (uint8_t)clamp_field(irq, 8), .level = level ? 1 : 0},
    };

    return call(h, &req, NULL, 0, NULL);
}

static int host_msi(void *h, uint64_t addr, uint32_t data)
{
    struct dmop_req req = {.op = DMOP_INJECT_MSI, .u.msi = {.addr = addr, .data = data}};

    return call(h, &req, NULL, 0, NULL);
}

static int host_ioeventfd(void *opaque, int type, uint64_t addr, uint32_t len, int fd,
                          bool deassign)
{
    struct dmop_host *h = opaque;
    struct dmop_req req = {
        .op = DMOP_IOEVENTFD,
        .u.ioeventfd = {.id = h->server_id,
                        .type = (uint32_t)type,
                        .flags = deassign ? DMOP_FD_DEASSIGN : 0,
                        .len = len,
                        .addr = addr},
    };

    return call(h, &req, &fd, deassign ? 0 : 1, NULL);
}

static int host_irqfd(void *h, unsigned gsi, int fd, bool deassign)
{
    struct dmop_req req = {
        .op = DMOP_IRQFD,
        .u.irqfd = {.gsi = gsi, .flags = deassign ? DMOP_FD_DEASSIGN : 0},
    };

    return call(h, &req, &fd, deassign ? 0 : 1, NULL);
}

/* A level-triggered irqfd takes two descriptors: the irqfd and its
 * resample eventfd. */
static int host_irqfd_resample(void *h, unsigned gsi, int fd, int resample_fd, bool deassign)
{
    struct dmop_req req = {
        .op = DMOP_IRQFD,
        .u.irqfd = {.gsi = gsi, .flags = deassign ? DMOP_FD_DEASSIGN : DMOP_FD_RESAMPLE},
    };
    int fds[2] = {fd, resample_fd};

    return call(h, &req, fds, deassign ? 0 : 2, NULL);
}

static int host_set_pci_link_route(void *h, unsigned link, unsigned irq)
{
    struct dmop_req req = {
        .op = DMOP_SET_PCI_LINK_ROUTE,
        .u.pci_link = {.link = (uint8_t)clamp_field(link, 8),
                       .isa_irq = (uint8_t)clamp_field(irq, 8)},
    };

    return call(h, &req, NULL, 0, NULL);
}

/* Allocating or updating a route answers with its GSI. */
static int host_msi_route(void *h, unsigned action, unsigned gsi, uint64_t addr, uint32_t data)
{
    struct dmop_req req = {
        .op = DMOP_MSI_ROUTE,
        .u.route = {.action = action, .gsi = gsi, .addr = addr, .data = data},
    };
    struct dmop_reply rep;
    int rc = call(h, &req, NULL, 0, &rep);

    if (rc < 0)
        return rc;
    return action == DMOP_MSI_ROUTE_FREE ? 0 : (int)rep.u.route.gsi;
}

static int host_shutdown(void *h, unsigned reason, unsigned status)
{
    struct dmop_req req = {
        .op = DMOP_REMOTE_SHUTDOWN,
        .u.shutdown = {.reason = reason, .status = status},
    };

    return call(h, &req, NULL, 0, NULL);
}

static int host_console_write(void *opaque, unsigned idx, const void *buf, size_t len)
{
    struct dmop_host *h = opaque;

    return h->console_write(h->transport, idx, buf, len);
}

static ssize_t host_console_read(void *opaque, unsigned idx, void *buf, size_t len)
{
    struct dmop_host *h = opaque;

    return h->console_read(h->transport, idx, buf, len);
}

static const struct dm_host_ops out_of_process_ops = {
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

static const struct dm_host_ops in_process_ops = {
    .map_range = host_map,
    .unmap_range = host_unmap,
    .set_isa_irq = host_isa_irq,
    .inject_msi = host_msi,
    .ioeventfd = host_ioeventfd,
    .irqfd = host_irqfd,
    .shutdown = host_shutdown,
    .console_write = host_console_write,
    .console_read = host_console_read,
};

const struct dm_host_ops *dmop_host_ops(bool out_of_process)
{
    return out_of_process ? &out_of_process_ops : &in_process_ops;
}

int dmop_host_create_server(struct dmop_host *h, bool bufioreq)
{
    struct dmop_req req = {.op = DMOP_CREATE_IOREQ_SERVER};
    struct dmop_reply rep;
    int rc;

    req.u.create.handle_bufioreq = bufioreq ? 1 : 0;
    rc = call(h, &req, NULL, 0, &rep);
    if (rc == 0)
        h->server_id = rep.u.create.id;
    return rc;
}

int dmop_host_enable_server(struct dmop_host *h)
{
    struct dmop_req req = {.op = DMOP_SET_IOREQ_SERVER_STATE};

    req.u.state.id = h->server_id;
    req.u.state.enabled = 1;
    return call(h, &req, NULL, 0, NULL);
}
