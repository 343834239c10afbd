/* The PCI bus: config-space dispatch, masks, BAR sizing and relocation,
 * capabilities, INTx.  See dm/pci.h for the model. */
#include "dm/pci.h"

#include <errno.h>
#include <string.h>

#include "lib/log.h"

uint32_t pci_cfg_read(const struct pci_dev *d, unsigned reg, unsigned size)
{
    uint32_t v = 0;

    for (unsigned i = 0; i < size && reg + i < PCI_CFG_SIZE; i++)
        v |= (uint32_t)d->cfg[reg + i] << (8 * i);
    return v;
}

void pci_cfg_set(struct pci_dev *d, unsigned reg, unsigned size, uint32_t val)
{
    for (unsigned i = 0; i < size && reg + i < PCI_CFG_SIZE; i++)
        d->cfg[reg + i] = (uint8_t)(val >> (8 * i));
}

void pci_wmask_set(struct pci_dev *d, unsigned reg, unsigned size, uint32_t mask)
{
    for (unsigned i = 0; i < size && reg + i < PCI_CFG_SIZE; i++)
        d->wmask[reg + i] = (uint8_t)(mask >> (8 * i));
}

void pci_dev_init(struct pci_dev *d, uint16_t vendor, uint16_t device, uint32_t class_code,
                  uint8_t revision, uint8_t header_type)
{
    memset(d, 0, sizeof(*d));
    pci_cfg_set(d, PCI_VENDOR_ID, 2, vendor);
    pci_cfg_set(d, PCI_DEVICE_ID, 2, device);
    pci_cfg_set(d, PCI_REVISION_ID, 1, revision);
    pci_cfg_set(d, PCI_CLASS_PROG, 3, class_code);
    pci_cfg_set(d, PCI_HEADER_TYPE, 1, header_type);
    pci_wmask_set(d, PCI_COMMAND, 2,
                  PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | 0x0140 |
                      PCI_COMMAND_INTX_DISABLE);
    pci_cfg_set(d, PCI_STATUS, 2, 0);
    d->w1c[PCI_STATUS + 1] = 0xf9; /* parity, aborts, SERR: write 1 to clear */
    d->wmask[0x0c] = 0xff;         /* cache line size */
    d->wmask[0x0d] = 0xff;         /* latency timer */
    d->wmask[PCI_INTERRUPT_LINE] = 0xff;
}

int pci_bus_add(struct pci_bus *bus, struct pci_dev *d, unsigned devfn)
{
    if (devfn >= PCI_NR_DEVFN)
        return -EINVAL;
    if (bus->devs[devfn])
        return -EEXIST;
    d->bus = bus;
    d->devfn = devfn;
    bus->devs[devfn] = d;
    return 0;
}

static bool is_pow2(uint64_t v)
{
    return v && !(v & (v - 1));
}

int pci_bar_init(struct pci_dev *d, unsigned bar, enum pci_bar_kind kind, uint64_t size,
                 uint32_t trap_flags, pci_bar_fn fn, void *opaque)
{
    unsigned reg = PCI_BAR0 + 4 * bar;
    struct pci_bar *b;

    if (bar >= PCI_NR_BARS || !is_pow2(size) || !fn)
        return -EINVAL;
    if (kind == PCI_BAR_KIND_IO ? size < 4 || size > 256
                                : size < 16 || (kind == PCI_BAR_KIND_MEM32 && size > (1u << 31)))
        return -EINVAL;
    if (kind == PCI_BAR_KIND_MEM64 && bar + 1 >= PCI_NR_BARS)
        return -EINVAL;
    if (kind != PCI_BAR_KIND_IO && kind != PCI_BAR_KIND_MEM32 && kind != PCI_BAR_KIND_MEM64)
        return -EINVAL;
    b = &d->bars[bar];
    *b = (struct pci_bar){.kind = kind,
                          .size = size,
                          .fn = fn,
                          .opaque = opaque,
                          .trap_flags = trap_flags,
                          .dev = d,
                          .index = bar};
    switch (kind) {
    case PCI_BAR_KIND_IO:
        pci_cfg_set(d, reg, 4, PCI_BAR_IO);
        pci_wmask_set(d, reg, 4, (uint32_t) ~(size - 1) & ~3u);
        break;
    case PCI_BAR_KIND_MEM32:
        pci_cfg_set(d, reg, 4, 0);
        pci_wmask_set(d, reg, 4, (uint32_t) ~(size - 1) & ~0xfu);
        break;
    default:
        pci_cfg_set(d, reg, 4, PCI_BAR_MEM64);
        pci_wmask_set(d, reg, 4, (uint32_t) ~(size - 1) & ~0xfu);
        pci_wmask_set(d, reg + 4, 4, (uint32_t)(~(size - 1) >> 32));
        d->bars[bar + 1].kind = PCI_BAR_NONE;
        break;
    }
    return 0;
}

