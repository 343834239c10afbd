/* dm_op validation and dispatch: everything a device model may ask of the
 * monitor, checked before anything changes.  The same code serves the
 * dm_op socket (process, stubdom) and the inline device model. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/log.h"
#include "vmm/vmm.h"

#define MAX_PHYS_ADDR        ((1ull << 52) - 1)
#define PCI_HOLE_PORTS_FIRST 0xcf8
#define PCI_HOLE_PORTS_LAST  0xcff

static bool overlaps(uint64_t s1, uint64_t e1, uint64_t s2, uint64_t e2)
{
    return s1 <= e2 && s2 <= e1;
}

static int validate_range(uint32_t type, uint64_t start, uint64_t end, uint64_t ram_size)
{
    if (start > end)
        return -EINVAL;
    switch (type) {
    case DMOP_IO_RANGE_PORT:
        if (end > 0xffff)
            return -EINVAL;
        if (overlaps(start, end, PCI_HOLE_PORTS_FIRST, PCI_HOLE_PORTS_LAST))
            return -EPERM; /* the monitor decodes PCI config cycles itself */
        return 0;
    case DMOP_IO_RANGE_MEMORY:
        if (end > MAX_PHYS_ADDR)
            return -EINVAL;
        if ((ram_size && overlaps(start, end, 0, ram_size - 1)) ||
            overlaps(start, end, VMM_LAPIC_BASE, VMM_LAPIC_BASE + 0xfffff) ||
            overlaps(start, end, VMM_IOAPIC_BASE, VMM_IOAPIC_BASE + 0xfff))
            return -EPERM;
        return 0;
    case DMOP_IO_RANGE_PCI:
        return end > 0xffff ? -EINVAL : 0; /* segment 0 only */
    default:
        return -EINVAL;
    }
}

int dmop_validate(const struct dmop_req *req, uint64_t ram_size)
{
    switch (req->op) {
    case DMOP_CREATE_IOREQ_SERVER:
    case DMOP_GET_IOREQ_SERVER_INFO:
    case DMOP_DESTROY_IOREQ_SERVER:
        return 0;
    case DMOP_SET_IOREQ_SERVER_STATE:
        return req->u.state.enabled > 1 ? -EINVAL : 0;
    case DMOP_MAP_IO_RANGE_TO_IOREQ_SERVER:
    case DMOP_UNMAP_IO_RANGE_FROM_IOREQ_SERVER:
        if (req->u.range.flags & ~DMOP_RANGE_POSTED)
            return -EINVAL;
        return validate_range(req->u.range.type, req->u.range.start, req->u.range.end, ram_size);
    case DMOP_SET_PCI_INTX_LEVEL:
        return req->u.pci_intx.domain != 0 || req->u.pci_intx.device > 31 ||
                       req->u.pci_intx.intx > 3 || req->u.pci_intx.level > 1
                   ? -EINVAL
                   : 0;
    case DMOP_SET_ISA_IRQ_LEVEL:
        return req->u.isa_irq.isa_irq > 15 || req->u.isa_irq.level > 1 ? -EINVAL : 0;
    case DMOP_SET_PCI_LINK_ROUTE:
        return req->u.pci_link.link > 3 || req->u.pci_link.isa_irq > 15 ? -EINVAL : 0;
    case DMOP_INJECT_MSI:
        return (req->u.msi.addr & ~0xfffffull) != VMM_LAPIC_BASE ? -EINVAL : 0;
    case DMOP_PAUSE_VCPUS:
    case DMOP_UNPAUSE_VCPUS:
        return 0;
    case DMOP_REMOTE_SHUTDOWN:
        if (req->u.shutdown.reason != DMOP_SHUTDOWN_POWEROFF &&
            req->u.shutdown.reason != DMOP_SHUTDOWN_REBOOT &&
            req->u.shutdown.reason != DMOP_SHUTDOWN_CRASH)
            return -EINVAL;
        if (req->u.shutdown.reason == DMOP_SHUTDOWN_CRASH)
            return req->u.shutdown.status > DMOP_CRASH_PANIC ? -EINVAL : 0;
        return req->u.shutdown.status > 255 ? -EINVAL : 0;
    case DMOP_IOEVENTFD: {
        uint32_t len = req->u.ioeventfd.len;
        uint64_t addr = req->u.ioeventfd.addr;
        if (req->u.ioeventfd.type != DMOP_IO_RANGE_PORT &&
            req->u.ioeventfd.type != DMOP_IO_RANGE_MEMORY)
            return -EINVAL;
        if (req->u.ioeventfd.flags & ~(DMOP_FD_DEASSIGN | DMOP_FD_DATAMATCH))
            return -EINVAL;
        if ((len != 1 && len != 2 && len != 4 && len != 8) || addr + len - 1 < addr)
            return -EINVAL;
        return validate_range(req->u.ioeventfd.type, addr, addr + len - 1, ram_size);
    }
    case DMOP_IRQFD:
        if (req->u.irqfd.flags & ~(DMOP_FD_DEASSIGN | DMOP_FD_RESAMPLE))
            return -EINVAL;
        /* Resampling is for the PCI links' lines: ISA IRQs. */
        if ((req->u.irqfd.flags & DMOP_FD_RESAMPLE) && req->u.irqfd.gsi > 15)
            return -EINVAL;
        return req->u.irqfd.gsi >= DMOP_MSI_GSI_BASE + DMOP_MAX_MSI_ROUTES ? -EINVAL : 0;
    case DMOP_MSI_ROUTE: {
        uint32_t action = req->u.route.action, gsi = req->u.route.gsi;
        if (action > DMOP_MSI_ROUTE_FREE)
            return -EINVAL;
        if (action != DMOP_MSI_ROUTE_ALLOC &&
            (gsi < DMOP_MSI_GSI_BASE || gsi >= DMOP_MSI_GSI_BASE + DMOP_MAX_MSI_ROUTES))
            return -EINVAL;
        if (action != DMOP_MSI_ROUTE_FREE && (req->u.route.addr & ~0xfffffull) != VMM_LAPIC_BASE)
            return -EINVAL;
        return 0;
    }
    default:
        return -EOPNOTSUPP;
    }
}

