/* Split virtqueue walking and the used ring (see queue.h for the rules). */
#include "dm/virtio/queue.h"

#include <errno.h>
#include <string.h>

#define DESC_SIZE sizeof(struct vring_desc)

_Static_assert(sizeof(struct vring_desc) == 16, "descriptor layout");
_Static_assert(sizeof(struct vring_used_elem) == 8, "used element layout");

static uint16_t load16(const void *p)
{
    return __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE);
}

static void store16(void *p, uint16_t v)
{
    __atomic_store_n((uint16_t *)p, v, __ATOMIC_RELEASE);
}

/* used_event lives after the available ring, avail_event after the used. */
static uint16_t *used_event(const struct virtq *q)
{
    return &q->avail->ring[q->size];
}

static uint16_t *avail_event(const struct virtq *q)
{
    return (uint16_t *)(void *)&q->used->ring[q->size];
}

void virtq_reset(struct virtq *q)
{
    memset(q, 0, sizeof(*q));
}

/* Whether guest ranges [a, a + alen) and [b, b + blen) share a byte (both
 * already known to lie in RAM, so neither wraps). */
static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

static uint64_t desc_bytes(const struct virtq *q)
{
    return DESC_SIZE * q->size;
}

static uint64_t avail_bytes(const struct virtq *q)
{
    return 6 + 2 * (uint64_t)q->size; /* flags, idx, ring, used_event */
}

static uint64_t used_bytes(const struct virtq *q)
{
    return 6 + 8 * (uint64_t)q->size; /* flags, idx, ring, avail_event */
}

/* What the device writes (the used ring, buffers the driver made
 * writable) must not be what tells it what to do next (the descriptor
 * table, the available ring): a driver that aims one at the other could
 * make every completion a new request, and keep the device busy for ever
 * with a single kick. */
static bool hits_driver_rings(const struct virtq *q, uint64_t gpa, uint64_t len)
{
    return overlap(gpa, len, q->desc_gpa, desc_bytes(q)) ||
           overlap(gpa, len, q->avail_gpa, avail_bytes(q));
}

int virtq_enable(struct dm *dm, struct virtq *q)
{
    uint64_t n = q->size;
    void *desc, *avail, *used;

    if (n == 0 || n > VIRTQ_MAX_SIZE || (n & (n - 1)) != 0)
        return -EINVAL;
    if (q->desc_gpa % VRING_DESC_ALIGN_SIZE || q->avail_gpa % VRING_AVAIL_ALIGN_SIZE ||
        q->used_gpa % VRING_USED_ALIGN_SIZE)
        return -EINVAL;
    desc = dm_guest_ptr(dm, q->desc_gpa, desc_bytes(q));
    avail = dm_guest_ptr(dm, q->avail_gpa, avail_bytes(q));
    used = dm_guest_ptr(dm, q->used_gpa, used_bytes(q));
    if (!desc || !avail || !used || hits_driver_rings(q, q->used_gpa, used_bytes(q)))
        return -EINVAL;
    q->desc = desc;
    q->avail = avail;
    q->used = used;
    q->last_avail = 0;
    q->used_idx = 0;
    q->signalled_valid = false;
    q->enabled = true;
    return 0;
}

bool virtq_has_work(const struct virtq *q)
{
    return q->enabled && load16(&q->avail->idx) != q->last_avail;
}

/* Read descriptor i of a table once; the guest may rewrite it any time. */
static struct vring_desc read_desc(const void *table, unsigned i)
{
    struct vring_desc d;

    memcpy(&d, (const uint8_t *)table + (size_t)i * DESC_SIZE, sizeof(d));
    return d;
}

