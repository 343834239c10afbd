/* The device model's state: save, check and restore every device of a
 * machine (save and restore of a guest, docs/dm-state.md).
 *
 * The blob is the tagged-record format of dm/state_rec.h: one record per
 * PCI function (its config space, tag STATE_TAG_PCI, instance = devfn),
 * written by the machine for every function on the bus, then one record
 * per device instance whose type has a state tag (instance = its devfn for
 * a PCI device, else its number among its type's instances), written by
 * the device (dm/device.h).  Loading happens in two passes: every record
 * is parsed and checked into a staging copy (so a bad blob changes
 * nothing), then the staged state is applied and the host is told again
 * what the restored devices need (BAR ranges, ioeventfds, MSI routes,
 * PIRQ routes, IRQ levels).
 */
#ifndef STUBVISOR_DM_STATE_H
#define STUBVISOR_DM_STATE_H

#include <stddef.h>
#include <stdint.h>

struct dm_machine;

/* Complete in-flight work before a save: turn polled queues' kicks back
 * on, then every device's quiesce (virtqueues served, disks synced).  The
 * caller serves posted writes left in the buffered ring first (stubdm).
 * Returns 0 or -errno. */
int dm_state_quiesce(struct dm_machine *m);

/* Every device's state as one blob (malloc'd; *len bytes). 0 or -errno. */
int dm_state_save(struct dm_machine *m, uint8_t **blob, size_t *len);

/* Restore from blob (UNTRUSTED: a corrupt save file, or written by a
 * compromised device model): every field checked, and the blob must hold
 * exactly this machine's devices; nothing applied unless the whole blob
 * is valid.  0 or -EINVAL (reason logged, naming the device). */
int dm_state_load(struct dm_machine *m, const uint8_t *blob, size_t len);

/* Record tags, one per device type with state (dm_device_type.state_tag).
 * A tag is never reused for another meaning. */
enum {
    STATE_TAG_UART = 1,
    STATE_TAG_RTC = 2,
    STATE_TAG_I8042 = 3,
    STATE_TAG_PIIX = 4, /* reserved */
    STATE_TAG_FW_CFG = 5,
    STATE_TAG_PCI = 6,    /* one PCI function's config space; instance = devfn */
    STATE_TAG_VIRTIO = 7, /* version 1 only: a virtio-pci transport */
    STATE_TAG_VIRTIO_BLK = 8,
    STATE_TAG_VIRTIO_NET = 9,
    STATE_TAG_VIRTIO_CONSOLE = 10,
    STATE_TAG_VIRTIO_RNG = 11,
    STATE_TAG_PVPANIC = 12,
};

#endif
