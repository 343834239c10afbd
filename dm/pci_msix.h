/* MSI-X for PCI devices of the device model.
 *
 * The helper owns a capability (12 bytes: id 0x11, message control, table
 * and PBA offset/BIR) and the table and pending-bit array that live in one
 * of the device's memory BARs.  The device forwards its BAR accesses to
 * pci_msix_bar_access() first, and its config writes to
 * pci_msix_config_write().  pci_msix_notify() delivers a vector through
 * the host's inject_msi, or sets its pending bit while the vector or the
 * whole function is masked (or MSI-X is off); unmasking delivers what is
 * pending.  Guest values are not trusted: the host validates the address
 * (it must target the local APIC range).
 *
 * Where the host offers MSI routes (a device model outside the monitor),
 * pci_msix_use_irqfds() creates one eventfd per vector, while the process
 * may still create descriptors (before the sandbox lockdown).  The first
 * delivery of a vector allocates a route for its address and data and
 * binds the eventfd to it as an irqfd; a later delivery after the guest
 * rewrote the entry updates the route first.  Delivering is then a write
 * to the eventfd: KVM signals the MSI without a trip through the monitor.
 * Whatever the host refuses falls back to inject_msi.
 */
#ifndef STUBVISOR_DM_PCI_MSIX_H
#define STUBVISOR_DM_PCI_MSIX_H

#include <stdbool.h>
#include <stdint.h>

#include "dm/pci.h"

#define PCI_CAP_ID_MSIX      0x11
#define PCI_MSIX_CAP_SIZE    12
#define PCI_MSIX_MAX_VECTORS 64
#define PCI_MSIX_ENTRY_SIZE  16

enum {
    PCI_MSIX_FLAGS_ENABLE = 0x8000,
    PCI_MSIX_FLAGS_MASKALL = 0x4000,
    PCI_MSIX_ENTRY_CTRL_MASKBIT = 0x1,
};

struct pci_msix_entry {
    uint32_t addr_lo, addr_hi, data, ctrl;
};

/* A vector's way out through an irqfd (see pci_msix_notify). */
struct pci_msix_irqfd {
    int efd;             /* -1: deliver with inject_msi */
    int gsi;             /* -1: no route yet */
    uint32_t addr, data; /* what the route sends */
};

struct pci_msix {
    struct pci_dev *dev;
    unsigned cap;        /* capability offset in config space */
    unsigned nr_vectors; /* 1..PCI_MSIX_MAX_VECTORS */
    unsigned bar;
    uint32_t table_off, pba_off; /* within the BAR, 8-byte aligned */
    struct pci_msix_entry table[PCI_MSIX_MAX_VECTORS];
    uint64_t pending;
    struct pci_msix_irqfd irqfd[PCI_MSIX_MAX_VECTORS];
};

/* Add the capability at cap_off and set up nr vectors with the table at
 * table_off and the PBA at pba_off of BAR `bar` (declared by the device,
 * a memory BAR large enough).  Every vector starts masked.  Returns 0 or
 * -EINVAL. */
int pci_msix_init(struct pci_msix *m, struct pci_dev *d, unsigned cap_off, unsigned nr,
                  unsigned bar, uint32_t table_off, uint32_t pba_off);

/* Once the device is on its bus, and before the sandbox lockdown: one
 * eventfd per vector if the host offers MSI routes (nothing otherwise). */
void pci_msix_use_irqfds(struct pci_msix *m);

/* A BAR access of the device: handles it and returns true if it falls in
 * the table or the PBA. */
bool pci_msix_bar_access(struct pci_msix *m, unsigned bar, uint64_t off, uint8_t *data,
                         uint32_t size, bool is_write);

/* After a config write the device got (reg, size): reacts to enable and
 * function-mask changes. */
void pci_msix_config_write(struct pci_msix *m, unsigned reg, uint32_t size);

/* MSI-X is enabled (the device should not use INTx then). */
bool pci_msix_enabled(const struct pci_msix *m);

/* Signal vector v: delivered now, or left pending while masked. */
void pci_msix_notify(struct pci_msix *m, unsigned v);

/* Save/restore (dm/state.h): the table and the pending bits (enable and
 * function mask are config space, restored with it first).  apply sets
 * up the irqfd route of every vector the guest can be sent now and
 * delivers what is pending and unmasked. */
struct pci_msix_state {
    struct pci_msix_entry table[PCI_MSIX_MAX_VECTORS];
    uint64_t pending;
};
void pci_msix_state_save(const struct pci_msix *m, struct srec_w *w);
void pci_msix_state_parse(const struct pci_msix *m, struct pci_msix_state *stage, struct srec_r *r);
void pci_msix_state_apply(struct pci_msix *m, const struct pci_msix_state *stage);

#endif
