/* The save file: CRC32C, the writer and the checker (lib/savefile.h). */
#include "lib/savefile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fdio.h"

/* ---- CRC32C: slicing-by-8 tables built once, or the SSE4.2 instruction
 * when the CPU has it (guest RAM is the bulk of a file). */

#define CRC32C_POLY 0x82f63b78u /* reflected Castagnoli polynomial */

static uint32_t crc_table[8][256];
static bool crc_ready;
static bool crc_hw;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (CRC32C_POLY & (0u - (c & 1)));
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
#if defined(__x86_64__)
    __builtin_cpu_init();
    crc_hw = __builtin_cpu_supports("sse4.2") && !getenv("STUBVISOR_CRC_SOFT");
#endif
    /* Benign race: every thread computes the same tables. */
    __atomic_store_n(&crc_ready, true, __ATOMIC_RELEASE);
}

static uint32_t crc_soft(uint32_t c, const uint8_t *p, size_t len)
{
    while (len && ((uintptr_t)p & 7)) {
        c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xff];
        len--;
    }
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= c; /* little-endian hosts only (x86, arm64) */
        c = crc_table[7][w & 0xff] ^ crc_table[6][(w >> 8) & 0xff] ^
            crc_table[5][(w >> 16) & 0xff] ^ crc_table[4][(w >> 24) & 0xff] ^
            crc_table[3][(w >> 32) & 0xff] ^ crc_table[2][(w >> 40) & 0xff] ^
            crc_table[1][(w >> 48) & 0xff] ^ crc_table[0][w >> 56];
        p += 8;
        len -= 8;
    }
    while (len--)
        c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xff];
    return c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc_sse42(uint32_t c, const uint8_t *p,
                                                            size_t len)
{
    uint64_t c64 = c;
    while (len && ((uintptr_t)p & 7)) {
        c64 = __builtin_ia32_crc32qi((uint32_t)c64, *p++);
        len--;
    }
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c64 = __builtin_ia32_crc32di(c64, w);
        p += 8;
        len -= 8;
    }
    while (len--)
        c64 = __builtin_ia32_crc32qi((uint32_t)c64, *p++);
    return (uint32_t)c64;
}
#endif

uint32_t savefile_crc32c(uint32_t crc, const void *buf, size_t len)
{
    if (!__atomic_load_n(&crc_ready, __ATOMIC_ACQUIRE))
        crc_init();
    uint32_t c = ~crc;
#if defined(__x86_64__)
    if (crc_hw)
        return ~crc_sse42(c, buf, len);
#endif
    return ~crc_soft(c, buf, len);
}

const char *savefile_type_name(uint32_t type)
{
    switch (type) {
    case SAVEFILE_CONFIG:
        return "CONFIG";
    case SAVEFILE_VM:
        return "VM";
    case SAVEFILE_VCPU:
        return "VCPU";
    case SAVEFILE_MEMORY:
        return "MEMORY";
    case SAVEFILE_DM:
        return "DM";
    case SAVEFILE_END:
        return "END";
    }
    return "unknown";
}

/* ---- Writing */

static int write_all(int fd, const void *buf, size_t len)
{
    if (write_full(fd, buf, len) < 0)
        return errno ? -errno : -EIO;
    return 0;
}

int savefile_begin(int fd)
{
    uint8_t h[SAVEFILE_HEADER_SIZE] = {0};
    memcpy(h, SAVEFILE_MAGIC, SAVEFILE_MAGIC_LEN);
    savefile_put32(h + 16, SAVEFILE_VERSION);
    return write_all(fd, h, sizeof(h));
}

static void section_head(uint8_t *h, uint32_t type, uint64_t len, uint32_t crc)
{
    memset(h, 0, SAVEFILE_SECTION_SIZE);
    savefile_put32(h, type);
    savefile_put64(h + 8, len);
    savefile_put32(h + 16, crc);
}

int savefile_section(int fd, uint32_t type, const void *data, uint64_t len)
{
    uint8_t h[SAVEFILE_SECTION_SIZE];
    if (len > SIZE_MAX)
        return -EFBIG;
    section_head(h, type, len, savefile_crc32c(0, data, (size_t)len));
    int rc = write_all(fd, h, sizeof(h));
    if (!rc && len)
        rc = write_all(fd, data, (size_t)len);
    return rc;
}

