/* virtio-rng, virtio-console and virtio-net against the fake guest:
 * what each puts in or takes from the rings, and what reaches the host
 * (the console, a datagram socket pair standing in for the network). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "dm/virtio/console.h"
#include "dm/virtio/net.h"
#include "dm/virtio/rng.h"
#include "fake_guest.h"

#define BUF 0x20000u

static int setup(void **state)
{
    (void)state;
    fg_setup();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fg_teardown();
    return 0;
}

static void test_rng(void **state)
{
    static struct virtio_rng r;
    static const uint8_t zero[64];

    (void)state;
    virtio_rng_init(&r, fg.dm);
    fg_bring_up_queues(&r.vdev, 1);
    fg_descq(0, 0, BUF, 64, VRING_DESC_F_WRITE, 0);
    fg_availq(0, 0);
    fg_descq(0, 1, BUF + 0x1000, 64 * 1024, VRING_DESC_F_WRITE, 0);
    fg_availq(0, 1);
    fg_descq(0, 2, BUF, 64, 0, 0); /* nothing to write into */
    fg_availq(0, 2);
    virtio_queue_kick(&r.vdev, 0);
    assert_int_equal(fg_used_idxq(0), 3);
    assert_int_equal(fg_usedq(0, 0).len, 64);
    assert_memory_not_equal(fg_ptr(BUF), zero, 64);
    assert_int_equal(fg_usedq(0, 1).len, VIRTIO_RNG_MAX_CHUNK);
    assert_int_equal(fg_usedq(0, 2).len, 0);
    assert_true(fg.interrupts[0] > 0);
}

/* The port's host side is a stream socket the device reads and writes. */
static void test_console(void **state)
{
    static struct virtio_console c;
    int cs[2];
    char out[16];

    (void)state;
    assert_true(dm_events_enable(fg.dm) >= 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, cs), 0);
    assert_int_equal(virtio_console_init(&c, fg.dm, cs[0]), 0);
    assert_true(c.watched);
    fg_bring_up_queues(&c.vdev, 2);

    /* Output: two descriptors of one chain, then another chain. */
    memcpy(fg_ptr(BUF), "hel", 3);
    memcpy(fg_ptr(BUF + 0x100), "lo\n", 3);
    fg_descq(1, 0, BUF, 3, VRING_DESC_F_NEXT, 1);
    fg_descq(1, 1, BUF + 0x100, 3, 0, 0);
    fg_availq(1, 0);
    virtio_queue_kick(&c.vdev, 1);
    assert_int_equal(fg_used_idxq(1), 1);
    assert_int_equal(recv(cs[1], out, sizeof(out), MSG_DONTWAIT), 6);
    assert_memory_equal(out, "hello\n", 6);

    /* Input: nothing posted, so it waits in the socket; then a 4-byte
     * buffer takes 4 of 6 and a 16-byte one the rest (the guest's kicks
     * deliver: the watch is off while there is no buffer). */
    assert_int_equal(send(cs[1], "abcdef", 6, 0), 6);
    dm_events_run(fg.dm);
    assert_int_equal(fg_used_idxq(0), 0);
    fg_descq(0, 0, BUF + 0x200, 4, VRING_DESC_F_WRITE, 0);
    fg_availq(0, 0);
    virtio_queue_kick(&c.vdev, 0);
    assert_int_equal(fg_used_idxq(0), 1);
    assert_int_equal(fg_usedq(0, 0).len, 4);
    assert_memory_equal(fg_ptr(BUF + 0x200), "abcd", 4);
    fg_descq(0, 1, BUF + 0x300, 16, VRING_DESC_F_WRITE, 0);
    fg_availq(0, 1);
    virtio_queue_kick(&c.vdev, 0);
    assert_int_equal(fg_used_idxq(0), 2);
    assert_int_equal(fg_usedq(0, 1).len, 2);
    assert_memory_equal(fg_ptr(BUF + 0x300), "ef", 2);

    /* A buffer posted with no input is held for the next input, which the
     * event loop brings... */
    fg_descq(0, 2, BUF + 0x400, 16, VRING_DESC_F_WRITE, 0);
    fg_availq(0, 2);
    virtio_queue_kick(&c.vdev, 0);
    assert_true(c.rx_held);
    assert_int_equal(send(cs[1], "g", 1, 0), 1);
    dm_events_run(fg.dm);
    assert_int_equal(fg_used_idxq(0), 3);
    assert_memory_equal(fg_ptr(BUF + 0x400), "g", 1);

    /* ... and the end of the host side ends input, not output. */
    close(cs[1]);
    fg_descq(0, 3, BUF + 0x500, 16, VRING_DESC_F_WRITE, 0);
    fg_availq(0, 3);
    dm_events_run(fg.dm);
    virtio_queue_kick(&c.vdev, 0);
    assert_true(c.eof);
    assert_int_equal(fg_used_idxq(0), 3);
    fg_descq(1, 2, BUF, 3, 0, 0);
    fg_availq(1, 2);
    virtio_queue_kick(&c.vdev, 1); /* output to nobody: dropped */
    assert_int_equal(fg_used_idxq(1), 2);
    close(cs[0]);
}

static int sp[2] = {-1, -1};
static struct net_backend backend;
static struct virtio_net net;
static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

static int setup_net(void **state)
{
    (void)state;
    fg_setup();
    assert_true(dm_events_enable(fg.dm) >= 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sp), 0);
    assert_int_equal(net_backend_open(&backend, sp[0]), 0);
    assert_int_equal(virtio_net_init(&net, fg.dm, &backend, mac), 0);
    assert_true(net.watched);
    return 0;
}

