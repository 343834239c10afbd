/* dm_op validation and dispatch, without KVM: everything out of range is
 * refused with an errno and changes nothing. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "dm/dmop_host.h"
#include "lib/fdio.h"
#include "vmm/vmm.h"

#define RAM (64ull << 20)

static struct dmop_req range(uint32_t op, uint32_t type, uint64_t start, uint64_t end)
{
    struct dmop_req r = {.op = op};

    r.u.range.type = type;
    r.u.range.start = start;
    r.u.range.end = end;
    return r;
}

static struct dmop_req map(uint32_t type, uint64_t start, uint64_t end)
{
    return range(DMOP_MAP_IO_RANGE_TO_IOREQ_SERVER, type, start, end);
}

static void test_validate_ranges(void **state)
{
    (void)state;
    assert_int_equal(dmop_validate(&(struct dmop_req){.op = 0}, RAM), -EOPNOTSUPP);
    assert_int_equal(dmop_validate(&(struct dmop_req){.op = 999}, RAM), -EOPNOTSUPP);
    struct dmop_req ok = map(DMOP_IO_RANGE_PORT, 0x3f8, 0x3ff);
    assert_int_equal(dmop_validate(&ok, RAM), 0);
    struct dmop_req bad_port = map(DMOP_IO_RANGE_PORT, 0xfff0, 0x10000);
    assert_int_equal(dmop_validate(&bad_port, RAM), -EINVAL);
    struct dmop_req cf8 = map(DMOP_IO_RANGE_PORT, 0xcfc, 0xcfc);
    assert_int_equal(dmop_validate(&cf8, RAM), -EPERM);
    struct dmop_req around_cf8 = map(DMOP_IO_RANGE_PORT, 0xc00, 0xd00);
    assert_int_equal(dmop_validate(&around_cf8, RAM), -EPERM);
    struct dmop_req reversed = map(DMOP_IO_RANGE_PORT, 10, 9);
    assert_int_equal(dmop_validate(&reversed, RAM), -EINVAL);
    struct dmop_req ram = map(DMOP_IO_RANGE_MEMORY, RAM - 1, RAM + 10);
    assert_int_equal(dmop_validate(&ram, RAM), -EPERM);
    struct dmop_req lapic = map(DMOP_IO_RANGE_MEMORY, 0xfee00800, 0xfee00803);
    assert_int_equal(dmop_validate(&lapic, RAM), -EPERM);
    struct dmop_req ioapic = map(DMOP_IO_RANGE_MEMORY, 0xfebff000, 0xfec00000);
    assert_int_equal(dmop_validate(&ioapic, RAM), -EPERM);
    struct dmop_req wrap = map(DMOP_IO_RANGE_MEMORY, ~0ull - 4, 3);
    assert_int_equal(dmop_validate(&wrap, RAM), -EINVAL);
    struct dmop_req huge = map(DMOP_IO_RANGE_MEMORY, 1ull << 60, (1ull << 60) + 1);
    assert_int_equal(dmop_validate(&huge, RAM), -EINVAL);
    struct dmop_req mmio = map(DMOP_IO_RANGE_MEMORY, 0xd0000000, 0xd0000fff);
    assert_int_equal(dmop_validate(&mmio, RAM), 0);
    struct dmop_req pci = map(DMOP_IO_RANGE_PCI, 0x10000, 0x10000);
    assert_int_equal(dmop_validate(&pci, RAM), -EINVAL);
    struct dmop_req type = map(3, 1, 2);
    assert_int_equal(dmop_validate(&type, RAM), -EINVAL);
    struct dmop_req flags = map(DMOP_IO_RANGE_PORT, 0x3f8, 0x3ff);
    flags.u.range.flags = 0x80;
    assert_int_equal(dmop_validate(&flags, RAM), -EINVAL);
}

static void test_validate_irqs(void **state)
{
    struct dmop_req r = {.op = DMOP_SET_ISA_IRQ_LEVEL};

    (void)state;
    r.u.isa_irq.isa_irq = 15;
    assert_int_equal(dmop_validate(&r, RAM), 0);
    r.u.isa_irq.isa_irq = 16;
    assert_int_equal(dmop_validate(&r, RAM), -EINVAL);
    r.u.isa_irq.isa_irq = 4;
    r.u.isa_irq.level = 2;
    assert_int_equal(dmop_validate(&r, RAM), -EINVAL);

    r = (struct dmop_req){.op = DMOP_IRQFD};
    r.u.irqfd.gsi = DMOP_MSI_GSI_BASE + DMOP_MAX_MSI_ROUTES;
    assert_int_equal(dmop_validate(&r, RAM), -EINVAL);
    r.u.irqfd.gsi = VMM_NR_GSIS - 1;
    assert_int_equal(dmop_validate(&r, RAM), 0);
    r.u.irqfd.gsi = DMOP_MSI_GSI_BASE; /* an MSI route's: checked when bound */
    assert_int_equal(dmop_validate(&r, RAM), 0);
    /* Resampling irqfds are for ISA IRQs only (the PCI links' lines). */
    r.u.irqfd.flags = DMOP_FD_RESAMPLE;
    assert_int_equal(dmop_validate(&r, RAM), -EINVAL);
    r.u.irqfd.gsi = 16;
    assert_int_equal(dmop_validate(&r, RAM), -EINVAL);
    r.u.irqfd.gsi = 10;
    assert_int_equal(dmop_validate(&r, RAM), 0);
    r.u.irqfd.flags = 0x8;
    assert_int_equal(dmop_validate(&r, RAM), -EINVAL);

    r = (struct dmop_req){.op = DMOP_INJECT_MSI};
    r.u.msi.addr = 0xfee01000;
    assert_int_equal(dmop_validate(&r, RAM), 0);
    r.u.msi.addr = 0xfed00000;
    assert_int_equal(dmop_validate(&r, RAM), -EINVAL);
    r.u.msi.addr = 0x1fee00000ull;
    assert_int_equal(dmop_validate(&r, RAM), -EINVAL);

    r = (struct dmop_req){.op = DMOP_SET_PCI_INTX_LEVEL};
    r.u.pci_intx.device = 32;
    assert_int_equal(dmop_validate(&r, RAM), -EINVAL);
    r = (struct dmop_req){.op = DMOP_SET_PCI_LINK_ROUTE};
    r.u.pci_link.link = 4;
    assert_int_equal(dmop_validate(&r, RAM), -EINVAL);

    r = (struct dmop_req){.op = DMOP_REMOTE_SHUTDOWN};
    r.u.shutdown.status = 256;
    assert_int_equal(dmop_validate(&r, RAM), -EINVAL);
    r.u.shutdown.status = 255;
    r.u.shutdown.reason = 2;
    assert_int_equal(dmop_validate(&r, RAM), -EINVAL);
    /* A crash report says what crashed: a panic, or nothing more. */
    r.u.shutdown.reason = DMOP_SHUTDOWN_CRASH;
    r.u.shutdown.status = DMOP_CRASH_PANIC;
    assert_int_equal(dmop_validate(&r, RAM), 0);
    r.u.shutdown.status = DMOP_CRASH_UNSPECIFIED;
    assert_int_equal(dmop_validate(&r, RAM), 0);
    r.u.shutdown.status = DMOP_CRASH_PANIC + 1;
    assert_int_equal(dmop_validate(&r, RAM), -EINVAL);
}

