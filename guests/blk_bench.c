/*
 * blk-bench: read `mib=N` MiB (default 16) sequentially from the first
 * virtio-blk disk, `chunk=KiB` (default 64) per request, polling the used
 * ring.  With `verify=1` every sector must start with its own number (the
 * pattern blk-write.elf writes).  Exits 0 when every request succeeded.
 */
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>

#include "cmdline.h"
#include "guest.h"
#include "print.h"
#include "virtio.h"

#define MAX_CHUNK (256u * 1024)

static uint8_t buf[MAX_CHUNK] __attribute__((aligned(4096)));
static struct virtio_blk_outhdr hdr;
static volatile uint8_t status;

int guest_main(void)
{
    uint64_t mib = cmdline_u64("mib", 16), chunk = cmdline_u64("chunk", 64) * 1024;
    bool verify = cmdline_u64("verify", 0) != 0;
    uint64_t capacity, sectors, done = 0;
    struct vdev d;
    uint32_t len;

    if (chunk == 0 || chunk > MAX_CHUNK || chunk % 512) {
        gprintf("blk-bench: chunk must be 1..%u KiB\n", MAX_CHUNK / 1024);
        return GUEST_EXIT_FAIL;
    }
    vdev_use_msix = cmdline_u64("msix", 0) != 0;
    if (vdev_open(&d, VIRTIO_ID_BLOCK, 0, 0, 1) < 0)
        return GUEST_EXIT_FAIL;
    capacity = vdev_config32(&d, 0) | (uint64_t)vdev_config32(&d, 4) << 32;
    sectors = mib * 2048;
    if (sectors > capacity) {
        gprintf("blk-bench: disk has %lu sectors, %lu asked\n", capacity, sectors);
        return GUEST_EXIT_FAIL;
    }
    vdev_desc(&d, 0, 0, (uintptr_t)&hdr, sizeof(hdr), VRING_DESC_F_NEXT, 1);
    vdev_desc(&d, 0, 1, (uintptr_t)buf, (uint32_t)chunk, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
    vdev_desc(&d, 0, 2, (uintptr_t)&status, 1, VRING_DESC_F_WRITE, 0);
    while (done < sectors) {
        uint64_t n = chunk / 512;
        if (n > sectors - done)
            n = sectors - done;
        hdr.type = VIRTIO_BLK_T_IN;
        hdr.sector = done;
        vdev_desc(&d, 0, 1, (uintptr_t)buf, (uint32_t)(n * 512),
                  VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
        status = 0xff;
        vdev_submit(&d, 0, 0);
        if (!vdev_wait(&d, 0, NULL, &len)) {
            gprintf("blk-bench: no answer at sector %lu\n", done);
            return GUEST_EXIT_FAIL;
        }
        if (status != VIRTIO_BLK_S_OK || len != n * 512 + 1) {
            gprintf("blk-bench: sector %lu: status %u, %u bytes\n", done, status, len);
            return GUEST_EXIT_FAIL;
        }
        for (uint64_t s = 0; verify && s < n; s++) {
            uint64_t got = *(const uint64_t *)(buf + s * 512);
            if (got != done + s) {
                gprintf("blk-bench: sector %lu holds %lx\n", done + s, got);
                return GUEST_EXIT_FAIL;
            }
        }
        done += n;
    }
    gprintf("blk-bench: read %lu MiB in %lu-KiB requests%s\n", mib, chunk / 1024,
            verify ? ", pattern verified" : "");
    return GUEST_EXIT_OK;
}