static void rom_io(struct pci_dev *d, unsigned bar, uint64_t off, uint8_t *data, uint32_t size,
                   bool is_write, void *opaque)
{
    (void)bar;
    (void)opaque;
    if (is_write)
        return; /* read-only memory */
    for (uint32_t i = 0; i < size; i++)
        data[i] = off + i < d->rom_len ? d->rom_image[off + i] : 0;
}

int pci_rom_init(struct pci_dev *d, const uint8_t *image, uint64_t len)
{
    uint64_t size = PCI_ROM_MIN;

    if (!image || len == 0 || len > PCI_ROM_MAX)
        return -EINVAL;
    while (size < len)
        size <<= 1;
    d->rom = (struct pci_bar){
        .kind = PCI_BAR_KIND_MEM32, .size = size, .fn = rom_io, .dev = d, .index = PCI_ROM_BAR};
    d->rom_image = image;
    d->rom_len = len;
    pci_cfg_set(d, PCI_ROM_ADDRESS, 4, 0);
    pci_wmask_set(d, PCI_ROM_ADDRESS, 4, ((uint32_t) ~(size - 1) & ~0x7ffu) | PCI_ROM_ENABLE);
    return 0;
}

uint64_t pci_bar_address(const struct pci_dev *d, unsigned bar)
{
    unsigned reg = PCI_BAR0 + 4 * bar;
    uint64_t lo = pci_cfg_read(d, reg, 4);

    switch (d->bars[bar].kind) {
    case PCI_BAR_KIND_IO:
        return lo & ~3ull;
    case PCI_BAR_KIND_MEM32:
        return lo & ~0xfull;
    case PCI_BAR_KIND_MEM64:
        return (lo & ~0xfull) | ((uint64_t)pci_cfg_read(d, reg + 4, 4) << 32);
    default:
        return 0;
    }
}

int pci_cap_add(struct pci_dev *d, uint8_t id, unsigned off, unsigned len)
{
    if (off < 0x40 || (off & 3) || len < 2 || off + len > PCI_CFG_SIZE)
        return -EINVAL;
    d->cfg[off] = id;
    d->cfg[off + 1] = 0;
    if (d->last_cap)
        d->cfg[d->last_cap + 1] = (uint8_t)off;
    else
        d->cfg[PCI_CAPABILITY_LIST] = (uint8_t)off;
    d->last_cap = (uint8_t)off;
    d->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
    return (int)off;
}

static void bar_trap(struct dm *dm, uint64_t addr, uint8_t *data, uint32_t size, bool is_write,
                     void *opaque)
{
    struct pci_bar *b = opaque;

    (void)dm;
    b->fn(b->dev, b->index, addr - b->addr, data, size, is_write, b->opaque);
}

/* Map b at addr if want, else unmap it: unmap what is stale, map what
 * should be decoded.  An address the host refuses (it overlaps RAM,
 * another device, the APIC) leaves the BAR unmapped, as if it decoded
 * nothing: the guest's own fault. */
static void bar_remap(struct pci_dev *d, struct pci_bar *b, bool want, uint64_t addr)
{
    enum dm_trap_type type = b->kind == PCI_BAR_KIND_IO ? DM_TRAP_PIO : DM_TRAP_MMIO;
    int rc;

    if (b->mapped && (!want || addr != b->addr)) {
        rc = dm_unregister(d->bus->dm, type, b->addr);
        if (rc < 0)
            log_debug("pci %02x.%x BAR%u: unmap 0x%llx: %s", d->devfn >> 3, d->devfn & 7, b->index,
                      (unsigned long long)b->addr, strerror(-rc));
        b->mapped = false;
    }
    if (want && !b->mapped) {
        b->addr = addr;
        rc = dm_register(d->bus->dm, type, addr, b->size, b->trap_flags, bar_trap, b);
        if (rc < 0)
            log_debug("pci %02x.%x BAR%u: map 0x%llx: %s", d->devfn >> 3, d->devfn & 7, b->index,
                      (unsigned long long)addr, strerror(-rc));
        else
            b->mapped = true;
    }
}

/* Bring one BAR's mapping in line with its register and the command
 * register. */
static void bar_update(struct pci_dev *d, unsigned i)
{
    struct pci_bar *b = &d->bars[i];
    uint16_t cmd = (uint16_t)pci_cfg_read(d, PCI_COMMAND, 2);
    bool is_io = b->kind == PCI_BAR_KIND_IO;
    uint64_t addr = pci_bar_address(d, i);
    bool want = addr != 0 && (cmd & (is_io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY));

    if (b->kind == PCI_BAR_NONE)
        return;
    /* A BAR being sized reads back as all-ones in its address bits:
     * nothing decodes there. */
    if (is_io && (addr + b->size > 0x10000))
        want = false;
    bar_remap(d, b, want, addr);
}

/* The ROM decodes with its enable bit and the memory bit both on. */
static void rom_update(struct pci_dev *d)
{
    uint32_t reg = pci_cfg_read(d, PCI_ROM_ADDRESS, 4);
    uint16_t cmd = (uint16_t)pci_cfg_read(d, PCI_COMMAND, 2);
    uint64_t addr = reg & ~0x7ffu;

    if (d->rom.kind == PCI_BAR_NONE)
        return;
    bar_remap(d, &d->rom, addr != 0 && (reg & PCI_ROM_ENABLE) && (cmd & PCI_COMMAND_MEMORY), addr);
}

