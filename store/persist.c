/* Durability: the state folder, its state file and journal, group commit
 * and compaction.
 *
 * The hard invariant: nothing leaves the store -- no reply, no watch event
 * -- until every change made before it was queued is durable: written to
 * the journal file and fdatasync'ed.  So whatever a client was told
 * survives any end of the process (crash, kill -9, upgrade), and a client
 * can never have seen a value that a restarted store has forgotten.
 *
 * How: every change to the tree, the domains or a domain's watches is
 * encoded as a journal record at the moment it is made (tree.c, domain.c,
 * watch.c call journal_*()).  Records only go into a memory buffer; the
 * journal's logical end, persist_position(), grows with them.  Output
 * queued by conn_send() carries the position at that moment and waits in
 * the connection's buffer until persist_durable() has reached it.  At the
 * end of each round of the event loop, persist_commit() writes the buffer
 * with one write() and asks the sync thread for one fdatasync() covering
 * it; the loop goes on serving meanwhile (the next round's changes gather
 * in the buffer: group commit), and when the sync is done the thread wakes
 * the loop through an eventfd and the waiting output is released.
 *
 * Worked examples (A, B clients; J the journal's logical end, D durable):
 *   1. A writes /x (record at J 0->60); the reply is queued needing 60.
 *      End of round: write(), sync requested.  D becomes 60: A's reply
 *      leaves.  kill -9 before that: A never got a reply, and /x may or
 *      may not be there after the restart -- both are truthful.
 *   2. A writes /x (J 60); in the same round B reads /x: B's reply needs
 *      60 too, so B cannot see "x" before it is durable.
 *   3. A pipelines 64 WRITEs: 64 records, one write(), one fdatasync(), 64
 *      replies released together.  While that sync runs, A's next 64 are
 *      served into the buffer and synced by the next one.
 *   4. B only reads while nothing is pending: its reply needs J, which
 *      equals D already, so it leaves at once (reads cost no sync).
 *   5. A watch fires on A's write: the event is queued needing the same
 *      position as A's reply, so a watcher never hears of a change before
 *      it is durable.
 *   6. The state folder is on tmpfs (/run, the default, on a host): there
 *      fdatasync() has nothing to do -- the page cache is the storage --
 *      so a record is durable once write() returned, and the output it
 *      held back leaves in the same round, without the sync thread.  A
 *      crash of the store, kill -9 or an upgrade lose nothing written; the
 *      host going down ends its guests and /run with them.
 *   7. The journal cannot be written or synced (disk full, I/O error), or
 *      a record cannot be encoded (out of memory): the store exits (111)
 *      without releasing anything more.  What it told anyone is on disk;
 *      what it did not is lost with it, which is allowed.
 *
 * Files (docs/store.md): `state` -- a snapshot, complete up to journal
 * generation G and record number S (from its header); `journal.<g>` for
 * g >= G -- the records since, numbered on from S without a gap; `lock`
 * -- flock()ed by the running store.  At start: load `state`, replay the
 * journals in order, start `journal.<last+1>`.  A record that fails its
 * checksum at the end of a journal is a torn tail (a write cut short):
 * nothing after it was acknowledged -- its sync never completed -- so it is
 * discarded, and the file truncated there.  Damage followed by valid
 * records, a gap in the numbering, a record that does not apply, or any
 * damage to `state` is refused: the store does not start rather than serve
 * a state it cannot vouch for.
 *
 * Compaction: when the journal has grown past max(4 MiB, twice the state
 * file), the store starts a new journal generation and forks; the child
 * writes the state as it was at that moment (copy-on-write) to state.tmp,
 * syncs it and renames it over `state`; then the parent deletes the older
 * journals.  A crash at any point leaves a complete old or new `state` and
 * every journal the start-up needs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/log.h"
#include "store/persist.h"
#include "store/record.h"

#define COMPACT_MAX_FILES 8 /* journals kept before a compaction, e.g. after restarts */
#define LOCK_WAIT_MS      2000

struct persist {
    char *dir;
    int dirfd, lockfd, jfd, event_fd;
    uint64_t jgen;     /* generation of the open journal */
    uint64_t next_seq; /* number of the next record */
    struct buf pending;
    uint64_t appended, written, durable; /* logical journal positions */
    uint64_t journal_bytes;              /* in journals not covered by `state` */
    uint64_t jfile_bytes;                /* in the open journal */
    unsigned journal_files;
    uint64_t compact_after;
    uint64_t compact_min; /* compact_after is at least this */
    bool failed;
    bool needs_sync; /* false on tmpfs: write() is all the durability there is */
    /* The sync thread. */
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t sync_want, sync_done;
    int sync_err;
    bool syncing, stop;
    /* A compaction in progress. */
    pid_t child;
    uint64_t child_gen;
};