static struct dmop_req route(uint32_t action, uint32_t gsi, uint64_t addr, uint32_t data)
{
    struct dmop_req r = {.op = DMOP_MSI_ROUTE};

    r.u.route.action = action;
    r.u.route.gsi = gsi;
    r.u.route.addr = addr;
    r.u.route.data = data;
    return r;
}

static void test_validate_msi_routes(void **state)
{
    const uint32_t last = DMOP_MSI_GSI_BASE + DMOP_MAX_MSI_ROUTES - 1;

    (void)state;
    struct dmop_req r = route(DMOP_MSI_ROUTE_ALLOC, 0, 0xfee00000, 0x41);
    assert_int_equal(dmop_validate(&r, RAM), 0);
    r = route(DMOP_MSI_ROUTE_ALLOC, 0, 0xfee01000, 0x4041);
    assert_int_equal(dmop_validate(&r, RAM), 0);
    r = route(DMOP_MSI_ROUTE_ALLOC, 0, 0xfed00000, 0x41); /* not the APIC */
    assert_int_equal(dmop_validate(&r, RAM), -EINVAL);
    r = route(DMOP_MSI_ROUTE_ALLOC, 0, 0x1fee00000ull, 0x41);
    assert_int_equal(dmop_validate(&r, RAM), -EINVAL);
    r = route(3, DMOP_MSI_GSI_BASE, 0xfee00000, 0);
    assert_int_equal(dmop_validate(&r, RAM), -EINVAL);
    r = route(~0u, DMOP_MSI_GSI_BASE, 0xfee00000, 0);
    assert_int_equal(dmop_validate(&r, RAM), -EINVAL);
    r = route(DMOP_MSI_ROUTE_UPDATE, last, 0xfee00000, 0x42);
    assert_int_equal(dmop_validate(&r, RAM), 0);
    r = route(DMOP_MSI_ROUTE_UPDATE, last, 0, 0x42);
    assert_int_equal(dmop_validate(&r, RAM), -EINVAL);
    /* The irqchip's own GSIs are never MSI routes. */
    r = route(DMOP_MSI_ROUTE_UPDATE, DMOP_MSI_GSI_BASE - 1, 0xfee00000, 0x42);
    assert_int_equal(dmop_validate(&r, RAM), -EINVAL);
    r = route(DMOP_MSI_ROUTE_FREE, 4, 0, 0);
    assert_int_equal(dmop_validate(&r, RAM), -EINVAL);
    r = route(DMOP_MSI_ROUTE_FREE, last + 1, 0, 0);
    assert_int_equal(dmop_validate(&r, RAM), -EINVAL);
    r = route(DMOP_MSI_ROUTE_FREE, last, 0, 0); /* no message needed */
    assert_int_equal(dmop_validate(&r, RAM), 0);
}

