/* The device model's state: save, check and restore every device (save
 * and restore of a guest, docs/dm-state.md).
 *
 * The blob is the tagged-record format of dm/state_rec.h: one record per
 * device instance.  Each device keeps its own save/parse/apply functions
 * next to its code; this module walks the device set.  Loading happens in
 * two passes: every record is parsed and checked into a staging copy of
 * the devices (so a bad blob changes nothing), then the staged state is
 * applied and the host is told again what the restored devices need (BAR
 * ranges, ioeventfds, MSI routes, PIRQ routes, IRQ levels).
 */
#ifndef STUBVISOR_DM_STATE_H
#define STUBVISOR_DM_STATE_H

#include <stddef.h>
#include <stdint.h>

struct dm;
struct dm_devices;
struct virtio_devices;

/* Complete in-flight work before a save: serve posted writes left in the
 * buffered ring (stubdm), process every virtqueue's available requests,
 * fdatasync the disks.  Returns 0 or -errno. */
int dm_state_quiesce(struct dm *dm, struct dm_devices *devs, struct virtio_devices *vdevs);

/* Every device's state as one blob (malloc'd; *len bytes). 0 or -errno. */
int dm_state_save(struct dm *dm, struct dm_devices *devs, struct virtio_devices *vdevs,
                  uint8_t **blob, size_t *len);

/* Restore from blob (UNTRUSTED: a corrupt save file, or written by a
 * compromised device model): every field checked; nothing applied unless
 * the whole blob is valid.  Re-registers moved BARs, ioeventfds, MSI routes
 * and PIRQ routes with the host.  0 or -EINVAL (reason logged).
 * vdevs may be NULL (no virtio devices). */
int dm_state_load(struct dm *dm, struct dm_devices *devs, struct virtio_devices *vdevs,
                  const uint8_t *blob, size_t len);

/* Record tags, one per device type. */
enum {
    STATE_TAG_UART = 1,
    STATE_TAG_RTC = 2,
    STATE_TAG_I8042 = 3,
    STATE_TAG_PIIX = 4,
    STATE_TAG_FW_CFG = 5,
    STATE_TAG_PCI = 6,    /* one PCI function's config space; instance = devfn */
    STATE_TAG_VIRTIO = 7, /* a virtio-pci function and its queues; instance = devfn */
    STATE_TAG_VIRTIO_BLK = 8,
    STATE_TAG_VIRTIO_NET = 9,
    STATE_TAG_VIRTIO_CONSOLE = 10,
};

#endif