/* ---- the journal ----------------------------------------------------------- */

uint64_t persist_position(const struct persist *p)
{
    return p ? p->appended : 0;
}

uint64_t persist_durable(const struct persist *p)
{
    return p ? p->durable : 0;
}

bool persist_pending(const struct store *s)
{
    return s->persist && s->persist->pending.len > 0;
}

static void journal_finish(struct persist *p, struct rec_writer *w)
{
    size_t before = w->start;
    if (rec_finish(w, p->next_seq)) {
        p->failed = true;
        return;
    }
    p->next_seq++;
    p->appended += p->pending.len - before;
}

/* Start a journal record; false when nothing is journaled. */
static bool journal_begin(struct persist *p, struct rec_writer *w, enum rec_type type)
{
    if (!p)
        return false;
    rec_begin(w, &p->pending, type);
    return true;
}

/* A record of a path and an ACL (creation, new permissions). */
static void journal_path_perms(struct persist *p, enum rec_type type, const char *path, size_t len,
                               const struct perm *perms, uint32_t n)
{
    struct rec_writer w;
    if (!journal_begin(p, &w, type))
        return;
    rec_put_bytes(&w, path, len);
    rec_put_perms(&w, perms, n);
    journal_finish(p, &w);
}

/* A record of a path and a byte string (a value, or none). */
static void journal_path_bytes(struct persist *p, enum rec_type type, const char *path, size_t len,
                               const char *bytes, size_t blen, bool with_bytes)
{
    struct rec_writer w;
    if (!journal_begin(p, &w, type))
        return;
    rec_put_bytes(&w, path, len);
    if (with_bytes)
        rec_put_bytes(&w, bytes, blen);
    journal_finish(p, &w);
}

/* A record of a domain id (and a second number). */
static void journal_domid(struct persist *p, enum rec_type type, uint32_t domid,
                          const uint32_t *second)
{
    struct rec_writer w;
    if (!journal_begin(p, &w, type))
        return;
    rec_put_u32(&w, domid);
    if (second)
        rec_put_u32(&w, *second);
    journal_finish(p, &w);
}

void journal_create(struct persist *p, const char *path, size_t len, const struct perm *perms,
                    uint32_t n)
{
    journal_path_perms(p, REC_CREATE, path, len, perms, n);
}

void journal_value(struct persist *p, const char *path, size_t len, const char *value, size_t vlen)
{
    journal_path_bytes(p, REC_VALUE, path, len, value, vlen, true);
}

void journal_perms(struct persist *p, const char *path, size_t len, const struct perm *perms,
                   uint32_t n)
{
    journal_path_perms(p, REC_PERMS, path, len, perms, n);
}

void journal_remove(struct persist *p, const char *path, size_t len)
{
    journal_path_bytes(p, REC_REMOVE, path, len, NULL, 0, false);
}

void journal_domain(struct persist *p, uint32_t domid, uint32_t target)
{
    journal_domid(p, REC_DOMAIN, domid, &target);
}

void journal_release(struct persist *p, uint32_t domid)
{
    journal_domid(p, REC_RELEASE, domid, NULL);
}

void journal_unwatch_all(struct persist *p, uint32_t domid)
{
    journal_domid(p, REC_UNWATCH_ALL, domid, NULL);
}

/* Watch records: domain, [strip,] path, token. */
static void journal_watch_record(struct persist *p, enum rec_type type, uint32_t domid,
                                 const uint32_t *strip, const char *path, const char *token)
{
    struct rec_writer w;
    if (!journal_begin(p, &w, type))
        return;
    rec_put_u32(&w, domid);
    if (strip)
        rec_put_u32(&w, *strip);
    rec_put_bytes(&w, path, strlen(path));
    rec_put_bytes(&w, token, strlen(token));
    journal_finish(p, &w);
}

void journal_watch(struct persist *p, uint32_t domid, const struct watch *wt)
{
    uint32_t strip = (uint32_t)wt->strip;
    journal_watch_record(p, REC_WATCH, domid, &strip, wt->path, wt->token);
}

void journal_unwatch(struct persist *p, uint32_t domid, const char *path, const char *token)
{
    journal_watch_record(p, REC_UNWATCH, domid, NULL, path, token);
}

/* ---- loading: applying records to a store ------------------------------------ */

/* A snapshot lists parents first, each child right after its parent or
 * its previous sibling's subtree: the parent of a node is nearly always
 * `last` or one of its ancestors, found without a hash lookup. */