struct fixture {
    struct vmm vmm;
};

static int setup(void **state)
{
    static struct fixture f;

    vmm_init(&f.vmm);
    f.vmm.ram_size = RAM;
    f.vmm.nr_vcpus = 2;
    f.vmm.placement = PLACEMENT_PROCESS;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    vmm_destroy(&f->vmm);
    return 0;
}

static int call(struct vmm *vmm, struct dmop_req req, int fd)
{
    struct dmop_reply rep;
    int fds[FDIO_MAX_FDS];
    size_t n;

    dmop_dispatch(vmm, &req, fd, &rep, fds, &n);
    assert_int_equal(rep.op, req.op);
    return rep.rc;
}

static void test_server_lifecycle(void **state)
{
    struct fixture *f = *state;
    struct vmm *vmm = &f->vmm;
    struct dmop_req info = {.op = DMOP_GET_IOREQ_SERVER_INFO};
    struct dmop_reply rep;
    int fds[FDIO_MAX_FDS];
    size_t n;

    /* Nothing works before the server exists. */
    assert_int_equal(call(vmm, map(DMOP_IO_RANGE_PORT, 0x3f8, 0x3ff), -1), -ENOENT);
    dmop_dispatch(vmm, &info, -1, &rep, fds, &n);
    assert_int_equal(rep.rc, -ENOENT);
    assert_int_equal(n, 0);

    assert_int_equal(call(vmm, (struct dmop_req){.op = DMOP_CREATE_IOREQ_SERVER}, -1), 0);
    assert_int_equal(call(vmm, (struct dmop_req){.op = DMOP_CREATE_IOREQ_SERVER}, -1), -EEXIST);
    dmop_dispatch(vmm, &info, -1, &rep, fds, &n);
    assert_int_equal(rep.rc, 0);
    assert_int_equal(rep.u.info.nr_vcpus, 2);
    assert_int_equal(rep.u.info.shm_size, IOREQ_SHM_SIZE(2));
    assert_int_equal(n, DMOP_INFO_FD_VCPU0 + 2);
    info.u.server.id = 1;
    assert_int_equal(call(vmm, info, -1), -ENOENT);

    /* Ranges: overlap refused, unmap exact, bounded count. */
    assert_int_equal(call(vmm, map(DMOP_IO_RANGE_PORT, 0x3f8, 0x3ff), -1), 0);
    assert_int_equal(call(vmm, map(DMOP_IO_RANGE_PORT, 0x3fc, 0x400), -1), -EEXIST);
    assert_int_equal(call(vmm, map(DMOP_IO_RANGE_MEMORY, 0x3f8, 0x3ff), -1), -EPERM);
    assert_int_equal(call(vmm, range(DMOP_UNMAP_IO_RANGE_FROM_IOREQ_SERVER, 0, 0x3f8, 0x3fe), -1),
                     -ENOENT);
    assert_int_equal(call(vmm, range(DMOP_UNMAP_IO_RANGE_FROM_IOREQ_SERVER, 0, 0x3f8, 0x3ff), -1),
                     0);
    for (unsigned i = 0; i < DMOP_MAX_RANGES; i++)
        assert_int_equal(call(vmm, map(DMOP_IO_RANGE_PORT, 0x1000 + i, 0x1000 + i), -1), 0);
    assert_int_equal(call(vmm, map(DMOP_IO_RANGE_PORT, 0x2000, 0x2000), -1), -ENOSPC);

    /* Not routed until enabled. */
    uint32_t flags;
    assert_false(iobus_lookup(vmm, DMOP_IO_RANGE_PORT, 0x1000, 1, &flags));
    struct dmop_req enable = {.op = DMOP_SET_IOREQ_SERVER_STATE};
    enable.u.state.enabled = 1;
    assert_int_equal(call(vmm, enable, -1), 0);
    assert_true(iobus_lookup(vmm, DMOP_IO_RANGE_PORT, 0x1000, 1, &flags));
    assert_false(iobus_lookup(vmm, DMOP_IO_RANGE_PORT, 0x1000, 2, &flags) &&
                 !iobus_lookup(vmm, DMOP_IO_RANGE_PORT, 0x1001, 1, &flags));
    enable.u.state.enabled = 7;
    assert_int_equal(call(vmm, enable, -1), -EINVAL);

    /* A device model cannot pull the shared pages from under the vCPUs. */
    assert_int_equal(call(vmm, (struct dmop_req){.op = DMOP_DESTROY_IOREQ_SERVER}, -1), -EBUSY);
}