static int walk_chain(struct dm *dm, const struct virtq *q, uint16_t head, struct virtq_chain *c)
{
    const void *table = q->desc;
    unsigned table_size = q->size, idx = head, count = 0;
    bool indirect = false;

    c->head = head;
    c->nr_out = c->nr_in = 0;
    c->out_len = c->in_len = 0;
    for (;;) {
        struct vring_desc d = read_desc(table, idx);
        unsigned n = c->nr_out + c->nr_in;
        void *p;

        /* A chain longer than its table must revisit a descriptor: a loop. */
        if (++count > table_size)
            return -EIO;
        if (d.flags & VRING_DESC_F_INDIRECT) {
            /* Only a lone head may point at a table, and tables don't nest. */
            if (!q->indirect || indirect || count != 1 || (d.flags & VRING_DESC_F_NEXT))
                return -EIO;
            if (d.len == 0 || d.len % DESC_SIZE || d.len / DESC_SIZE > VIRTQ_MAX_SIZE)
                return -EIO;
            table = dm_guest_ptr(dm, d.addr, d.len);
            if (!table)
                return -EIO;
            table_size = d.len / DESC_SIZE;
            idx = 0;
            count = 0;
            indirect = true;
            continue;
        }
        p = dm_guest_ptr(dm, d.addr, d.len);
        if (!p || n >= VIRTQ_MAX_SIZE)
            return -EIO;
        if ((d.flags & VRING_DESC_F_WRITE) && hits_driver_rings(q, d.addr, d.len))
            return -EIO;
        c->iov[n] = (struct iovec){.iov_base = p, .iov_len = d.len};
        if (d.flags & VRING_DESC_F_WRITE) {
            c->nr_in++;
            c->in_len += d.len;
        } else {
            if (c->nr_in) /* readable after writable: the spec forbids it */
                return -EIO;
            c->nr_out++;
            c->out_len += d.len;
        }
        /* Lengths are reported back in 32 bits. */
        if (c->in_len > UINT32_MAX || c->out_len > UINT32_MAX)
            return -EIO;
        if (!(d.flags & VRING_DESC_F_NEXT))
            return 0;
        if (d.next >= table_size)
            return -EIO;
        idx = d.next;
    }
}

int virtq_pop(struct dm *dm, struct virtq *q, struct virtq_chain *c)
{
    uint16_t avail_idx, pending, head;
    int rc;

    if (!q->enabled)
        return 0;
    avail_idx = load16(&q->avail->idx);
    pending = (uint16_t)(avail_idx - q->last_avail);
    if (pending == 0)
        return 0;
    if (pending > q->size)
        return -EIO;
    head = load16(&q->avail->ring[q->last_avail & (q->size - 1)]);
    if (head >= q->size)
        return -EIO;
    rc = walk_chain(dm, q, head, c);
    if (rc < 0)
        return rc;
    q->last_avail++;
    return 1;
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t written)
{
    struct vring_used_elem *e = &q->used->ring[q->used_idx & (q->size - 1)];

    __atomic_store_n(&e->id, (uint32_t)head, __ATOMIC_RELAXED);
    __atomic_store_n(&e->len, written, __ATOMIC_RELAXED);
    q->used_idx++;
    store16(&q->used->idx, q->used_idx);
}