static struct node *parent_near(struct tree *t, struct node *last, const char *path, size_t len)
{
    size_t plen = len;
    while (plen > 0 && path[plen - 1] != '/')
        plen--;
    plen = plen > 1 ? plen - 1 : 1;
    for (struct node *nd = last; nd; nd = nd->parent)
        if (nd->h.keylen == plen && memcmp(nd->h.key, path, plen) == 0)
            return nd;
    return tree_lookup(t, path, plen);
}

/* A snapshot's node: created (after checking it is not listed twice) and
 * given its value; NULL, or what is wrong. */
static const char *load_node(struct tree *t, const struct rec *r, struct node **last)
{
    struct node *nd = t->root;
    if (r->path_len == 1) {
        /* The root always exists: a snapshot only gives its contents. */
        if (tree_set_perms(t, nd, r->perms, r->nperms) ||
            tree_set_value(t, nd, r->value, r->value_len))
            return "out of memory";
        *last = nd;
        return NULL;
    }
    uint32_t hash = shash_hash(r->path, r->path_len);
    if (shash_find_hashed(&t->index, r->path, r->path_len, hash))
        return "a node listed twice";
    struct node *parent = parent_near(t, *last, r->path, r->path_len);
    if (!parent)
        return "a node whose parent does not exist";
    if (tree_create_at(t, parent, r->path, r->path_len, hash, r->perms, r->nperms, &nd) ||
        tree_set_value(t, nd, r->value, r->value_len))
        return "out of memory";
    *last = nd;
    return NULL;
}

/* Apply one decoded record; NULL, or why it does not fit the state.
 * *last is the node a snapshot created last (see parent_near). */
static const char *apply_record(struct store *s, const struct rec *r, struct node **last)
{
    struct tree *t = &s->tree;
    struct node *nd = NULL;
    struct domain *d = NULL;
    char *path = NULL, *token = NULL;
    const char *bad = NULL;

    if (r->type == REC_NODE)
        return load_node(t, r, last);
    if (r->path)
        nd = tree_lookup(t, r->path, r->path_len);
    if (r->domid)
        d = domain_find(s, r->domid);
    switch (r->type) {
    case REC_CREATE:
        if (nd)
            return "the creation of a node that exists";
        switch (tree_create(t, r->path, r->path_len, r->perms, r->nperms, &nd)) {
        case 0:
            break;
        case ENOENT:
            return "a node whose parent does not exist";
        default:
            return "out of memory";
        }
        break;
    case REC_VALUE:
    case REC_PERMS:
    case REC_REMOVE:
        if (!nd)
            return "a change to a node that does not exist";
        if (r->type == REC_REMOVE)
            tree_remove(t, nd);
        else if (r->type == REC_VALUE ? tree_set_value(t, nd, r->value, r->value_len)
                                      : tree_set_perms(t, nd, r->perms, r->nperms))
            bad = "out of memory";
        break;
    case REC_DOMAIN:
        if (!d && !(d = domain_add(s, r->domid)))
            return "out of memory";
        d->target = r->target;
        break;
    case REC_RELEASE:
    case REC_WATCH:
    case REC_UNWATCH:
    case REC_UNWATCH_ALL:
        if (!d)
            return "a record for a domain that was not introduced";
        if (r->type == REC_RELEASE) {
            domain_forget(s, d);
            break;
        }
        if (r->type == REC_UNWATCH_ALL) {
            watch_list_free(&d->saved_watches, &d->nsaved_watches);
            break;
        }
        path = strndup(r->path, r->path_len);
        token = strndup(r->token, r->token_len);
        if (!path || !token) {
            bad = "out of memory";
            break;
        }
        if (r->type == REC_UNWATCH) {
            if (watch_list_remove(&d->saved_watches, &d->nsaved_watches, path, token))
                bad = "the removal of a watch that does not exist";
            break;
        }
        struct watch *w;
        switch (watch_list_add(&d->saved_watches, &d->nsaved_watches, path, token, r->strip,
                               UINT32_MAX, &w)) {
        case 0:
            break;
        case EEXIST:
            bad = "a watch listed twice";
            break;
        default:
            bad = "out of memory";
        }
        break;
    default:
        bad = "a record that does not belong in this file";
    }
    free(path);
    free(token);
    return bad;
}

static bool is_snapshot_type(enum rec_type t)
{
    return t == REC_NODE || t == REC_DOMAIN || t == REC_WATCH || t == REC_END;
}

/* Load a state file image: all or nothing (the caller gives up on error). */
static int load_state(struct store *s, const uint8_t *data, size_t len, struct rec *r,
                      struct rec_file_header *h, char *why, size_t whylen)
{
    char bad[128];
    size_t off = REC_FILE_HEADER;
    struct node *last = NULL;