static void test_eventfds(void **state)
{
    struct fixture *f = *state;
    struct vmm *vmm = &f->vmm;
    struct dmop_req r = {.op = DMOP_IOEVENTFD};
    int efd = eventfd(0, EFD_CLOEXEC);

    assert_true(efd >= 0);
    assert_int_equal(call(vmm, (struct dmop_req){.op = DMOP_CREATE_IOREQ_SERVER}, -1), 0);
    assert_int_equal(call(vmm, map(DMOP_IO_RANGE_PORT, 0x3f8, 0x3ff), -1), 0);
    /* Outside the server's ranges: refused, and the descriptor consumed. */
    r.u.ioeventfd.type = DMOP_IO_RANGE_PORT;
    r.u.ioeventfd.addr = 0x400;
    r.u.ioeventfd.len = 1;
    assert_int_equal(call(vmm, r, dup(efd)), -EPERM);
    r.u.ioeventfd.addr = 0x3ff;
    r.u.ioeventfd.len = 2; /* straddles the end */
    assert_int_equal(call(vmm, r, dup(efd)), -EPERM);
    r.u.ioeventfd.len = 3;
    assert_int_equal(call(vmm, r, dup(efd)), -EINVAL);
    r.u.ioeventfd.len = 1;
    /* Inside, but there is no VM to register with here. */
    assert_int_equal(call(vmm, r, dup(efd)), -EBADF);
    assert_int_equal(call(vmm, r, -1), -EBADF);
    r.u.ioeventfd.flags = DMOP_FD_DEASSIGN;
    assert_int_equal(call(vmm, r, -1), -ENOENT);
    close(efd);
}

/* Without a VM: routes need the server, and a table KVM cannot take
 * leaves nothing behind. */