static int irq_line(struct vmm *vmm, uint32_t irq, int level)
{
    struct kvm_irq_level l = {.irq = irq, .level = (uint32_t)level};

    return ioctl(vmm->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

static int kvm_ioeventfd(struct vmm *vmm, const struct io_eventfd *e, bool deassign)
{
    struct kvm_ioeventfd k = {
        .datamatch = e->datamatch,
        .addr = e->addr,
        .len = e->len,
        .fd = e->fd,
    };

    if (e->type == DMOP_IO_RANGE_PORT)
        k.flags |= KVM_IOEVENTFD_FLAG_PIO;
    if (e->flags & DMOP_FD_DATAMATCH)
        k.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
    if (deassign)
        k.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
    return ioctl(vmm->vm_fd, KVM_IOEVENTFD, &k) < 0 ? -errno : 0;
}

static int kvm_irqfd(struct vmm *vmm, const struct io_eventfd *e, bool deassign)
{
    struct kvm_irqfd k = {.fd = (uint32_t)e->fd, .gsi = e->gsi};

    if (deassign) {
        k.flags = KVM_IRQFD_FLAG_DEASSIGN;
    } else if (e->flags & DMOP_FD_RESAMPLE) {
        k.flags = KVM_IRQFD_FLAG_RESAMPLE;
        k.resamplefd = (uint32_t)e->resample_fd;
    }
    return ioctl(vmm->vm_fd, KVM_IRQFD, &k) < 0 ? -errno : 0;
}

/* Whether fd is an eventfd (what the kernel calls it in /proc). */
static bool is_eventfd(int fd)
{
    char path[64], target[64];
    ssize_t n;

    if (fd < 0)
        return false;
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    n = readlink(path, target, sizeof(target) - 1);
    if (n < 0)
        return false;
    target[n] = 0;
    return strcmp(target, "anon_inode:[eventfd]") == 0;
}

/* Whether a PCI link is routed to ISA IRQ (= GSI) irq. */
static bool link_routed_to(const struct vmm *vmm, uint32_t irq)
{
    for (unsigned l = 0; l < 4; l++)
        if (irq != 0 && vmm->pci_link_irq[l] == irq)
            return true;
    return false;
}

/* KVM_SET_GSI_ROUTING replaces the whole table, so it always carries the
 * irqchip's default routes (what KVM sets up with KVM_CREATE_IRQCHIP: GSIs
 * 0-15 to both PICs and the IOAPIC, 16-23 to the IOAPIC alone) and then
 * the MSI routes in use. */
static int commit_routing(struct vmm *vmm)
{
    struct ioreq_server_state *s = &vmm->server;
    size_t max = 16 + VMM_NR_GSIS + DMOP_MAX_MSI_ROUTES;
    struct kvm_irq_routing *r;
    unsigned n = 0;
    int rc = 0;

    r = calloc(1, sizeof(*r) + max * sizeof(r->entries[0]));
    if (!r)
        return -ENOMEM;
    for (uint32_t gsi = 0; gsi < VMM_NR_GSIS; gsi++) {
        if (gsi < 16) {
            r->entries[n++] = (struct kvm_irq_routing_entry){
                .gsi = gsi,
                .type = KVM_IRQ_ROUTING_IRQCHIP,
                .u.irqchip = {.irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
                              .pin = gsi % 8},
            };
        }
        r->entries[n++] = (struct kvm_irq_routing_entry){
            .gsi = gsi,
            .type = KVM_IRQ_ROUTING_IRQCHIP,
            .u.irqchip = {.irqchip = KVM_IRQCHIP_IOAPIC, .pin = gsi},
        };
    }
    for (unsigned i = 0; i < DMOP_MAX_MSI_ROUTES; i++) {
        if (!s->msi_routes[i].used)
            continue;
        r->entries[n++] = (struct kvm_irq_routing_entry){
            .gsi = DMOP_MSI_GSI_BASE + i,
            .type = KVM_IRQ_ROUTING_MSI,
            .u.msi = {.address_lo = s->msi_routes[i].addr, .data = s->msi_routes[i].data},
        };
    }
    r->nr = n;
    if (ioctl(vmm->vm_fd, KVM_SET_GSI_ROUTING, r) < 0)
        rc = -errno;
    free(r);
    return rc;
}

static void remove_eventfd(struct vmm *vmm, unsigned i);

/* Allocate, update or free an MSI route; each change commits the table,
 * and a change KVM refuses is undone. */
static int msi_route(struct vmm *vmm, const struct dmop_req *req, struct dmop_reply *rep)
{
    struct ioreq_server_state *s = &vmm->server;
    unsigned i = req->u.route.gsi - DMOP_MSI_GSI_BASE;
    struct msi_route old;
    int rc;

    if (req->u.route.action == DMOP_MSI_ROUTE_ALLOC) {
        if (s->nr_msi_routes == DMOP_MAX_MSI_ROUTES)
            return -ENOSPC;
        for (i = 0; s->msi_routes[i].used; i++)
            ;
    } else if (!s->msi_routes[i].used) {
        return -ENOENT;
    }
    old = s->msi_routes[i];
    if (req->u.route.action == DMOP_MSI_ROUTE_FREE) {
        /* An irqfd must not outlive its route. */
        for (unsigned e = s->nr_eventfds; e-- > 0;)
            if (s->eventfds[e].is_irqfd && s->eventfds[e].gsi == req->u.route.gsi)
                remove_eventfd(vmm, e);
        s->msi_routes[i].used = false;
    } else {
        s->msi_routes[i].used = true;
        s->msi_routes[i].addr = (uint32_t)req->u.route.addr;
        s->msi_routes[i].data = req->u.route.data;
    }
    rc = commit_routing(vmm);
    if (rc < 0 && req->u.route.action != DMOP_MSI_ROUTE_FREE) {
        s->msi_routes[i] = old;
        return rc;
    }
    if (req->u.route.action == DMOP_MSI_ROUTE_ALLOC) {
        s->nr_msi_routes++;
        s->msi_routes_allocated++;
    } else if (req->u.route.action == DMOP_MSI_ROUTE_FREE)
        s->nr_msi_routes--;
    rep->u.route.gsi = DMOP_MSI_GSI_BASE + i;
    return 0;
}

static int map_range(struct vmm *vmm, const struct dmop_req *req)
{
    struct ioreq_server_state *s = &vmm->server;

    for (unsigned i = 0; i < s->nr_ranges; i++) {
        const struct io_range *r = &s->ranges[i];
        if (r->type == req->u.range.type &&
            overlaps(r->start, r->end, req->u.range.start, req->u.range.end))
            return -EEXIST;
    }
    if (s->nr_ranges == DMOP_MAX_RANGES)
        return -ENOSPC;
    s->ranges[s->nr_ranges++] = (struct io_range){
        .type = req->u.range.type,
        .flags = req->u.range.flags,
        .start = req->u.range.start,
        .end = req->u.range.end,
    };
    return 0;
}

static int unmap_range(struct vmm *vmm, const struct dmop_req *req)
{
    struct ioreq_server_state *s = &vmm->server;

    for (unsigned i = 0; i < s->nr_ranges; i++) {
        struct io_range *r = &s->ranges[i];
        if (r->type == req->u.range.type && r->start == req->u.range.start &&
            r->end == req->u.range.end) {
            *r = s->ranges[--s->nr_ranges];
            return 0;
        }
    }
    return -ENOENT;
}

static void remove_eventfd(struct vmm *vmm, unsigned i)
{
    struct ioreq_server_state *s = &vmm->server;
    struct io_eventfd *e = &s->eventfds[i];

    if (e->is_irqfd)
        kvm_irqfd(vmm, e, true);
    else
        kvm_ioeventfd(vmm, e, true);
    close_quietly(e->fd);
    if (e->is_irqfd && (e->flags & DMOP_FD_RESAMPLE))
        close_quietly(e->resample_fd);
    *e = s->eventfds[--s->nr_eventfds];
}

static unsigned count_eventfds(const struct ioreq_server_state *s, bool irqfds)
{
    unsigned n = 0;

    for (unsigned i = 0; i < s->nr_eventfds; i++)
        n += s->eventfds[i].is_irqfd == irqfds;
    return n;
}

/* An ioeventfd must lie inside one of the server's own ranges: a device
 * model can only take over exits it already owns. */
static int add_ioeventfd(struct vmm *vmm, const struct dmop_req *req, int *fd)
{
    struct ioreq_server_state *s = &vmm->server;
    struct io_eventfd e = {
        .type = req->u.ioeventfd.type,
        .addr = req->u.ioeventfd.addr,
        .len = req->u.ioeventfd.len,
        .datamatch = req->u.ioeventfd.datamatch,
        .flags = req->u.ioeventfd.flags,
        .fd = *fd,
    };
    bool inside = false;
    int rc;

    for (unsigned i = 0; i < s->nr_eventfds; i++) {
        struct io_eventfd *o = &s->eventfds[i];
        bool same_match = (o->flags & DMOP_FD_DATAMATCH) == (e.flags & DMOP_FD_DATAMATCH) &&
                          (!(o->flags & DMOP_FD_DATAMATCH) || o->datamatch == e.datamatch);
        if (!o->is_irqfd && o->type == e.type && o->addr == e.addr && o->len == e.len &&
            same_match) {
            if (!(e.flags & DMOP_FD_DEASSIGN))
                return -EEXIST;
            remove_eventfd(vmm, i);
            return 0;
        }
    }
    if (e.flags & DMOP_FD_DEASSIGN)
        return -ENOENT;
    for (unsigned i = 0; i < s->nr_ranges; i++) {
        const struct io_range *r = &s->ranges[i];
        if (r->type == e.type && r->start <= e.addr && e.addr + e.len - 1 <= r->end)
            inside = true;
    }
    if (!inside)
        return -EPERM;
    if (e.fd < 0)
        return -EBADF;
    if (count_eventfds(s, false) == DMOP_MAX_IOEVENTFDS)
        return -ENOSPC;
    rc = kvm_ioeventfd(vmm, &e, false);
    if (rc < 0)
        return rc;
    e.flags &= ~DMOP_FD_DEASSIGN;
    s->eventfds[s->nr_eventfds++] = e;
    *fd = -1; /* kept */
    return 0;
}

/* fd[0] the irqfd, fd[1] (DMOP_FD_RESAMPLE only) the resample eventfd. */
static int add_irqfd(struct vmm *vmm, const struct dmop_req *req, int *fd)
{
    struct ioreq_server_state *s = &vmm->server;
    bool resample = req->u.irqfd.flags & DMOP_FD_RESAMPLE;
    struct io_eventfd e = {.is_irqfd = true,
                           .gsi = req->u.irqfd.gsi,
                           .fd = fd[0],
                           .resample_fd = -1,
                           .flags = resample ? DMOP_FD_RESAMPLE : 0};
    int rc;

    if (req->u.irqfd.flags & DMOP_FD_DEASSIGN) {
        for (unsigned i = 0; i < s->nr_eventfds; i++) {
            if (s->eventfds[i].is_irqfd && s->eventfds[i].gsi == e.gsi) {
                remove_eventfd(vmm, i);
                return 0;
            }
        }
        return -ENOENT;
    }
    if (e.gsi >= DMOP_MSI_GSI_BASE && !s->msi_routes[e.gsi - DMOP_MSI_GSI_BASE].used)
        return -ENOENT; /* MSI GSIs only once allocated */
    if (resample) {
        /* Only the lines of the PCI links, one level-triggered irqfd each,
         * and only eventfds (KVM would refuse other files too). */
        if (!link_routed_to(vmm, e.gsi))
            return -EPERM;
        for (unsigned i = 0; i < s->nr_eventfds; i++)
            if (s->eventfds[i].is_irqfd && s->eventfds[i].gsi == e.gsi)
                return -EEXIST;
        if (!is_eventfd(fd[0]) || !is_eventfd(fd[1]))
            return -EBADF;
        e.resample_fd = fd[1];
    }
    if (e.fd < 0)
        return -EBADF;
    if (count_eventfds(s, true) == DMOP_MAX_IRQFDS)
        return -ENOSPC;
    rc = kvm_irqfd(vmm, &e, false);
    if (rc < 0)
        return rc;
    s->eventfds[s->nr_eventfds++] = e;
    fd[0] = -1;
    if (resample)
        fd[1] = -1;
    return 0;
}

/* A link's route changed: a resampling irqfd whose line no link is routed
 * to any more goes (KVM lowers the line). */
static void drop_unrouted_irqfds(struct vmm *vmm)
{
    struct ioreq_server_state *s = &vmm->server;

    for (unsigned i = s->nr_eventfds; i-- > 0;) {
        const struct io_eventfd *e = &s->eventfds[i];
        if (e->is_irqfd && (e->flags & DMOP_FD_RESAMPLE) && !link_routed_to(vmm, e->gsi))
            remove_eventfd(vmm, i);
    }
}

void dmop_server_destroy(struct vmm *vmm)
{
    struct ioreq_server_state *s = &vmm->server;

    pthread_rwlock_wrlock(&vmm->io_lock);
    while (s->nr_eventfds > 0)
        remove_eventfd(vmm, s->nr_eventfds - 1);
    log_debug("MSI routes allocated: %u", s->msi_routes_allocated);
    if (s->nr_msi_routes > 0) {
        memset(s->msi_routes, 0, sizeof(s->msi_routes));
        commit_routing(vmm); /* back to the irqchip's defaults */
    }
    memset(s, 0, sizeof(*s));
    /* What tests/virtio/msi-irqfd.sh looks for (with STUBVISOR_DEBUG). */
    log_debug("inject_msi dm_ops handled: %u", vmm->nr_inject_msi);
    log_debug("set_isa_irq/set_pci_intx dm_ops handled: %u", vmm->nr_set_irq);
    vmm->nr_inject_msi = vmm->nr_set_irq = 0;
    pthread_rwlock_unlock(&vmm->io_lock);
    ioreq_shm_destroy(vmm);
}

static int shutdown_guest(struct vmm *vmm, const struct dmop_req *req)
{
    switch (req->u.shutdown.reason) {
    case DMOP_SHUTDOWN_POWEROFF:
        vmm_stop(vmm, (int)req->u.shutdown.status);
        break;
    case DMOP_SHUTDOWN_REBOOT:
        log_info("guest reset itself; stopping (exit status %d)", VMM_EXIT_GUEST_REBOOT);
        vmm_stop(vmm, VMM_EXIT_GUEST_REBOOT);
        break;
    default:
        /* Said before the stop, so that whoever acts on it can tell why. */
        vmm->crash_reason =
            req->u.shutdown.status == DMOP_CRASH_PANIC ? "guest panicked" : "guest crashed";
        log_error("%s (the device model says so); guest stopped", vmm->crash_reason);
        vmm_stop(vmm, VMM_EXIT_GUEST_CRASH);
        break;
    }
    return 0;
}

/* Server-bound ops need the server to exist and the id to be ours (0). */
static int check_server(struct vmm *vmm, uint16_t id)
{
    return vmm->server.created && id == 0 ? 0 : -ENOENT;
}

static int dispatch(struct vmm *vmm, const struct dmop_req *req, int *fd, struct dmop_reply *rep,
                    int *fds_out, size_t *nfds_out)
{
    struct ioreq_server_state *s = &vmm->server;
    int rc = dmop_validate(req, vmm->ram_size);

    if (rc < 0)
        return rc;
    /* A second descriptor only with a resampling irqfd, which needs it. */
    if ((fd[1] >= 0) != (req->op == DMOP_IRQFD && (req->u.irqfd.flags & DMOP_FD_RESAMPLE) &&
                         !(req->u.irqfd.flags & DMOP_FD_DEASSIGN)))
        return fd[1] >= 0 ? -EINVAL : -EBADF;
    switch (req->op) {
    case DMOP_CREATE_IOREQ_SERVER:
        if (s->created)
            return -EEXIST;
        if (vmm->placement != PLACEMENT_INLINE && (rc = ioreq_shm_create(vmm)) < 0)
            return rc;
        s->created = true;
        s->bufioreq = req->u.create.handle_bufioreq && vmm->placement != PLACEMENT_INLINE;
        rep->u.create.id = 0;
        return 0;
    case DMOP_GET_IOREQ_SERVER_INFO:
        if ((rc = check_server(vmm, req->u.server.id)) < 0)
            return rc;
        if (vmm->placement == PLACEMENT_INLINE)
            return -EOPNOTSUPP;
        rep->u.info.nr_vcpus = vmm->nr_vcpus;
        rep->u.info.shm_size = IOREQ_SHM_SIZE(vmm->nr_vcpus);
        rep->u.info.bufioreq = s->bufioreq;
        fds_out[DMOP_INFO_FD_SHM] = vmm->shm_fd;
        fds_out[DMOP_INFO_FD_NOTIFY] = vmm->notify_fd;
        for (unsigned i = 0; i < vmm->nr_vcpus; i++)
            fds_out[DMOP_INFO_FD_VCPU0 + i] = vmm->vcpus[i].efd;
        *nfds_out = DMOP_INFO_FD_VCPU0 + vmm->nr_vcpus;
        return 0;
    case DMOP_MAP_IO_RANGE_TO_IOREQ_SERVER:
        return check_server(vmm, req->u.range.id) ?: map_range(vmm, req);
    case DMOP_UNMAP_IO_RANGE_FROM_IOREQ_SERVER:
        return check_server(vmm, req->u.range.id) ?: unmap_range(vmm, req);
    case DMOP_SET_IOREQ_SERVER_STATE:
        if ((rc = check_server(vmm, req->u.state.id)) < 0)
            return rc;
        s->enabled = req->u.state.enabled;
        return 0;
    case DMOP_DESTROY_IOREQ_SERVER:
        /* Tearing down under running vCPUs would pull the shared pages from
         * under them; a device model leaves by exiting. */
        return check_server(vmm, req->u.server.id) ?: -EBUSY;
    case DMOP_SET_PCI_INTX_LEVEL: {
        /* The PIIX3 swizzle: INTx of device d uses link (d + x) & 3. */
        unsigned link = (req->u.pci_intx.device + req->u.pci_intx.intx) & 3;
        vmm->nr_set_irq++;
        if (vmm->pci_link_irq[link] == 0)
            return 0;
        return irq_line(vmm, vmm->pci_link_irq[link], req->u.pci_intx.level);
    }
    case DMOP_SET_ISA_IRQ_LEVEL:
        vmm->nr_set_irq++;
        return irq_line(vmm, req->u.isa_irq.isa_irq, req->u.isa_irq.level);
    case DMOP_SET_PCI_LINK_ROUTE:
        vmm->pci_link_irq[req->u.pci_link.link] = req->u.pci_link.isa_irq;
        drop_unrouted_irqfds(vmm);
        return 0;
    case DMOP_INJECT_MSI: {
        struct kvm_msi msi = {
            .address_lo = (uint32_t)req->u.msi.addr,
            .address_hi = 0,
            .data = req->u.msi.data,
        };
        vmm->nr_inject_msi++;
        /* KVM returns the number of vCPUs reached, or -1 for "nobody" that
         * reads as EPERM: a guest that masked it, not a bad request. */
        if (ioctl(vmm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0 && errno != EPERM)
            return -errno;
        return 0;
    }
    case DMOP_REMOTE_SHUTDOWN:
        return shutdown_guest(vmm, req);
    case DMOP_PAUSE_VCPUS:
        vmm_pause_vcpus(vmm);
        return 0;
    case DMOP_UNPAUSE_VCPUS:
        vmm_unpause_vcpus(vmm);
        return 0;
    case DMOP_IOEVENTFD:
        return check_server(vmm, req->u.ioeventfd.id) ?: add_ioeventfd(vmm, req, fd);
    case DMOP_IRQFD:
        if (!s->created)
            return -ENOENT;
        return add_irqfd(vmm, req, fd);
    case DMOP_MSI_ROUTE:
        /* Inline device models signal MSIs directly; only a DM outside the
         * monitor needs a route for its irqfds. */
        if (!s->created)
            return -ENOENT;
        if (vmm->placement == PLACEMENT_INLINE)
            return -EOPNOTSUPP;
        return msi_route(vmm, req, rep);
    }
    return -EOPNOTSUPP;
}

void dmop_dispatch_fds(struct vmm *vmm, const struct dmop_req *req, const int *fds_in, size_t nin,
                       struct dmop_reply *rep, int *fds_out, size_t *nfds_out)
{
    int fd[2] = {nin > 0 ? fds_in[0] : -1, nin > 1 ? fds_in[1] : -1};

    memset(rep, 0, sizeof(*rep));
    rep->op = req->op;
    *nfds_out = 0;
    pthread_rwlock_wrlock(&vmm->io_lock);
    if (nin > 2)
        rep->rc = -EINVAL;
    else
        rep->rc = dispatch(vmm, req, fd, rep, fds_out, nfds_out);
    pthread_rwlock_unlock(&vmm->io_lock);
    close_quietly(fd[0]);
    close_quietly(fd[1]);
    for (size_t i = 2; i < nin; i++)
        close_quietly(fds_in[i]);
    if (rep->rc < 0)
        log_debug("dm_op %u refused: %s", req->op, strerror(-rep->rc));
}

void dmop_dispatch(struct vmm *vmm, const struct dmop_req *req, int fd_in, struct dmop_reply *rep,
                   int *fds_out, size_t *nfds_out)
{
    dmop_dispatch_fds(vmm, req, &fd_in, fd_in >= 0 ? 1 : 0, rep, fds_out, nfds_out);
}
