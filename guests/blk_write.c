/*
 * blk-write: write a pattern to the first virtio-blk disk and flush it.
 * Sector s of the first `mib=N` MiB (default 1) starts with s as a 64-bit
 * number, the rest is (s + byte offset) & 0xff.  After the flush succeeded
 * it prints "blk-write: flushed"; with `hang=1` it then waits to be killed
 * instead of exiting.  With `expect=ioerr` (a read-only disk) the first
 * write must fail with VIRTIO_BLK_S_IOERR and the device must say
 * VIRTIO_BLK_F_RO; the guest exits 0 if so.
 *
 * With `stream=1` it writes one sector per request, in order, and prints
 * "blk-write: done S" after the device completed the write of sector S:
 * a save/restore test saves it mid-stream and checks that every sector
 * reported done before the save is in the image.  `sectors=N` (default:
 * those of `mib`) sets the length of the stream.
 */
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>

#include "cmdline.h"
#include "guest.h"
#include "print.h"
#include "virtio.h"

#define CHUNK (64u * 1024)

static uint8_t buf[CHUNK] __attribute__((aligned(4096)));
static struct virtio_blk_outhdr hdr;
static volatile uint8_t status;

static int request(struct vdev *d, uint32_t type, uint64_t sector, uint32_t len)
{
    uint32_t used;

    hdr.type = type;
    hdr.sector = sector;
    vdev_desc(d, 0, 0, (uintptr_t)&hdr, sizeof(hdr), VRING_DESC_F_NEXT, len ? 1 : 2);
    vdev_desc(d, 0, 1, (uintptr_t)buf, len, VRING_DESC_F_NEXT, 2);
    vdev_desc(d, 0, 2, (uintptr_t)&status, 1, VRING_DESC_F_WRITE, 0);
    status = 0xff;
    vdev_submit(d, 0, 0);
    if (!vdev_wait(d, 0, NULL, &used)) {
        gprintf("blk-write: no answer\n");
        return -1;
    }
    return status;
}

/* Sector s of the pattern into p (512 bytes). */
static void fill_sector(uint8_t *p, uint64_t s)
{
    *(uint64_t *)p = s;
    for (unsigned b = 8; b < 512; b += 8)
        *(uint64_t *)(p + b) = 0x0101010101010101ull * ((s + b) & 0xff);
}

int guest_main(void)
{
    uint64_t sectors = cmdline_u64("mib", 1) * 2048;
    char expect[16] = "";
    struct vdev d;
    int st;

    cmdline_value("expect", expect, sizeof(expect));
    if (vdev_open(&d, VIRTIO_ID_BLOCK, 0, 1ull << VIRTIO_BLK_F_FLUSH | 1ull << VIRTIO_BLK_F_RO, 1) <
        0)
        return GUEST_EXIT_FAIL;
    if (expect[0] == 'i') {
        for (unsigned i = 0; i < 512; i++)
            buf[i] = 0xaa;
        st = request(&d, VIRTIO_BLK_T_OUT, 0, 512);
        gprintf("blk-write: write to a read-only disk: status %d, RO %s\n", st,
                d.features & (1ull << VIRTIO_BLK_F_RO) ? "offered" : "missing");
        return st == VIRTIO_BLK_S_IOERR && (d.features & (1ull << VIRTIO_BLK_F_RO))
                   ? GUEST_EXIT_OK
                   : GUEST_EXIT_FAIL;
    }
    if (!(d.features & (1ull << VIRTIO_BLK_F_FLUSH))) {
        gprintf("blk-write: no VIRTIO_BLK_F_FLUSH\n");
        return GUEST_EXIT_FAIL;
    }
    if (cmdline_u64("stream", 0)) {
        sectors = cmdline_u64("sectors", sectors);
        for (uint64_t s = 0; s < sectors; s++) {
            fill_sector(buf, s);
            st = request(&d, VIRTIO_BLK_T_OUT, s, 512);
            if (st != VIRTIO_BLK_S_OK) {
                gprintf("blk-write: write at sector %lu: status %d\n", s, st);
                return GUEST_EXIT_FAIL;
            }
            gprintf("blk-write: done %lu\n", s);
        }
        sectors = 0; /* written: on to the flush */
    }
    for (uint64_t s = 0; s < sectors; s += CHUNK / 512) {
        uint64_t n = sectors - s < CHUNK / 512 ? sectors - s : CHUNK / 512;
        for (uint64_t k = 0; k < n; k++)
            fill_sector(buf + k * 512, s + k);
        st = request(&d, VIRTIO_BLK_T_OUT, s, (uint32_t)(n * 512));
        if (st != VIRTIO_BLK_S_OK) {
            gprintf("blk-write: write at sector %lu: status %d\n", s, st);
            return GUEST_EXIT_FAIL;
        }
    }
    st = request(&d, VIRTIO_BLK_T_FLUSH, 0, 0);
    if (st != VIRTIO_BLK_S_OK) {
        gprintf("blk-write: flush: status %d\n", st);
        return GUEST_EXIT_FAIL;
    }
    gprintf("blk-write: flushed\n");
    if (cmdline_u64("hang", 0))
        for (;;)
            __asm__ volatile("hlt");
    return GUEST_EXIT_OK;
}
