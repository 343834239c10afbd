/* Tagged-record writer and reader (state_rec.h). */
#include "dm/state_rec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint8_t *w_room(struct srec_w *w, size_t n)
{
    if (w->err)
        return NULL;
    if (w->cap - w->len < n) {
        size_t cap = w->cap ? w->cap : 1024;
        while (cap - w->len < n)
            cap *= 2;
        uint8_t *b = realloc(w->buf, cap);
        if (!b) {
            w->err = -ENOMEM;
            return NULL;
        }
        w->buf = b;
        w->cap = cap;
    }
    w->len += n;
    return w->buf + w->len - n;
}

static void put_le(struct srec_w *w, uint64_t v, unsigned n)
{
    uint8_t *p = w_room(w, n);

    for (unsigned i = 0; p && i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void srec_put_u8(struct srec_w *w, uint8_t v)
{
    put_le(w, v, 1);
}

void srec_put_u16(struct srec_w *w, uint16_t v)
{
    put_le(w, v, 2);
}

void srec_put_u32(struct srec_w *w, uint32_t v)
{
    put_le(w, v, 4);
}

void srec_put_u64(struct srec_w *w, uint64_t v)
{
    put_le(w, v, 8);
}

void srec_put_bytes(struct srec_w *w, const void *src, size_t n)
{
    uint8_t *p = w_room(w, n);

    if (p && n)
        memcpy(p, src, n);
}

void srec_w_init(struct srec_w *w)
{
    memset(w, 0, sizeof(*w));
    srec_put_bytes(w, STATE_MAGIC, STATE_MAGIC_LEN);
    srec_put_u32(w, STATE_VERSION);
}

void srec_begin(struct srec_w *w, uint32_t tag, uint32_t instance)
{
    w->rec = w->len;
    srec_put_u32(w, tag);
    srec_put_u32(w, instance);
    srec_put_u32(w, 0); /* length, patched by srec_end */
}

void srec_end(struct srec_w *w)
{
    if (w->err)
        return;
    size_t n = w->len - w->rec - STATE_REC_HDR;
    if (n > UINT32_MAX) {
        w->err = -E2BIG;
        return;
    }
    for (unsigned i = 0; i < 4; i++)
        w->buf[w->rec + 8 + i] = (uint8_t)(n >> (8 * i));
}

int srec_w_finish(struct srec_w *w, uint8_t **blob, size_t *len)
{
    if (w->err) {
        free(w->buf);
        w->buf = NULL;
        return w->err;
    }
    *blob = w->buf;
    *len = w->len;
    w->buf = NULL;
    return 0;
}

static const uint8_t *r_take(struct srec_r *r, size_t n)
{
    if (r->bad)
        return NULL;
    if (r->len - r->pos < n) {
        r->bad = true;
        r->why = "truncated";
        return NULL;
    }
    r->pos += n;
    return r->p + r->pos - n;
}

static uint64_t get_le(struct srec_r *r, unsigned n)
{
    const uint8_t *p = r_take(r, n);
    uint64_t v = 0;

    for (unsigned i = 0; p && i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

uint8_t srec_get_u8(struct srec_r *r)
{
    return (uint8_t)get_le(r, 1);
}

uint16_t srec_get_u16(struct srec_r *r)
{
    return (uint16_t)get_le(r, 2);
}

uint32_t srec_get_u32(struct srec_r *r)
{
    return (uint32_t)get_le(r, 4);
}

uint64_t srec_get_u64(struct srec_r *r)
{
    return get_le(r, 8);
}

void srec_get_bytes(struct srec_r *r, void *dst, size_t n)
{
    const uint8_t *p = r_take(r, n);

    if (p)
        memcpy(dst, p, n);
    else
        memset(dst, 0, n);
}

void srec_check(struct srec_r *r, bool cond, const char *why)
{
    if (!cond && !r->bad) {
        r->bad = true;
        r->why = why;
    }
}

bool srec_get_bool(struct srec_r *r)
{
    uint8_t v = srec_get_u8(r);

    srec_check(r, v <= 1, "boolean out of range");
    return v == 1;
}

bool srec_done(struct srec_r *r)
{
    srec_check(r, r->pos == r->len, "trailing bytes");
    return !r->bad;
}

int srec_r_open(struct srec_r *r, const uint8_t *buf, size_t len)
{
    memset(r, 0, sizeof(*r));
    r->p = buf;
    r->len = buf ? len : 0;
    const uint8_t *magic = r_take(r, STATE_MAGIC_LEN);
    if (!magic || memcmp(magic, STATE_MAGIC, STATE_MAGIC_LEN) != 0) {
        r->why = "not a device model state";
        return -EINVAL;
    }
    uint32_t version = srec_get_u32(r);
    if (r->bad || version != STATE_VERSION) {
        r->why = r->bad                    ? "truncated header"
                 : version < STATE_VERSION ? "saved by an older device model, in a format this "
                                             "one does not read"
                                           : "saved by a newer device model";
        return -EINVAL;
    }
    return 0;
}

int srec_next(struct srec_r *r, uint32_t *tag, uint32_t *instance, struct srec_r *payload)
{
    if (r->pos == r->len && !r->bad)
        return 0;
    *tag = srec_get_u32(r);
    *instance = srec_get_u32(r);
    uint32_t n = srec_get_u32(r);
    const uint8_t *p = r_take(r, n);
    if (!p)
        return -EINVAL;
    memset(payload, 0, sizeof(*payload));
    payload->p = p;
    payload->len = n;
    return 1;
}