bool virtq_should_interrupt(struct virtq *q)
{
    uint16_t old = q->signalled_used, now = q->used_idx;
    bool valid = q->signalled_valid;

    if (!q->enabled)
        return false;
    /* Our used->idx store must be visible before we read the driver's
     * wishes, or we could miss the one it wrote after reading ours. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    q->signalled_used = now;
    q->signalled_valid = true;
    if (old == now) /* nothing published since we last decided */
        return false;
    if (!q->event_idx)
        return !(load16(&q->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
    return !valid || vring_need_event(load16(used_event(q)), now, old);
}

void virtq_set_kicks(struct virtq *q, bool enable)
{
    if (!q->enabled)
        return;
    if (q->event_idx) {
        /* Kick me once you make entry last_avail available; or only after
         * half the index space, which a driver never gets to while we
         * poll. */
        store16(avail_event(q), (uint16_t)(q->last_avail + (enable ? 0 : 0x8000)));
    } else {
        store16(&q->used->flags, enable ? 0 : VRING_USED_F_NO_NOTIFY);
    }
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Walk segments [first, first + nr) from byte off, calling copy on pieces. */
static size_t chain_copy(const struct virtq_chain *c, bool writable, uint64_t off, uint8_t *buf,
                         size_t len)
{
    unsigned first = writable ? c->nr_out : 0, nr = writable ? c->nr_in : c->nr_out;
    size_t done = 0;

    for (unsigned i = first; i < first + nr && done < len; i++) {
        const struct iovec *v = &c->iov[i];
        size_t take;

        if (off >= v->iov_len) {
            off -= v->iov_len;
            continue;
        }
        take = v->iov_len - off;
        if (take > len - done)
            take = len - done;
        if (writable)
            memcpy((uint8_t *)v->iov_base + off, buf + done, take);
        else
            memcpy(buf + done, (uint8_t *)v->iov_base + off, take);
        done += take;
        off = 0;
    }
    return done;
}

size_t virtq_chain_read(const struct virtq_chain *c, uint64_t off, void *buf, size_t len)
{
    return chain_copy(c, false, off, buf, len);
}

size_t virtq_chain_write(const struct virtq_chain *c, uint64_t off, const void *buf, size_t len)
{
    return chain_copy(c, true, off, (uint8_t *)(uintptr_t)buf, len);
}

int virtq_chain_slice(const struct virtq_chain *c, bool writable, uint64_t off, uint64_t len,
                      struct iovec *out, unsigned max)
{
    unsigned first = writable ? c->nr_out : 0, nr = writable ? c->nr_in : c->nr_out, n = 0;
    uint64_t total = writable ? c->in_len : c->out_len;

    if (off > total || len > total - off)
        return -ERANGE;
    for (unsigned i = first; i < first + nr && len > 0; i++) {
        const struct iovec *v = &c->iov[i];
        uint64_t take;

        if (off >= v->iov_len) {
            off -= v->iov_len;
            continue;
        }
        take = v->iov_len - off;
        if (take > len)
            take = len;
        if (n == max)
            return -ERANGE;
        out[n++] = (struct iovec){.iov_base = (uint8_t *)v->iov_base + off, .iov_len = take};
        len -= take;
        off = 0;
    }
    return (int)n;
}

void virtq_state_save(const struct virtq *q, struct srec_w *w)
{
    srec_put_u16(w, q->size);
    srec_put_u64(w, q->desc_gpa);
    srec_put_u64(w, q->avail_gpa);
    srec_put_u64(w, q->used_gpa);
    srec_put_u8(w, q->enabled);
    srec_put_u16(w, q->last_avail);
    srec_put_u16(w, q->used_idx);
    srec_put_u16(w, q->signalled_used);
    srec_put_u8(w, q->signalled_valid);
}

void virtq_state_parse(struct dm *dm, struct virtq *q, struct srec_r *r)
{
    uint16_t last_avail, used_idx, signalled;
    bool enabled, signalled_valid;

    virtq_reset(q);
    q->size = srec_get_u16(r);
    q->desc_gpa = srec_get_u64(r);
    q->avail_gpa = srec_get_u64(r);
    q->used_gpa = srec_get_u64(r);
    enabled = srec_get_bool(r);
    last_avail = srec_get_u16(r);
    used_idx = srec_get_u16(r);
    signalled = srec_get_u16(r);
    signalled_valid = srec_get_bool(r);
    if (r->bad)
        return;
    if (!enabled) {
        srec_check(r, !last_avail && !used_idx && !signalled && !signalled_valid,
                   "positions of a disabled queue");
        return;
    }
    srec_check(r, virtq_enable(dm, q) == 0, "queue size or ring address invalid (outside RAM?)");
    srec_check(r, (uint16_t)(last_avail - used_idx) <= q->size, "queue positions out of range");
    q->last_avail = last_avail;
    q->used_idx = used_idx;
    q->signalled_used = signalled;
    q->signalled_valid = signalled_valid;
}

void virtq_unpop(struct virtq *q)
{
    q->last_avail--;
}
