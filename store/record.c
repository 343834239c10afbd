/* The record codec of the state file and the journal: see record.h. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "lib/savefile.h"
#include "store/record.h"

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
    return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

/* ---- file header ----------------------------------------------------------- */

void rec_file_header_encode(uint8_t out[REC_FILE_HEADER], const struct rec_file_header *h)
{
    memset(out, 0, REC_FILE_HEADER);
    memcpy(out, h->journal ? REC_MAGIC_JOURNAL : REC_MAGIC_STATE, 8);
    put_le32(out + 8, REC_VERSION);
    put_le64(out + 16, h->gen);
    put_le64(out + 24, h->seq);
    put_le32(out + 36, savefile_crc32c(0, out, 36));
}

int rec_file_header_decode(const uint8_t *data, size_t len, struct rec_file_header *h, char *why,
                           size_t whylen)
{
    if (len < REC_FILE_HEADER) {
        snprintf(why, whylen, "shorter than its %d-byte header", REC_FILE_HEADER);
        return -1;
    }
    if (memcmp(data, REC_MAGIC_STATE, 8) == 0)
        h->journal = false;
    else if (memcmp(data, REC_MAGIC_JOURNAL, 8) == 0)
        h->journal = true;
    else {
        snprintf(why, whylen, "not a store state or journal file (bad magic)");
        return -1;
    }
    if (get_le32(data + 36) != savefile_crc32c(0, data, 36)) {
        snprintf(why, whylen, "header checksum mismatch");
        return -1;
    }
    if (get_le32(data + 8) != REC_VERSION || get_le32(data + 12) != 0 || get_le32(data + 32) != 0) {
        snprintf(why, whylen, "format version %u, this store reads %d", get_le32(data + 8),
                 REC_VERSION);
        return -1;
    }
    h->gen = get_le64(data + 16);
    h->seq = get_le64(data + 24);
    return 0;
}

/* ---- writing -------------------------------------------------------------- */

static void put(struct rec_writer *w, const void *data, size_t len)
{
    if (!w->failed && buf_append(w->b, data, len))
        w->failed = true;
}

void rec_begin(struct rec_writer *w, struct buf *b, enum rec_type type)
{
    uint8_t h[REC_HEADER] = {0};
    w->b = b;
    w->start = b->len;
    w->failed = false;
    h[4] = (uint8_t)type;
    put(w, h, sizeof(h));
}

void rec_put_u32(struct rec_writer *w, uint32_t v)
{
    uint8_t p[4];
    put_le32(p, v);
    put(w, p, 4);
}

void rec_put_u64(struct rec_writer *w, uint64_t v)
{
    uint8_t p[8];
    put_le64(p, v);
    put(w, p, 8);
}

void rec_put_bytes(struct rec_writer *w, const void *data, size_t len)
{
    rec_put_u32(w, (uint32_t)len);
    put(w, data, len);
}

void rec_put_perms(struct rec_writer *w, const struct perm *p, uint32_t n)
{
    rec_put_u32(w, n);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t e[5];
        put_le32(e, p[i].id);
        e[4] = p[i].bits;
        put(w, e, sizeof(e));
    }
}

int rec_finish(struct rec_writer *w, uint64_t seq)
{
    size_t len = w->b->len - w->start;
    if (w->failed || len - REC_HEADER > REC_PAYLOAD_MAX) {
        w->b->len = w->start;
        return ENOMEM;
    }
    uint8_t *h = (uint8_t *)w->b->data + w->start;
    put_le32(h, (uint32_t)(len - REC_HEADER));
    put_le64(h + 8, seq);
    uint32_t crc = savefile_crc32c(0, h, 16);
    crc = savefile_crc32c(crc, h + REC_HEADER, len - REC_HEADER);
    put_le32(h + 16, crc);
    return 0;
}

/* ---- reading ----------------------------------------------------------------- */

static bool path_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '/' || c == '_' || c == '@';
}

bool rec_path_valid(const char *path, size_t len)
{
    if (len == 0 || len > XS_PAYLOAD_MAX || path[0] != '/')
        return false;
    if (len == 1)
        return true;
    if (path[len - 1] == '/')
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!path_char(path[i]))
            return false;
        if (path[i] == '/' && path[i + 1] == '/')
            return false;
    }
    return true;
}

/* A watch's path: canonical, or a special name ("@releaseDomain"). */
static bool watch_path_valid(const char *path, size_t len)
{
    if (len > 1 && path[0] == '@') {
        for (size_t i = 1; i < len; i++)
            if (path[i] == '/' || path[i] == '\0')
                return false;
        return true;
    }
    return rec_path_valid(path, len);
}

struct reader {
    const uint8_t *p;
    size_t left;
    const char *bad; /* first problem, or NULL */
};

static uint32_t rd_u32(struct reader *rd)
{
    if (rd->left < 4) {
        rd->bad = rd->bad ? rd->bad : "record too short for its fields";
        return 0;
    }
    uint32_t v = get_le32(rd->p);
    rd->p += 4;
    rd->left -= 4;
    return v;
}

static uint64_t rd_u64(struct reader *rd)
{
    uint64_t lo = rd_u32(rd);
    return lo | (uint64_t)rd_u32(rd) << 32;
}

static const char *rd_bytes(struct reader *rd, uint32_t *len, uint32_t max)
{
    uint32_t n = rd_u32(rd);
    if (rd->bad)
        return NULL;
    if (n > max || n > rd->left) {
        rd->bad = "a string longer than allowed or than its record";
        return NULL;
    }
    const char *s = (const char *)rd->p;
    rd->p += n;
    rd->left -= n;
    *len = n;
    return s;
}