static int teardown_net(void **state)
{
    (void)state;
    net_backend_close(&backend);
    close(sp[1]);
    fg_teardown();
    return 0;
}

static void test_net_config_and_backend_checks(void **state)
{
    struct virtio_net_config cfg;
    struct net_backend b;
    int st[2];

    (void)state;
    net.vdev.ops->config_read(&net.vdev, 0, (uint8_t *)&cfg, sizeof(cfg));
    assert_memory_equal(cfg.mac, mac, 6);
    assert_true(net.vdev.offered & (1ull << VIRTIO_NET_F_MAC));
    /* A stream socket has no frames; a pipe is neither. */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, st), 0);
    assert_int_equal(net_backend_open(&b, st[0]), -EINVAL);
    close(st[0]);
    close(st[1]);
    assert_int_equal(pipe(st), 0);
    assert_int_equal(net_backend_open(&b, st[0]), -EINVAL);
    close(st[0]);
    close(st[1]);
}

static void test_net_transmit(void **state)
{
    struct virtio_net_hdr_v1 hdr = {0};
    uint8_t frame[60], got[128];

    (void)state;
    fg_bring_up_queues(&net.vdev, 2);
    for (unsigned i = 0; i < sizeof(frame); i++)
        frame[i] = (uint8_t)i;
    memcpy(fg_ptr(BUF), &hdr, sizeof(hdr));
    memcpy(fg_ptr(BUF + 0x100), frame, 20);
    memcpy(fg_ptr(BUF + 0x200), frame + 20, 40);
    fg_descq(1, 0, BUF, sizeof(hdr), VRING_DESC_F_NEXT, 1);
    fg_descq(1, 1, BUF + 0x100, 20, VRING_DESC_F_NEXT, 2);
    fg_descq(1, 2, BUF + 0x200, 40, 0, 0);
    fg_availq(1, 0);
    /* Shorter than the header: dropped, still returned. */
    fg_descq(1, 3, BUF, 4, 0, 0);
    fg_availq(1, 3);
    virtio_queue_kick(&net.vdev, 1);
    assert_int_equal(fg_used_idxq(1), 2);
    assert_int_equal(recv(sp[1], got, sizeof(got), MSG_DONTWAIT), sizeof(frame));
    assert_memory_equal(got, frame, sizeof(frame));
    assert_int_equal(recv(sp[1], got, sizeof(got), MSG_DONTWAIT), -1);
    assert_int_equal(net.tx_frames, 1);
}

static void test_net_receive(void **state)
{
    struct virtio_net_hdr_v1 hdr;
    uint8_t frame[100];

    (void)state;
    fg_bring_up_queues(&net.vdev, 2);
    memset(frame, 0x77, sizeof(frame));
    /* A frame before any buffer: kept, the watch paused. */
    assert_int_equal(send(sp[1], frame, sizeof(frame), 0), sizeof(frame));
    dm_events_run(fg.dm);
    assert_int_equal(net.frame_len, sizeof(frame));
    assert_int_equal(fg_used_idxq(0), 0);
    /* A buffer arrives: the frame goes in with a header. */
    fg_descq(0, 0, BUF, 12 + 1514, VRING_DESC_F_WRITE, 0);
    fg_availq(0, 0);
    virtio_queue_kick(&net.vdev, 0);
    assert_int_equal(fg_used_idxq(0), 1);
    assert_int_equal(fg_usedq(0, 0).len, 12 + sizeof(frame));
    memcpy(&hdr, fg_ptr(BUF), sizeof(hdr));
    assert_int_equal(hdr.num_buffers, 1);
    assert_int_equal(hdr.flags, 0);
    assert_memory_equal(fg_ptr(BUF + 12), frame, sizeof(frame));

    /* Through the event loop: two buffers, two frames. */
    fg_descq(0, 1, BUF + 0x1000, 2048, VRING_DESC_F_WRITE, 0);
    fg_availq(0, 1);
    fg_descq(0, 2, BUF + 0x2000, 16, VRING_DESC_F_WRITE, 0); /* too small */
    fg_availq(0, 2);
    assert_int_equal(send(sp[1], frame, 50, 0), 50);
    assert_int_equal(send(sp[1], frame, 60, 0), 60);
    dm_events_run(fg.dm);
    assert_int_equal(fg_used_idxq(0), 3);
    assert_int_equal(fg_usedq(0, 1).len, 12 + 50);
    assert_int_equal(fg_usedq(0, 2).len, 0);
    assert_int_equal(net.rx_dropped, 1);
    assert_int_equal(net.rx_frames, 2);
}

static void test_net_broken_ring(void **state)
{
    (void)state;
    fg_bring_up_queues(&net.vdev, 2);
    fg_descq(1, 0, FG_RAM_SIZE - 2, 64, 0, 0);
    fg_availq(1, 0);
    virtio_queue_kick(&net.vdev, 1);
    assert_true(net.vdev.broken);
    assert_true(net.vdev.status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rng, setup, teardown),
        cmocka_unit_test_setup_teardown(test_console, setup, teardown),
        cmocka_unit_test_setup_teardown(test_net_config_and_backend_checks, setup_net,
                                        teardown_net),
        cmocka_unit_test_setup_teardown(test_net_transmit, setup_net, teardown_net),
        cmocka_unit_test_setup_teardown(test_net_receive, setup_net, teardown_net),
        cmocka_unit_test_setup_teardown(test_net_broken_ring, setup_net, teardown_net),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
