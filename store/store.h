/* stubstored internals: the tree, permissions, watches, transactions,
 * domains and connections of the xenstore-compatible daemon.
 *
 * Ownership in one sentence: the store owns its connections and domains, a
 * connection owns its watches and transactions, the tree owns its nodes, and
 * every string inside them is a private copy.  Handlers never keep pointers
 * into a request's payload after they return.
 */
#ifndef STUBSTORED_STORE_H
#define STUBSTORED_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/xs_wire.h"

/* ---- limits ------------------------------------------------------------ */

/* Xen's defaults; each is a command-line option of stubstored. */
struct store_limits {
    uint32_t nodes;        /* nodes a domain may own */
    uint32_t watches;      /* watches per connection */
    uint32_t transactions; /* open transactions per connection */
    uint32_t path_rel;     /* bytes of a path below /local/domain/<id>/ */
    uint32_t path_abs;     /* bytes of an absolute path */
    uint32_t value;        /* bytes of a value */
};

void store_limits_default(struct store_limits *l);

/* ---- growable byte buffer ------------------------------------------------ */

struct buf {
    char *data;
    size_t len, cap;
};

/* Append; return 0 or ENOMEM (the buffer is unchanged on failure). */
int buf_append(struct buf *b, const void *data, size_t len);
void buf_dispose(struct buf *b);

/* ---- string-keyed intrusive hash table (tree nodes, transaction overlays) */

struct hentry {
    struct hentry *next;
    char *key; /* NUL-terminated, owned by the containing object */
    size_t keylen;
    uint32_t hash;
};

struct shash {
    struct hentry **buckets;
    size_t nbuckets, count;
};

uint32_t shash_hash(const char *key, size_t len);
int shash_init(struct shash *h);
void shash_dispose(struct shash *h); /* frees the bucket array only */
struct hentry *shash_find(const struct shash *h, const char *key, size_t len);
void shash_insert(struct shash *h, struct hentry *e); /* e->key/keylen set */
/* The same with the key's shash_hash() known already. */
struct hentry *shash_find_hashed(const struct shash *h, const char *key, size_t len, uint32_t hash);
void shash_insert_hashed(struct shash *h, struct hentry *e, uint32_t hash);
/* Make room for n entries at once (loading a known amount). */
void shash_reserve(struct shash *h, size_t n);
void shash_remove(struct shash *h, struct hentry *e);

/* ---- permissions (perms.c) ---------------------------------------------- */

enum {
    PERM_NONE = 0,
    PERM_READ = 1,
    PERM_WRITE = 2,
    PERM_OWNER = 4,
};

#define DOMID_MAX 65535u /* Xen domain ids are 16 bits */
#define NO_DOMID  UINT32_MAX

/* One ACL entry, `r5` on the wire.  Entry 0 of a node's list names the
 * owner, and its bits are what every domain not listed later gets. */
struct perm {
    uint32_t id;
    uint8_t bits;
};

/* What a node holds besides its name and children. */
struct ndata {
    char *value;
    uint32_t vlen;
    uint32_t nperms;
    struct perm *perms;
};

struct conn;

/* The subset of `mask` that connection c holds on a node with these perms. */
unsigned perm_for_conn(const struct conn *c, const struct perm *p, uint32_t n, unsigned mask);
/* Parse `n` NUL-separated entries ("b0\0r5\0") into a fresh array (*out,
 * caller frees).  Returns 0, EINVAL or ENOMEM. */
int perms_parse(const char *text, size_t len, struct perm **out, uint32_t *n);
/* Append the wire form of the entries to b. */
int perms_format(const struct perm *p, uint32_t n, struct buf *b);
/* Duplicate into a fresh array; NULL on ENOMEM. */
struct perm *perms_dup(const struct perm *p, uint32_t n);
bool perms_equal(const struct perm *a, uint32_t na, const struct perm *b, uint32_t nb);

/* ---- the live tree (tree.c) ---------------------------------------------- */

struct node {
    struct hentry h; /* key = full canonical path */
    struct node *parent, *first_child, *last_child, *prev, *next;
    struct ndata d;
    uint64_t gen; /* tree generation of the last change to this node */
};

struct persist;

struct tree {
    struct persist *persist; /* journal of changes (persist.h), or NULL */
    struct shash index;
    struct node *root;
    uint64_t gen;       /* bumped by every change, never reused */
    uint32_t *owned;    /* nodes owned per domain id, DOMID_MAX + 1 entries */
    size_t owned_total; /* their sum, for consistency checks */
};

int tree_init(struct tree *t);
void tree_dispose(struct tree *t);
struct node *tree_lookup(const struct tree *t, const char *path, size_t len);
/* Create `path` under its existing parent, empty, with a copy of perms. */
int tree_create(struct tree *t, const char *path, size_t len, const struct perm *p, uint32_t n,
                struct node **out);