    if (rec_file_header_decode(data, len, h, bad, sizeof(bad)) != 0 || h->journal) {
        snprintf(why, whylen, "%s", h->journal ? "a journal, not a state file" : bad);
        return -1;
    }
    /* A node takes some 75 bytes: size the index once, not by doubling. */
    shash_reserve(&s->tree.index, len / 64);
    for (uint64_t n = 0;; n++) {
        size_t at = off;
        const char *problem = NULL;
        switch (rec_decode(data, len, &off, r, bad, sizeof(bad))) {
        case REC_EOF:
            snprintf(why, whylen, "it ends at byte %zu without its end record (cut short)", at);
            return -1;
        case REC_BAD:
            problem = bad;
            break;
        case REC_OK:
            if (r->seq != n)
                problem = "a record out of sequence";
            else if (!is_snapshot_type(r->type))
                problem = "a journal record";
            else if (r->type == REC_END) {
                if (r->count != n)
                    problem = "an end record with the wrong count";
                else if (off != len)
                    problem = "data after the end record";
                else
                    return 0;
            } else
                problem = apply_record(s, r, &last);
            break;
        }
        if (problem) {
            snprintf(why, whylen, "record %llu at byte %zu: %s", (unsigned long long)n, at,
                     problem);
            return -1;
        }
    }
}

/* Replay a journal image from record *seq on.  A torn tail sets *torn to
 * its offset (else it stays len); anything else wrong is an error. */
static int replay_journal(struct store *s, const uint8_t *data, size_t len, struct rec *r,
                          uint64_t *seq, size_t *torn, uint64_t *records, char *why, size_t whylen)
{
    struct rec_file_header h;
    char bad[128];
    size_t off = REC_FILE_HEADER;

    *torn = len;
    if (rec_file_header_decode(data, len, &h, bad, sizeof(bad)) != 0 || !h.journal) {
        snprintf(why, whylen, "%s", h.journal ? bad : "not a journal");
        return -1;
    }
    if (h.seq != *seq) {
        snprintf(why, whylen, "it starts at record %llu where %llu was expected (records missing)",
                 (unsigned long long)h.seq, (unsigned long long)*seq);
        return -1;
    }
    for (;;) {
        size_t at = off;
        const char *problem = NULL;
        switch (rec_decode(data, len, &off, r, bad, sizeof(bad))) {
        case REC_EOF:
            return 0;
        case REC_BAD:
            if (!rec_valid_record_after(data, len, at)) {
                *torn = at; /* a write cut short: never acknowledged */
                return 0;
            }
            problem = bad;
            break;
        case REC_OK:
            if (r->seq != *seq)
                problem = "a record out of sequence";
            else if (r->type == REC_NODE || r->type == REC_END)
                problem = "a state file record";
            else
                problem = apply_record(s, r, NULL);
            break;
        }
        if (problem) {
            snprintf(why, whylen, "record %llu at byte %zu: %s", (unsigned long long)*seq, at,
                     problem);
            return -1;
        }
        (*seq)++;
        (*records)++;
    }
}

int persist_load_images(struct store *s, const uint8_t *state, size_t state_len,
                        const uint8_t *journal, size_t journal_len, char *why, size_t whylen)
{
    struct rec_file_header h = {.gen = 1, .seq = 1};
    struct rec *r = malloc(sizeof(*r));
    uint64_t records = 0;
    size_t torn;
    int rc = -1;

    if (!r) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    if (state_len && load_state(s, state, state_len, r, &h, why, whylen) != 0)
        goto out;
    uint64_t seq = h.seq;
    if (journal_len &&
        replay_journal(s, journal, journal_len, r, &seq, &torn, &records, why, whylen) != 0)
        goto out;
    rc = 0;
out:
    free(r);
    return rc;
}

/* ---- the snapshot -------------------------------------------------------------- */

