/*
 * hostile-virtio: a driver that lies.  Against the first virtio-blk
 * function (and the first virtio-net one, if there is one) it builds
 * malicious rings -- descriptor loops, next indexes out of range,
 * addresses outside RAM or wrapping past 2^64, huge lengths, avail index
 * jumps, bad heads, nested, looping, huge or misaligned indirect tables,
 * queue sizes that are not powers of two, rings outside RAM -- kicks, and
 * checks that the device either answered sanely (used entries with a
 * valid id and length, no success for a request it cannot have done) or
 * set DEVICE_NEEDS_RESET; no reaction at all counts as a failure.  It resets the device before each
 * attack.  At the end, a plain read of sector 0 must still work and return the `magic=` string the
 * host put there.  Writes in the attacks all aim outside the disk or come from outside RAM: the
 * image must not change.
 */
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>

#include "cmdline.h"
#include "guest.h"
#include "io.h"
#include "mem.h"
#include "print.h"
#include "virtio.h"

#define OUTSIDE    0x4000000000ull /* 256 GiB: never RAM here */
#define POLLS      200000u         /* status reads: seconds, only used up on a failure */
#define NET_TXQ    1
#define BLK_SECTOR 512u

struct blk_hdr {
    uint32_t type, reserved;
    uint64_t sector;
};

static struct blk_hdr hdr __attribute__((aligned(64)));
static uint8_t data[4096] __attribute__((aligned(4096)));
static volatile uint8_t status __attribute__((aligned(64)));
static uint8_t frame[128] __attribute__((aligned(64)));
static struct vring_desc table[8] __attribute__((aligned(64)));
static unsigned failures;

struct target {
    const char *name;
    unsigned id, q;
    bool blk;
};

/* A well-formed chain at descriptors 0..: a one-sector blk request of
 * `type` at `sector`, or one transmitted frame. */
static void good_chain(struct vdev *d, const struct target *t, uint32_t type, uint64_t sector)
{
    if (!t->blk) {
        memset(frame, 0, sizeof(frame));
        memset(frame + sizeof(struct virtio_net_hdr_v1), 0xff, 6);
        vdev_desc(d, t->q, 0, (uintptr_t)frame, sizeof(frame), 0, 0);
        return;
    }
    hdr = (struct blk_hdr){.type = type, .sector = sector};
    status = 0xee;
    vdev_desc(d, t->q, 0, (uintptr_t)&hdr, sizeof(hdr), VRING_DESC_F_NEXT, 1);
    vdev_desc(d, t->q, 1, (uintptr_t)data, BLK_SECTOR,
              (type == VIRTIO_BLK_T_IN ? VRING_DESC_F_WRITE : 0) | VRING_DESC_F_NEXT, 2);
    vdev_desc(d, t->q, 2, (uintptr_t)&status, 1, VRING_DESC_F_WRITE, 0);
}

static struct vring_desc *desc(struct vdev *d, const struct target *t, unsigned i)
{
    return &d->q[t->q].desc[i];
}

/* The last descriptor of the good chain. */
static unsigned last(const struct target *t)
{
    return t->blk ? 2 : 0;
}

enum outcome { IGNORED, ANSWERED, NEEDS_RESET, WRONG };

/* Waits (bounded) for an answer or NEEDS_RESET and judges it.  A write
 * the device cannot have done must not report success. */
static enum outcome judge(struct vdev *d, const struct target *t, bool must_fail)
{
    struct vdev_queue *vq = &d->q[t->q];

    for (unsigned i = 0; i < POLLS; i++) {
        if (vdev_status(d) & VIRTIO_CONFIG_S_NEEDS_RESET)
            return NEEDS_RESET;
        uint16_t idx = __atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE);
        if (idx == vq->used_seen)
            continue;
        if ((uint16_t)(idx - vq->used_seen) > vq->size) {
            gprintf("hostile-virtio: used idx jumped by %u\n", (uint16_t)(idx - vq->used_seen));
            return WRONG;
        }
        for (; vq->used_seen != idx; vq->used_seen++) {
            const struct vring_used_elem *e = &vq->used->ring[vq->used_seen % vq->size];
            if (e->id >= vq->size || e->len > sizeof(data) + 1) {
                gprintf("hostile-virtio: used entry id %u len %u\n", e->id, e->len);
                return WRONG;
            }
        }
        if (must_fail && t->blk && status == VIRTIO_BLK_S_OK) {
            gprintf("hostile-virtio: an impossible request reported success\n");
            return WRONG;
        }
        return ANSWERED;
    }
    return IGNORED;
}

typedef bool (*attack_fn)(struct vdev *d, const struct target *t);

