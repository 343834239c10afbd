/* virtio-blk on the raw back end, against a temporary image: reads,
 * writes, flush, GET_ID, discard, bounds, read-only refusal, malformed
 * requests, and the device-level rules (features, broken device, reset). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "dm/virtio/blk.h"
#include "fake_guest.h"

#define IMG_SECTORS 64u
#define IMG_SIZE    (IMG_SECTORS * 512u)

/* Guest addresses of a request's parts. */
#define REQ_HDR    0x20000u
#define REQ_DATA   0x21000u
#define REQ_STATUS 0x30000u

static struct disk disk;
static struct virtio_blk blk;
static int img_fd = -1;

static int open_image(int flags)
{
    char path[] = "/tmp/stubvisor-blk-XXXXXX";
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, IMG_SIZE), 0);
    if (flags != O_RDWR) {
        int ro = open(path, flags | O_CLOEXEC);
        assert_true(ro >= 0);
        close(fd);
        fd = ro;
    }
    unlink(path);
    return fd;
}

static void setup_disk(bool read_only, int open_flags)
{
    fg_setup();
    img_fd = open_image(open_flags);
    assert_int_equal(disk_raw_open(&disk, img_fd, read_only), 0);
    virtio_blk_init(&blk, fg.dm, &disk, "stubvisor-disk-0");
    fg_bring_up(&blk.vdev);
}

static int setup_rw(void **state)
{
    (void)state;
    setup_disk(false, O_RDWR);
    return 0;
}

static int setup_ro(void **state)
{
    (void)state;
    setup_disk(true, O_RDWR);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    disk_close(&disk);
    fg_teardown();
    return 0;
}

static uint16_t next_head;

/* Queue one request: header, `len` bytes of data at REQ_DATA (readable
 * for writes, writable otherwise), status byte; kick; return the status. */
static uint8_t request(uint32_t type, uint64_t sector, uint32_t len, bool data_writable,
                       uint32_t *used_len)
{
    struct virtio_blk_outhdr hdr = {.type = type, .sector = sector};
    uint16_t h = next_head, n = 0;
    uint16_t used_before = fg_used_idx();
    uint8_t *status = fg_ptr(REQ_STATUS);

    next_head = (uint16_t)((next_head + 3) % (FG_QSIZE - 2));
    memcpy(fg_ptr(REQ_HDR), &hdr, sizeof(hdr));
    *status = 0xee;
    fg_desc(h, REQ_HDR, sizeof(hdr), VRING_DESC_F_NEXT, (uint16_t)(h + 1));
    n = h + 1;
    if (len) {
        fg_desc(n, REQ_DATA, len, VRING_DESC_F_NEXT | (data_writable ? VRING_DESC_F_WRITE : 0),
                (uint16_t)(n + 1));
        n++;
    }
    fg_desc(n, REQ_STATUS, 1, VRING_DESC_F_WRITE, 0);
    fg_avail(h);
    virtio_queue_kick(&blk.vdev, 0);
    assert_int_equal(fg_used_idx(), (uint16_t)(used_before + 1));
    assert_int_equal(fg_used(used_before).id, h);
    if (used_len)
        *used_len = fg_used(used_before).len;
    return *status;
}

static void image_pattern(uint8_t seed)
{
    uint8_t buf[IMG_SIZE];

    for (unsigned i = 0; i < IMG_SIZE; i++)
        buf[i] = (uint8_t)(i * 7 + seed);
    assert_int_equal(pwrite(img_fd, buf, IMG_SIZE, 0), IMG_SIZE);
}

static void test_config(void **state)
{
    struct virtio_blk_config cfg;

    (void)state;
    for (uint32_t off = 0; off < sizeof(cfg); off++)
        blk.vdev.ops->config_read(&blk.vdev, off, (uint8_t *)&cfg + off, 1);
    assert_int_equal(cfg.capacity, IMG_SECTORS);
    assert_int_equal(cfg.blk_size, 512);
    assert_true(blk.vdev.offered & (1ull << VIRTIO_BLK_F_FLUSH));
    assert_true(blk.vdev.offered & (1ull << VIRTIO_BLK_F_DISCARD));
    assert_false(blk.vdev.offered & (1ull << VIRTIO_BLK_F_RO));
    assert_true(blk.vdev.offered & (1ull << VIRTIO_F_VERSION_1));
}