int persist_snapshot_image(const struct store *s, uint64_t gen, uint64_t seq, struct buf *b)
{
    struct rec_file_header h = {.journal = false, .gen = gen, .seq = seq};
    uint8_t hdr[REC_FILE_HEADER];
    struct rec_writer w;
    uint64_t n = 0;

    rec_file_header_encode(hdr, &h);
    if (buf_append(b, hdr, sizeof(hdr)))
        return ENOMEM;
    /* Parents before children, children in their order. */
    for (const struct node *cur = s->tree.root; cur;) {
        rec_begin(&w, b, REC_NODE);
        rec_put_bytes(&w, cur->h.key, cur->h.keylen);
        rec_put_perms(&w, cur->d.perms, cur->d.nperms);
        rec_put_bytes(&w, cur->d.value, cur->d.vlen);
        if (rec_finish(&w, n++))
            return ENOMEM;
        if (cur->first_child) {
            cur = cur->first_child;
            continue;
        }
        while (cur && !cur->next)
            cur = cur->parent;
        if (cur)
            cur = cur->next;
    }
    for (const struct domain *d = s->domains; d; d = d->next) {
        rec_begin(&w, b, REC_DOMAIN);
        rec_put_u32(&w, d->domid);
        rec_put_u32(&w, d->target);
        if (rec_finish(&w, n++))
            return ENOMEM;
        for (const struct watch *wt = d->conn ? d->conn->watches : d->saved_watches; wt;
             wt = wt->next) {
            rec_begin(&w, b, REC_WATCH);
            rec_put_u32(&w, d->domid);
            rec_put_u32(&w, (uint32_t)wt->strip);
            rec_put_bytes(&w, wt->path, strlen(wt->path));
            rec_put_bytes(&w, wt->token, strlen(wt->token));
            if (rec_finish(&w, n++))
                return ENOMEM;
        }
    }
    rec_begin(&w, b, REC_END);
    rec_put_u64(&w, n);
    return rec_finish(&w, n);
}

/* ---- files ------------------------------------------------------------------ */

static int read_file(int dirfd, const char *name, uint8_t **data, size_t *len)
{
    struct stat st;
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    int rc = 0;

    *data = NULL;
    *len = 0;
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        goto out;
    }
    *len = (size_t)st.st_size;
    *data = malloc(*len ? *len : 1);
    if (!*data) {
        rc = -ENOMEM;
        goto out;
    }
    if (*len && read_full(fd, *data, *len) != (ssize_t)*len)
        rc = errno ? -errno : -EIO;
out:
    close(fd);
    if (rc) {
        free(*data);
        *data = NULL;
    }
    return rc;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The generations of the journal files in the folder, ascending. */
static int list_journals(int dirfd, uint64_t **gens, size_t *n)
{
    int fd = dup(dirfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    size_t cap = 0;
    struct dirent *e;

    *gens = NULL;
    *n = 0;
    if (!d) {
        close_quietly(fd);
        return -errno;
    }
    while ((e = readdir(d))) {
        char *end;
        if (strncmp(e->d_name, "journal.", 8) != 0 || !e->d_name[8])
            continue;
        unsigned long long g = strtoull(e->d_name + 8, &end, 10);
        if (*end || e->d_name[8] < '0' || e->d_name[8] > '9')
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            uint64_t *grown = realloc(*gens, cap * sizeof(**gens));
            if (!grown) {
                closedir(d);
                return -ENOMEM;
            }
            *gens = grown;
        }
        (*gens)[(*n)++] = g;
    }
    closedir(d);
    if (*n)
        qsort(*gens, *n, sizeof(**gens), cmp_u64);
    return 0;
}

static void journal_name(char *buf, size_t len, uint64_t gen)
{
    snprintf(buf, len, "journal.%llu", (unsigned long long)gen);
}

/* Create journal.<gen> starting at record seq, durable before use. */
static int create_journal(struct persist *p, uint64_t gen, uint64_t seq)
{
    struct rec_file_header h = {.journal = true, .gen = gen, .seq = seq};
    uint8_t hdr[REC_FILE_HEADER];
    char name[40];

    journal_name(name, sizeof(name), gen);
    rec_file_header_encode(hdr, &h);
    int fd = openat(p->dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0 || write_full(fd, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr) || fdatasync(fd) != 0 ||
        fsync(p->dirfd) != 0) {
        int err = errno;
        log_error("cannot create %s/%s: %s", p->dir, name, strerror(err));
        close_quietly(fd);
        return -err;
    }
    return fd;
}

/* ---- the sync thread ------------------------------------------------------------ */

