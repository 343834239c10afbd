/* The fake guest of fake_guest.h. */
#include "fake_guest.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct fake_guest fg;

static int f_map(void *h, int type, uint64_t s, uint64_t e, uint32_t flags)
{
    (void)h, (void)type, (void)s, (void)e, (void)flags;
    return 0;
}

static int f_unmap(void *h, int type, uint64_t s, uint64_t e)
{
    (void)h, (void)type, (void)s, (void)e;
    return 0;
}

static int f_msi(void *h, uint64_t a, uint32_t d)
{
    (void)h;
    if (fg.nr_msis < 32) {
        fg.msi_addr[fg.nr_msis] = a;
        fg.msi_data[fg.nr_msis] = d;
    }
    fg.nr_msis++;
    return 0;
}

static int f_isa_irq(void *h, unsigned irq, int level)
{
    (void)h;
    assert_true(irq < 16);
    fg.isa_irq[irq] = level;
    return 0;
}

static int f_ioeventfd(void *h, int type, uint64_t addr, uint32_t len, int fd, bool deassign)
{
    (void)h;
    assert_int_equal(type, DM_TRAP_MMIO);
    fg.ioeventfd_calls++;
    for (unsigned i = 0; i < fg.nr_ioeventfds; i++) {
        if (fg.ioeventfds[i].addr == addr && fg.ioeventfds[i].len == len) {
            if (!deassign)
                return -EEXIST;
            fg.ioeventfds[i] = fg.ioeventfds[--fg.nr_ioeventfds];
            return 0;
        }
    }
    if (deassign)
        return -ENOENT;
    assert_true(fg.nr_ioeventfds < 16);
    fg.ioeventfds[fg.nr_ioeventfds++] = (struct fg_ioeventfd){addr, len, fd};
    return 0;
}

static int f_console_write(void *h, unsigned idx, const void *buf, size_t len)
{
    (void)h, (void)idx;
    if (len > sizeof(fg.con_out) - fg.con_out_len)
        len = sizeof(fg.con_out) - fg.con_out_len;
    memcpy(fg.con_out + fg.con_out_len, buf, len);
    fg.con_out_len += len;
    return 0;
}

static ssize_t f_console_read(void *h, unsigned idx, void *buf, size_t len)
{
    (void)h, (void)idx;
    if (len > fg.con_in_len)
        len = fg.con_in_len;
    memcpy(buf, fg.con_in, len);
    fg.con_in += len;
    fg.con_in_len -= len;
    return (ssize_t)len;
}

static const struct dm_host_ops fake_host = {
    .console_write = f_console_write,
    .console_read = f_console_read,
    .map_range = f_map,
    .unmap_range = f_unmap,
    .set_isa_irq = f_isa_irq,
    .inject_msi = f_msi,
    .ioeventfd = f_ioeventfd,
};

void fg_setup(void)
{
    memset(&fg, 0, sizeof(fg));
    fg.ram = calloc(1, FG_RAM_SIZE);
    assert_non_null(fg.ram);
    fg.dm = dm_new(&fake_host, NULL, fg.ram, FG_RAM_SIZE);
    assert_non_null(fg.dm);
    fg.qsize = FG_QSIZE;
}

void fg_teardown(void)
{
    dm_free(fg.dm);
    free(fg.ram);
}

void *fg_ptr(uint64_t gpa)
{
    return fg.ram + gpa;
}

void fg_desc_at(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
                uint16_t next)
{
    struct vring_desc d = {.addr = addr, .len = len, .flags = flags, .next = next};

    memcpy(fg_ptr(table + 16ull * i), &d, sizeof(d));
}

void fg_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    fg_desc_at(FG_DESC, i, addr, len, flags, next);
}

void fg_avail(uint16_t head)
{
    struct vring_avail *a = fg_ptr(FG_AVAIL);

    a->ring[fg.avail_idx % fg.qsize] = head;
    fg.avail_idx++;
    __atomic_store_n(&a->idx, fg.avail_idx, __ATOMIC_RELEASE);
}

uint16_t fg_used_idx(void)
{
    struct vring_used *u = fg_ptr(FG_USED);

    return __atomic_load_n(&u->idx, __ATOMIC_ACQUIRE);
}

struct vring_used_elem fg_used(unsigned i)
{
    struct vring_used *u = fg_ptr(FG_USED);

    return u->ring[i % fg.qsize];
}

void fg_queue(struct virtq *q)
{
    q->size = fg.qsize;
    q->desc_gpa = FG_DESC;
    q->avail_gpa = FG_AVAIL;
    q->used_gpa = FG_USED;
}

static void fg_interrupt(struct virtio_dev *vd, unsigned q)
{
    (void)vd;
    fg.interrupts[q == VIRTIO_IRQ_CONFIG ? VIRTIO_MAX_QUEUES : q]++;
}

const struct virtio_transport_ops fg_transport = {.interrupt = fg_interrupt};

void fg_bring_up(struct virtio_dev *vd)
{
    vd->transport = &fg_transport;
    virtio_set_status(vd, 0);
    virtio_set_status(vd, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    virtio_set_driver_features(vd, 0, (uint32_t)vd->offered);
    virtio_set_driver_features(vd, 1, (uint32_t)(vd->offered >> 32));
    virtio_set_status(vd, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
                              VIRTIO_CONFIG_S_FEATURES_OK);
    assert_true(vd->status & VIRTIO_CONFIG_S_FEATURES_OK);
    fg_queue(&vd->vq[0]);
    assert_int_equal(virtio_queue_ready(vd, 0), 0);
    virtio_set_status(vd, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
                              VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
    assert_true(vd->status & VIRTIO_CONFIG_S_DRIVER_OK);
}

void fg_descq(unsigned q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    fg_desc_at(FG_QBASE(q), i, addr, len, flags, next);
}

void fg_availq(unsigned q, uint16_t head)
{
    struct vring_avail *a = fg_ptr(FG_QBASE(q) + 0x1000);

    a->ring[fg.avail_idx_q[q] % fg.qsize] = head;
    fg.avail_idx_q[q]++;
    __atomic_store_n(&a->idx, fg.avail_idx_q[q], __ATOMIC_RELEASE);
}

uint16_t fg_used_idxq(unsigned q)
{
    struct vring_used *u = fg_ptr(FG_QBASE(q) + 0x2000);

    return __atomic_load_n(&u->idx, __ATOMIC_ACQUIRE);
}

struct vring_used_elem fg_usedq(unsigned q, unsigned i)
{
    struct vring_used *u = fg_ptr(FG_QBASE(q) + 0x2000);

    return u->ring[i % fg.qsize];
}

void fg_bring_up_queues(struct virtio_dev *vd, unsigned nq)
{
    vd->transport = &fg_transport;
    virtio_set_status(vd, 0);
    virtio_set_status(vd, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    virtio_set_driver_features(vd, 0, (uint32_t)vd->offered);
    virtio_set_driver_features(vd, 1, (uint32_t)(vd->offered >> 32));
    virtio_set_status(vd, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
                              VIRTIO_CONFIG_S_FEATURES_OK);
    for (unsigned q = 0; q < nq; q++) {
        vd->vq[q].size = fg.qsize;
        vd->vq[q].desc_gpa = FG_QBASE(q);
        vd->vq[q].avail_gpa = FG_QBASE(q) + 0x1000;
        vd->vq[q].used_gpa = FG_QBASE(q) + 0x2000;
        assert_int_equal(virtio_queue_ready(vd, q), 0);
    }
    virtio_set_status(vd, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
                              VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
    assert_true(vd->status & VIRTIO_CONFIG_S_DRIVER_OK);
}