/* Each attack builds its rings after a fresh set-up and kicks; it returns
 * whether a reported success would be a lie (false where the device may
 * fairly see a good chain: a clamped queue size, the good head 0). */

static bool desc_loop(struct vdev *d, const struct target *t)
{
    good_chain(d, t, VIRTIO_BLK_T_IN, 0);
    desc(d, t, last(t))->flags |= VRING_DESC_F_NEXT;
    desc(d, t, last(t))->next = 0;
    vdev_submit(d, t->q, 0);
    return true;
}

static bool next_oob(struct vdev *d, const struct target *t)
{
    good_chain(d, t, VIRTIO_BLK_T_IN, 0);
    desc(d, t, 0)->flags |= VRING_DESC_F_NEXT;
    desc(d, t, 0)->next = 0xfff0;
    vdev_submit(d, t->q, 0);
    return true;
}

static bool addr_outside(struct vdev *d, const struct target *t)
{
    good_chain(d, t, VIRTIO_BLK_T_IN, 0);
    desc(d, t, last(t) ? 1 : 0)->addr = OUTSIDE;
    vdev_submit(d, t->q, 0);
    return true;
}

static bool addr_wrap(struct vdev *d, const struct target *t)
{
    good_chain(d, t, VIRTIO_BLK_T_IN, 0);
    desc(d, t, last(t) ? 1 : 0)->addr = ~0ull - 15;
    vdev_submit(d, t->q, 0);
    return true;
}

static bool huge_len(struct vdev *d, const struct target *t)
{
    good_chain(d, t, VIRTIO_BLK_T_IN, 0);
    desc(d, t, last(t) ? 1 : 0)->len = 0xffffffffu;
    vdev_submit(d, t->q, 0);
    return true;
}

static bool zero_len(struct vdev *d, const struct target *t)
{
    good_chain(d, t, VIRTIO_BLK_T_IN, 0);
    for (unsigned i = 0; i <= last(t); i++)
        desc(d, t, i)->len = 0;
    vdev_submit(d, t->q, 0);
    return true;
}

static bool avail_jump(struct vdev *d, const struct target *t)
{
    struct vdev_queue *vq = &d->q[t->q];

    good_chain(d, t, VIRTIO_BLK_T_IN, 0);
    for (unsigned i = 0; i < vq->size; i++)
        vq->avail->ring[i] = 0;
    vq->avail_idx = (uint16_t)(vq->avail_idx + 1000);
    __atomic_store_n(&vq->avail->idx, vq->avail_idx, __ATOMIC_RELEASE);
    mmio_write16(vq->kick, (uint16_t)t->q);
    return false; /* the chain at head 0 is a good one */
}

static bool bad_head(struct vdev *d, const struct target *t)
{
    good_chain(d, t, VIRTIO_BLK_T_IN, 0);
    vdev_submit(d, t->q, 4000);
    return true;
}

/* Descriptor 0 points at `table` as an indirect table of `len` bytes. */
static void indirect(struct vdev *d, const struct target *t, uint64_t addr, uint32_t len)
{
    good_chain(d, t, VIRTIO_BLK_T_IN, 0);
    for (unsigned i = 0; i <= last(t); i++)
        table[i] = *desc(d, t, i);
    *desc(d, t, 0) = (struct vring_desc){.addr = addr, .len = len, .flags = VRING_DESC_F_INDIRECT};
}

static bool indirect_nested(struct vdev *d, const struct target *t)
{
    indirect(d, t, (uintptr_t)table, sizeof(table));
    table[0] = (struct vring_desc){
        .addr = (uintptr_t)table, .len = sizeof(table), .flags = VRING_DESC_F_INDIRECT};
    vdev_submit(d, t->q, 0);
    return true;
}

static bool indirect_loop(struct vdev *d, const struct target *t)
{
    indirect(d, t, (uintptr_t)table, sizeof(table));
    table[last(t)].flags |= VRING_DESC_F_NEXT;
    table[last(t)].next = 0;
    vdev_submit(d, t->q, 0);
    return true;
}

static bool indirect_huge(struct vdev *d, const struct target *t)
{
    indirect(d, t, (uintptr_t)table, 0xfffffff0u);
    vdev_submit(d, t->q, 0);
    return true;
}

static bool indirect_odd(struct vdev *d, const struct target *t)
{
    indirect(d, t, (uintptr_t)table, 17);
    vdev_submit(d, t->q, 0);
    return true;
}

static bool indirect_outside(struct vdev *d, const struct target *t)
{
    indirect(d, t, OUTSIDE, sizeof(table));
    vdev_submit(d, t->q, 0);
    return true;
}

