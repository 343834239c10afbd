/* Device model save/restore (dm/state.h): state set through the devices'
 * traps as a guest would, saved, loaded into a freshly set-up device set,
 * and compared by what the guest reads back; a virtio-blk queue restored
 * mid-stream carries on at the right index; corrupt blobs and other
 * configurations are refused and change nothing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_pci.h>

#include "dm/state.h"
#include "dm/state_rec.h"
#include "tests/dm/state_set.h"
#include "tests/platform/fake_host.h"

#define BAR_GPA   0xfe000000u
#define BAR_GPA2  0xfd000000u
#define Q_DESC    0x1000u
#define Q_AVAIL   0x2000u
#define Q_USED    0x3000u
#define Q_DATA    0x10000u
#define QSIZE     16u
#define COMMON(x) (BAR_GPA + VIRTIO_PCI_COMMON_##x)
#define BLK_DEVFN (DM_PCI_FIRST_SLOT << 3)

static int disk_fd = -1;

static struct state_set *new_set(unsigned disks, unsigned nics, bool rng)
{
    struct set_cfg cfg = {.nr_disks = disks,
                          .disk_fd = disk_fd,
                          .nr_nics = nics,
                          .rng = rng,
                          .kick_eventfds = disks > 0};
    struct state_set *s = set_new(&cfg);

    assert_non_null(s);
    return s;
}

static int setup(void **state)
{
    (void)state;
    disk_fd = memfd_create("disk", MFD_CLOEXEC);
    assert_true(disk_fd >= 0);
    assert_int_equal(ftruncate(disk_fd, 1 << 20), 0);
    memset(set_ram(), 0, SET_RAM_SIZE);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    close(disk_fd);
    return 0;
}

/* ---- the platform ---- */

static void cmos_write(struct dm *dm, unsigned reg, uint8_t v)
{
    fake_out(dm, 0x70, 1, reg);
    fake_out(dm, 0x71, 1, v);
}

static uint8_t cmos_read(struct dm *dm, unsigned reg)
{
    fake_out(dm, 0x70, 1, reg);
    return (uint8_t)fake_in(dm, 0x71, 1);
}

/* Non-default state everywhere, through the ports and config space. */
static void guest_programs_platform(struct dm *dm)
{
    fake_out(dm, 0x3fb, 1, 0x80); /* COM1: DLAB */
    fake_out(dm, 0x3f8, 1, 0x0c); /* 9600 baud */
    fake_out(dm, 0x3f9, 1, 0x00);
    fake_out(dm, 0x3fb, 1, 0x03); /* 8N1 */
    fake_out(dm, 0x3ff, 1, 0x5a); /* scratch */
    fake_out(dm, 0x3fc, 1, 0x1b); /* loopback, DTR, RTS, OUT2 */
    fake_out(dm, 0x3f8, 1, 'h');  /* looped back into the FIFO */
    fake_out(dm, 0x3f8, 1, 'i');
    fake_out(dm, 0x3f9, 1, 0x01); /* IER: data available */
    cmos_write(dm, 0x40, 0x77);   /* NVRAM */
    cmos_write(dm, RTC_REG_B, RTC_B_SET | RTC_B_24H);
    cmos_write(dm, RTC_YEAR, 0x99);
    cmos_write(dm, RTC_REG_B, RTC_B_24H | RTC_B_PIE);
    fake_out(dm, 0x70, 1, 0x41); /* leave the index somewhere else */
    fake_out(dm, 0x64, 1, 0x60); /* i8042: write the command byte */
    fake_out(dm, 0x60, 1, 0x45);
    fake_out(dm, 0x92, 1, 0x00);  /* A20 off */
    fake_out(dm, 0x510, 2, 0x19); /* fw_cfg: the file directory, 2 bytes in */
    fake_in(dm, 0x511, 1);
    fake_in(dm, 0x511, 1);
    fake_cfg_write(dm, PIIX_ISA_DEVFN, PIIX_PIRQ_BASE, 1, 11); /* PIRQA -> IRQ 11 */
    fake_cfg_write(dm, PIIX_HOST_DEVFN, I440FX_PAM0 + 1, 1, 0x33);
}

