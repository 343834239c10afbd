/* The store's on-disk format: one record codec for the state file (a
 * snapshot) and the journal (the changes since).  See docs/store.md,
 * "Durability", for the layout; store/persist.c for how it is used.
 *
 * Everything read back is untrusted (a damaged disk, a crash mid-write):
 * the decoder checks framing, checksums and every field, and reports a
 * reason instead of guessing.  Integers are little-endian on disk.
 */
#ifndef STUBSTORED_RECORD_H
#define STUBSTORED_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* ---- file header ----------------------------------------------------------- */

#define REC_MAGIC_STATE   "STUBXSS1"
#define REC_MAGIC_JOURNAL "STUBXSJ1"
#define REC_VERSION       1
#define REC_FILE_HEADER   40 /* magic 8, version 4, flags 4, gen 8, seq 8, pad 4, crc 4 */

struct rec_file_header {
    bool journal; /* which magic */
    uint64_t gen; /* state: first journal generation not in it; journal: its own */
    uint64_t seq; /* state: first record number after it; journal: of its first record */
};

void rec_file_header_encode(uint8_t out[REC_FILE_HEADER], const struct rec_file_header *h);
/* 0, or -1 with a reason in why (magic, version, checksum). */
int rec_file_header_decode(const uint8_t *data, size_t len, struct rec_file_header *h, char *why,
                           size_t whylen);

/* ---- records ---------------------------------------------------------------- */

#define REC_HEADER 20 /* len 4, type 1, pad 3, seq 8, crc 4 */
#define REC_PAYLOAD_MAX                                                                            \
    (16 * 1024) /* a node: path, value, ACL; all bounded by 4096-byte messages */

enum rec_type {
    /* Snapshot (state file). */
    REC_NODE = 1, /* path, perms, value: a whole node, parents first */
    REC_END = 2,  /* u64 number of records before it: the file is complete */
    /* Journal: changes to the tree, as tree.c makes them. */
    REC_CREATE = 3, /* path, perms: a new empty node under an existing parent */
    REC_VALUE = 4,  /* path, value */
    REC_PERMS = 5,  /* path, perms */
    REC_REMOVE = 6, /* path: the node and everything below it */
    /* Both: domains (introduced; the connection is not state) and their watches. */
    REC_DOMAIN = 7,      /* u32 domid, u32 target (NO_DOMID for none) */
    REC_RELEASE = 8,     /* u32 domid */
    REC_WATCH = 9,       /* u32 domid, u32 strip, path, token */
    REC_UNWATCH = 10,    /* u32 domid, path, token */
    REC_UNWATCH_ALL = 11 /* u32 domid: its connection ended */
};

/* One decoded record; strings point into the decoded buffer (not
 * NUL-terminated: use the lengths). */
struct rec {
    enum rec_type type;
    uint64_t seq;
    const char *path, *token, *value;
    uint32_t path_len, token_len, value_len;
    uint32_t nperms;
    uint32_t domid, target, strip;
    uint64_t count;
    struct perm perms[XS_PAYLOAD_MAX / 2]; /* last: not cleared between records */
};

/* Append one record to b.  rec_begin() starts it and returns its offset,
 * the put_* calls add fields, rec_finish() fills the length and checksum.
 * ENOMEM leaves b as it was before rec_begin() once rec_abandon() is
 * called; callers check the sticky error with rec_failed(). */
struct rec_writer {
    struct buf *b;
    size_t start;
    bool failed;
};

void rec_begin(struct rec_writer *w, struct buf *b, enum rec_type type);
void rec_put_u32(struct rec_writer *w, uint32_t v);
void rec_put_u64(struct rec_writer *w, uint64_t v);
void rec_put_bytes(struct rec_writer *w, const void *data, size_t len);
void rec_put_perms(struct rec_writer *w, const struct perm *p, uint32_t n);
/* Finish with sequence number seq; 0, or ENOMEM (b is back as it was). */
int rec_finish(struct rec_writer *w, uint64_t seq);

enum rec_result {
    REC_OK,  /* *r holds the next record; *off moved past it */
    REC_EOF, /* nothing left */
    REC_BAD, /* not a valid record at *off: why says what */
};

/* Decode the record at data + *off (len bytes in all). */
enum rec_result rec_decode(const uint8_t *data, size_t len, size_t *off, struct rec *r, char *why,
                           size_t whylen);

/* After a bad record at `off`: does any valid record start later in the
 * data?  A torn tail (the end of a write cut short) has none; damage in
 * the middle of a file does. */
bool rec_valid_record_after(const uint8_t *data, size_t len, size_t off);

/* A canonical absolute path as the store keeps them ("/", "/a/b"). */
bool rec_path_valid(const char *path, size_t len);

#endif