static bool indirect_next_oob(struct vdev *d, const struct target *t)
{
    indirect(d, t, (uintptr_t)table, (last(t) + 1) * sizeof(table[0]));
    table[last(t)].flags |= VRING_DESC_F_NEXT;
    table[last(t)].next = 7;
    vdev_submit(d, t->q, 0);
    return true;
}

/* Block-only attacks: writes that must not reach the image. */

static bool write_far(struct vdev *d, const struct target *t)
{
    good_chain(d, t, VIRTIO_BLK_T_OUT, 1ull << 40);
    vdev_submit(d, t->q, 0);
    return true;
}

static bool write_wrap(struct vdev *d, const struct target *t)
{
    good_chain(d, t, VIRTIO_BLK_T_OUT, ~0ull);
    vdev_submit(d, t->q, 0);
    return true;
}

static bool write_past_end(struct vdev *d, const struct target *t)
{
    uint64_t sectors = vdev_config32(d, 0) | (uint64_t)vdev_config32(d, 4) << 32;

    good_chain(d, t, VIRTIO_BLK_T_OUT, sectors - 1);
    desc(d, t, 1)->len = 2 * BLK_SECTOR;
    vdev_submit(d, t->q, 0);
    return true;
}

static bool write_from_outside(struct vdev *d, const struct target *t)
{
    good_chain(d, t, VIRTIO_BLK_T_OUT, 0);
    desc(d, t, 1)->addr = OUTSIDE;
    vdev_submit(d, t->q, 0);
    return true;
}

static bool write_huge(struct vdev *d, const struct target *t)
{
    good_chain(d, t, VIRTIO_BLK_T_OUT, 0);
    desc(d, t, 1)->len = 0xfffffe00u;
    vdev_submit(d, t->q, 0);
    return true;
}

static bool status_read_only(struct vdev *d, const struct target *t)
{
    good_chain(d, t, VIRTIO_BLK_T_OUT, 1ull << 40);
    desc(d, t, 2)->flags = 0;
    vdev_submit(d, t->q, 0);
    return true;
}

/* A 64-bit queue register, as two 32-bit halves (its natural width). */
static void write64(uintptr_t reg, uint64_t v)
{
    mmio_write32(reg, (uint32_t)v);
    mmio_write32(reg + 4, (uint32_t)(v >> 32));
}

/* Queue set-up attacks: reset and configure queue t->q by hand. */
static void raw_setup(struct vdev *d, const struct target *t, uint16_t size, uint64_t desc_gpa)
{
    uintptr_t c = d->common;
    struct vdev_queue *vq = &d->q[t->q];
    uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

    mmio_write8(c + VIRTIO_PCI_COMMON_STATUS, 0);
    for (unsigned i = 0; i < POLLS && vdev_status(d) != 0; i++)
        ;
    mmio_write8(c + VIRTIO_PCI_COMMON_STATUS, s);
    mmio_write32(c + VIRTIO_PCI_COMMON_GFSELECT, 0);
    mmio_write32(c + VIRTIO_PCI_COMMON_GF, 0);
    mmio_write32(c + VIRTIO_PCI_COMMON_GFSELECT, 1);
    mmio_write32(c + VIRTIO_PCI_COMMON_GF, 1); /* VERSION_1 */
    s |= VIRTIO_CONFIG_S_FEATURES_OK;
    mmio_write8(c + VIRTIO_PCI_COMMON_STATUS, s);
    mmio_write16(c + VIRTIO_PCI_COMMON_Q_SELECT, (uint16_t)t->q);
    mmio_write16(c + VIRTIO_PCI_COMMON_Q_SIZE, size);
    write64(c + VIRTIO_PCI_COMMON_Q_DESCLO, desc_gpa);
    write64(c + VIRTIO_PCI_COMMON_Q_AVAILLO, (uintptr_t)vq->avail);
    write64(c + VIRTIO_PCI_COMMON_Q_USEDLO, (uintptr_t)vq->used);
    mmio_write16(c + VIRTIO_PCI_COMMON_Q_ENABLE, 1);
    mmio_write8(c + VIRTIO_PCI_COMMON_STATUS, s | VIRTIO_CONFIG_S_DRIVER_OK);
    vq->avail_idx = 0, vq->used_seen = 0;
    vq->used->idx = 0;
    good_chain(d, t, VIRTIO_BLK_T_IN, 0);
    vdev_submit(d, t->q, 0);
}

static bool qsize_odd(struct vdev *d, const struct target *t)
{
    raw_setup(d, t, 63, (uintptr_t)d->q[t->q].desc);
    return false;
}

static bool qsize_huge(struct vdev *d, const struct target *t)
{
    raw_setup(d, t, 0x8000, (uintptr_t)d->q[t->q].desc);
    return false;
}

static bool qaddr_outside(struct vdev *d, const struct target *t)
{
    raw_setup(d, t, 16, OUTSIDE);
    return true;
}