#define NPROBE 24

/* What a guest reads back (the same sequence on any set). */
static void probe_platform(struct dm *dm, uint8_t out[NPROBE])
{
    unsigned n = 0;

    out[n++] = (uint8_t)fake_in(dm, 0x3ff, 1);
    out[n++] = (uint8_t)fake_in(dm, 0x3fb, 1);
    out[n++] = (uint8_t)fake_in(dm, 0x3fc, 1);
    out[n++] = (uint8_t)fake_in(dm, 0x3f9, 1);
    out[n++] = (uint8_t)fake_in(dm, 0x3fa, 1); /* IIR: data available */
    out[n++] = (uint8_t)fake_in(dm, 0x3f8, 1); /* 'h' */
    out[n++] = (uint8_t)fake_in(dm, 0x3f8, 1); /* 'i' */
    out[n++] = (uint8_t)fake_in(dm, 0x3fd, 1);
    fake_out(dm, 0x3fb, 1, 0x83);
    out[n++] = (uint8_t)fake_in(dm, 0x3f8, 1); /* DLL */
    fake_out(dm, 0x3fb, 1, 0x03);
    out[n++] = (uint8_t)fake_in(dm, 0x71, 1); /* CMOS at the kept index 0x41 */
    out[n++] = cmos_read(dm, 0x40);
    out[n++] = cmos_read(dm, RTC_YEAR);
    out[n++] = cmos_read(dm, RTC_REG_B);
    fake_out(dm, 0x64, 1, 0x20); /* i8042: read the command byte */
    out[n++] = (uint8_t)fake_in(dm, 0x60, 1);
    out[n++] = (uint8_t)fake_in(dm, 0x92, 1);
    out[n++] = (uint8_t)fake_in(dm, 0x511, 1); /* fw_cfg goes on where it was */
    out[n++] = (uint8_t)fake_in(dm, 0x511, 1);
    out[n++] = (uint8_t)fake_cfg_read(dm, PIIX_ISA_DEVFN, PIIX_PIRQ_BASE, 1);
    out[n++] = (uint8_t)fake_cfg_read(dm, PIIX_HOST_DEVFN, I440FX_PAM0 + 1, 1);
    out[n++] = (uint8_t)fake_cfg_read(dm, PIIX_HOST_DEVFN, I440FX_SMRAM, 1);
    while (n < NPROBE)
        out[n++] = 0;
}

static void save(struct state_set *s, uint8_t **blob, size_t *len)
{
    assert_int_equal(dm_state_save(s->m, blob, len), 0);
    assert_true(*len > STATE_HDR_LEN);
    /* Seeds for fuzz-dm-state, on request: DM_STATE_SEED=DIR. */
    const char *dir = getenv("DM_STATE_SEED");
    char path[512];
    snprintf(path, sizeof(path), "%s/saved-%zu", dir ? dir : ".", *len);
    FILE *f = dir ? fopen(path, "wb") : NULL;
    if (f) {
        fwrite(*blob, 1, *len, f);
        fclose(f);
    }
}