int savefile_stream_begin(struct savefile_stream *s, int fd, uint32_t type)
{
    uint8_t h[SAVEFILE_SECTION_SIZE];
    s->fd = fd;
    s->type = type;
    s->crc = 0;
    s->len = 0;
    s->head_off = lseek(fd, 0, SEEK_CUR);
    if (s->head_off < 0)
        return -errno;
    section_head(h, type, 0, 0);
    return write_all(fd, h, sizeof(h));
}

int savefile_stream_append(struct savefile_stream *s, const void *data, size_t len)
{
    s->crc = savefile_crc32c(s->crc, data, len);
    s->len += len;
    return write_all(s->fd, data, len);
}

int savefile_stream_end(struct savefile_stream *s)
{
    uint8_t h[SAVEFILE_SECTION_SIZE];
    section_head(h, s->type, s->len, s->crc);
    ssize_t n = pwrite(s->fd, h, sizeof(h), s->head_off);
    if (n < 0)
        return -errno;
    return n == (ssize_t)sizeof(h) ? 0 : -EIO;
}

/* ---- Records */

int savefile_record_next(const uint8_t *buf, size_t len, size_t *pos, uint32_t *tag,
                         const uint8_t **data, uint32_t *dlen)
{
    size_t p = *pos;
    if (p > len)
        return -EINVAL;
    if (p == len)
        return 0;
    if (len - p < 8)
        return -EINVAL;
    uint32_t l = savefile_le32(buf + p + 4);
    size_t padded = ((size_t)l + 7) & ~(size_t)7;
    if (padded < l || padded > len - p - 8)
        return -EINVAL;
    *tag = savefile_le32(buf + p);
    *dlen = l;
    *data = buf + p + 8;
    *pos = p + 8 + padded;
    return 1;
}

int savefile_record_put(uint8_t **buf, size_t *len, uint32_t tag, const void *data, uint32_t dlen)
{
    size_t padded = ((size_t)dlen + 7) & ~(size_t)7;
    uint8_t *nb = realloc(*buf, *len + 8 + padded);
    if (!nb)
        return -ENOMEM;
    uint8_t *p = nb + *len;
    savefile_put32(p, tag);
    savefile_put32(p + 4, dlen);
    if (dlen)
        memcpy(p + 8, data, dlen);
    memset(p + 8 + dlen, 0, padded - dlen);
    *buf = nb;
    *len += 8 + padded;
    return 0;
}

/* ---- Checking */

struct check {
    int fd;
    char *err;
    size_t errlen;
    struct savefile_summary *sum;
    /* MEMORY runs, parsed while the payload streams past. */
    uint8_t run_head[SAVEFILE_RUN_SIZE];
    size_t run_have;      /* bytes of run_head filled */
    uint64_t run_data;    /* data bytes left in the current run */
    uint64_t mem_next;    /* lowest address the next run may start at */
    const char *run_what; /* why the runs are invalid, or NULL */
};

