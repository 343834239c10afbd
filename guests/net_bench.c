/*
 * net-bench: send `count=N` (default 100) Ethernet frames of `size=S`
 * bytes (default 256, 60..1514) on the first virtio-net NIC and wait for
 * each to come back unchanged (the host side echoes every frame).  Exits 0
 * when all came back.
 */
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>

#include "cmdline.h"
#include "guest.h"
#include "mem.h"
#include "print.h"
#include "virtio.h"

#define RXQ      0
#define TXQ      1
#define NR_RX    8
#define HDR      sizeof(struct virtio_net_hdr_v1)
#define BUF_SIZE (HDR + 1514)

static uint8_t rx_buf[NR_RX][2048] __attribute__((aligned(64)));
static uint8_t tx_buf[2048] __attribute__((aligned(64)));

static void post_rx(struct vdev *d, unsigned i, bool kick)
{
    vdev_desc(d, RXQ, i, (uintptr_t)rx_buf[i], BUF_SIZE, VRING_DESC_F_WRITE, 0);
    vdev_post(d, RXQ, (uint16_t)i, kick);
}

int guest_main(void)
{
    uint64_t count = cmdline_u64("count", 100), size = cmdline_u64("size", 256);
    uint8_t mac[6];
    struct vdev d;

    if (size < 60 || size > 1514) {
        gprintf("net-bench: size must be 60..1514\n");
        return GUEST_EXIT_FAIL;
    }
    if (vdev_open(&d, VIRTIO_ID_NET, 0, 1ull << VIRTIO_NET_F_MAC, 2) < 0)
        return GUEST_EXIT_FAIL;
    for (unsigned i = 0; i < 6; i++)
        mac[i] = vdev_config8(&d, i);
    for (unsigned i = 0; i < NR_RX; i++)
        post_rx(&d, i, i + 1 == NR_RX);

    for (uint64_t n = 0; n < count; n++) {
        uint8_t *f = tx_buf + HDR;
        uint32_t id, len;

        memset(tx_buf, 0, HDR);
        memset(f, 0xff, 6);         /* broadcast */
        memcpy(f + 6, mac, 6);      /* from us */
        f[12] = 0x88, f[13] = 0xb5; /* local experimental ethertype */
        memcpy(f + 14, &n, sizeof(n));
        for (uint64_t b = 22; b < size; b++)
            f[b] = (uint8_t)(n + b);
        vdev_desc(&d, TXQ, 0, (uintptr_t)tx_buf, (uint32_t)(HDR + size), 0, 0);
        vdev_submit(&d, TXQ, 0);
        if (!vdev_wait(&d, TXQ, NULL, NULL)) {
            gprintf("net-bench: frame %lu not sent\n", n);
            return GUEST_EXIT_FAIL;
        }
        if (!vdev_wait(&d, RXQ, &id, &len)) {
            gprintf("net-bench: frame %lu did not come back\n", n);
            return GUEST_EXIT_FAIL;
        }
        if (id >= NR_RX || len != HDR + size || memcmp(rx_buf[id] + HDR, f, size) != 0) {
            gprintf("net-bench: frame %lu came back as %u bytes in buffer %u, changed\n", n, len,
                    id);
            return GUEST_EXIT_FAIL;
        }
        post_rx(&d, id, true);
    }
    gprintf("net-bench: %lu frames of %lu bytes echoed\n", count, size);
    return GUEST_EXIT_OK;
}