static void test_msi_routes(void **state)
{
    struct fixture *f = *state;
    struct vmm *vmm = &f->vmm;
    struct dmop_req irq = {.op = DMOP_IRQFD};

    assert_int_equal(call(vmm, route(DMOP_MSI_ROUTE_ALLOC, 0, 0xfee00000, 0x41), -1), -ENOENT);
    assert_int_equal(call(vmm, (struct dmop_req){.op = DMOP_CREATE_IOREQ_SERVER}, -1), 0);
    assert_int_equal(call(vmm, route(DMOP_MSI_ROUTE_ALLOC, 0, 0xfee00000, 0x41), -1), -EBADF);
    assert_int_equal(vmm->server.nr_msi_routes, 0);
    assert_false(vmm->server.msi_routes[0].used);
    assert_int_equal(call(vmm, route(DMOP_MSI_ROUTE_FREE, DMOP_MSI_GSI_BASE, 0, 0), -1), -ENOENT);
    assert_int_equal(
        call(vmm, route(DMOP_MSI_ROUTE_UPDATE, DMOP_MSI_GSI_BASE, 0xfee00000, 0x41), -1), -ENOENT);
    /* An irqfd on an MSI GSI nobody allocated. */
    irq.u.irqfd.gsi = DMOP_MSI_GSI_BASE;
    assert_int_equal(call(vmm, irq, eventfd(0, EFD_CLOEXEC)), -ENOENT);
    assert_int_equal(vmm->server.nr_eventfds, 0);
}

/* With a real VM: routes are bounded, updated, freed with their irqfds,
 * and refused in the inline placement. */
static void test_msi_routes_kvm(void **state)
{
    struct vmm vmm;
    struct dmop_req irq = {.op = DMOP_IRQFD};
    struct dmop_reply rep;
    int fds[FDIO_MAX_FDS];
    size_t n;

    (void)state;
    if (access("/dev/kvm", R_OK | W_OK) != 0)
        skip();
    assert_int_equal(vmm_create(&vmm, 16), 0);
    vmm.nr_vcpus = 1;
    vmm.placement = PLACEMENT_PROCESS;
    assert_int_equal(call(&vmm, (struct dmop_req){.op = DMOP_CREATE_IOREQ_SERVER}, -1), 0);
    for (unsigned i = 0; i < DMOP_MAX_MSI_ROUTES; i++) {
        struct dmop_req r = route(DMOP_MSI_ROUTE_ALLOC, 0, 0xfee00000, 0x40 + i);
        dmop_dispatch(&vmm, &r, -1, &rep, fds, &n);
        assert_int_equal(rep.rc, 0);
        assert_int_equal(rep.u.route.gsi, DMOP_MSI_GSI_BASE + i);
    }
    assert_int_equal(call(&vmm, route(DMOP_MSI_ROUTE_ALLOC, 0, 0xfee00000, 0x41), -1), -ENOSPC);
    assert_int_equal(
        call(&vmm, route(DMOP_MSI_ROUTE_UPDATE, DMOP_MSI_GSI_BASE + 6, 0xfee01000, 0x51), -1), 0);
    assert_int_equal(vmm.server.msi_routes[6].addr, 0xfee01000);
    assert_int_equal(vmm.server.msi_routes[6].data, 0x51);

    irq.u.irqfd.gsi = DMOP_MSI_GSI_BASE + 3;
    assert_int_equal(call(&vmm, irq, eventfd(0, EFD_CLOEXEC)), 0);
    assert_int_equal(vmm.server.nr_eventfds, 1);
    /* Freeing the route takes its irqfd along; the slot is reused. */
    assert_int_equal(call(&vmm, route(DMOP_MSI_ROUTE_FREE, DMOP_MSI_GSI_BASE + 3, 0, 0), -1), 0);
    assert_int_equal(vmm.server.nr_eventfds, 0);
    assert_int_equal(call(&vmm, route(DMOP_MSI_ROUTE_FREE, DMOP_MSI_GSI_BASE + 3, 0, 0), -1),
                     -ENOENT);
    assert_int_equal(call(&vmm, irq, eventfd(0, EFD_CLOEXEC)), -ENOENT);
    struct dmop_req again = route(DMOP_MSI_ROUTE_ALLOC, 0, 0xfee00000, 0x70);
    dmop_dispatch(&vmm, &again, -1, &rep, fds, &n);
    assert_int_equal(rep.rc, 0);
    assert_int_equal(rep.u.route.gsi, DMOP_MSI_GSI_BASE + 3);
    assert_int_equal(call(&vmm, irq, eventfd(0, EFD_CLOEXEC)), 0);
    vmm_destroy(&vmm); /* frees the routes and the irqfd */

    assert_int_equal(vmm_create(&vmm, 16), 0);
    vmm.placement = PLACEMENT_INLINE;
    assert_int_equal(call(&vmm, (struct dmop_req){.op = DMOP_CREATE_IOREQ_SERVER}, -1), 0);
    assert_int_equal(call(&vmm, route(DMOP_MSI_ROUTE_ALLOC, 0, 0xfee00000, 0x41), -1), -EOPNOTSUPP);
    vmm_destroy(&vmm);
}

