/*
 * net-bench: send `count=N` (default 100) Ethernet frames of `size=S`
 * bytes (default 256, 60..1514) on the first virtio-net NIC and check
 * the answer to each.  `role=` says who answers:
 *   echo (default)  the host side sends every frame back unchanged;
 *   ping            another guest running role=pong answers;
 *   pong            wait for N frames from a ping guest, check each and
 *                   answer it with our MAC as source and its payload
 *                   inverted, so the ping side knows it was not its own.
 * Exits 0 when all N round trips were right.
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
#define PAYLOAD  22 /* after the Ethernet header and the sequence number */
/* vdev_wait is bounded; the pong side waits this many times as long for
 * the ping guest to come up. */
#define PONG_WAITS 20

enum role { ECHO, PING, PONG };

static uint8_t rx_buf[NR_RX][2048] __attribute__((aligned(64)));
static uint8_t tx_buf[2048] __attribute__((aligned(64)));

static void post_rx(struct vdev *d, unsigned i, bool kick)
{
    vdev_desc(d, RXQ, i, (uintptr_t)rx_buf[i], BUF_SIZE, VRING_DESC_F_WRITE, 0);
    vdev_post(d, RXQ, (uint16_t)i, kick);
}

/* Frame n's payload byte b; `flip` for the pong side's answer. */
static uint8_t pattern(uint64_t n, uint64_t b, bool flip)
{
    uint8_t v = (uint8_t)(n + b);
    return flip ? (uint8_t)~v : v;
}

/* Whether f (len bytes with the header) is frame n of `size` bytes. */
static bool frame_ok(const uint8_t *f, uint32_t len, uint64_t n, uint64_t size, bool flip)
{
    uint64_t seq;

    if (len != HDR + size)
        return false;
    f += HDR;
    memcpy(&seq, f + 14, sizeof(seq));
    if (seq != n || f[12] != 0x88 || f[13] != 0xb5)
        return false;
    for (uint64_t b = PAYLOAD; b < size; b++)
        if (f[b] != pattern(n, b, flip))
            return false;
    return true;
}

static bool send(struct vdev *d, uint64_t size)
{
    vdev_desc(d, TXQ, 0, (uintptr_t)tx_buf, (uint32_t)(HDR + size), 0, 0);
    vdev_submit(d, TXQ, 0);
    return vdev_wait(d, TXQ, NULL, NULL);
}

static void build(const uint8_t mac[6], uint64_t n, uint64_t size, bool flip)
{
    uint8_t *f = tx_buf + HDR;

    memset(tx_buf, 0, HDR);
    memset(f, 0xff, 6);         /* broadcast */
    memcpy(f + 6, mac, 6);      /* from us */
    f[12] = 0x88, f[13] = 0xb5; /* local experimental ethertype */
    memcpy(f + 14, &n, sizeof(n));
    for (uint64_t b = PAYLOAD; b < size; b++)
        f[b] = pattern(n, b, flip);
}

static bool streq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

int guest_main(void)
{
    uint64_t count = cmdline_u64("count", 100), size = cmdline_u64("size", 256);
    char role_name[8] = "echo";
    enum role role;
    uint8_t mac[6];
    struct vdev d;

    cmdline_value("role", role_name, sizeof(role_name));
    if (streq(role_name, "echo"))
        role = ECHO;
    else if (streq(role_name, "ping"))
        role = PING;
    else if (streq(role_name, "pong"))
        role = PONG;
    else {
        gprintf("net-bench: role must be echo, ping or pong\n");
        return GUEST_EXIT_FAIL;
    }
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
    if (role == PONG)
        gprintf("net-bench: pong ready\n");

    for (uint64_t n = 0; n < count; n++) {
        uint32_t id, len;
        bool got = false;

        if (role != PONG) {
            build(mac, n, size, false);
            if (!send(&d, size)) {
                gprintf("net-bench: frame %lu not sent\n", n);
                return GUEST_EXIT_FAIL;
            }
        }
        for (unsigned w = 0; !got && w < (role == PONG && n == 0 ? PONG_WAITS : 1); w++)
            got = vdev_wait(&d, RXQ, &id, &len);
        if (!got) {
            gprintf("net-bench: frame %lu did not come\n", n);
            return GUEST_EXIT_FAIL;
        }
        if (id >= NR_RX || !frame_ok(rx_buf[id], len, n, size, role == PING)) {
            gprintf("net-bench: frame %lu came as %u bytes in buffer %u, wrong\n", n, len, id);
            return GUEST_EXIT_FAIL;
        }
        if (role == ECHO && memcmp(rx_buf[id] + HDR + 6, mac, 6) != 0) {
            gprintf("net-bench: frame %lu came back from another sender\n", n);
            return GUEST_EXIT_FAIL;
        }
        if (role == PONG) {
            build(mac, n, size, true);
            if (!send(&d, size)) {
                gprintf("net-bench: answer %lu not sent\n", n);
                return GUEST_EXIT_FAIL;
            }
        }
        post_rx(&d, id, true);
    }
    if (role == ECHO)
        gprintf("net-bench: %lu frames of %lu bytes echoed\n", count, size);
    else
        gprintf("net-bench: %s: %lu round trips of %lu bytes\n", role_name, count, size);
    return GUEST_EXIT_OK;
}