/* The same under a known parent, with path's shash_hash() (loading). */
int tree_create_at(struct tree *t, struct node *parent, const char *path, size_t len, uint32_t hash,
                   const struct perm *p, uint32_t n, struct node **out);
int tree_set_value(struct tree *t, struct node *nd, const char *value, size_t vlen);
int tree_set_perms(struct tree *t, struct node *nd, const struct perm *p, uint32_t n);
/* Remove nd and everything below it (never the root). */
void tree_remove(struct tree *t, struct node *nd);
/* Append the children's names, each NUL-terminated, in creation order. */
int tree_children(const struct node *nd, struct buf *b);
/* Verify the tree's invariants (index, links, names, ownership counts);
 * 0 if they hold, -1 if not.  For tests and the fuzzer: it walks it all. */
int tree_check(const struct tree *t);

/* ---- connections, domains, store ---------------------------------------- */

struct watch {
    struct watch *next;
    char *path; /* canonical: absolute, or a special "@..." name */
    char *token;
    size_t strip; /* prefix dropped from event paths (relative watches) */
};

struct txn;

#define CONN_IN_CAP    (64 * 1024)
#define CONN_MAX_FDS   4
#define CONN_OUT_PAUSE (256 * 1024)       /* stop reading a client this far behind */
#define CONN_OUT_MAX   (32 * 1024 * 1024) /* drop a client this far behind */

struct domain {
    struct domain *next;
    uint32_t domid;
    uint32_t target;   /* NO_DOMID unless SET_TARGET gave one */
    struct conn *conn; /* its connection, NULL once that hung up */
    /* Watches its connection had when the store stopped (loaded from the
     * state): they move onto the connection it is introduced with again. */
    struct watch *saved_watches;
    unsigned nsaved_watches;
};

struct conn {
    struct store *store;
    struct conn *prev, *next; /* store->conns */
    struct conn *flush_next;  /* store->flush list */
    struct conn *grave_next;  /* store->graveyard list */
    struct conn *gated_next;  /* store->gated list */
    bool in_flush, in_gated, dead, closing;
    int fd;
    uint32_t domid;
    struct domain *dom; /* NULL for domain 0's public connections */
    char home[32];      /* "/local/domain/<id>" */
    size_t home_len;
    unsigned char in[CONN_IN_CAP];
    size_t in_len;
    struct buf out;
    size_t out_off;
    /* Output may leave only once the journal is durable up to what it was
     * when the output was queued (persist.c): out[out_off..out_safe) may be
     * sent; each mark holds back out[..end) until the journal is durable
     * up to `need`. */
    size_t out_safe;
    struct out_mark {
        size_t end;
        uint64_t need;
    } marks[4];
    unsigned nmarks;
    int fds[CONN_MAX_FDS]; /* received with SCM_RIGHTS, not yet used */
    unsigned nfds;
    struct watch *watches;
    unsigned nwatches;
    struct txn *txns;
    unsigned ntxns;
    uint32_t next_txid;
    uint32_t ev_mask; /* server: what epoll currently waits for */
};

struct store {
    struct tree tree;
    struct persist *persist; /* the durable state (persist.h), or NULL */
    bool stopping;           /* shutting down: connections end, state stays */
    struct store_limits limits;
    struct conn *conns;
    struct conn *flush; /* connections with output to write */
    struct conn *gated; /* connections with output waiting for the journal */
    struct conn *graveyard;
    struct domain *domains;
    /* Server hooks; NULL when the store runs without sockets (fuzzing). */
    void *server;
    int (*conn_attach)(struct store *s, struct conn *c);
    void (*conn_detach)(struct store *s, struct conn *c);
};

int store_init(struct store *s, const struct store_limits *l);
void store_dispose(struct store *s);

/* A new connection for fd (may be -1) acting as domid; dom may be NULL.
 * The store owns it (and fd) from now on.  NULL on ENOMEM. */
struct conn *conn_new(struct store *s, int fd, uint32_t domid, struct domain *dom);
/* Stop serving c: it is unlinked now and freed by store_reap(). */
void conn_kill(struct conn *c);
void store_reap(struct store *s);
/* Queue a message for c (it leaves once what came before it is durable). */
void conn_send(struct conn *c, uint32_t type, uint32_t req_id, uint32_t tx_id, const void *payload,
               size_t len);
/* Feed bytes received on c (with the descriptors that came with them).  The
 * complete messages among them are processed at once; a fragment waits for
 * the rest.  Returns 0, or -1 when c must be dropped. */
int conn_receive(struct conn *c, size_t got);

/* Output held back for the journal: release what is durable up to
 * `durable` (the connections join s->flush). */