/* With a real VM (skipped without /dev/kvm): ioeventfds and irqfds reach
 * KVM, can be removed again, and are bounded in number. */
static void test_eventfds_kvm(void **state)
{
    struct vmm vmm;
    struct dmop_req io = {.op = DMOP_IOEVENTFD}, irq = {.op = DMOP_IRQFD};
    struct dmop_req level = {.op = DMOP_SET_ISA_IRQ_LEVEL};
    struct dmop_req msi = {.op = DMOP_INJECT_MSI};

    (void)state;
    if (access("/dev/kvm", R_OK | W_OK) != 0)
        skip();
    assert_int_equal(vmm_create(&vmm, 16), 0);
    vmm.placement = PLACEMENT_INLINE; /* no shared pages needed */
    assert_int_equal(call(&vmm, (struct dmop_req){.op = DMOP_CREATE_IOREQ_SERVER}, -1), 0);
    assert_int_equal(call(&vmm, map(DMOP_IO_RANGE_PORT, 0x1000, 0x10ff), -1), 0);
    assert_int_equal(call(&vmm, map(DMOP_IO_RANGE_MEMORY, 0xd0000000, 0xd0000fff), -1), 0);

    io.u.ioeventfd.type = DMOP_IO_RANGE_PORT;
    io.u.ioeventfd.len = 2;
    for (unsigned i = 0; i < DMOP_MAX_IOEVENTFDS; i++) {
        io.u.ioeventfd.addr = 0x1000 + 2 * i;
        assert_int_equal(call(&vmm, io, eventfd(0, EFD_CLOEXEC)), 0);
    }
    io.u.ioeventfd.addr = 0x1080;
    assert_int_equal(call(&vmm, io, eventfd(0, EFD_CLOEXEC)), -ENOSPC);
    io.u.ioeventfd.addr = 0x1000;
    assert_int_equal(call(&vmm, io, eventfd(0, EFD_CLOEXEC)), -EEXIST);
    io.u.ioeventfd.flags = DMOP_FD_DEASSIGN;
    assert_int_equal(call(&vmm, io, -1), 0);
    assert_int_equal(call(&vmm, io, -1), -ENOENT);

    io = (struct dmop_req){.op = DMOP_IOEVENTFD};
    io.u.ioeventfd.type = DMOP_IO_RANGE_MEMORY;
    io.u.ioeventfd.addr = 0xd0000010;
    io.u.ioeventfd.len = 4;
    io.u.ioeventfd.flags = DMOP_FD_DATAMATCH;
    io.u.ioeventfd.datamatch = 7;
    assert_int_equal(call(&vmm, io, eventfd(0, EFD_CLOEXEC)), 0);

    /* Irqfds have a limit of their own: a full set of ioeventfds leaves
     * them all their room. */
    io.u.ioeventfd.addr = 0xd0000020;
    assert_int_equal(call(&vmm, io, eventfd(0, EFD_CLOEXEC)), -ENOSPC);
    for (unsigned i = 0; i < DMOP_MAX_IRQFDS; i++) {
        irq.u.irqfd.gsi = i % VMM_NR_GSIS;
        assert_int_equal(call(&vmm, irq, eventfd(0, EFD_CLOEXEC)), 0);
    }
    irq.u.irqfd.gsi = 5;
    assert_int_equal(call(&vmm, irq, eventfd(0, EFD_CLOEXEC)), -ENOSPC);
    irq.u.irqfd.flags = DMOP_FD_DEASSIGN;
    for (unsigned i = 0; i < DMOP_MAX_IRQFDS / VMM_NR_GSIS + 1; i++)
        assert_int_equal(call(&vmm, irq, -1), 0);
    assert_int_equal(call(&vmm, irq, -1), -ENOENT);
    /* ... and removing irqfds makes no room for ioeventfds. */
    assert_int_equal(call(&vmm, io, eventfd(0, EFD_CLOEXEC)), -ENOSPC);

    level.u.isa_irq.isa_irq = 4;
    level.u.isa_irq.level = 1;
    assert_int_equal(call(&vmm, level, -1), 0);
    msi.u.msi.addr = 0xfee00000;
    msi.u.msi.data = 0x41;
    assert_int_equal(call(&vmm, msi, -1), 0);
    vmm_destroy(&vmm); /* unregisters and closes what is left */
}

