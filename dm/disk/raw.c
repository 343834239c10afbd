/* Raw image back end: positional reads and writes on a handed-over fd. */
#include "dm/disk/disk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_IOV 1024

int disk_raw_open(struct disk *d, int fd, bool read_only)
{
    struct stat st;
    uint64_t size = 0;
    int fl;

    memset(d, 0, sizeof(*d));
    d->fd = -1;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (S_ISREG(st.st_mode)) {
        size = (uint64_t)st.st_size;
        d->discard = true;
    } else if (S_ISBLK(st.st_mode)) {
        if (ioctl(fd, BLKGETSIZE64, &size) < 0)
            return -errno;
    } else {
        return -EINVAL;
    }
    /* A descriptor opened read-only makes a read-only disk whatever was asked. */
    fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -errno;
    if ((fl & O_ACCMODE) == O_RDONLY)
        read_only = true;
    d->fd = fd;
    d->size = size;
    d->read_only = read_only;
    if (read_only)
        d->discard = false;
    return 0;
}

/* Transfer all of iov, retrying short transfers on a scratch copy. */
static int transfer(struct disk *d, const struct iovec *iov, int n, uint64_t off, bool write)
{
    struct iovec cur[MAX_IOV];
    int first = 0;

    if (n < 0 || n > MAX_IOV)
        return -EINVAL;
    memcpy(cur, iov, (size_t)n * sizeof(*iov));
    while (first < n) {
        ssize_t r;

        if (cur[first].iov_len == 0) {
            first++;
            continue;
        }
        if (off > (uint64_t)INT64_MAX)
            return -EIO;
        r = write ? pwritev(d->fd, cur + first, n - first, (off_t)off)
                  : preadv(d->fd, cur + first, n - first, (off_t)off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            return -EIO; /* end of file: the image shrank under us */
        off += (uint64_t)r;
        while (r > 0) {
            size_t take = (size_t)r < cur[first].iov_len ? (size_t)r : cur[first].iov_len;
            cur[first].iov_base = (uint8_t *)cur[first].iov_base + take;
            cur[first].iov_len -= take;
            r -= (ssize_t)take;
            if (cur[first].iov_len == 0)
                first++;
        }
    }
    return 0;
}

int disk_readv(struct disk *d, const struct iovec *iov, int n, uint64_t off)
{
    return transfer(d, iov, n, off, false);
}

int disk_writev(struct disk *d, const struct iovec *iov, int n, uint64_t off)
{
    if (d->read_only)
        return -EROFS;
    return transfer(d, iov, n, off, true);
}

int disk_flush(struct disk *d)
{
    if (d->read_only)
        return 0;
    return fdatasync(d->fd) < 0 ? -errno : 0;
}

int disk_discard(struct disk *d, uint64_t off, uint64_t len)
{
    if (d->read_only)
        return -EROFS;
    if (!d->discard)
        return -EOPNOTSUPP;
    if (len == 0)
        return 0;
    if (off > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - off)
        return -EINVAL;
    if (fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0)
        return -errno;
    return 0;
}

void disk_close(struct disk *d)
{
    if (d->fd >= 0)
        close(d->fd);
    d->fd = -1;
}