static void intx_update(struct pci_dev *d)
{
    uint16_t cmd = (uint16_t)pci_cfg_read(d, PCI_COMMAND, 2);
    bool out = d->intx_level && !(cmd & PCI_COMMAND_INTX_DISABLE);
    unsigned pin = d->cfg[PCI_INTERRUPT_PIN];

    if (d->intx_level)
        d->cfg[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
    else
        d->cfg[PCI_STATUS] &= (uint8_t)~PCI_STATUS_INTERRUPT;
    if (out == d->intx_out || pin < 1 || pin > 4)
        return;
    d->intx_out = out;
    if (d->bus && d->bus->route_intx)
        d->bus->route_intx(d->bus->router, d, pin - 1, out);
}

void pci_set_intx(struct pci_dev *d, bool level)
{
    d->intx_level = level;
    intx_update(d);
}

static void config_write(struct pci_dev *d, unsigned reg, const uint8_t *data, uint32_t size)
{
    for (uint32_t i = 0; i < size; i++) {
        unsigned r = reg + i;
        uint8_t v = data[i];
        d->cfg[r] = (uint8_t)((d->cfg[r] & ~d->wmask[r]) | (v & d->wmask[r]));
        d->cfg[r] &= (uint8_t) ~(v & d->w1c[r]);
    }
    /* BARs and decode bits: move what moved. */
    if (reg < PCI_BAR0 + 4 * PCI_NR_BARS && reg + size > PCI_COMMAND) {
        for (unsigned i = 0; i < PCI_NR_BARS; i++)
            bar_update(d, i);
    }
    if ((reg < PCI_ROM_ADDRESS + 4 && reg + size > PCI_ROM_ADDRESS) ||
        (reg < PCI_COMMAND + 2 && reg + size > PCI_COMMAND))
        rom_update(d);
    if (reg < PCI_COMMAND + 2 && reg + size > PCI_COMMAND)
        intx_update(d);
    if (d->config_write)
        d->config_write(d, reg, size, d->opaque);
}

void pci_bus_config_io(struct dm *dm, uint64_t addr, uint8_t *data, uint32_t size, bool is_write,
                       void *opaque)
{
    struct pci_bus *bus = opaque;
    uint32_t sbdf = (uint32_t)(addr >> 32);
    unsigned reg = (unsigned)(addr & 0xfff);
    struct pci_dev *d = NULL;

    (void)dm;
    if (sbdf < PCI_NR_DEVFN)
        d = bus->devs[sbdf];
    /* Absent devices, extended config space and accesses that run past a
     * 256-byte space: all-ones, writes dropped. */
    if (!d || size > 4 || reg + size > PCI_CFG_SIZE) {
        if (!is_write)
            memset(data, 0xff, size);
        return;
    }
    if (is_write)
        config_write(d, reg, data, size);
    else
        memcpy(data, &d->cfg[reg], size);
}

int pci_bus_setup(struct pci_bus *bus, struct dm *dm)
{
    memset(bus, 0, sizeof(*bus));
    bus->dm = dm;
    return dm_register(dm, DM_TRAP_PCI, 0, (uint64_t)PCI_NR_DEVFN << 32, 0, pci_bus_config_io, bus);
}

void pci_bus_set_router(struct pci_bus *bus, pci_intx_fn fn, void *router)
{
    bus->route_intx = fn;
    bus->router = router;
}

void pci_dev_state_save(const struct pci_dev *d, struct srec_w *w)
{
    srec_put_bytes(w, d->cfg, sizeof(d->cfg));
    srec_put_u8(w, d->intx_level);
}

void pci_dev_state_parse(const struct pci_dev *d, struct pci_dev_state *s, struct srec_r *r)
{
    srec_get_bytes(r, s->cfg, sizeof(s->cfg));
    s->intx_level = srec_get_bool(r);
    for (unsigned i = 0; i < PCI_CFG_SIZE; i++) {
        uint8_t fixed = (uint8_t)~d->wmask[i];
        if (i == PCI_STATUS)
            fixed &= (uint8_t)~PCI_STATUS_INTERRUPT; /* the device's, from intx_level */
        if (i == PCI_STATUS + 1)
            fixed &= (uint8_t)~d->w1c[i];
        srec_check(r, ((s->cfg[i] ^ d->cfg[i]) & fixed) == 0,
                   "read-only config space differs (another device?)");
    }
}

void pci_dev_state_apply(struct pci_dev *d, const struct pci_dev_state *s)
{
    memcpy(d->cfg, s->cfg, sizeof(d->cfg));
    for (unsigned i = 0; i < PCI_NR_BARS; i++)
        bar_update(d, i);
    rom_update(d);
    d->intx_level = s->intx_level;
    intx_update(d);
}