static void *sync_thread(void *arg)
{
    struct persist *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->sync_want == p->sync_done)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->sync_want == p->sync_done)
            break; /* stopping, nothing left */
        uint64_t target = p->sync_want;
        int fd = p->jfd;
        p->syncing = true;
        pthread_mutex_unlock(&p->mu);
        int err = fdatasync(fd) == 0 ? 0 : errno;
        pthread_mutex_lock(&p->mu);
        p->syncing = false;
        if (err && !p->sync_err)
            p->sync_err = err;
        p->sync_done = target;
        pthread_cond_broadcast(&p->cv);
        uint64_t one = 1;
        if (write(p->event_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
            log_debug("sync thread: eventfd: %s", strerror(errno));
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void request_sync(struct persist *p)
{
    pthread_mutex_lock(&p->mu);
    p->sync_want = p->written;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* A failed sync: what was written may not be kept, so nothing more may be
 * acknowledged (see the opening comment, example 7). */
static void die_if_sync_failed(const struct persist *p, int err)
{
    if (err)
        die(EXIT_SYSTEM,
            "cannot sync the journal in %s: %s; stopping rather than acknowledge "
            "what may not be kept",
            p->dir, strerror(err));
}

/* Block until everything written is durable (rare: compaction, close). */
static void wait_synced(struct persist *p)
{
    if (!p->needs_sync)
        return;
    pthread_mutex_lock(&p->mu);
    p->sync_want = p->written;
    pthread_cond_signal(&p->cv);
    while (p->sync_done < p->written || p->syncing)
        pthread_cond_wait(&p->cv, &p->mu);
    int err = p->sync_err;
    pthread_mutex_unlock(&p->mu);
    die_if_sync_failed(p, err);
}

/* ---- the event loop's side ------------------------------------------------------ */

int persist_event_fd(const struct store *s)
{
    return s->persist ? s->persist->event_fd : -1;
}

static void write_pending(struct persist *p)
{
    if (p->failed)
        die(EXIT_SYSTEM, "cannot journal a change (out of memory); stopping rather than "
                         "acknowledge what may not be kept");
    if (!p->pending.len)
        return;
    if (write_full(p->jfd, p->pending.data, p->pending.len) != (ssize_t)p->pending.len)
        die(EXIT_SYSTEM,
            "cannot write the journal in %s: %s; stopping rather than acknowledge "
            "what may not be kept",
            p->dir, strerror(errno));
    p->written += p->pending.len;
    p->journal_bytes += p->pending.len;
    p->jfile_bytes += p->pending.len;
    if (p->pending.cap > (1u << 20))
        buf_dispose(&p->pending); /* a burst is over: give the memory back */
    p->pending.len = 0;
}

/* Start journal generation jgen + 1; everything before is durable. */
static int rotate(struct persist *p)
{
    write_pending(p);
    wait_synced(p);
    int fd = create_journal(p, p->jgen + 1, p->next_seq);
    if (fd < 0)
        return fd;
    pthread_mutex_lock(&p->mu);
    int old = p->jfd;
    p->jfd = fd;
    pthread_mutex_unlock(&p->mu);
    close(old);
    p->jgen++;
    p->journal_files++;
    p->jfile_bytes = REC_FILE_HEADER;
    p->journal_bytes += REC_FILE_HEADER;
    return 0;
}

/* Write `state` from the current contents: runs in the forked child. */
static noreturn void write_state(struct store *s, uint64_t gen, uint64_t seq)
{
    struct persist *p = s->persist;
    struct buf b = {0};
    int fd = -1;

    if (persist_snapshot_image(s, gen, seq, &b) != 0) {
        log_error("compaction: out of memory");
        _exit(1);
    }
    fd = openat(p->dirfd, "state.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write_full(fd, b.data, b.len) != (ssize_t)b.len || fdatasync(fd) != 0 ||
        close(fd) != 0 || renameat(p->dirfd, "state.tmp", p->dirfd, "state") != 0 ||
        fsync(p->dirfd) != 0) {
        log_error("compaction: cannot write %s/state: %s", p->dir, strerror(errno));
        _exit(1);
    }
    _exit(0);
}

/* In the compaction child: close every descriptor but stderr and the two
 * it needs, so that clients see their connections end when the store ends
 * them, not when the child is done. */
static void close_others(int a, int b)
{
    int lo = a < b ? a : b, hi = a < b ? b : a;
    if (lo > 3)
        close_range(3, (unsigned)lo - 1, 0);
    if (hi > lo + 1)
        close_range((unsigned)lo + 1, (unsigned)hi - 1, 0);
    close_range((unsigned)hi + 1, ~0u, 0);
}

static void maybe_compact(struct store *s)
{
    struct persist *p = s->persist;
    if (p->child > 0 ||
        (p->journal_bytes < p->compact_after && p->journal_files < COMPACT_MAX_FILES))
        return;
    if (rotate(p) != 0) {
        p->compact_after = p->journal_bytes + p->compact_min;
        return;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* The child keeps the folder's lock, so no new store loads while
         * it may still rename; and it dies with the store, so that a store
         * killed for good does not leave it holding the lock. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        close_others(p->dirfd, p->lockfd);
        write_state(s, p->jgen, p->next_seq);
    }
    if (pid < 0) {
        log_warn("compaction: cannot fork: %s; trying again later", strerror(errno));
        p->compact_after = p->journal_bytes + p->compact_min;
        return;
    }
    log_debug("compaction: writing the state up to record %llu (pid %d)",
              (unsigned long long)p->next_seq, (int)pid);
    p->child = pid;
    p->child_gen = p->jgen;
}

void persist_commit(struct store *s)
{
    struct persist *p = s->persist;
    if (!p)
        return;
    if (p->pending.len || p->failed) {
        write_pending(p);
        if (p->needs_sync) {
            request_sync(p);
        } else {
            p->durable = p->written;
            store_release_output(s, p->durable);
        }
    }
    maybe_compact(s);
}

void persist_synced(struct store *s)
{
    struct persist *p = s->persist;
    uint64_t count;
    if (!p)
        return;
    if (read(p->event_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
        log_debug("eventfd: %s", strerror(errno));
    pthread_mutex_lock(&p->mu);
    uint64_t done = p->sync_done;
    int err = p->sync_err;
    pthread_mutex_unlock(&p->mu);
    die_if_sync_failed(p, err);
    if (done > p->durable) {
        p->durable = done;
        store_release_output(s, done);
    }
}

/* The compaction child ended (status from waitpid). */
static void compaction_done(struct persist *p, int status)
{
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        uint64_t *gens = NULL;
        size_t n = 0;
        struct stat st;
        if (list_journals(p->dirfd, &gens, &n) == 0) {
            for (size_t i = 0; i < n; i++) {
                char name[40];
                if (gens[i] >= p->child_gen)
                    continue;
                journal_name(name, sizeof(name), gens[i]);
                unlinkat(p->dirfd, name, 0);
            }
        }
        free(gens);
        p->journal_bytes = p->jfile_bytes;
        p->journal_files = 1;
        uint64_t size = fstatat(p->dirfd, "state", &st, 0) == 0 ? (uint64_t)st.st_size : 0;
        p->compact_after = size * 2 > p->compact_min ? size * 2 : p->compact_min;
        log_debug("compaction: done, state %llu bytes", (unsigned long long)size);
    } else {
        log_warn("compaction failed (status %d); the journal grows until the next try", status);
        p->compact_after = p->journal_bytes + p->compact_min;
    }
    p->child = 0;
}

void persist_child_exited(struct store *s)
{
    struct persist *p = s->persist;
    int status;
    if (!p || p->child <= 0 || waitpid(p->child, &status, WNOHANG) != p->child)
        return;
    compaction_done(p, status);
}

/* ---- opening and closing ------------------------------------------------------------ */

static void persist_free(struct persist *p)
{
    if (p->thread_started) {
        pthread_mutex_lock(&p->mu);
        p->stop = true;
        pthread_cond_signal(&p->cv);
        pthread_mutex_unlock(&p->mu);
        pthread_join(p->thread, NULL);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    close_quietly(p->jfd);
    close_quietly(p->event_fd);
    close_quietly(p->lockfd);
    close_quietly(p->dirfd);
    buf_dispose(&p->pending);
    free(p->dir);
    free(p);
}

/* Load `state` (if any) and replay the journals; fills p's positions. */
static int load(struct store *s, struct persist *p)
{
    struct rec_file_header h = {.gen = 1, .seq = 1};
    uint8_t *data = NULL;
    uint64_t *gens = NULL, records = 0;
    size_t len, ngens = 0;
    struct rec *r = malloc(sizeof(*r));
    char why[256];
    int rc = -1;

    if (!r)
        goto out;
    unlinkat(p->dirfd, "state.tmp", 0); /* a compaction that did not finish */
    int e = read_file(p->dirfd, "state", &data, &len);
    if (e == 0) {
        if (load_state(s, data, len, r, &h, why, sizeof(why)) != 0) {
            log_error("%s/state is damaged: %s; refusing to start on it (move it away to start "
                      "with an empty store, or put back a good copy)",
                      p->dir, why);
            goto out;
        }
    } else if (e != -ENOENT) {
        log_error("cannot read %s/state: %s", p->dir, strerror(-e));
        goto out;
    }
    free(data);
    data = NULL;
    p->compact_after = e == 0 && len * 2 > p->compact_min ? len * 2 : p->compact_min;
    if ((e = list_journals(p->dirfd, &gens, &ngens)) != 0) {
        log_error("cannot list %s: %s", p->dir, strerror(-e));
        goto out;
    }
    uint64_t seq = h.seq, gen = h.gen;
    for (size_t i = 0; i < ngens; i++) {
        char name[40];
        size_t torn;
        journal_name(name, sizeof(name), gens[i]);
        if (gens[i] < h.gen) {
            unlinkat(p->dirfd, name, 0); /* already in `state` */
            continue;
        }
        if (gens[i] != gen) {
            log_error("%s: journal.%llu is missing; refusing to start without it", p->dir,
                      (unsigned long long)gen);
            goto out;
        }
        if ((e = read_file(p->dirfd, name, &data, &len)) != 0) {
            log_error("cannot read %s/%s: %s", p->dir, name, strerror(-e));
            goto out;
        }
        if (len < REC_FILE_HEADER && i + 1 == ngens) {
            /* Created, never used: the store stopped right after. */
            unlinkat(p->dirfd, name, 0);
            free(data);
            data = NULL;
            break;
        }
        if (replay_journal(s, data, len, r, &seq, &torn, &records, why, sizeof(why)) != 0) {
            log_error("%s/%s is damaged: %s; refusing to start on it", p->dir, name, why);
            goto out;
        }
        if (torn < len) {
            log_warn("%s/%s: dropped a torn tail of %zu bytes at byte %zu (a write cut short, "
                     "never acknowledged)",
                     p->dir, name, len - torn, torn);
            int fd = openat(p->dirfd, name, O_WRONLY | O_CLOEXEC);
            if (fd < 0 || ftruncate(fd, (off_t)torn) != 0 || fsync(fd) != 0)
                log_warn("cannot truncate %s/%s: %s", p->dir, name, strerror(errno));
            close_quietly(fd);
            len = torn;
        }
        p->journal_bytes += len;
        p->journal_files++;
        free(data);
        data = NULL;
        gen++;
    }
    p->jgen = gen - 1; /* rotate() starts `gen` */
    p->next_seq = seq;
    log_info("state from %s: %zu nodes, %llu journal records replayed", p->dir, s->tree.index.count,
             (unsigned long long)records);
    rc = 0;
out:
    free(data);
    free(gens);
    free(r);
    return rc;
}

int persist_open(struct store *s, const char *dir, uint64_t compact_bytes)
{
    struct persist *p = calloc(1, sizeof(*p));
    if (!p || !(p->dir = strdup(dir))) {
        free(p);
        log_error("out of memory");
        return -1;
    }
    p->dirfd = p->lockfd = p->jfd = p->event_fd = -1;
    p->compact_min = compact_bytes ? compact_bytes : PERSIST_COMPACT_BYTES;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        log_error("cannot create the state folder %s: %s", dir, strerror(errno));
        goto fail;
    }
    p->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (p->dirfd < 0) {
        log_error("cannot open the state folder %s: %s", dir, strerror(errno));
        goto fail;
    }
    p->lockfd = openat(p->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    /* A store that was just killed may still have a compaction child
     * holding the lock for a moment (it dies with its parent): wait. */
    int r = p->lockfd < 0 ? -1 : flock(p->lockfd, LOCK_EX | LOCK_NB);
    for (int i = 0; r != 0 && errno == EWOULDBLOCK && i < LOCK_WAIT_MS / 20; i++) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        r = flock(p->lockfd, LOCK_EX | LOCK_NB);
    }
    if (r != 0) {
        if (errno == EWOULDBLOCK)
            log_error("another store is already using the state in %s", dir);
        else
            log_error("cannot lock %s/lock: %s", dir, strerror(errno));
        goto fail;
    }
    if (load(s, p) != 0)
        goto fail;
    p->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    p->jfd = create_journal(p, p->jgen + 1, p->next_seq);
    if (p->event_fd < 0 || p->jfd < 0) {
        log_error("cannot start the journal in %s: %s", dir, strerror(errno));
        goto fail;
    }
    p->jgen++;
    p->journal_files++;
    p->jfile_bytes = REC_FILE_HEADER;
    p->journal_bytes += REC_FILE_HEADER;
    /* On tmpfs (where /run is) the page cache is the storage: fdatasync()
     * does nothing there, so a written record is as durable as it gets and
     * the output it holds back can leave at once, without a sync thread. */
    struct statfs fs;
    p->needs_sync =
        fstatfs(p->dirfd, &fs) != 0 || (fs.f_type != TMPFS_MAGIC && fs.f_type != RAMFS_MAGIC);
    if (!p->needs_sync) {
        s->persist = p;
        s->tree.persist = p;
        return 0;
    }
    /* Signals are the event loop's (a signalfd): the thread takes none. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    r = pthread_create(&p->thread, NULL, sync_thread, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) {
        log_error("cannot start the journal's sync thread");
        goto fail;
    }
    p->thread_started = true;
    s->persist = p;
    s->tree.persist = p;
    return 0;
fail:
    persist_free(p);
    return -1;
}

void persist_close(struct store *s)
{
    struct persist *p = s->persist;
    int status;
    if (!p)
        return;
    write_pending(p);
    wait_synced(p);
    if (p->child > 0 && waitpid(p->child, &status, 0) == p->child)
        compaction_done(p, status);
    s->persist = NULL;
    s->tree.persist = NULL;
    persist_free(p);
}
