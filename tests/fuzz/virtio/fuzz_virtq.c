/* libFuzzer harness: the virtqueue walker and virtio-blk over fuzzed
 * guest memory.  The input's first bytes pick the queue size, the ring
 * features, where the rings sit and whether the requests go through
 * virtio-blk (on a small in-memory disk); the rest is guest RAM.  Guest
 * RAM is a heap buffer of exactly the input's size, so ASan catches any
 * access outside it. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dm/virtio/blk.h"
#include "lib/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR       8
#define DISK_SIZE (64u * 1024)

static int f_map(void *h, int t, uint64_t s, uint64_t e, uint32_t f)
{
    (void)h, (void)t, (void)s, (void)e, (void)f;
    return 0;
}

static int f_unmap(void *h, int t, uint64_t s, uint64_t e)
{
    (void)h, (void)t, (void)s, (void)e;
    return 0;
}

static const struct dm_host_ops host = {.map_range = f_map, .unmap_range = f_unmap};
static struct virtq_chain chain;
static struct virtio_blk blk;
static struct disk disk;
static int disk_fd = -1;

static void walk(struct dm *dm, struct virtq *q)
{
    uint8_t buf[64];
    struct iovec iov[8];

    for (int i = 0; i < 64; i++) {
        int r = virtq_pop(dm, q, &chain);
        if (r <= 0)
            break;
        virtq_chain_read(&chain, chain.out_len / 2, buf, sizeof(buf));
        virtq_chain_write(&chain, chain.in_len / 2, buf, sizeof(buf));
        virtq_chain_slice(&chain, i & 1, 1, chain.in_len / 3, iov, 8);
        virtq_push(q, chain.head, (uint32_t)chain.in_len);
        virtq_should_interrupt(q);
        virtq_set_kicks(q, i & 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct virtq q;
    struct dm *dm;
    uint8_t *ram;

    if (size < HDR + 64)
        return 0;
    if (disk_fd < 0) {
        /* Every broken ring is logged: keep the fuzzer's output readable. */
        int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (null_fd >= 0)
            log_set_fd(null_fd);
        disk_fd = memfd_create("fuzz-disk", 0);
        if (disk_fd < 0 || ftruncate(disk_fd, DISK_SIZE) < 0)
            abort();
    }
    size -= HDR;
    ram = malloc(size);
    if (!ram)
        return 0;
    memcpy(ram, data + HDR, size);
    dm = dm_new(&host, NULL, ram, size);
    if (!dm)
        abort();

    virtq_reset(&q);
    q.size = (uint16_t)(1u << (data[0] % 12)); /* up to 2048: too big is refused */
    q.indirect = data[1] & 1;
    q.event_idx = data[1] & 2;
    /* Ring placement: within the first 64 KiB, in 16-byte steps, so the
     * alignment checks pass often and the bounds checks matter. */
    q.desc_gpa = (uint64_t)data[2] * 256 + (data[5] & 0xf0);
    q.avail_gpa = (uint64_t)data[3] * 256 + (data[5] & 0x0e);
    q.used_gpa = (uint64_t)data[4] * 256 + (data[6] & 0x0c);
    if (data[7] & 1) {
        if (disk_raw_open(&disk, disk_fd, data[7] & 2) == 0) {
            virtio_blk_init(&blk, dm, &disk, "fuzz");
            blk.vdev.driver = blk.vdev.offered & (((uint64_t)data[1] << 24) | 0xffffff);
            blk.vdev.driver |= 1ull << VIRTIO_F_VERSION_1;
            virtio_set_status(&blk.vdev, VIRTIO_CONFIG_S_FEATURES_OK);
            blk.vdev.vq[0].size = q.size;
            blk.vdev.vq[0].desc_gpa = q.desc_gpa;
            blk.vdev.vq[0].avail_gpa = q.avail_gpa;
            blk.vdev.vq[0].used_gpa = q.used_gpa;
            if (virtio_queue_ready(&blk.vdev, 0) == 0) {
                virtio_set_status(&blk.vdev,
                                  VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
                virtio_queue_kick(&blk.vdev, 0);
            }
        }
    } else if (virtq_enable(dm, &q) == 0) {
        walk(dm, &q);
    }
    dm_free(dm);
    free(ram);
    return 0;
}
