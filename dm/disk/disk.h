/* Disk back ends.  A disk is a descriptor the toolstack or stubvmm opened
 * and handed to the device model (the device model never opens files);
 * the raw back end reads and writes it at byte offsets.  Front ends
 * (virtio-blk) check requests against disk->size before calling in. */
#ifndef STUBVISOR_DM_DISK_H
#define STUBVISOR_DM_DISK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct disk {
    int fd;
    uint64_t size; /* bytes */
    bool read_only;
    bool discard; /* the back end can punch holes */
};

/* Take a raw image on fd (a regular file or block device).  The disk owns
 * fd afterwards only in the sense that disk_close() closes it.  Returns 0
 * or a negative errno (-EINVAL for what is neither file nor block
 * device). */
int disk_raw_open(struct disk *d, int fd, bool read_only);

/* Read or write the whole of iov (n entries) at byte offset off.  Short
 * transfers are retried; hitting the end of the image is -EIO.  Returns 0
 * or a negative errno (-EROFS for a write to a read-only disk). */
int disk_readv(struct disk *d, const struct iovec *iov, int n, uint64_t off);
int disk_writev(struct disk *d, const struct iovec *iov, int n, uint64_t off);

/* Make what was written durable (fdatasync).  Returns 0 or -errno. */
int disk_flush(struct disk *d);

/* Give [off, off + len) back: the range reads as zeroes afterwards.
 * Returns 0, -EROFS, -EOPNOTSUPP or another negative errno. */
int disk_discard(struct disk *d, uint64_t off, uint64_t len);

void disk_close(struct disk *d);

#endif
