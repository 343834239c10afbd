/* The save file: a guest's memory, vCPUs, in-kernel devices and device model
 * state, written by stubctl (header, CONFIG) and stubvmm (the rest), read
 * back by `stubctl restore` and `stubvmm --restore-fd`.  docs/savefile.md
 * describes it byte by byte.
 *
 * All integers are little-endian.  A header, then sections, each with its
 * own CRC32C so that a flipped byte is found before anything is started:
 *
 *   header   magic[16] "STUBVISOR-SAVE\0\0", u32 version, u32 flags,
 *            u64 reserved                                         (32 bytes)
 *   section  u32 type, u32 flags, u64 length, u32 crc32c(payload),
 *            u32 reserved, then `length` bytes of payload          (24 + len)
 *
 * Sections, in this order: CONFIG, VM, VCPU (one per vCPU), MEMORY, DM, END.
 * The VM and VCPU payloads start with a fixed head and go on with records
 * (u32 tag, u32 length, data), see savefile_record_next(). */
#ifndef STUBVISOR_SAVEFILE_H
#define STUBVISOR_SAVEFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SAVEFILE_MAGIC     "STUBVISOR-SAVE\0\0"
#define SAVEFILE_MAGIC_LEN 16
#define SAVEFILE_VERSION   1u

enum savefile_type {
    SAVEFILE_CONFIG = 1, /* the domain's config text (stubctl) */
    SAVEFILE_VM = 2,     /* struct savefile_vm_head, then records */
    SAVEFILE_VCPU = 3,   /* struct savefile_vcpu_head, then records */
    SAVEFILE_MEMORY = 4, /* runs: u64 gpa, u64 npages, npages * 4096 bytes */
    SAVEFILE_DM = 5,     /* the device model's blob, opaque here */
    SAVEFILE_END = 6,    /* empty, last */
};

/* Limits applied to every file read, whoever wrote it. */
#define SAVEFILE_MAX_DM_STATE (16u << 20)
#define SAVEFILE_MAX_CONFIG   (1u << 20)
#define SAVEFILE_MAX_VM       (1u << 20)
#define SAVEFILE_MAX_VCPU     (1u << 20)
#define SAVEFILE_MAX_VCPUS    256u
#define SAVEFILE_PAGE_SIZE    4096u
/* Guest RAM: whole pages, at most 1 TiB. */
#define SAVEFILE_MAX_MEMORY (1ull << 40)

#define SAVEFILE_HEADER_SIZE  32u
#define SAVEFILE_SECTION_SIZE 24u
#define SAVEFILE_RUN_SIZE     16u

/* VM payload head (16 bytes), then records. */
struct savefile_vm_head {
    uint64_t memory_bytes; /* guest RAM size, a multiple of the page size */
    uint32_t nr_vcpus;     /* 1 .. SAVEFILE_MAX_VCPUS */
    uint32_t placement;    /* enum savefile_placement */
};

enum savefile_placement {
    SAVEFILE_PLACEMENT_STUBDOM = 0,
    SAVEFILE_PLACEMENT_PROCESS = 1,
    SAVEFILE_PLACEMENT_INLINE = 2,
};

/* VCPU payload head (8 bytes), then records. */
struct savefile_vcpu_head {
    uint32_t id; /* 0 .. nr_vcpus - 1, each once */
    uint32_t reserved;
};

/* Section type's name ("MEMORY"), or "unknown". */
const char *savefile_type_name(uint32_t type);

/* CRC32C (Castagnoli), continued from `crc` (0 to start). */
uint32_t savefile_crc32c(uint32_t crc, const void *buf, size_t len);

/* --- Writing.  Every function writes at the descriptor's current offset
 * and returns 0 or -errno. */

/* The file header. */
int savefile_begin(int fd);

/* One whole section. */
int savefile_section(int fd, uint32_t type, const void *data, uint64_t len);

/* A section written piece by piece (MEMORY): the header is written with a
 * zero length and crc, then patched by savefile_stream_end().  The
 * descriptor must be seekable. */
struct savefile_stream {
    int fd;
    uint32_t type;
    uint32_t crc;
    uint64_t len;
    off_t head_off;
};
int savefile_stream_begin(struct savefile_stream *s, int fd, uint32_t type);
int savefile_stream_append(struct savefile_stream *s, const void *data, size_t len);
int savefile_stream_end(struct savefile_stream *s);

/* --- Reading. */

/* Where a section's payload is in the file. */
struct savefile_extent {
    uint64_t off; /* of the payload */
    uint64_t len;
};

struct savefile_summary {
    char *config; /* NUL-terminated copy of CONFIG (malloc'd) */
    size_t config_len;
    uint64_t memory_bytes;
    uint32_t nr_vcpus;
    uint32_t placement;
    uint32_t version;
    uint64_t file_size;
    struct savefile_extent vm;
    struct savefile_extent vcpu[SAVEFILE_MAX_VCPUS]; /* by vCPU id */
    struct savefile_extent memory;
    struct savefile_extent dm;
};

/* Walk the whole file from offset 0 (pread: the descriptor's offset is not
 * moved) and check everything: magic, version, flags, each section's bounds,
 * limits and crc, the order CONFIG VM VCPU.. MEMORY DM END with each section
 * once (VCPU once per id, ids below the VM's count), MEMORY runs within the
 * guest's RAM and in ascending order, nothing after END.  Returns 0 and
 * fills *sum (release it with savefile_summary_free()), or -EINVAL with a
 * sentence in err ("truncated in section MEMORY", ...), or another -errno
 * when reading fails. */
int savefile_check(int fd, struct savefile_summary *sum, char *err, size_t errlen);
void savefile_summary_free(struct savefile_summary *sum);

/* Read a whole section payload (already checked) into a malloc'd buffer and
 * check its crc again.  0 or -errno. */
int savefile_read_payload(int fd, const struct savefile_extent *ext, uint8_t **out);

/* Records inside the VM and VCPU payloads: u32 tag, u32 length, then
 * `length` bytes, padded with zeros to a multiple of 8.  Walk them with
 * *pos starting after the head: returns 1 and the record, 0 at the end of
 * buf, -EINVAL when a record does not fit. */
int savefile_record_next(const uint8_t *buf, size_t len, size_t *pos, uint32_t *tag,
                         const uint8_t **data, uint32_t *dlen);
/* Append a record to a growing buffer (realloc'd).  0 or -ENOMEM. */
int savefile_record_put(uint8_t **buf, size_t *len, uint32_t tag, const void *data, uint32_t dlen);

/* Little-endian helpers. */
static inline uint32_t savefile_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t savefile_le64(const uint8_t *p)
{
    return (uint64_t)savefile_le32(p) | (uint64_t)savefile_le32(p + 4) << 32;
}
static inline void savefile_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void savefile_put64(uint8_t *p, uint64_t v)
{
    savefile_put32(p, (uint32_t)v);
    savefile_put32(p + 4, (uint32_t)(v >> 32));
}

#endif
