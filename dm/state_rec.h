/* The device model's state blob: a tagged-record format.
 *
 *   blob   = magic "STUBDM-STATE" (12 bytes), u32 version, then records
 *            until the end
 *   record = u32 tag, u32 instance, u32 length, `length` bytes of payload
 *
 * Everything is little-endian.  A tag names a device type (STATE_TAG_*),
 * the instance which one (a PCI devfn, a disk index).  A device's payload
 * is written and read field by field with the put/get helpers below.
 *
 * Reading is for untrusted blobs: every getter is bounds-checked and, on
 * the first failure (short payload, value out of range), latches an error
 * in the reader; later getters then return zeros.  A caller reads all its
 * fields, then checks srec_ok() once: there is no way to act on a
 * half-read record.
 */
#ifndef STUBVISOR_DM_STATE_REC_H
#define STUBVISOR_DM_STATE_REC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STATE_MAGIC     "STUBDM-STATE"
#define STATE_MAGIC_LEN 12u
/* 2: one record per device instance (dm/device.h), the virtio transport
 * inside its device's record.  1 (per-kind records) is refused. */
#define STATE_VERSION 2u
#define STATE_HDR_LEN 16u
#define STATE_REC_HDR 12u

/* Writer: a growing malloc'd buffer.  Allocation failure latches -ENOMEM. */
struct srec_w {
    uint8_t *buf;
    size_t len, cap;
    size_t rec; /* offset of the open record's header */
    int err;
};

void srec_w_init(struct srec_w *w); /* writes the blob header */
void srec_begin(struct srec_w *w, uint32_t tag, uint32_t instance);
void srec_end(struct srec_w *w); /* patches the open record's length */
void srec_put_u8(struct srec_w *w, uint8_t v);
void srec_put_u16(struct srec_w *w, uint16_t v);
void srec_put_u32(struct srec_w *w, uint32_t v);
void srec_put_u64(struct srec_w *w, uint64_t v);
void srec_put_bytes(struct srec_w *w, const void *p, size_t n);
/* Hand the buffer over (caller frees) or free it on error: 0 or -errno. */
int srec_w_finish(struct srec_w *w, uint8_t **blob, size_t *len);

/* Reader over one record's payload (or the whole blob). */
struct srec_r {
    const uint8_t *p;
    size_t len, pos;
    bool bad;
    const char *why; /* first failure, for the log */
};

/* Check the blob header; *r then walks the records.  0 or -EINVAL. */
int srec_r_open(struct srec_r *blob, const uint8_t *buf, size_t len);
/* Next record: 1 (tag, instance and *payload set), 0 at the end, -EINVAL
 * if the record runs past the blob. */
int srec_next(struct srec_r *blob, uint32_t *tag, uint32_t *instance, struct srec_r *payload);

uint8_t srec_get_u8(struct srec_r *r);
uint16_t srec_get_u16(struct srec_r *r);
uint32_t srec_get_u32(struct srec_r *r);
uint64_t srec_get_u64(struct srec_r *r);
void srec_get_bytes(struct srec_r *r, void *p, size_t n);
/* A bool: 0 or 1, anything else is an error. */
bool srec_get_bool(struct srec_r *r);
/* Latch an error unless cond holds (range checks). */
void srec_check(struct srec_r *r, bool cond, const char *why);
/* Every field read, none left over, none out of range. */
bool srec_done(struct srec_r *r);

#endif
