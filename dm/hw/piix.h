/* The i440FX host bridge (00:00.0) and the PIIX3 PCI-to-ISA bridge
 * (00:01.0), as QEMU's "pc" machine has them and SeaBIOS expects.
 *
 * i440FX: PAM registers 0x59-0x5f (BIOS shadow control) and SMRAM 0x72 are
 * stored and read back; the BIOS area stays RAM whatever they say (the
 * low copy of the firmware lives in guest RAM, vmm/firmware.c).  The
 * subsystem IDs are QEMU's (1af4:1100): SeaBIOS takes them as "running on
 * QEMU" and then reads memory size and boot order from CMOS.
 *
 * PIIX3: PIRQA-D route registers 0x60-0x63 (bit 7 = disabled, bits 0-3 =
 * ISA IRQ).  PCI INTx of device `dev`, pin p (0 = INTA) uses link
 * (p + dev - 1) & 3, the PIIX swizzle SeaBIOS assumes when it fills in the
 * interrupt line.  An ISA IRQ is high while any link routed to it has an
 * asserting device; levels go to the host with set_isa_irq.  Whether the
 * IRQ is level or edge is the ELCR's business (ports 0x4d0/0x4d1), which
 * the in-kernel PIC emulates.
 */
#ifndef STUBVISOR_DM_HW_PIIX_H
#define STUBVISOR_DM_HW_PIIX_H

#include "dm/pci.h"

#define PIIX_HOST_DEVFN 0x00
#define PIIX_ISA_DEVFN  0x08
#define PIIX_PIRQ_BASE  0x60
#define I440FX_PAM0     0x59
#define I440FX_SMRAM    0x72

struct piix {
    struct pci_dev host;
    struct pci_dev isa;
    struct pci_bus *bus;
    uint8_t link_count[4]; /* asserting devices per PIRQ link */
    uint16_t isa_level;    /* ISA IRQs we hold high (bit per IRQ) */
};

/* Add both bridges to bus and become its INTx router.  Returns 0 or a
 * negative errno. */
int piix_setup(struct piix *p, struct pci_bus *bus);

/* The PIRQ link a device's pin (0 = INTA) uses. */
unsigned piix_intx_link(unsigned devfn, unsigned pin);

/* After a restore of the bus's config spaces (dm/state.h): count the
 * asserting devices per link again from the functions' INTx outputs and
 * tell the host the level of every ISA IRQ a link is routed to (the
 * routes are the PIIX3's config space, restored with it; the ELCR is the
 * in-kernel PIC's, restored by the monitor). */
void piix_state_refresh(struct piix *p);

#endif
