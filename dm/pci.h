/* A PCI bus (segment 0, bus 0) in the device model.
 *
 * stubvmm decodes 0xcf8/0xcfc into DM_TRAP_PCI accesses with
 * addr = SBDF << 32 | register; pci_bus_setup() claims the whole bus with
 * one trap and dispatches to the device at that devfn.  Absent devices read
 * all-ones.  Each device has a 256-byte config space and a per-byte write
 * mask (wmask: bits the guest may change) and write-1-to-clear mask (w1c).
 *
 * BARs: the device declares size and kind; the bus gives the BAR register
 * the matching wmask (so writing all-ones reads back the size mask) and,
 * whenever the guest writes a BAR or the command register, unmaps the old
 * range and maps the new one with dm_unregister()/dm_register().  A BAR is
 * mapped only while its decode bit (I/O or memory) is on and its address is
 * not 0.  BAR handlers get the offset within the BAR, not the address.
 *
 * Expansion ROM: pci_rom_init() gives a function a ROM image behind the
 * BAR at 0x30 (bit 0 enables decoding, as does the memory bit of the
 * command register), read-only, as firmware (SeaBIOS) expects to find
 * option ROMs such as a NIC's iPXE or the VGA BIOS.
 *
 * INTx: pci_set_intx() reports a device's level on its pin; the bus passes
 * changes to its router (the PIIX3, dm/hw/piix.c), which owns the PIRQ
 * links and the ISA IRQ lines.  The INTx-disable command bit masks it.
 */
#ifndef STUBVISOR_DM_PCI_H
#define STUBVISOR_DM_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "dm/dm.h"
#include "dm/state_rec.h"

#define PCI_CFG_SIZE 256
#define PCI_NR_BARS  6
#define PCI_NR_DEVFN 256
#define PCI_ROM_BAR  PCI_NR_BARS /* the index handlers see for the ROM */
#define PCI_ROM_MIN  2048        /* the smallest ROM BAR the register allows */
#define PCI_ROM_MAX  (1u << 24)

/* Config space offsets and bits the bus itself interprets. */
enum {
    PCI_VENDOR_ID = 0x00,
    PCI_DEVICE_ID = 0x02,
    PCI_COMMAND = 0x04,
    PCI_STATUS = 0x06,
    PCI_REVISION_ID = 0x08,
    PCI_CLASS_PROG = 0x09,
    PCI_CLASS_DEVICE = 0x0a,
    PCI_HEADER_TYPE = 0x0e,
    PCI_BAR0 = 0x10,
    PCI_SUBSYSTEM_VENDOR_ID = 0x2c,
    PCI_SUBSYSTEM_ID = 0x2e,
    PCI_ROM_ADDRESS = 0x30,
    PCI_CAPABILITY_LIST = 0x34,
    PCI_INTERRUPT_LINE = 0x3c,
    PCI_INTERRUPT_PIN = 0x3d,

    PCI_COMMAND_IO = 0x1,
    PCI_COMMAND_MEMORY = 0x2,
    PCI_COMMAND_MASTER = 0x4,
    PCI_COMMAND_INTX_DISABLE = 0x400,
    PCI_STATUS_INTERRUPT = 0x08,
    PCI_STATUS_CAP_LIST = 0x10,

    PCI_BAR_IO = 0x1,
    PCI_BAR_MEM64 = 0x4,
    PCI_BAR_PREFETCH = 0x8,
    PCI_ROM_ENABLE = 0x1,
};

enum pci_bar_kind { PCI_BAR_NONE, PCI_BAR_KIND_IO, PCI_BAR_KIND_MEM32, PCI_BAR_KIND_MEM64 };

struct pci_dev;
struct pci_bus;

/* A BAR handler: off is the offset of the access within the BAR. */
typedef void (*pci_bar_fn)(struct pci_dev *d, unsigned bar, uint64_t off, uint8_t *data,
                           uint32_t size, bool is_write, void *opaque);

struct pci_bar {
    enum pci_bar_kind kind;
    uint64_t size; /* a power of two */
    pci_bar_fn fn;
    void *opaque;
    uint32_t trap_flags; /* DM_TRAP_POSTED or 0 */
    bool mapped;         /* registered with the core at `addr` */
    uint64_t addr;       /* where it is mapped */
    struct pci_dev *dev; /* back pointer for the trap */
    unsigned index;
};