static bool qaddr_wrap(struct vdev *d, const struct target *t)
{
    raw_setup(d, t, 16, ~0ull - 0xff);
    return true;
}

static bool qaddr_unaligned(struct vdev *d, const struct target *t)
{
    raw_setup(d, t, 16, (uintptr_t)d->q[t->q].desc + 1);
    return false;
}

static const struct {
    const char *name;
    attack_fn fn;
    bool blk_only;
} attacks[] = {
    {"desc-loop", desc_loop, false},
    {"next-out-of-range", next_oob, false},
    {"addr-outside-ram", addr_outside, false},
    {"addr-wraps-2^64", addr_wrap, false},
    {"len-0xffffffff", huge_len, false},
    {"zero-lengths", zero_len, false},
    {"avail-idx-jump", avail_jump, false},
    {"bad-head", bad_head, false},
    {"indirect-nested", indirect_nested, false},
    {"indirect-loop", indirect_loop, false},
    {"indirect-huge", indirect_huge, false},
    {"indirect-len-17", indirect_odd, false},
    {"indirect-outside-ram", indirect_outside, false},
    {"indirect-next-out-of-range", indirect_next_oob, false},
    {"write-sector-2^40", write_far, true},
    {"write-sector-wraps", write_wrap, true},
    {"write-past-end", write_past_end, true},
    {"write-from-outside-ram", write_from_outside, true},
    {"write-len-huge", write_huge, true},
    {"status-read-only", status_read_only, true},
    {"queue-size-63", qsize_odd, false},
    {"queue-size-0x8000", qsize_huge, false},
    {"queue-outside-ram", qaddr_outside, false},
    {"queue-wraps-2^64", qaddr_wrap, false},
    {"queue-unaligned", qaddr_unaligned, false},
};

static uint64_t features(const struct target *t)
{
    return 1ull << VIRTIO_RING_F_INDIRECT_DESC | (t->blk ? 0 : 1ull << VIRTIO_NET_F_MAC);
}

static void run(const struct target *t)
{
    static const char *const names[] = {"ignored", "answered", "needs-reset", "WRONG"};
    struct vdev d;

    for (unsigned a = 0; a < sizeof(attacks) / sizeof(attacks[0]); a++) {
        if (attacks[a].blk_only && !t->blk)
            continue;
        if (vdev_open(&d, t->id, 0, features(t), t->q + 1) < 0) {
            gprintf("hostile-virtio: %s: set-up before %s failed\n", t->name, attacks[a].name);
            failures++;
            return;
        }
        bool must_fail = attacks[a].fn(&d, t);
        enum outcome o = judge(&d, t, must_fail);
        gprintf("hostile-virtio: %s %s: %s\n", t->name, attacks[a].name, names[o]);
        /* Silence is no answer: the device must finish or give up. */
        if (o == WRONG || o == IGNORED)
            failures++;
    }
}

/* After all that, an honest read of sector 0 must work. */
static bool blk_still_works(void)
{
    static const struct target t = {"blk", VIRTIO_ID_BLOCK, 0, true};
    char magic[32] = "";
    struct vdev d;
    uint32_t id, len;

    cmdline_value("magic", magic, sizeof(magic));
    if (vdev_open(&d, VIRTIO_ID_BLOCK, 0, 0, 1) < 0)
        return false;
    memset(data, 0, sizeof(data));
    good_chain(&d, &t, VIRTIO_BLK_T_IN, 0);
    vdev_submit(&d, 0, 0);
    if (!vdev_wait(&d, 0, &id, &len) || status != VIRTIO_BLK_S_OK) {
        gprintf("hostile-virtio: the honest read failed (status %u)\n", status);
        return false;
    }
    for (unsigned i = 0; magic[i]; i++)
        if (data[i] != (uint8_t)magic[i]) {
            gprintf("hostile-virtio: sector 0 does not start with '%s'\n", magic);
            return false;
        }
    return true;
}

int guest_main(void)
{
    static const struct target blk = {"blk", VIRTIO_ID_BLOCK, 0, true};
    static const struct target net = {"net-tx", VIRTIO_ID_NET, NET_TXQ, false};
    struct vdev probe;

    run(&blk);
    if (cmdline_u64("net", 0)) {
        if (vdev_open(&probe, VIRTIO_ID_NET, 0, 0, 2) == 0)
            run(&net);
        else
            failures++;
    }
    if (!blk_still_works())
        failures++;
    if (failures) {
        gprintf("hostile-virtio: %u failures\n", failures);
        return GUEST_EXIT_FAIL;
    }
    gprintf("hostile-virtio: done\n");
    return GUEST_EXIT_OK;
}