static void test_platform_roundtrip(void **state)
{
    struct state_set *a = new_set(0, 0, false), *b;
    uint8_t *blob, pa[NPROBE], pb[NPROBE];
    size_t len;

    (void)state;
    guest_programs_platform(a->dm);
    save(a, &blob, &len);
    b = new_set(0, 0, false);
    fake.irq_level[4] = 0;
    assert_int_equal(dm_state_load(b->m, blob, len), 0);
    assert_int_equal(fake.irq_level[4], 1); /* COM1 has data and IER says so */
    /* PIRQA is routed to IRQ 11 and nobody asserts it: the host hears so. */
    assert_true(fake.irq_changes[11] > 0);
    assert_int_equal(fake.irq_level[11], 0);
    probe_platform(a->dm, pa);
    probe_platform(b->dm, pb);
    assert_memory_equal(pa, pb, NPROBE);
    assert_int_equal(pb[0], 0x5a);
    assert_int_equal(pb[5], 'h');
    assert_int_equal(pb[11], 0x99);
    assert_int_equal(pb[13], 0x45);
    assert_int_equal(pb[17], 11);
    /* The periodic interrupt is enabled: once the guest took the pending
     * one (register C), the RTC's timer runs for the next. */
    cmos_read(b->dm, RTC_REG_C);
    assert_int_equal(fake.irq_level[8], 0);
    assert_true(dm_timer_deadline(b->dm, SET_STATE(b, struct rtc, "mc146818rtc", 0)->timer) != 0);
    free(blob);
    set_free(a);
    set_free(b);
}

/* ---- virtio-blk mid-stream ---- */

static void bar_write(struct dm *dm, uint32_t bar, uint64_t off, unsigned size, uint64_t v)
{
    fake_mmio_write(dm, bar + off, size, v);
}

static uint64_t bar_read(struct dm *dm, uint32_t bar, uint64_t off, unsigned size)
{
    return fake_mmio_read(dm, bar + off, size);
}

/* The driver's side: BAR, MSI-X (vector 1 for the queue), features,
 * queue 0 on our rings, DRIVER_OK. */