static int call2(struct vmm *vmm, struct dmop_req req, int fd0, int fd1)
{
    struct dmop_reply rep;
    int fds_in[2] = {fd0, fd1}, fds[FDIO_MAX_FDS];
    size_t n;

    dmop_dispatch_fds(vmm, &req, fds_in, 2, &rep, fds, &n);
    return rep.rc;
}

static struct dmop_req link_route(uint8_t link, uint8_t irq)
{
    struct dmop_req r = {.op = DMOP_SET_PCI_LINK_ROUTE};

    r.u.pci_link.link = link;
    r.u.pci_link.isa_irq = irq;
    return r;
}

/* Level-triggered irqfds with a resample eventfd (skipped without
 * /dev/kvm): only on a line a PCI link is routed to, one per line, only
 * eventfds, exactly two descriptors; they go when the route does. */
static void test_resample_irqfd_kvm(void **state)
{
    struct vmm vmm;
    struct dmop_req irq = {.op = DMOP_IRQFD}, io = {.op = DMOP_IOEVENTFD};
    int pipefd[2];

    (void)state;
    if (access("/dev/kvm", R_OK | W_OK) != 0)
        skip();
    assert_int_equal(vmm_create(&vmm, 16), 0);
    vmm.placement = PLACEMENT_INLINE; /* no shared pages needed */
    assert_int_equal(call(&vmm, (struct dmop_req){.op = DMOP_CREATE_IOREQ_SERVER}, -1), 0);
    irq.u.irqfd.gsi = 10;
    irq.u.irqfd.flags = DMOP_FD_RESAMPLE;
    /* No link goes to IRQ 10 yet. */
    assert_int_equal(call2(&vmm, irq, eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC)), -EPERM);
    assert_int_equal(call(&vmm, link_route(0, 10), -1), 0);
    assert_int_equal(call(&vmm, link_route(1, 10), -1), 0);
    /* One descriptor is not enough; the resample one must be an eventfd. */
    assert_int_equal(call(&vmm, irq, eventfd(0, EFD_CLOEXEC)), -EBADF);
    assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
    assert_int_equal(call2(&vmm, irq, eventfd(0, EFD_CLOEXEC), pipefd[0]), -EBADF);
    close(pipefd[1]);
    /* A second descriptor on anything else is refused. */
    struct dmop_req plain = irq;
    plain.u.irqfd.flags = 0;
    assert_int_equal(call2(&vmm, plain, eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC)), -EINVAL);
    assert_int_equal(call2(&vmm, io, eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC)), -EINVAL);
    assert_int_equal(vmm.server.nr_eventfds, 0);

    assert_int_equal(call2(&vmm, irq, eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC)), 0);
    assert_int_equal(call2(&vmm, irq, eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC)), -EEXIST);
    assert_int_equal(vmm.server.nr_eventfds, 1);
    /* Link 0 moves away: link 1 still goes to 10, the irqfd stays. */
    assert_int_equal(call(&vmm, link_route(0, 11), -1), 0);
    assert_int_equal(vmm.server.nr_eventfds, 1);
    /* Link 1 too: nothing goes to 10 any more, the irqfd is gone. */
    assert_int_equal(call(&vmm, link_route(1, 11), -1), 0);
    assert_int_equal(vmm.server.nr_eventfds, 0);
    struct dmop_req off = irq;
    off.u.irqfd.flags = DMOP_FD_DEASSIGN;
    assert_int_equal(call(&vmm, off, -1), -ENOENT);
    irq.u.irqfd.gsi = 11;
    assert_int_equal(call2(&vmm, irq, eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC)), 0);
    off.u.irqfd.gsi = 11;
    assert_int_equal(call(&vmm, off, -1), 0);
    assert_int_equal(vmm.server.nr_eventfds, 0);
    vmm_destroy(&vmm);
}