__attribute__((format(printf, 2, 3))) static int fail(struct check *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->errlen, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* Feed MEMORY payload bytes to the run parser. */
static void runs_feed(struct check *c, const uint8_t *p, size_t len)
{
    while (len && !c->run_what) {
        if (c->run_data) {
            uint64_t n = c->run_data < len ? c->run_data : len;
            c->run_data -= n;
            p += n;
            len -= (size_t)n;
            continue;
        }
        size_t n = SAVEFILE_RUN_SIZE - c->run_have;
        if (n > len)
            n = len;
        memcpy(c->run_head + c->run_have, p, n);
        c->run_have += n;
        p += n;
        len -= n;
        if (c->run_have < SAVEFILE_RUN_SIZE)
            continue;
        c->run_have = 0;
        uint64_t gpa = savefile_le64(c->run_head);
        uint64_t npages = savefile_le64(c->run_head + 8);
        uint64_t mem = c->sum->memory_bytes;
        if (gpa % SAVEFILE_PAGE_SIZE)
            c->run_what = "a run starts inside a page";
        else if (npages == 0)
            c->run_what = "an empty run";
        else if (gpa < c->mem_next)
            c->run_what = "runs overlap or are out of order";
        else if (gpa >= mem || npages > (mem - gpa) / SAVEFILE_PAGE_SIZE)
            c->run_what = "a run lies outside guest memory";
        else {
            c->run_data = npages * SAVEFILE_PAGE_SIZE;
            c->mem_next = gpa + c->run_data;
        }
    }
}

/* Read the payload of one section, crc it, and keep it in *keep if asked
 * (small sections), or feed it to the run parser (MEMORY). */
static int read_payload(struct check *c, uint32_t type, uint64_t off, uint64_t len, uint32_t crc,
                        uint8_t **keep)
{
    const char *name = savefile_type_name(type);
    size_t chunk = 1u << 20;
    uint8_t *buf = NULL;
    uint32_t got = 0;
    int rc = 0;

    if (keep) {
        chunk = len ? (size_t)len : 1;
        *keep = NULL;
    } else if (len < chunk) {
        chunk = len ? (size_t)len : 1;
    }
    buf = malloc(chunk + 1);
    if (!buf)
        return -ENOMEM;
    for (uint64_t done = 0; done < len;) {
        /* Small sections are kept whole: read into place. */
        uint8_t *dst = keep ? buf + done : buf;
        size_t want = len - done < chunk ? (size_t)(len - done) : chunk;
        ssize_t n = pread(c->fd, dst, want, (off_t)(off + done));
        if (n < 0) {
            rc = -errno;
            snprintf(c->err, c->errlen, "reading section %s: %s", name, strerror(errno));
            goto out;
        }
        if (n == 0) {
            rc = fail(c, "truncated in section %s", name);
            goto out;
        }
        got = savefile_crc32c(got, dst, (size_t)n);
        if (type == SAVEFILE_MEMORY)
            runs_feed(c, dst, (size_t)n);
        done += (uint64_t)n;
    }
    if (got != crc) {
        rc = fail(c, "section %s: checksum mismatch", name);
        goto out;
    }
    if (keep) {
        buf[len] = 0;
        *keep = buf;
        buf = NULL;
    }
out:
    free(buf);
    return rc;
}

static int check_vm(struct check *c, const uint8_t *p, uint64_t len)
{
    struct savefile_summary *s = c->sum;
    if (len < sizeof(struct savefile_vm_head))
        return fail(c, "section VM: too short");
    s->memory_bytes = savefile_le64(p);
    s->nr_vcpus = savefile_le32(p + 8);
    s->placement = savefile_le32(p + 12);
    if (!s->memory_bytes || s->memory_bytes % SAVEFILE_PAGE_SIZE ||
        s->memory_bytes > SAVEFILE_MAX_MEMORY)
        return fail(c, "section VM: bad memory size %llu", (unsigned long long)s->memory_bytes);
    if (!s->nr_vcpus || s->nr_vcpus > SAVEFILE_MAX_VCPUS)
        return fail(c, "section VM: bad vCPU count %u", s->nr_vcpus);
    if (s->placement > SAVEFILE_PLACEMENT_INLINE)
        return fail(c, "section VM: unknown placement %u", s->placement);
    size_t pos = sizeof(struct savefile_vm_head);
    uint32_t tag, dlen;
    const uint8_t *d;
    int r;
    while ((r = savefile_record_next(p, (size_t)len, &pos, &tag, &d, &dlen)) > 0)
        ;
    if (r < 0)
        return fail(c, "section VM: a record does not fit");
    return 0;
}

static int check_vcpu(struct check *c, const uint8_t *p, uint64_t len, uint64_t off)
{
    struct savefile_summary *s = c->sum;
    if (len < sizeof(struct savefile_vcpu_head))
        return fail(c, "section VCPU: too short");
    uint32_t id = savefile_le32(p);
    if (id >= s->nr_vcpus)
        return fail(c, "section VCPU: vCPU %u but the VM has %u", id, s->nr_vcpus);
    if (s->vcpu[id].off)
        return fail(c, "duplicate section VCPU for vCPU %u", id);
    size_t pos = sizeof(struct savefile_vcpu_head);
    uint32_t tag, dlen;
    const uint8_t *d;
    int r;
    while ((r = savefile_record_next(p, (size_t)len, &pos, &tag, &d, &dlen)) > 0)
        ;
    if (r < 0)
        return fail(c, "section VCPU %u: a record does not fit", id);
    s->vcpu[id].off = off;
    s->vcpu[id].len = len;
    return 0;
}

/* Order of the sections: each type's rank; VCPU may repeat. */
static int rank(uint32_t type)
{
    return (int)type - 1;
}

static uint64_t max_len(uint32_t type)
{
    switch (type) {
    case SAVEFILE_CONFIG:
        return SAVEFILE_MAX_CONFIG;
    case SAVEFILE_VM:
        return SAVEFILE_MAX_VM;
    case SAVEFILE_VCPU:
        return SAVEFILE_MAX_VCPU;
    case SAVEFILE_MEMORY:
        /* Every page plus one run head per page at worst. */
        return SAVEFILE_MAX_MEMORY + SAVEFILE_MAX_MEMORY / SAVEFILE_PAGE_SIZE * SAVEFILE_RUN_SIZE;
    case SAVEFILE_DM:
        return SAVEFILE_MAX_DM_STATE;
    }
    return 0;
}

int savefile_check(int fd, struct savefile_summary *sum, char *err, size_t errlen)
{
    struct check c = {.fd = fd, .err = err, .errlen = errlen, .sum = sum};
    uint8_t h[SAVEFILE_HEADER_SIZE];
    struct stat st;
    unsigned seen[SAVEFILE_END + 1] = {0};
    int last = -1;
    int rc;

    memset(sum, 0, sizeof(*sum));
    if (errlen)
        err[0] = 0;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot stat the file: %s", strerror(errno));
        return rc;
    }
    if (!S_ISREG(st.st_mode))
        return fail(&c, "not a regular file");
    sum->file_size = (uint64_t)st.st_size;

    ssize_t n = pread(fd, h, sizeof(h), 0);
    if (n < 0) {
        rc = -errno;
        snprintf(err, errlen, "reading the header: %s", strerror(errno));
        return rc;
    }
    if (n < SAVEFILE_MAGIC_LEN || memcmp(h, SAVEFILE_MAGIC, SAVEFILE_MAGIC_LEN))
        return fail(&c, "not a stubvisor save file");
    if (n < (ssize_t)sizeof(h))
        return fail(&c, "truncated in the header");
    sum->version = savefile_le32(h + 16);
    if (sum->version > SAVEFILE_VERSION)
        return fail(&c, "version %u is newer than this stubvisor (%u)", sum->version,
                    SAVEFILE_VERSION);
    if (sum->version != SAVEFILE_VERSION)
        return fail(&c, "unknown version %u", sum->version);
    if (savefile_le32(h + 20) || savefile_le64(h + 24))
        return fail(&c, "unknown header flags");

    uint64_t off = SAVEFILE_HEADER_SIZE;
    for (;;) {
        uint8_t s[SAVEFILE_SECTION_SIZE];
        if (off == sum->file_size) {
            rc = fail(&c, "truncated: the END section is missing");
            goto fail;
        }
        n = pread(fd, s, sizeof(s), (off_t)off);
        if (n < 0) {
            rc = -errno;
            snprintf(err, errlen, "reading a section header: %s", strerror(errno));
            goto fail;
        }
        if (n < (ssize_t)sizeof(s)) {
            rc = fail(&c, "truncated in a section header");
            goto fail;
        }
        uint32_t type = savefile_le32(s);
        uint64_t len = savefile_le64(s + 8);
        uint32_t crc = savefile_le32(s + 16);
        const char *name = savefile_type_name(type);
        if (type < SAVEFILE_CONFIG || type > SAVEFILE_END) {
            rc = fail(&c, "unknown section type %u", type);
            goto fail;
        }
        if (savefile_le32(s + 4) || savefile_le32(s + 20)) {
            rc = fail(&c, "section %s: unknown flags", name);
            goto fail;
        }
        if (seen[type] && type != SAVEFILE_VCPU) {
            rc = fail(&c, "duplicate section %s", name);
            goto fail;
        }
        if (rank(type) < last) {
            rc = fail(&c, "section %s out of order", name);
            goto fail;
        }
        /* Every section before this one must be there. */
        for (uint32_t t = SAVEFILE_CONFIG; t < type; t++)
            if (!seen[t]) {
                rc = fail(&c, "section %s missing", savefile_type_name(t));
                goto fail;
            }
        if (len > max_len(type)) {
            rc = fail(&c, "section %s: %llu bytes is more than allowed", name,
                      (unsigned long long)len);
            goto fail;
        }
        uint64_t poff = off + SAVEFILE_SECTION_SIZE;
        if (len > sum->file_size - poff) {
            rc = fail(&c, "truncated in section %s", name);
            goto fail;
        }
        seen[type]++;
        last = rank(type);

        uint8_t *keep = NULL;
        bool small = type == SAVEFILE_CONFIG || type == SAVEFILE_VM || type == SAVEFILE_VCPU;
        rc = read_payload(&c, type, poff, len, crc, small ? &keep : NULL);
        if (rc < 0)
            goto fail;
        switch (type) {
        case SAVEFILE_CONFIG:
            if (memchr(keep, 0, (size_t)len)) {
                free(keep);
                rc = fail(&c, "section CONFIG: a NUL byte in the text");
                goto fail;
            }
            sum->config = (char *)keep;
            sum->config_len = (size_t)len;
            keep = NULL;
            break;
        case SAVEFILE_VM:
            rc = check_vm(&c, keep, len);
            sum->vm.off = poff;
            sum->vm.len = len;
            break;
        case SAVEFILE_VCPU:
            rc = check_vcpu(&c, keep, len, poff);
            break;
        case SAVEFILE_MEMORY:
            if (c.run_what)
                rc = fail(&c, "section MEMORY: %s", c.run_what);
            else if (c.run_have || c.run_data)
                rc = fail(&c, "section MEMORY: the last run is cut short");
            sum->memory.off = poff;
            sum->memory.len = len;
            break;
        case SAVEFILE_DM:
            sum->dm.off = poff;
            sum->dm.len = len;
            break;
        case SAVEFILE_END:
            if (len)
                rc = fail(&c, "section END is not empty");
            break;
        }
        free(keep);
        if (rc < 0)
            goto fail;
        off = poff + len;
        if (type == SAVEFILE_END)
            break;
    }
    if (seen[SAVEFILE_VCPU] != sum->nr_vcpus) {
        rc = fail(&c, "%u VCPU sections for %u vCPUs", seen[SAVEFILE_VCPU], sum->nr_vcpus);
        goto fail;
    }
    if (off != sum->file_size) {
        rc = fail(&c, "%llu bytes after the END section",
                  (unsigned long long)(sum->file_size - off));
        goto fail;
    }
    return 0;

fail:
    savefile_summary_free(sum);
    return rc;
}