static void test_read(void **state)
{
    uint8_t expect[1024];
    uint32_t used;

    (void)state;
    image_pattern(1);
    assert_int_equal(pread(img_fd, expect, sizeof(expect), 3 * 512), sizeof(expect));
    assert_int_equal(request(VIRTIO_BLK_T_IN, 3, 1024, true, &used), VIRTIO_BLK_S_OK);
    assert_int_equal(used, 1025);
    assert_memory_equal(fg_ptr(REQ_DATA), expect, sizeof(expect));
    assert_int_equal(blk.vdev.isr & VIRTIO_ISR_QUEUE, VIRTIO_ISR_QUEUE);
    assert_true(fg.interrupts[0] > 0);
}

static void test_write_flush(void **state)
{
    uint8_t back[512];
    uint32_t used;

    (void)state;
    memset(fg_ptr(REQ_DATA), 0x5a, 512);
    assert_int_equal(request(VIRTIO_BLK_T_OUT, IMG_SECTORS - 1, 512, false, &used),
                     VIRTIO_BLK_S_OK);
    assert_int_equal(used, 1);
    assert_int_equal(request(VIRTIO_BLK_T_FLUSH, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
    assert_int_equal(pread(img_fd, back, sizeof(back), (IMG_SECTORS - 1) * 512), 512);
    for (unsigned i = 0; i < sizeof(back); i++)
        assert_int_equal(back[i], 0x5a);
}

static void test_out_of_range(void **state)
{
    (void)state;
    /* One sector past the end, a huge sector, a partial sector. */
    assert_int_equal(request(VIRTIO_BLK_T_IN, IMG_SECTORS, 512, true, NULL), VIRTIO_BLK_S_IOERR);
    assert_int_equal(request(VIRTIO_BLK_T_IN, IMG_SECTORS - 1, 1024, true, NULL),
                     VIRTIO_BLK_S_IOERR);
    assert_int_equal(request(VIRTIO_BLK_T_OUT, ~0ull / 256, 512, false, NULL), VIRTIO_BLK_S_IOERR);
    assert_int_equal(request(VIRTIO_BLK_T_IN, 0, 100, true, NULL), VIRTIO_BLK_S_IOERR);
    assert_int_equal(request(0x7777, 0, 0, false, NULL), VIRTIO_BLK_S_UNSUPP);
    assert_false(blk.vdev.broken);
}

static void test_get_id(void **state)
{
    uint32_t used;

    (void)state;
    memset(fg_ptr(REQ_DATA), 0xff, 64);
    assert_int_equal(request(VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES, true, &used),
                     VIRTIO_BLK_S_OK);
    assert_int_equal(used, VIRTIO_BLK_ID_BYTES + 1);
    assert_memory_equal(fg_ptr(REQ_DATA), "stubvisor-disk-0\0\0\0\0", VIRTIO_BLK_ID_BYTES);
    /* A short buffer gets what fits. */
    assert_int_equal(request(VIRTIO_BLK_T_GET_ID, 0, 4, true, &used), VIRTIO_BLK_S_OK);
    assert_int_equal(used, 5);
}

static void test_discard(void **state)
{
    struct virtio_blk_discard_write_zeroes seg = {.sector = 8, .num_sectors = 8};
    uint8_t back[8 * 512];
    struct stat st;

    (void)state;
    image_pattern(3);
    assert_int_equal(fsync(img_fd), 0);
    memcpy(fg_ptr(REQ_DATA), &seg, sizeof(seg));
    assert_int_equal(request(VIRTIO_BLK_T_DISCARD, 0, sizeof(seg), false, NULL), VIRTIO_BLK_S_OK);
    assert_int_equal(pread(img_fd, back, sizeof(back), 8 * 512), sizeof(back));
    for (unsigned i = 0; i < sizeof(back); i++)
        assert_int_equal(back[i], 0);
    assert_int_equal(fstat(img_fd, &st), 0);
    assert_int_equal(st.st_size, IMG_SIZE);

    /* Flags, bounds and segment counts are checked before anything goes. */
    seg.flags = VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
    memcpy(fg_ptr(REQ_DATA), &seg, sizeof(seg));
    assert_int_equal(request(VIRTIO_BLK_T_DISCARD, 0, sizeof(seg), false, NULL),
                     VIRTIO_BLK_S_UNSUPP);
    seg = (struct virtio_blk_discard_write_zeroes){.sector = IMG_SECTORS - 1, .num_sectors = 2};
    memcpy(fg_ptr(REQ_DATA), &seg, sizeof(seg));
    assert_int_equal(request(VIRTIO_BLK_T_DISCARD, 0, sizeof(seg), false, NULL),
                     VIRTIO_BLK_S_IOERR);
    assert_int_equal(request(VIRTIO_BLK_T_DISCARD, 0, 10, false, NULL), VIRTIO_BLK_S_IOERR);
    assert_int_equal(
        request(VIRTIO_BLK_T_DISCARD, 0, (VIRTIO_BLK_MAX_DISCARD_SEG + 1) * 16, false, NULL),
        VIRTIO_BLK_S_IOERR);
}

static void test_read_only(void **state)
{
    uint8_t before[512], after[512];

    (void)state;
    assert_true(blk.vdev.offered & (1ull << VIRTIO_BLK_F_RO));
    assert_false(blk.vdev.offered & (1ull << VIRTIO_BLK_F_DISCARD));
    image_pattern(5);
    assert_int_equal(pread(img_fd, before, sizeof(before), 0), 512);
    memset(fg_ptr(REQ_DATA), 0x11, 512);
    assert_int_equal(request(VIRTIO_BLK_T_OUT, 0, 512, false, NULL), VIRTIO_BLK_S_IOERR);
    assert_int_equal(request(VIRTIO_BLK_T_DISCARD, 0, 16, false, NULL), VIRTIO_BLK_S_UNSUPP);
    assert_int_equal(pread(img_fd, after, sizeof(after), 0), 512);
    assert_memory_equal(before, after, 512);
    /* Reads and flushes still work. */
    assert_int_equal(request(VIRTIO_BLK_T_IN, 0, 512, true, NULL), VIRTIO_BLK_S_OK);
    assert_memory_equal(fg_ptr(REQ_DATA), before, 512);
    assert_int_equal(request(VIRTIO_BLK_T_FLUSH, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
}

static void test_read_only_descriptor(void **state)
{
    (void)state;
    /* An fd opened O_RDONLY makes a read-only disk even if not asked. */
    teardown(NULL);
    setup_disk(false, O_RDONLY);
    assert_true(disk.read_only);
    assert_true(blk.vdev.offered & (1ull << VIRTIO_BLK_F_RO));
    assert_int_equal(request(VIRTIO_BLK_T_OUT, 0, 512, false, NULL), VIRTIO_BLK_S_IOERR);
}

static void test_malformed_request_breaks_device(void **state)
{
    (void)state;
    /* A header shorter than 16 bytes and no status byte. */
    fg_desc(0, REQ_HDR, 8, 0, 0);
    fg_avail(0);
    virtio_queue_kick(&blk.vdev, 0);
    assert_true(blk.vdev.broken);
    assert_true(blk.vdev.status & VIRTIO_CONFIG_S_NEEDS_RESET);
    assert_true(blk.vdev.isr & VIRTIO_ISR_CONFIG);
    assert_int_equal(fg.interrupts[VIRTIO_MAX_QUEUES], 1);
    assert_int_equal(fg_used_idx(), 0);

    /* Nothing is processed until the driver resets it. */
    fg_desc(1, REQ_HDR, 16, VRING_DESC_F_NEXT, 2);
    fg_desc(2, REQ_STATUS, 1, VRING_DESC_F_WRITE, 0);
    fg_avail(1);
    virtio_queue_kick(&blk.vdev, 0);
    assert_int_equal(fg_used_idx(), 0);

    virtio_set_status(&blk.vdev, 0);
    assert_false(blk.vdev.broken);
    assert_int_equal(blk.vdev.status, 0);
    memset(fg_ptr(FG_AVAIL), 0, 0x1000);
    memset(fg_ptr(FG_USED), 0, 0x1000);
    fg.avail_idx = 0;
    next_head = 0;
    fg_bring_up(&blk.vdev);
    assert_int_equal(request(VIRTIO_BLK_T_FLUSH, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
}

static void test_broken_ring(void **state)
{
    (void)state;
    fg_desc(0, FG_RAM_SIZE - 4, 16, 0, 0);
    fg_avail(0);
    virtio_queue_kick(&blk.vdev, 0);
    assert_true(blk.vdev.broken);
    assert_true(blk.vdev.status & VIRTIO_CONFIG_S_NEEDS_RESET);
    /* The driver cannot clear NEEDS_RESET by writing status. */
    virtio_set_status(&blk.vdev, blk.vdev.status & ~VIRTIO_CONFIG_S_NEEDS_RESET);
    assert_true(blk.vdev.status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void test_feature_negotiation(void **state)
{
    struct virtio_dev *vd = &blk.vdev;

    (void)state;
    virtio_set_status(vd, 0);
    virtio_set_status(vd, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    /* Something not offered: FEATURES_OK does not stick. */
    virtio_set_driver_features(vd, 0, 1u << VIRTIO_BLK_F_SCSI);
    virtio_set_driver_features(vd, 1, 1u << (VIRTIO_F_VERSION_1 - 32));
    virtio_set_status(vd, vd->status | VIRTIO_CONFIG_S_FEATURES_OK);
    assert_false(vd->status & VIRTIO_CONFIG_S_FEATURES_OK);
    /* Without VERSION_1 neither. */
    virtio_set_driver_features(vd, 0, 1u << VIRTIO_BLK_F_FLUSH);
    virtio_set_driver_features(vd, 1, 0);
    virtio_set_status(vd, vd->status | VIRTIO_CONFIG_S_FEATURES_OK);
    assert_false(vd->status & VIRTIO_CONFIG_S_FEATURES_OK);
    /* DRIVER_OK needs FEATURES_OK. */
    virtio_set_status(vd, vd->status | VIRTIO_CONFIG_S_DRIVER_OK);
    assert_false(vd->status & VIRTIO_CONFIG_S_DRIVER_OK);
    /* A subset with VERSION_1 is fine, and frozen afterwards. */
    virtio_set_driver_features(vd, 1, 1u << (VIRTIO_F_VERSION_1 - 32));
    virtio_set_status(vd, vd->status | VIRTIO_CONFIG_S_FEATURES_OK);
    assert_true(vd->status & VIRTIO_CONFIG_S_FEATURES_OK);
    virtio_set_driver_features(vd, 0, 0xffffffffu);
    assert_int_equal(vd->driver, (1ull << VIRTIO_BLK_F_FLUSH) | (1ull << VIRTIO_F_VERSION_1));
    assert_false(virtio_has(vd, VIRTIO_RING_F_EVENT_IDX));
}

static void test_bad_queue_breaks_device(void **state)
{
    struct virtio_dev *vd = &blk.vdev;

    (void)state;
    virtio_set_status(vd, 0);
    vd->vq[0].size = 100;
    assert_int_equal(virtio_queue_ready(vd, 0), -EINVAL);
    assert_true(vd->broken);
    assert_int_equal(virtio_queue_ready(vd, 5), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config, setup_rw, teardown),
        cmocka_unit_test_setup_teardown(test_read, setup_rw, teardown),
        cmocka_unit_test_setup_teardown(test_write_flush, setup_rw, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_range, setup_rw, teardown),
        cmocka_unit_test_setup_teardown(test_get_id, setup_rw, teardown),
        cmocka_unit_test_setup_teardown(test_discard, setup_rw, teardown),
        cmocka_unit_test_setup_teardown(test_read_only, setup_ro, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_descriptor, setup_rw, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_request_breaks_device, setup_rw, teardown),
        cmocka_unit_test_setup_teardown(test_broken_ring, setup_rw, teardown),
        cmocka_unit_test_setup_teardown(test_feature_negotiation, setup_rw, teardown),
        cmocka_unit_test_setup_teardown(test_bad_queue_breaks_device, setup_rw, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
