/* The fake host of tests/platform/fake_host.h. */
#include "tests/platform/fake_host.h"

#include "dm/machine.h"

#include <string.h>

struct fake_host fake;

static int f_map(void *h, int type, uint64_t s, uint64_t e, uint32_t flags)
{
    (void)h, (void)flags;
    if (fake.refuse_map)
        return fake.refuse_map;
    if (fake.nr_maps < FAKE_MAX_EVENTS)
        fake.maps[fake.nr_maps++] = (struct fake_range){type, s, e};
    return 0;
}

static int f_unmap(void *h, int type, uint64_t s, uint64_t e)
{
    (void)h;
    if (fake.nr_unmaps < FAKE_MAX_EVENTS)
        fake.unmaps[fake.nr_unmaps++] = (struct fake_range){type, s, e};
    return 0;
}

static int f_irq(void *h, unsigned irq, int level)
{
    (void)h;
    if (irq >= 24)
        return -22;
    fake.irq_level[irq] = level;
    fake.irq_changes[irq]++;
    return 0;
}

static int f_msi(void *h, uint64_t a, uint32_t d)
{
    (void)h;
    if (fake.nr_msis < FAKE_MAX_EVENTS) {
        fake.msi_addr[fake.nr_msis] = a;
        fake.msi_data[fake.nr_msis++] = d;
    }
    return 0;
}

static int f_ioeventfd(void *h, int t, uint64_t a, uint32_t l, int fd, bool d)
{
    (void)h, (void)t, (void)a, (void)l, (void)fd, (void)d;
    return 0;
}

static int f_irqfd(void *h, unsigned g, int fd, bool d)
{
    (void)h, (void)g, (void)fd, (void)d;
    return 0;
}

static int f_shutdown(void *h, unsigned reason, unsigned status)
{
    (void)h;
    fake.shutdown_reason = (int)reason;
    fake.shutdown_status = (int)status;
    fake.shutdowns++;
    return 0;
}

static int f_write(void *h, unsigned idx, const void *buf, size_t len)
{
    (void)h, (void)idx, (void)buf, (void)len;
    return 0;
}

static ssize_t f_read(void *h, unsigned idx, void *buf, size_t len)
{
    (void)h, (void)idx, (void)buf, (void)len;
    return 0;
}

const struct dm_host_ops fake_ops = {
    .map_range = f_map,
    .unmap_range = f_unmap,
    .set_isa_irq = f_irq,
    .inject_msi = f_msi,
    .ioeventfd = f_ioeventfd,
    .irqfd = f_irqfd,
    .shutdown = f_shutdown,
    .console_write = f_write,
    .console_read = f_read,
};

static int f_link_route(void *h, unsigned link, unsigned irq)
{
    (void)h;
    if (link >= 4 || irq >= 16)
        return -22;
    fake.link_route[link] = (int)irq;
    return 0;
}

static int f_irqfd_resample(void *h, unsigned gsi, int fd, int rfd, bool deassign)
{
    (void)h;
    if (gsi >= 16)
        return -22;
    if (deassign) {
        fake.irqfd_efd[gsi] = fake.irqfd_rfd[gsi] = -1;
        return 0;
    }
    if (fake.refuse_irqfd)
        return fake.refuse_irqfd;
    fake.irqfd_efd[gsi] = fd;
    fake.irqfd_rfd[gsi] = rfd;
    return 0;
}

const struct dm_host_ops fake_irqfd_ops = {
    .map_range = f_map,
    .unmap_range = f_unmap,
    .set_isa_irq = f_irq,
    .inject_msi = f_msi,
    .ioeventfd = f_ioeventfd,
    .irqfd = f_irqfd,
    .shutdown = f_shutdown,
    .console_write = f_write,
    .console_read = f_read,
    .set_pci_link_route = f_link_route,
    .irqfd_resample = f_irqfd_resample,
};

static uint8_t fake_ram_byte;

static void fake_reset(void)
{
    memset(&fake, 0, sizeof(fake));
    fake.shutdown_reason = fake.shutdown_status = -1;
    for (unsigned i = 0; i < 16; i++)
        fake.irqfd_efd[i] = fake.irqfd_rfd[i] = -1;
}

struct dm *fake_dm_new(uint64_t ram_size)
{
    fake_reset();
    /* The core only keeps the pointer; nothing here dereferences it. */
    return dm_new(&fake_ops, NULL, &fake_ram_byte, ram_size);
}

struct dm *fake_dm_new_irqfd(uint64_t ram_size)
{
    struct dm *dm;

    fake_reset();
    dm = dm_new(&fake_irqfd_ops, NULL, &fake_ram_byte, ram_size);
    if (dm && dm_events_enable(dm) < 0) {
        dm_free(dm);
        dm = NULL;
    }
    return dm;
}

static uint64_t access(struct dm *dm, enum dm_trap_type type, uint64_t addr, unsigned size,
                       bool is_write, uint64_t v)
{
    uint8_t data[8] = {0};

    memcpy(data, &v, size);
    dm_dispatch(dm, type, addr, data, size, is_write);
    v = 0;
    memcpy(&v, data, size);
    return v;
}

uint32_t fake_in(struct dm *dm, uint16_t port, unsigned size)
{
    return (uint32_t)access(dm, DM_TRAP_PIO, port, size, false, 0);
}

void fake_out(struct dm *dm, uint16_t port, unsigned size, uint32_t v)
{
    access(dm, DM_TRAP_PIO, port, size, true, v);
}

uint32_t fake_cfg_read(struct dm *dm, unsigned devfn, unsigned reg, unsigned size)
{
    return (uint32_t)access(dm, DM_TRAP_PCI, ((uint64_t)devfn << 32) | reg, size, false, 0);
}

void fake_cfg_write(struct dm *dm, unsigned devfn, unsigned reg, unsigned size, uint32_t v)
{
    access(dm, DM_TRAP_PCI, ((uint64_t)devfn << 32) | reg, size, true, v);
}

uint64_t fake_mmio_read(struct dm *dm, uint64_t addr, unsigned size)
{
    return access(dm, DM_TRAP_MMIO, addr, size, false, 0);
}

void fake_mmio_write(struct dm *dm, uint64_t addr, unsigned size, uint64_t v)
{
    access(dm, DM_TRAP_MMIO, addr, size, true, v);
}

struct dm_machine *fake_machine_new(struct dm *dm, unsigned nr_vcpus)
{
    struct dm_machine_params p = {.nr_vcpus = nr_vcpus};

    return dm ? dm_machine_new(dm, NULL, &p) : NULL;
}