/* The one dm_op encoder (dm/dmop_host.c) over the dispatcher, as the
 * inline placement uses it (the socket carries the same bytes): the
 * server id goes into every server-bound request, and numbers too large
 * for their field are refused rather than wrapped into valid ones. */
static struct dmop_req last_req;
static size_t last_nfds;

static int record_and_dispatch(void *transport, const struct dmop_req *req, const int *fds,
                               size_t nfds, struct dmop_reply *rep)
{
    int in[2] = {-1, -1}, out[FDIO_MAX_FDS];
    size_t nout;

    last_req = *req;
    last_nfds = nfds;
    for (size_t i = 0; i < nfds && i < 2; i++)
        in[i] = dup(fds[i]);
    dmop_dispatch_fds(transport, req, in, nfds, rep, out, &nout);
    return rep->rc;
}

static void test_encoder(void **state)
{
    struct fixture *f = *state;
    struct dmop_host h = {.call = record_and_dispatch, .transport = &f->vmm, .server_id = 7};
    const struct dm_host_ops *ops = dmop_host_ops(true);
    int efd = eventfd(0, EFD_CLOEXEC);

    assert_int_equal(dmop_host_create_server(&h, true), 0);
    assert_int_equal(h.server_id, 0);
    assert_int_equal(ops->map_range(&h, DMOP_IO_RANGE_PORT, 0x3f8, 0x3ff, DM_TRAP_POSTED), 0);
    assert_int_equal(last_req.op, DMOP_MAP_IO_RANGE_TO_IOREQ_SERVER);
    assert_int_equal(last_req.u.range.flags, DMOP_RANGE_POSTED);
    h.server_id = 3; /* another server's id is refused: it was sent */
    assert_int_equal(ops->unmap_range(&h, DMOP_IO_RANGE_PORT, 0x3f8, 0x3ff), -ENOENT);
    assert_int_equal(last_req.u.range.id, 3);
    h.server_id = 0;
    /* ISA IRQ 260 and link route to IRQ 267 would wrap to 4 and 11. */
    assert_int_equal(ops->set_isa_irq(&h, 260, 1), -EINVAL);
    assert_int_equal(last_req.u.isa_irq.isa_irq, 255);
    assert_int_equal(ops->set_pci_link_route(&h, 0, 267), -EINVAL);
    assert_int_equal(last_req.u.pci_link.isa_irq, 255);
    assert_int_equal(ops->set_pci_link_route(&h, 256, 11), -EINVAL);
    assert_int_equal(last_req.u.pci_link.link, 255);
    /* Descriptors go along when assigning only (no KVM here: the
     * assignment itself fails, after the checks). */
    ops->ioeventfd(&h, DMOP_IO_RANGE_PORT, 0x3f8, 1, efd, false);
    assert_int_equal(last_nfds, 1);
    assert_int_equal(last_req.u.ioeventfd.id, 0);
    ops->ioeventfd(&h, DMOP_IO_RANGE_PORT, 0x3f8, 1, efd, true);
    assert_int_equal(last_nfds, 0);
    ops->irqfd_resample(&h, 10, efd, efd, false);
    assert_int_equal(last_nfds, 2);
    assert_int_equal(ops->shutdown(&h, DMOP_SHUTDOWN_POWEROFF, 256), -EINVAL);
    /* In process the interrupt short cuts are absent. */
    assert_null(dmop_host_ops(false)->msi_route);
    assert_null(dmop_host_ops(false)->irqfd_resample);
    assert_non_null(ops->msi_route);
    close(efd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate_ranges),
        cmocka_unit_test(test_validate_irqs),
        cmocka_unit_test(test_validate_msi_routes),
        cmocka_unit_test_setup_teardown(test_msi_routes, setup, teardown),
        cmocka_unit_test(test_msi_routes_kvm),
        cmocka_unit_test_setup_teardown(test_server_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eventfds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encoder, setup, teardown),
        cmocka_unit_test(test_eventfds_kvm),
        cmocka_unit_test(test_resample_irqfd_kvm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
