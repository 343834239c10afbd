/* i440FX host bridge and PIIX3 ISA bridge: see dm/hw/piix.h. */
#include "dm/hw/piix.h"

#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "dm/device.h"
#include "lib/fdio.h"
#include "lib/log.h"

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

static void irqfd_assert(const struct piix_irqfd *f)
{
    uint64_t one = 1;

    if (write(f->efd, &one, sizeof(one)) != sizeof(one))
        log_debug("piix: irqfd for IRQ %d: write failed", f->irq);
}

/* The IRQs that have an irqfd bound. */
static uint16_t irqfd_irqs(const struct piix *p)
{
    uint16_t m = 0;

    for (unsigned i = 0; i < 4; i++)
        if (p->irqfd[i].irq >= 0)
            m |= (uint16_t)(1u << p->irqfd[i].irq);
    return m;
}

/* Recompute every ISA IRQ the links drive and tell the host what changed:
 * a rising line with an irqfd writes it, any other change is a
 * set_isa_irq. */
static void piix_update_irqs(struct piix *p)
{
    uint16_t level = 0, fds = irqfd_irqs(p), user;

    for (unsigned link = 0; link < 4; link++) {
        uint8_t route = p->isa.cfg[PIIX_PIRQ_BASE + link];
        if (p->link_count[link] && !(route & PIRQ_DISABLED) && (route & 0xf) < 16)
            level |= (uint16_t)(1u << (route & 0xf));
    }
    user = level & (uint16_t)~fds;
    for (unsigned irq = 0; irq < 16; irq++) {
        uint16_t bit = (uint16_t)(1u << irq);
        if ((user ^ p->isa_level) & bit)
            dm_set_isa_irq(p->bus->dm, irq, (user & bit) ? 1 : 0);
    }
    p->isa_level = user;
    for (unsigned i = 0; i < 4; i++) {
        const struct piix_irqfd *f = &p->irqfd[i];
        if (f->irq >= 0 && (level & ~p->line_level & (1u << f->irq)))
            irqfd_assert(f);
    }
    p->line_level = level;
}

/* KVM lowered an irqfd's line (the guest acknowledged it): raise it again
 * while a device still holds it. */
static void piix_resample(struct dm *dm, int fd, void *opaque)
{
    struct piix *p = opaque;
    uint64_t v;

    (void)dm;
    for (unsigned i = 0; i < 4; i++) {
        const struct piix_irqfd *f = &p->irqfd[i];
        if (f->rfd != fd)
            continue;
        if (read(fd, &v, sizeof(v)) < 0)
            return;
        if (f->irq >= 0 && (p->line_level & (1u << f->irq)))
            irqfd_assert(f);
    }
}

static void drain(int fd)
{
    uint64_t v;

    if (read(fd, &v, sizeof(v)) < 0)
        return; /* EAGAIN: nothing was there */
}

/* The routes changed: tell the host, and bind an irqfd to each IRQ a link
 * is routed to (dropping those no link uses any more).  An IRQ whose
 * irqfd the host refuses keeps going through set_isa_irq. */
static void piix_rebind(struct piix *p)
{
    struct dm *dm = p->bus->dm;
    uint16_t want = 0;

    if (!p->use_irqfd)
        return;
    for (unsigned link = 0; link < 4; link++) {
        uint8_t route = p->isa.cfg[PIIX_PIRQ_BASE + link];
        uint8_t irq = (route & PIRQ_DISABLED) ? 0 : (route & 0xf);
        if (p->host_route[link] != irq && dm_set_pci_link_route(dm, link, irq) == 0)
            p->host_route[link] = irq;
        if (p->host_route[link])
            want |= (uint16_t)(1u << p->host_route[link]);
    }
    for (unsigned i = 0; i < 4; i++) {
        struct piix_irqfd *f = &p->irqfd[i];
        if (f->irq >= 0 && !(want & (1u << f->irq))) {
            dm_irqfd_resample(dm, (unsigned)f->irq, f->efd, f->rfd, true);
            f->irq = -1;
        }
    }
    for (unsigned irq = 1; irq < 16; irq++) {
        if (!(want & (1u << irq)) || (irqfd_irqs(p) & (1u << irq)))
            continue;
        for (unsigned i = 0; i < 4; i++) {
            struct piix_irqfd *f = &p->irqfd[i];
            if (f->efd < 0 || f->irq >= 0)
                continue;
            drain(f->efd);
            drain(f->rfd);
            if (dm_irqfd_resample(dm, irq, f->efd, f->rfd, false) == 0) {
                f->irq = (int)irq;
                /* A line that is already high, now on its irqfd. */
                if (p->line_level & (1u << irq))
                    irqfd_assert(f);
            }
            break;
        }
    }
}