void store_release_output(struct store *s, uint64_t durable);
/* Drop c's queued output (the fuzzer and in-process benchmarks). */
void conn_discard_output(struct conn *c);

struct domain *domain_find(struct store *s, uint32_t domid);

/* ---- requests (ops.c, wire.c) -------------------------------------------- */

struct req {
    struct store *s;
    struct conn *c;
    struct xs_msg_header hdr;
    char *payload; /* hdr.len bytes plus a NUL the client did not send */
    struct txn *txn;
    struct buf *reply;     /* the handler's answer (an empty reply is valid) */
    int fd;                /* descriptor that came with INTRODUCE, or -1 */
    struct watch *initial; /* a new watch, to fire once after the reply */
};

void process_message(struct req *r);

/* ---- views: the tree as a request sees it (view.c) ---------------------- */

const struct ndata *view_lookup(struct req *r, const char *path, size_t len);
int view_create(struct req *r, const char *path, size_t len, const struct perm *p, uint32_t n);
int view_set_value(struct req *r, const char *path, size_t len, const char *value, size_t vlen);
int view_set_perms(struct req *r, const char *path, size_t len, const struct perm *p, uint32_t n);
int view_remove(struct req *r, const char *path, size_t len);
int view_children(struct req *r, const char *path, size_t len, struct buf *b);
uint64_t view_generation(struct req *r, const char *path, size_t len);
uint32_t view_owned(struct req *r, uint32_t domid);

/* ---- transactions (transaction.c) --------------------------------------- */

int txn_start(struct conn *c, uint32_t *id);
struct txn *txn_find(struct conn *c, uint32_t id);
/* Commit (or abort) and free t.  Commit returns 0 or EAGAIN. */
int txn_end(struct txn *t, bool commit);
void txn_free_all(struct conn *c);
/* Record that the transaction changed path, to fire its watches at commit. */
int txn_note_change(struct txn *t, const char *path, size_t len, bool removed);

const struct ndata *txn_lookup(struct txn *t, const char *path, size_t len);
int txn_create(struct txn *t, const char *path, size_t len, const struct perm *p, uint32_t n);
int txn_set_value(struct txn *t, const char *path, size_t len, const char *value, size_t vlen);
int txn_set_perms(struct txn *t, const char *path, size_t len, const struct perm *p, uint32_t n);
int txn_remove(struct txn *t, const char *path, size_t len);
int txn_children(struct txn *t, const char *path, size_t len, struct buf *b);
uint64_t txn_generation(struct txn *t, const char *path, size_t len);
int32_t txn_owned_delta(struct txn *t);
/* Why the transaction can no longer commit (ENOMEM, ENOSPC), or 0. */
int txn_error(const struct txn *t);

/* ---- watches (watch.c) ---------------------------------------------------- */

int watch_add(struct conn *c, const char *path, const char *token, size_t strip,
              struct watch **out);
/* The same on a bare list (a domain's saved watches): at most `limit`. */
int watch_list_add(struct watch **head, unsigned *n, const char *path, const char *token,
                   size_t strip, unsigned limit, struct watch **out);
int watch_list_remove(struct watch **head, unsigned *n, const char *path, const char *token);
void watch_list_free(struct watch **head, unsigned *n);
/* RESET_WATCHES: drop c's watches (journaled for a domain). */
void watch_reset(struct conn *c);
int watch_remove(struct conn *c, const char *path, const char *token);
void watch_free_all(struct conn *c);
/* Fire the watches on a change of `path` whose node carries perms p/n:
 * every watch at or above path.  For a removal, also every watch on a node
 * below path that exists in the live tree (call it before removing). */
void watch_fire(struct store *s, const char *path, const struct perm *p, uint32_t n, bool removed);
/* Queue one event for watch w of c about path (made relative if w was). */
void watch_send(struct conn *c, const struct watch *w, const char *path);
/* Fire a special watch ("@introduceDomain", "@releaseDomain"). */
void watch_fire_special(struct store *s, const char *name);

/* ---- domains (domain.c) --------------------------------------------------- */

/* Introduce domid with its connection fd; a domain the store knows but
 * whose connection ended (or that it loaded from its state) is attached to
 * fd, keeping its nodes, target and quota, and gets back its saved
 * watches. */
int domain_introduce(struct store *s, uint32_t domid, int fd);
/* A domain record without a connection (loading the state); NULL on ENOMEM. */
struct domain *domain_add(struct store *s, uint32_t domid);
/* Drop a domain record and its saved watches, nothing else (loading). */
void domain_forget(struct store *s, struct domain *d);
int domain_release(struct store *s, uint32_t domid);
int domain_set_target(struct store *s, uint32_t domid, uint32_t target);

#endif
