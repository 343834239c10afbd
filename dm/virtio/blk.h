/* virtio-blk: one queue, requests served synchronously on a disk back end
 * (dm/disk).  Supports IN, OUT, FLUSH, GET_ID and DISCARD; a read-only
 * disk offers VIRTIO_BLK_F_RO and answers writes and discards with
 * VIRTIO_BLK_S_IOERR. */
#ifndef STUBVISOR_DM_VIRTIO_BLK_H
#define STUBVISOR_DM_VIRTIO_BLK_H

#include <linux/virtio_blk.h>

#include "dm/disk/disk.h"
#include "dm/virtio/pci.h"
#include "dm/virtio/virtio.h"

#define VIRTIO_BLK_SECTOR          512u
#define VIRTIO_BLK_MAX_DISCARD_SEG 16u
#define VIRTIO_BLK_MAX_DISCARD_SEC (1u << 22) /* 2 GiB per segment */

struct virtio_blk {
    struct virtio_dev vdev;
    struct disk *disk;
    char serial[VIRTIO_BLK_ID_BYTES]; /* GET_ID answer, NUL-padded */
    struct virtio_blk_config config;
    struct virtq_chain chain;         /* scratch: the request being served */
    struct iovec iov[VIRTQ_MAX_SIZE]; /* scratch: its data segments */
};

/* Set up b (owned by the caller, like disk, both outliving dm) as a
 * virtio-blk front end over disk.  serial may be NULL or up to 20 bytes.
 * The caller attaches a transport to b->vdev afterwards. */
void virtio_blk_init(struct virtio_blk *b, struct dm *dm, struct disk *disk, const char *serial);

/* Save/restore (dm/state.h): what the guest knows of the disk (capacity,
 * read-only); parse refuses a disk that differs.  Requests are served to
 * completion as they come, so none is in flight at a save. */
void virtio_blk_state_save(const struct virtio_blk *b, struct srec_w *w);
void virtio_blk_state_parse(const struct virtio_blk *b, struct srec_r *r);

/* The "virtio-blk" device (-device virtio-blk[,readonly=on|off]): one
 * descriptor, the image; the i-th disk answers GET_ID with
 * "stubvisor-disk<i>". */
#define VIRTIO_BLK_MAX_DISKS 8
struct virtio_blk_device {
    struct disk disk;
    struct virtio_blk blk;
    struct virtio_pci pci;
};

#endif