static void guest_brings_up(struct dm *dm, unsigned devfn, uint32_t bar, unsigned nq)
{
    fake_cfg_write(dm, devfn, PCI_BAR0 + 4 * VIRTIO_PCI_BAR, 4, bar);
    fake_cfg_write(dm, devfn, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    fake_cfg_write(dm, devfn, 0x88 + 2, 2, PCI_MSIX_FLAGS_ENABLE);
    bar_write(dm, bar, VIRTIO_PCI_MSIX_TABLE + 16, 4, 0xfee00000u);
    bar_write(dm, bar, VIRTIO_PCI_MSIX_TABLE + 16 + 8, 4, 0x41);
    bar_write(dm, bar, VIRTIO_PCI_MSIX_TABLE + 16 + 12, 4, 0);
    bar_write(dm, bar, VIRTIO_PCI_COMMON_STATUS, 1, 0);
    bar_write(dm, bar, VIRTIO_PCI_COMMON_STATUS, 1, 3);
    bar_write(dm, bar, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
    bar_write(dm, bar, VIRTIO_PCI_COMMON_GF, 4, 1); /* VERSION_1 */
    bar_write(dm, bar, VIRTIO_PCI_COMMON_STATUS, 1, 3 | VIRTIO_CONFIG_S_FEATURES_OK);
    for (unsigned q = 0; q < nq; q++) { /* queue q's rings 0x4000 * q above queue 0's */
        bar_write(dm, bar, VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
        bar_write(dm, bar, VIRTIO_PCI_COMMON_Q_SIZE, 2, QSIZE);
        bar_write(dm, bar, VIRTIO_PCI_COMMON_Q_MSIX, 2, 1);
        bar_write(dm, bar, VIRTIO_PCI_COMMON_Q_DESCLO, 4, Q_DESC + 0x4000 * q);
        bar_write(dm, bar, VIRTIO_PCI_COMMON_Q_AVAILLO, 4, Q_AVAIL + 0x4000 * q);
        bar_write(dm, bar, VIRTIO_PCI_COMMON_Q_USEDLO, 4, Q_USED + 0x4000 * q);
        bar_write(dm, bar, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
    }
    bar_write(dm, bar, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    bar_write(dm, bar, VIRTIO_PCI_COMMON_STATUS, 1,
              3 | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
    assert_int_equal(bar_read(dm, bar, VIRTIO_PCI_COMMON_STATUS, 1),
                     3 | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
}

static void put16(uint64_t gpa, uint16_t v)
{
    memcpy(set_ram() + gpa, &v, 2);
}

static uint16_t get16(uint64_t gpa)
{
    uint16_t v;

    memcpy(&v, set_ram() + gpa, 2);
    return v;
}

static void desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    struct vring_desc d = {.addr = addr, .len = len, .flags = flags, .next = next};

    memcpy(set_ram() + Q_DESC + 16 * i, &d, sizeof(d));
}

/* Request n: write sector n with the byte 'A' + n, made available (the
 * driver's avail idx becomes n + 1); kick through dm if kick. */
static void blk_write_request(struct dm *dm, unsigned n, bool kick)
{
    uint64_t hdr = Q_DATA + 0x100 * n, data = Q_DATA + 0x1000 + 0x200 * n;
    struct virtio_blk_outhdr h = {.type = VIRTIO_BLK_T_OUT, .sector = n};

    memcpy(set_ram() + hdr, &h, sizeof(h));
    memset(set_ram() + data, 'A' + n, 512);
    set_ram()[hdr + 16] = 0xff;
    desc(3 * n, hdr, sizeof(h), VRING_DESC_F_NEXT, (uint16_t)(3 * n + 1));
    desc(3 * n + 1, data, 512, VRING_DESC_F_NEXT, (uint16_t)(3 * n + 2));
    desc(3 * n + 2, hdr + 16, 1, VRING_DESC_F_WRITE, 0);
    put16(Q_AVAIL + 4 + 2 * (n % QSIZE), (uint16_t)(3 * n));
    put16(Q_AVAIL + 2, (uint16_t)(n + 1));
    if (kick)
        bar_write(dm, BAR_GPA, VIRTIO_PCI_NOTIFY_OFF, 2, 0);
}

static void assert_completed(unsigned n)
{
    uint32_t id;
    char sector[512], want[512];

    memcpy(&id, set_ram() + Q_USED + 4 + 8 * (n % QSIZE), 4);
    assert_int_equal(id, 3 * n);
    assert_int_equal(set_ram()[Q_DATA + 0x100 * n + 16], VIRTIO_BLK_S_OK);
    assert_int_equal(pread(disk_fd, sector, 512, 512 * n), 512);
    memset(want, 'A' + n, 512);
    assert_memory_equal(sector, want, 512);
}

static struct state_set *blk_midstream(uint8_t **blob, size_t *len)
{
    struct state_set *a = new_set(1, 0, true);

    memset(set_ram(), 0, SET_RAM_SIZE);
    guest_brings_up(a->dm, BLK_DEVFN, BAR_GPA, 1);
    blk_write_request(a->dm, 0, true);
    blk_write_request(a->dm, 1, true);
    assert_int_equal(get16(Q_USED + 2), 2);
    assert_completed(1);
    save(a, blob, len);
    return a;
}

static void test_virtio_blk_midstream(void **state)
{
    struct state_set *a, *b;
    uint8_t *blob;
    size_t len;
    unsigned msis, maps;

    (void)state;
    a = blk_midstream(&blob, &len);
    set_free(a);
    b = new_set(1, 0, true);
    maps = fake.nr_maps;
    assert_int_equal(dm_state_load(b->m, blob, len), 0);
    /* The BAR went back to where the guest had put it, and the queue's
     * notify ioeventfd with it. */
    assert_true(SET_STATE(b, struct virtio_blk_device, "virtio-blk", 0)->pci.kick_assigned[0]);
    assert_int_equal(SET_STATE(b, struct virtio_blk_device, "virtio-blk", 0)->pci.kick_addr[0],
                     BAR_GPA + VIRTIO_PCI_NOTIFY_OFF);
    assert_true(fake.nr_maps > maps);
    assert_int_equal(fake_cfg_read(b->dm, BLK_DEVFN, PCI_BAR0 + 4, 4), BAR_GPA);
    assert_int_equal(bar_read(b->dm, BAR_GPA, VIRTIO_PCI_COMMON_STATUS, 1),
                     3 | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
    assert_int_equal(bar_read(b->dm, BAR_GPA, VIRTIO_PCI_COMMON_Q_DESCLO, 4), Q_DESC);
    assert_int_equal(bar_read(b->dm, BAR_GPA, VIRTIO_PCI_COMMON_Q_MSIX, 2), 1);
    bar_write(b->dm, BAR_GPA, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
    assert_int_equal(bar_read(b->dm, BAR_GPA, VIRTIO_PCI_COMMON_GF, 4), 1);
    assert_int_equal(bar_read(b->dm, BAR_GPA, VIRTIO_PCI_MSIX_TABLE + 24, 4), 0x41);
    /* The third request goes on at used index 2, and interrupts through
     * the restored MSI-X vector. */
    msis = fake.nr_msis;
    blk_write_request(b->dm, 2, true);
    assert_int_equal(get16(Q_USED + 2), 3);
    assert_completed(2);
    assert_int_equal(fake.nr_msis, msis + 1);
    assert_int_equal(fake.msi_data[msis], 0x41);
    free(blob);
    set_free(b);
}

/* A request made available but not yet served is completed by quiesce. */
static void test_quiesce_completes_requests(void **state)
{
    struct state_set *a;
    uint8_t *blob;
    size_t len;

    (void)state;
    a = blk_midstream(&blob, &len);
    blk_write_request(a->dm, 2, false);
    assert_int_equal(get16(Q_USED + 2), 2);
    assert_int_equal(dm_state_quiesce(a->m), 0);
    assert_int_equal(get16(Q_USED + 2), 3);
    assert_completed(2);
    free(blob);
    set_free(a);
}

/* A receive buffer the console took for input and never filled goes back
 * to the ring at a save: the restored device takes it again. */
static void test_console_held_buffer(void **state)
{
    struct set_cfg cfg = {.console = true};
    struct state_set *a, *b;
    unsigned devfn = DM_PCI_FIRST_SLOT << 3;
    uint8_t *blob;
    size_t len;

    (void)state;
    memset(set_ram(), 0, SET_RAM_SIZE);
    a = set_new(&cfg);
    assert_non_null(a);
    guest_brings_up(a->dm, devfn, BAR_GPA, 2);
    desc(0, Q_DATA, 64, VRING_DESC_F_WRITE, 0);
    put16(Q_AVAIL + 4, 0);
    put16(Q_AVAIL + 2, 1);
    virtio_console_receive(&SET_STATE(a, struct virtio_console_device, "virtio-console", 0)
                                ->con); /* takes the buffer; no input comes */
    assert_true(SET_STATE(a, struct virtio_console_device, "virtio-console", 0)->con.rx_held);
    assert_int_equal(
        SET_STATE(a, struct virtio_console_device, "virtio-console", 0)->con.vdev.vq[0].last_avail,
        1);
    save(a, &blob, &len);
    assert_false(SET_STATE(a, struct virtio_console_device, "virtio-console", 0)->con.rx_held);
    assert_int_equal(
        SET_STATE(a, struct virtio_console_device, "virtio-console", 0)->con.vdev.vq[0].last_avail,
        0);
    b = set_new(&cfg);
    assert_non_null(b);
    assert_int_equal(dm_state_load(b->m, blob, len), 0);
    assert_int_equal(
        SET_STATE(b, struct virtio_console_device, "virtio-console", 0)->con.vdev.vq[0].last_avail,
        0);
    virtio_console_receive(&SET_STATE(b, struct virtio_console_device, "virtio-console", 0)->con);
    assert_true(SET_STATE(b, struct virtio_console_device, "virtio-console", 0)->con.rx_held);
    assert_int_equal(SET_STATE(b, struct virtio_console_device, "virtio-console", 0)->con.rx.head,
                     0);
    free(blob);
    set_free(a);
    set_free(b);
}

/* Where the host offers MSI routes, a restored vector the guest unmasked
 * gets its route (and irqfd) at load, with the saved message. */
static void test_msi_routes(void **state)
{
    struct set_cfg cfg = {.nr_disks = 1, .disk_fd = disk_fd, .msi_routes = true};
    struct state_set *a, *b;
    struct pci_msix *m;
    uint8_t *blob;
    size_t len;

    (void)state;
    memset(set_ram(), 0, SET_RAM_SIZE);
    a = set_new(&cfg);
    assert_non_null(a);
    guest_brings_up(a->dm, BLK_DEVFN, BAR_GPA, 1);
    save(a, &blob, &len);
    set_free(a);
    set_routes.nr = 0;
    b = set_new(&cfg);
    assert_non_null(b);
    assert_int_equal(dm_state_load(b->m, blob, len), 0);
    m = &SET_STATE(b, struct virtio_blk_device, "virtio-blk", 0)->pci.msix;
    assert_true(m->irqfd[1].efd >= 0);
    assert_int_equal(m->irqfd[1].gsi, 0);
    assert_int_equal(set_routes.nr, 1);
    assert_int_equal(set_routes.addr[0], 0xfee00000u);
    assert_int_equal(set_routes.data[0], 0x41);
    assert_int_equal(m->irqfd[0].gsi, -1); /* vector 0 stayed masked */
    free(blob);
    set_free(b);
}

/* ---- refusals ---- */

/* Offset of record (tag, inst)'s payload in blob, or 0. */
static size_t find_record(const uint8_t *blob, size_t len, uint32_t tag, uint32_t inst)
{
    size_t off = STATE_HDR_LEN;

    while (off + STATE_REC_HDR <= len) {
        uint32_t t, i, n;
        memcpy(&t, blob + off, 4);
        memcpy(&i, blob + off + 4, 4);
        memcpy(&n, blob + off + 8, 4);
        if (t == tag && i == inst)
            return off + STATE_REC_HDR;
        off += STATE_REC_HDR + n;
    }
    return 0;
}

/* Load must fail and leave every byte of b's devices as it was. */
static void assert_refused(struct state_set *b, const uint8_t *blob, size_t len)
{
    size_t n, n2;
    uint8_t *before = set_snapshot(b, &n), *after;

    assert_non_null(before);
    assert_int_equal(dm_state_load(b->m, blob, len), -EINVAL);
    after = set_snapshot(b, &n2);
    assert_non_null(after);
    assert_int_equal(n, n2);
    assert_memory_equal(before, after, n);
    free(before);
    free(after);
}

static void test_corrupt_blobs(void **state)
{
    struct state_set *a, *b;
    uint8_t *blob, *bad;
    size_t len, off;

    (void)state;
    a = blk_midstream(&blob, &len);
    set_free(a);
    b = new_set(1, 0, true);
    bad = malloc(len + 1);
    assert_non_null(bad);
    /* Every truncation. */
    for (size_t n = 0; n < len; n++)
        assert_refused(b, blob, n);
    /* Trailing garbage. */
    memcpy(bad, blob, len);
    bad[len] = 0;
    assert_refused(b, bad, len + 1);
    /* Bad magic, newer version. */
    memcpy(bad, blob, len);
    bad[0] ^= 1;
    assert_refused(b, bad, len);
    memcpy(bad, blob, len);
    bad[STATE_MAGIC_LEN] = STATE_VERSION + 1;
    assert_refused(b, bad, len);
    bad[STATE_MAGIC_LEN] = STATE_VERSION - 1; /* an older device model's */
    assert_refused(b, bad, len);
    /* Tag 0 (what devices without records have), an unknown tag, a
     * second COM1. */
    memcpy(bad, blob, len);
    off = find_record(bad, len, STATE_TAG_RTC, 0);
    assert_true(off > 0);
    memset(bad + off - STATE_REC_HDR, 0, 8); /* tag 0, instance 0 */
    assert_refused(b, bad, len);
    memcpy(bad, blob, len);
    off = find_record(bad, len, STATE_TAG_RTC, 0);
    assert_true(off > 0);
    bad[off - STATE_REC_HDR] = 99;
    assert_refused(b, bad, len);
    bad[off - STATE_REC_HDR] = STATE_TAG_UART;
    assert_refused(b, bad, len);
    /* COM1's FIFO count out of range (payload byte 29). */
    memcpy(bad, blob, len);
    off = find_record(bad, len, STATE_TAG_UART, 0);
    bad[off + 29] = 200;
    assert_refused(b, bad, len);
    /* Queue 0's descriptor table outside guest RAM, then misaligned.  Its
     * address sits after the transport (14 bytes with one queue), the
     * MSI-X table (1 + 2 * 16 + 8), the device (16) and the size (2). */
    off = find_record(blob, len, STATE_TAG_VIRTIO_BLK, BLK_DEVFN);
    assert_true(off > 0);
    off += 14 + 41 + 16 + 2;
    memcpy(bad, blob, len);
    assert_int_equal(bad[off], Q_DESC & 0xff);
    assert_int_equal(bad[off + 1], Q_DESC >> 8);
    bad[off + 2] = 0x20; /* 2 MiB: past the 1 MiB of RAM */
    assert_refused(b, bad, len);
    memcpy(bad, blob, len);
    bad[off] = 8;
    assert_refused(b, bad, len);
    /* A read-only PCI byte (the device ID) of the PIIX3 changed. */
    memcpy(bad, blob, len);
    off = find_record(bad, len, STATE_TAG_PCI, PIIX_ISA_DEVFN);
    bad[off + PCI_DEVICE_ID] ^= 0x10;
    assert_refused(b, bad, len);
    /* The original still loads. */
    assert_int_equal(dm_state_load(b->m, blob, len), 0);
    free(bad);
    free(blob);
    set_free(b);
}

/* Saved with one disk and an RNG: another set of devices is refused. */
static void test_other_configuration(void **state)
{
    struct state_set *a, *b;
    uint8_t *blob;
    size_t len;

    (void)state;
    a = blk_midstream(&blob, &len);
    set_free(a);
    b = new_set(2, 0, true); /* another disk count */
    assert_refused(b, blob, len);
    set_free(b);
    b = new_set(1, 0, false); /* no RNG */
    assert_refused(b, blob, len);
    set_free(b);
    b = new_set(0, 1, true); /* a NIC where the disk was */
    assert_refused(b, blob, len);
    set_free(b);
    b = new_set(0, 0, false); /* no virtio at all */
    assert_refused(b, blob, len);
    set_free(b);
    free(blob);
}

/* A NIC with another MAC is another NIC. */
static void test_nic_mac(void **state)
{
    struct set_cfg cfg = {.nr_nics = 1, .mac_base = 1};
    struct state_set *a = set_new(&cfg), *b;
    uint8_t *blob;
    size_t len;

    (void)state;
    assert_non_null(a);
    save(a, &blob, &len);
    cfg.mac_base = 2;
    b = set_new(&cfg);
    assert_non_null(b);
    assert_refused(b, blob, len);
    set_free(b);
    cfg.mac_base = 1;
    b = set_new(&cfg);
    assert_int_equal(dm_state_load(b->m, blob, len), 0);
    set_free(b);
    set_free(a);
    free(blob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_platform_roundtrip),
        cmocka_unit_test(test_virtio_blk_midstream),
        cmocka_unit_test(test_quiesce_completes_requests),
        cmocka_unit_test(test_console_held_buffer),
        cmocka_unit_test(test_msi_routes),
        cmocka_unit_test(test_corrupt_blobs),
        cmocka_unit_test(test_other_configuration),
        cmocka_unit_test(test_nic_mac),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
