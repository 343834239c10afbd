/* i440FX host bridge and PIIX3 ISA bridge: see dm/hw/piix.h. */
#include "dm/hw/piix.h"

#include <string.h>

enum {
    PCI_VENDOR_INTEL = 0x8086,
    I440FX_DEVICE = 0x1237,
    PIIX3_DEVICE = 0x7000,
    CLASS_HOST_BRIDGE = 0x060000,
    CLASS_ISA_BRIDGE = 0x060100,
    SMRAM_DEFAULT = 0x02, /* C_BASE_SEG: SMRAM at 0xa0000 */
    PIRQ_DISABLED = 0x80,
};

unsigned piix_intx_link(unsigned devfn, unsigned pin)
{
    return (pin + (devfn >> 3) - 1) & 3;
}

/* Recompute every ISA IRQ the links drive and tell the host what changed. */
static void piix_update_irqs(struct piix *p)
{
    uint16_t level = 0;

    for (unsigned link = 0; link < 4; link++) {
        uint8_t route = p->isa.cfg[PIIX_PIRQ_BASE + link];
        if (p->link_count[link] && !(route & PIRQ_DISABLED) && (route & 0xf) < 16)
            level |= (uint16_t)(1u << (route & 0xf));
    }
    for (unsigned irq = 0; irq < 16; irq++) {
        uint16_t bit = (uint16_t)(1u << irq);
        if ((level ^ p->isa_level) & bit)
            dm_set_isa_irq(p->bus->dm, irq, (level & bit) ? 1 : 0);
    }
    p->isa_level = level;
}

static void piix_route_intx(void *router, const struct pci_dev *d, unsigned pin, bool level)
{
    struct piix *p = router;
    unsigned link = piix_intx_link(d->devfn, pin);

    if (level)
        p->link_count[link]++;
    else if (p->link_count[link])
        p->link_count[link]--;
    piix_update_irqs(p);
}

static void piix_isa_config_write(struct pci_dev *d, unsigned reg, uint32_t size, void *opaque)
{
    (void)d;
    if (reg < PIIX_PIRQ_BASE + 4 && reg + size > PIIX_PIRQ_BASE)
        piix_update_irqs(opaque);
}

int piix_setup(struct piix *p, struct pci_bus *bus)
{
    struct pci_dev *h = &p->host, *isa = &p->isa;
    int rc;

    memset(p, 0, sizeof(*p));
    p->bus = bus;

    pci_dev_init(h, PCI_VENDOR_INTEL, I440FX_DEVICE, CLASS_HOST_BRIDGE, 0x02, 0x00);
    pci_cfg_set(h, PCI_SUBSYSTEM_VENDOR_ID, 2, 0x1af4);
    pci_cfg_set(h, PCI_SUBSYSTEM_ID, 2, 0x1100);
    pci_cfg_set(h, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
    /* PAM0 has only the 0xf0000 segment (high nibble); PAM1-6 two each. */
    h->wmask[I440FX_PAM0] = 0x30;
    for (unsigned r = I440FX_PAM0 + 1; r <= I440FX_PAM0 + 6; r++)
        h->wmask[r] = 0x33;
    h->cfg[I440FX_SMRAM] = SMRAM_DEFAULT;
    h->wmask[I440FX_SMRAM] = 0x78; /* D_OPEN, D_CLS, D_LCK, G_SMRAME */

    pci_dev_init(isa, PCI_VENDOR_INTEL, PIIX3_DEVICE, CLASS_ISA_BRIDGE, 0x00, 0x80);
    pci_cfg_set(isa, PCI_SUBSYSTEM_VENDOR_ID, 2, 0x1af4);
    pci_cfg_set(isa, PCI_SUBSYSTEM_ID, 2, 0x1100);
    pci_cfg_set(isa, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    for (unsigned link = 0; link < 4; link++) {
        isa->cfg[PIIX_PIRQ_BASE + link] = PIRQ_DISABLED;
        isa->wmask[PIIX_PIRQ_BASE + link] = 0x8f;
    }
    isa->config_write = piix_isa_config_write;
    isa->opaque = p;

    if ((rc = pci_bus_add(bus, h, PIIX_HOST_DEVFN)) < 0 ||
        (rc = pci_bus_add(bus, isa, PIIX_ISA_DEVFN)) < 0)
        return rc;
    pci_bus_set_router(bus, piix_route_intx, p);
    return 0;
}

void piix_state_refresh(struct piix *p)
{
    uint16_t routed = 0;

    memset(p->link_count, 0, sizeof(p->link_count));
    for (unsigned devfn = 0; devfn < PCI_NR_DEVFN; devfn++) {
        const struct pci_dev *d = p->bus->devs[devfn];
        unsigned pin = d ? d->cfg[PCI_INTERRUPT_PIN] : 0;
        if (d && d->intx_out && pin >= 1 && pin <= 4)
            p->link_count[piix_intx_link(devfn, pin - 1)]++;
    }
    for (unsigned link = 0; link < 4; link++) {
        uint8_t route = p->isa.cfg[PIIX_PIRQ_BASE + link];
        if (!(route & PIRQ_DISABLED))
            routed |= (uint16_t)(1u << (route & 0xf));
    }
    /* Pretend the host has the opposite of the truth on every routed IRQ,
     * so piix_update_irqs() sends each of them once. */
    p->isa_level = 0;
    piix_update_irqs(p);
    p->isa_level ^= routed;
    piix_update_irqs(p);
}