static void rd_path(struct reader *rd, struct rec *r)
{
    r->path = rd_bytes(rd, &r->path_len, XS_PAYLOAD_MAX);
    if (!rd->bad && !rec_path_valid(r->path, r->path_len))
        rd->bad = "an invalid path";
}

static void rd_perms(struct reader *rd, struct rec *r)
{
    uint32_t n = rd_u32(rd);
    if (rd->bad)
        return;
    if (n == 0 || n > sizeof(r->perms) / sizeof(r->perms[0]) || (uint64_t)n * 5 > rd->left) {
        rd->bad = "an invalid permission count";
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        r->perms[i].id = get_le32(rd->p);
        r->perms[i].bits = rd->p[4];
        if (r->perms[i].id > DOMID_MAX || r->perms[i].bits > (PERM_READ | PERM_WRITE)) {
            rd->bad = "an invalid permission entry";
            return;
        }
        rd->p += 5;
        rd->left -= 5;
    }
    r->nperms = n;
}

/* A domain id: 1..DOMID_MAX, or for a target also 0 and NO_DOMID (none). */
static uint32_t rd_domid(struct reader *rd, bool target)
{
    uint32_t v = rd_u32(rd);
    bool ok = target ? v <= DOMID_MAX || v == NO_DOMID : v != 0 && v <= DOMID_MAX;
    if (!rd->bad && !ok)
        rd->bad = "an invalid domain id";
    return v;
}

/* Decode the fields of a record whose framing and checksum are good. */
static const char *decode_fields(struct rec *r, const uint8_t *p, size_t len)
{
    struct reader rd = {p, len, NULL};
    switch (r->type) {
    case REC_NODE:
        rd_path(&rd, r);
        rd_perms(&rd, r);
        r->value = rd_bytes(&rd, &r->value_len, XS_PAYLOAD_MAX);
        break;
    case REC_END:
        r->count = rd_u64(&rd);
        break;
    case REC_CREATE:
    case REC_PERMS:
        rd_path(&rd, r);
        rd_perms(&rd, r);
        break;
    case REC_VALUE:
        rd_path(&rd, r);
        r->value = rd_bytes(&rd, &r->value_len, XS_PAYLOAD_MAX);
        break;
    case REC_REMOVE:
        rd_path(&rd, r);
        if (!rd.bad && r->path_len == 1)
            rd.bad = "removal of the root";
        break;
    case REC_DOMAIN:
        r->domid = rd_domid(&rd, false);
        r->target = rd_domid(&rd, true);
        break;
    case REC_RELEASE:
    case REC_UNWATCH_ALL:
        r->domid = rd_domid(&rd, false);
        break;
    case REC_WATCH:
    case REC_UNWATCH:
        r->domid = rd_domid(&rd, false);
        r->strip = r->type == REC_WATCH ? rd_u32(&rd) : 0;
        r->path = rd_bytes(&rd, &r->path_len, XS_PAYLOAD_MAX);
        if (!rd.bad && !watch_path_valid(r->path, r->path_len))
            rd.bad = "an invalid watch path";
        r->token = rd_bytes(&rd, &r->token_len, XS_PAYLOAD_MAX);
        if (!rd.bad && (memchr(r->token, '\0', r->token_len) || r->strip > r->path_len))
            rd.bad = "an invalid watch token";
        break;
    default:
        return "an unknown record type";
    }
    if (!rd.bad && rd.left)
        rd.bad = "bytes left over after the record's fields";
    return rd.bad;
}

/* Framing and checksum only: the payload length, or -1 with *why. */
static long frame(const uint8_t *data, size_t len, size_t off, const char **why)
{
    if (len - off < REC_HEADER) {
        *why = "a record header cut short";
        return -1;
    }
    const uint8_t *h = data + off;
    uint32_t plen = get_le32(h);
    if (plen > REC_PAYLOAD_MAX || h[4] == 0 || h[4] > REC_UNWATCH_ALL || h[5] || h[6] || h[7]) {
        *why = "a malformed record header";
        return -1;
    }
    if (len - off - REC_HEADER < plen) {
        *why = "a record cut short";
        return -1;
    }
    uint32_t crc = savefile_crc32c(0, h, 16);
    crc = savefile_crc32c(crc, h + REC_HEADER, plen);
    if (crc != get_le32(h + 16)) {
        *why = "a record checksum mismatch";
        return -1;
    }
    return (long)plen;
}

enum rec_result rec_decode(const uint8_t *data, size_t len, size_t *off, struct rec *r, char *why,
                           size_t whylen)
{
    const char *bad = NULL;
    if (*off >= len)
        return REC_EOF;
    long plen = frame(data, len, *off, &bad);
    if (plen >= 0) {
        const uint8_t *h = data + *off;
        memset(r, 0, offsetof(struct rec, perms));
        r->type = (enum rec_type)h[4];
        r->seq = get_le64(h + 8);
        bad = decode_fields(r, h + REC_HEADER, (size_t)plen);
    }
    if (bad) {
        snprintf(why, whylen, "%s", bad);
        return REC_BAD;
    }
    *off += REC_HEADER + (size_t)plen;
    return REC_OK;
}

bool rec_valid_record_after(const uint8_t *data, size_t len, size_t off)
{
    const char *why;
    for (size_t o = off + 1; o + REC_HEADER <= len; o++)
        if (frame(data, len, o, &why) >= 0)
            return true;
    return false;
}
