/* virtio-pci, modern interface (virtio 1.x, section 4.1), on the PCI bus
 * of dm/pci.h.
 *
 * One 32-bit memory BAR (BAR 1, VIRTIO_PCI_BAR_SIZE bytes) holds every
 * structure the capabilities point at:
 *
 *   0x0000  common configuration (struct virtio_pci_common_cfg)
 *   0x0800  ISR status (read clears, deasserts INTx)
 *   0x1000  device-specific configuration
 *   0x2000  notifications: queue q at 0x2000 + 4 * q (multiplier 4)
 *   0x3000  MSI-X table (one vector per queue plus one for config)
 *   0x3800  MSI-X pending bits
 *
 * Interrupts go out as MSI-X when the driver enabled it and assigned a
 * vector, otherwise as INTx (pin A, level, through the bus's router) while
 * the ISR is non-zero.
 *
 * Transitional functions (VIRTIO_PCI_TRANSITIONAL) also have the legacy
 * (virtio 0.9.5) register block in an I/O BAR 0, device id 0x1000 + n and
 * revision 0, so legacy drivers work too; a driver that writes a legacy
 * register is treated as legacy until it resets the device through the
 * modern interface.
 *
 * Notifications: a driver write to the notify area kicks the queue from
 * the trap.  With VIRTIO_PCI_KICK_EVENTFD, when the core can watch
 * descriptors (dm_watch_fd()) and the host takes ioeventfds, each live
 * queue also gets an eventfd registered
 * at its notify address, so kicks skip the ioreq round trip; the
 * registration follows the BAR when the guest moves it.
 */
#ifndef STUBVISOR_DM_VIRTIO_PCI_H
#define STUBVISOR_DM_VIRTIO_PCI_H

#include "dm/pci.h"
#include "dm/pci_msix.h"
#include "dm/virtio/virtio.h"

#define VIRTIO_PCI_VENDOR      0x1af4
#define VIRTIO_PCI_MODERN_BASE 0x1040 /* device id = base + virtio id */
#define VIRTIO_PCI_BAR         1
#define VIRTIO_PCI_BAR_SIZE    0x4000u

#define VIRTIO_PCI_COMMON_OFF 0x0000u
#define VIRTIO_PCI_ISR_OFF    0x0800u
#define VIRTIO_PCI_DEVICE_OFF 0x1000u
#define VIRTIO_PCI_NOTIFY_OFF 0x2000u
#define VIRTIO_PCI_NOTIFY_MUL 4u
#define VIRTIO_PCI_MSIX_TABLE 0x3000u
#define VIRTIO_PCI_MSIX_PBA   0x3800u

#define VIRTIO_PCI_LEGACY_BAR   0
#define VIRTIO_PCI_TRANSITIONAL 0x1u
#define VIRTIO_PCI_KICK_EVENTFD 0x2u /* kicks through ioeventfds (dm_watch_fd) */

struct virtio_pci {
    struct pci_dev pci;
    struct pci_msix msix;
    struct virtio_dev *vd;
    uint32_t dfselect, gfselect;
    uint16_t queue_sel;
    uint16_t msix_config;
    uint16_t queue_vector[VIRTIO_MAX_QUEUES];
    bool transitional;
    /* ioeventfds: one per queue, -1 when none. */
    int kick_fd[VIRTIO_MAX_QUEUES];
    uint64_t kick_addr[VIRTIO_MAX_QUEUES]; /* where kick_fd[q] is registered */
    bool kick_assigned[VIRTIO_MAX_QUEUES];
    /* Queues polled rather than kicked (dm_poller_add), after a kick. */
    bool polling[VIRTIO_MAX_QUEUES];
};

/* Put vd on bus at devfn as a virtio-pci function of the given PCI class;
 * flags: VIRTIO_PCI_TRANSITIONAL (else modern only), VIRTIO_PCI_KICK_EVENTFD.  vp and vd are owned
 * by the caller and must outlive the bus.  Returns 0 or a negative errno
 * (-EINVAL also for a device type without a transitional id). */
int virtio_pci_init(struct virtio_pci *vp, struct pci_bus *bus, unsigned devfn,
                    struct virtio_dev *vd, uint32_t class_code, unsigned flags);

/* The ioeventfds follow the queues and the BAR (after a restore). */
void virtio_pci_update_kicks(struct virtio_pci *vp);

/* For a device-table entry (dm/device.h): vd as a transitional virtio-pci
 * function at dev->devfn on the machine's bus, its kicks through
 * ioeventfds where the machine has them.  0 or -errno. */
struct dm_dev;
int virtio_pci_dev_create(struct virtio_pci *vp, struct dm_dev *dev, struct virtio_dev *vd,
                          uint32_t class_code);

/* Before a save: serve every queue, so that what the guest made available
 * is completed (it was told nothing yet). */
void virtio_pci_serve_all(struct virtio_pci *vp);

/* Save/restore of the transport, the device core and its queues in one
 * record (dm/virtio/pci_state.c; the function's config space is the PCI
 * record's).  parse checks against the live function and guest RAM;
 * apply copies in, re-establishes MSI-X routes and re-registers the
 * queues' notify ioeventfds at the BAR's (restored) address. */
struct virtio_pci_state {
    uint32_t dfselect, gfselect;
    uint16_t queue_sel, msix_config;
    uint16_t queue_vector[VIRTIO_MAX_QUEUES];
    struct pci_msix_state msix;
    struct virtio_dev vd;
};
void virtio_pci_state_save(const struct virtio_pci *vp, struct srec_w *w);
void virtio_pci_state_parse(const struct virtio_pci *vp, struct virtio_pci_state *stage,
                            struct srec_r *r);
void virtio_pci_state_apply(struct virtio_pci *vp, const struct virtio_pci_state *stage);

#endif
