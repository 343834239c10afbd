/* libFuzzer harness: PCI config dispatch and the platform's ports.  The
 * input is a list of 10-byte accesses (kind, devfn, register or port,
 * size, value) run through the real core and devices: the i440FX, the
 * PIIX3 (PIRQ routing), a device with I/O, 32- and 64-bit BARs and MSI-X
 * (relocation, table, PBA) and an expansion ROM, the RTC and the i8042.  Every BAR move goes
 * through dm_register/dm_unregister, so the registry's bookkeeping is
 * fuzzed along. */
#include <stdint.h>
#include <string.h>

#include "dm/machine.h"
#include "dm/pci_msix.h"
#include "tests/platform/fake_host.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_dev {
    struct pci_dev pci;
    struct pci_msix msix;
};

static void bar_io(struct pci_dev *d, unsigned bar, uint64_t off, uint8_t *buf, uint32_t size,
                   bool is_write, void *opaque)
{
    struct fuzz_dev *f = opaque;

    if (pci_msix_bar_access(&f->msix, bar, off, buf, size, is_write))
        return;
    if (!is_write)
        memset(buf, 0, size);
    else if (off == 0 && buf[0] & 1)
        pci_msix_notify(&f->msix, buf[0] >> 1);
    else if (off == 0)
        pci_set_intx(d, buf[0] & 2);
}

static void config_write(struct pci_dev *d, unsigned reg, uint32_t size, void *opaque)
{
    struct fuzz_dev *f = opaque;

    (void)d;
    pci_msix_config_write(&f->msix, reg, size);
}

static const uint16_t ports[] = {0x60, 0x64, 0x70, 0x71, 0x92, 0x3f8, 0x510, 0x511};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fuzz_dev dev;
    static const uint8_t rom[2500] = {0x55, 0xaa, 5};
    struct dm *dm = fake_dm_new(64u << 20);
    struct dm_machine *m = fake_machine_new(dm, 1);

    if (!m)
        __builtin_trap();
    pci_dev_init(&dev.pci, 0x1af4, 0x1041, 0x020000, 1, 0);
    dev.pci.cfg[PCI_INTERRUPT_PIN] = 1;
    dev.pci.config_write = config_write;
    dev.pci.opaque = &dev;
    if (pci_bar_init(&dev.pci, 0, PCI_BAR_KIND_MEM32, 4096, 0, bar_io, &dev) < 0 ||
        pci_bar_init(&dev.pci, 1, PCI_BAR_KIND_IO, 64, 0, bar_io, &dev) < 0 ||
        pci_bar_init(&dev.pci, 2, PCI_BAR_KIND_MEM64, 1u << 14, 0, bar_io, &dev) < 0 ||
        pci_msix_init(&dev.msix, &dev.pci, 0x40, 8, 0, 0x100, 0x800) < 0 ||
        pci_rom_init(&dev.pci, rom, sizeof(rom)) < 0 || pci_bus_add(m->pci, &dev.pci, 3u << 3) < 0)
        __builtin_trap();

    for (; size >= 10; data += 10, size -= 10) {
        uint8_t kind = data[0] % 4, buf[8];
        uint32_t sz = 1u << (data[4] % 4);
        uint16_t reg = (uint16_t)(data[2] | data[3] << 8);
        bool is_write = data[5] & 1;
        uint64_t addr;

        memcpy(buf, data + 6, 4);
        memcpy(buf + 4, data + 6, 4);
        switch (kind) {
        case 0: /* a config cycle on bus 0 */
            addr = ((uint64_t)data[1] << 32) | (reg & 0xfff);
            dm_dispatch(dm, DM_TRAP_PCI, addr, buf, sz > 4 ? 4 : sz, is_write);
            break;
        case 1: { /* wherever the BARs are now: 0 memory, 1 I/O, 2 64-bit, 3 ROM */
            unsigned b = data[1] % 4;
            const struct pci_bar *bar = b == 3 ? &dev.pci.rom : &dev.pci.bars[b];
            addr = bar->addr + (reg & 0xfff);
            dm_dispatch(dm, b == 1 ? DM_TRAP_PIO : DM_TRAP_MMIO, addr, buf, sz, is_write);
            break;
        }
        case 2: /* the platform's ports */
            dm_dispatch(dm, DM_TRAP_PIO, ports[data[1] % 8], buf, sz > 4 ? 1 : sz, is_write);
            break;
        default: /* the device's own events */
            if (data[1] & 1)
                pci_msix_notify(&dev.msix, data[1] >> 1);
            else
                pci_set_intx(&dev.pci, data[1] & 2);
            break;
        }
    }
    dm_machine_free(m);
    dm_free(dm);
    return 0;
}