struct pci_dev {
    struct pci_bus *bus;
    unsigned devfn;
    uint8_t cfg[PCI_CFG_SIZE];
    uint8_t wmask[PCI_CFG_SIZE];
    uint8_t w1c[PCI_CFG_SIZE];
    struct pci_bar bars[PCI_NR_BARS];
    struct pci_bar rom;       /* PCI_BAR_NONE unless pci_rom_init() */
    const uint8_t *rom_image; /* not owned; rom_len bytes, the rest reads 0 */
    uint64_t rom_len;
    uint8_t last_cap; /* offset of the last capability, 0 if none */
    bool intx_level;  /* what the device asserts (before INTx disable) */
    bool intx_out;    /* what the router was last told */
    /* Called after the bus applied a guest write of `size` bytes at reg
     * (masks already applied; BARs already moved).  May be NULL. */
    void (*config_write)(struct pci_dev *d, unsigned reg, uint32_t size, void *opaque);
    void *opaque;
};

/* The INTx router: pin 0..3 = INTA..INTD of device d changed level. */
typedef void (*pci_intx_fn)(void *router, const struct pci_dev *d, unsigned pin, bool level);

struct pci_bus {
    struct dm *dm;
    struct pci_dev *devs[PCI_NR_DEVFN];
    pci_intx_fn route_intx;
    void *router;
};

/* Claim bus 0 of segment 0 (SBDFs 0x0000-0x00ff) on dm.  bus is owned by
 * the caller and must outlive dm.  Returns 0 or a negative errno. */
int pci_bus_setup(struct pci_bus *bus, struct dm *dm);

/* Set the INTx router (one per bus). */
void pci_bus_set_router(struct pci_bus *bus, pci_intx_fn fn, void *router);

/* The config-space trap (exported for tests and fuzzers). */
void pci_bus_config_io(struct dm *dm, uint64_t addr, uint8_t *data, uint32_t size, bool is_write,
                       void *opaque);

/* Fill a type-0 header: IDs, class (base << 16 | sub << 8 | prog-if),
 * revision, header type; command/status/line writable as on real parts.
 * The device is owned by the caller and must outlive the bus. */
void pci_dev_init(struct pci_dev *d, uint16_t vendor, uint16_t device, uint32_t class_code,
                  uint8_t revision, uint8_t header_type);

/* Put d at devfn (dev << 3 | fn).  Returns 0, -EINVAL or -EEXIST. */
int pci_bus_add(struct pci_bus *bus, struct pci_dev *d, unsigned devfn);

/* Declare BAR `bar` (a 64-bit BAR takes bar and bar + 1).  size must be a
 * power of two, at least 16 (I/O: 4, at most 256).  Returns 0 or -EINVAL. */
int pci_bar_init(struct pci_dev *d, unsigned bar, enum pci_bar_kind kind, uint64_t size,
                 uint32_t trap_flags, pci_bar_fn fn, void *opaque);

/* Give d an expansion ROM holding image (len bytes, not copied: it must
 * outlive d).  The BAR's size is len rounded up to a power of two, at least
 * PCI_ROM_MIN; reads past len give 0, writes are dropped.  Returns 0 or
 * -EINVAL (empty or larger than PCI_ROM_MAX). */
int pci_rom_init(struct pci_dev *d, const uint8_t *image, uint64_t len);

/* The guest-programmed address of a BAR (flags bits masked off). */
uint64_t pci_bar_address(const struct pci_dev *d, unsigned bar);

/* Append a capability of `len` bytes (id, next and body) at offset `off`
 * (>= 0x40, dword aligned, within config space) to the list.  Returns off
 * or a negative errno. */
int pci_cap_add(struct pci_dev *d, uint8_t id, unsigned off, unsigned len);

/* The device asserts (true) or deasserts its INTx pin (config 0x3d). */
void pci_set_intx(struct pci_dev *d, bool level);

/* Little-endian config space helpers. */
uint32_t pci_cfg_read(const struct pci_dev *d, unsigned reg, unsigned size);
void pci_cfg_set(struct pci_dev *d, unsigned reg, unsigned size, uint32_t val);
void pci_wmask_set(struct pci_dev *d, unsigned reg, unsigned size, uint32_t mask);

/* Save/restore of one function (dm/state.h): its config space and INTx
 * level.  parse checks a record against the live function: only bits the
 * guest can write (wmask) may differ, so a record of another device type
 * (other IDs, class, capabilities) is refused.  apply copies it in, moves
 * the BARs as a guest write would (unmap, map at the new address) and
 * re-drives INTx through the router. */
struct pci_dev_state {
    uint8_t cfg[PCI_CFG_SIZE];
    bool intx_level;
};
void pci_dev_state_save(const struct pci_dev *d, struct srec_w *w);
void pci_dev_state_parse(const struct pci_dev *d, struct pci_dev_state *stage, struct srec_r *r);
void pci_dev_state_apply(struct pci_dev *d, const struct pci_dev_state *stage);

#endif