/* Make the eventfds while we may (before the sandbox locks down). */
static void piix_irqfd_init(struct piix *p)
{
    struct dm *dm = p->bus->dm;

    for (unsigned i = 0; i < 4; i++) {
        struct piix_irqfd *f = &p->irqfd[i];
        f->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        f->rfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (f->efd < 0 || f->rfd < 0 || dm_watch_fd(dm, f->rfd, piix_resample, p) < 0)
            goto fail;
    }
    p->use_irqfd = true;
    return;
fail:
    log_debug("piix: no level-triggered irqfds; INTx through set_isa_irq");
    for (unsigned i = 0; i < 4; i++) {
        close_quietly(p->irqfd[i].efd);
        close_quietly(p->irqfd[i].rfd);
        p->irqfd[i].efd = p->irqfd[i].rfd = -1;
    }
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
    if (reg < PIIX_PIRQ_BASE + 4 && reg + size > PIIX_PIRQ_BASE) {
        piix_rebind(opaque);
        piix_update_irqs(opaque);
    }
}

int piix_setup(struct piix *p, struct pci_bus *bus)
{
    struct pci_dev *h = &p->host, *isa = &p->isa;
    int rc;

    memset(p, 0, sizeof(*p));
    p->bus = bus;
    for (unsigned i = 0; i < 4; i++)
        p->irqfd[i].efd = p->irqfd[i].rfd = p->irqfd[i].irq = -1;

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
    if (dm_has_irqfd_resample(bus->dm))
        piix_irqfd_init(p);
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
    /* The routes and irqfds, for a host that may be a fresh one. */
    piix_rebind(p);
    /* Pretend the host has the opposite of the truth on every routed IRQ,
     * so piix_update_irqs() sends each of them once; a high line on an
     * irqfd is raised again. */
    p->isa_level = 0;
    p->line_level = 0;
    piix_update_irqs(p);
    p->isa_level ^= routed & (uint16_t)~irqfd_irqs(p);
    piix_update_irqs(p);
}

/* ---- the device table entry: the PC's PCI bus, host bridge and ISA bridge ---- */

struct i440fx_piix3 {
    struct pci_bus bus;
    struct piix piix;
};

static int i440fx_create(struct dm_dev *dev)
{
    struct i440fx_piix3 *s = dev->state;
    int rc;

    if ((rc = pci_bus_setup(&s->bus, dev->dm)) < 0 || (rc = piix_setup(&s->piix, &s->bus)) < 0)
        return rc;
    dev->machine->pci = &s->bus;
    dev->machine->piix = &s->piix;
    return 0;
}

/* The config spaces (the PIRQ routes among them) are the machine's
 * records; what the links drive follows from them. */
static void i440fx_apply(struct dm_dev *dev, const void *stage)
{
    struct i440fx_piix3 *s = dev->state;

    (void)stage;
    piix_state_refresh(&s->piix);
}

static const struct dm_device_type i440fx_piix3_type = {
    .name = "i440fx-piix3",
    .bus = DM_BUS_ISA,
    .pc_default = true,
    .order = 0, /* the PCI bus and the IRQ router, for every device after it */
    .state_size = sizeof(struct i440fx_piix3),
    .create = i440fx_create,
    .apply = i440fx_apply,
};
DM_DEVICE(i440fx_piix3_type);