void savefile_summary_free(struct savefile_summary *sum)
{
    free(sum->config);
    sum->config = NULL;
    sum->config_len = 0;
}

int savefile_read_payload(int fd, const struct savefile_extent *ext, uint8_t **out)
{
    *out = NULL;
    if (ext->len > SAVEFILE_MAX_DM_STATE)
        return -EFBIG;
    uint8_t h[SAVEFILE_SECTION_SIZE];
    if (ext->off < SAVEFILE_SECTION_SIZE)
        return -EINVAL;
    ssize_t n = pread(fd, h, sizeof(h), (off_t)(ext->off - SAVEFILE_SECTION_SIZE));
    if (n != (ssize_t)sizeof(h))
        return n < 0 ? -errno : -EIO;
    if (savefile_le64(h + 8) != ext->len)
        return -EIO;
    uint8_t *buf = malloc(ext->len ? (size_t)ext->len : 1);
    if (!buf)
        return -ENOMEM;
    n = pread(fd, buf, (size_t)ext->len, (off_t)ext->off);
    if (n != (ssize_t)ext->len ||
        savefile_crc32c(0, buf, (size_t)ext->len) != savefile_le32(h + 16)) {
        int rc = n < 0 ? -errno : -EIO;
        free(buf);
        return rc;
    }
    *out = buf;
    return 0;
}
