/* Transactions: private snapshots of the nodes a transaction touches,
 * checked at commit.
 *
 * The first time a transaction touches a path -- reads it, lists it,
 * changes it, or finds it missing -- it takes a private copy of that node
 * as it is at that moment (value, permissions, child list, and the node's
 * generation; a tombstone with generation 0 if the node does not exist).
 * From then on every access to that path inside the transaction goes to
 * the copy: a change made outside afterwards is not visible inside, the
 * transaction reads its own writes, and nobody else sees them.  At commit
 * every copy's generation is compared with the live node's: any difference
 * means the world the transaction decided on is gone, and the commit fails
 * with EAGAIN, changing nothing.  Otherwise the copies the transaction
 * changed are written into the live tree.  This is Xen's model (its
 * transaction.c): isolation per node, from the first touch, not a global
 * snapshot taken at TRANSACTION_START.
 *
 * Worked examples (T is a transaction, X another client, no transaction):
 *   1. T reads /a (copy, gen 5); X writes /a (now gen 9); T reads /a: still
 *      T's copy; T writes /a and reads its own value; T commits -> EAGAIN,
 *      and /a keeps X's value.
 *   2. T reads /a; X writes /b; T commits -> ok: T never touched /b.
 *   3. T writes /a/new: /a is copied (its child list is part of the copy)
 *      and /a/new starts as a tombstone (gen 0).  X creates /a/other: that
 *      restamps /a, so T's commit fails.  Two transactions creating
 *      children of one directory therefore conflict, as in Xen.
 *   4. T reads /x, absent (tombstone, 0); X creates /x; T reads /x: still
 *      absent for T; T commits -> EAGAIN.
 *   5. T lists /d (children x); X adds /d/y: T still lists only x.  T reads
 *      /d/x after X removed it: /d/x was not touched before, so T finds it
 *      missing now -- isolation starts at the first touch of each node.
 *   6. T removes /a: /a and every node below it are copied and become
 *      tombstones; the parent's copy loses the name.  X writes /a/b/c
 *      meanwhile: /a/b/c's stamp changed -> EAGAIN.
 *   7. Abort (or any failed commit) just frees the copies.
 *
 * Watches: handlers note each change in `changes`; they fire at commit, in
 * order, never for an aborted or failed transaction.
 *
 * A transaction that could not take a copy (out of memory, or a domain's
 * transaction touching more than TXN_MAX_NODES nodes) can never commit:
 * `failed` says with which error, and the request that hit it fails too.
 *
 * Quota: `delta` counts the nodes the transaction added (minus removed)
 * that belong to its own domain, so that view_owned() can refuse a
 * creation as if the transaction had already committed.  That alone is not
 * enough: two transactions of one domain each fit beside the live tree, but
 * not together.  So the commit checks again, against the live count at
 * that moment: live + delta over the quota fails with ENOSPC, changing
 * nothing.  The delta is exact at commit because every node it counted was
 * copied and is verified unchanged (Xen checks the same way).
 *   8. Quota 20, domain 1 owns 1.  T1 and T2 each create 15 nodes under
 *      different parents (1 + 15 <= 20 each).  T1 commits: domain 1 owns
 *      16.  T2 commits: 16 + 15 > 20 -> ENOSPC.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

/* A transaction's copy of one node, or a tombstone (deleted) for a node
 * that is missing as the transaction sees it. */
struct tnode {
    struct hentry h;
    bool deleted;
    bool modified;  /* changed by the transaction: written at commit */
    uint32_t edits; /* changes made to the copy, for DIRECTORY_PART */
    uint64_t gen;   /* live generation when first touched, 0 if missing */
    struct ndata d;
    struct buf children; /* names, each NUL-terminated */
};

struct change {
    char *path;
    bool removed;
};

struct txn {
    struct txn *next;
    struct conn *c;
    uint32_t id;
    struct shash copies; /* struct tnode */
    struct change *changes;
    size_t nchanges, capchanges;
    int32_t delta;
    int failed; /* why the commit must fail (ENOMEM, ENOSPC) */
};

/* Nodes one transaction of a domain may touch (Xen's default quota of
 * "transaction nodes"): each is a private copy, so this bounds memory. */
#define TXN_MAX_NODES 1024

static void tnode_clear(struct tnode *te)
{
    free(te->d.value);
    free(te->d.perms);
    te->d = (struct ndata){0};
    te->children.len = 0;
}

static void txn_free(struct txn *t)
{
    for (size_t i = 0; i < t->copies.nbuckets; i++) {
        struct hentry *e = t->copies.buckets[i];
        while (e) {
            struct hentry *next = e->next;
            struct tnode *te = (struct tnode *)e;
            tnode_clear(te);
            buf_dispose(&te->children);
            free(e->key);
            free(e);
            e = next;
        }
    }
    shash_dispose(&t->copies);
    for (size_t i = 0; i < t->nchanges; i++)
        free(t->changes[i].path);
    free(t->changes);
    free(t);
}

int txn_start(struct conn *c, uint32_t *id)
{
    if (c->domid != 0 && c->ntxns >= c->store->limits.transactions)
        return ENOSPC;
    struct txn *t = calloc(1, sizeof(*t));
    if (!t)
        return ENOMEM;
    if (shash_init(&t->copies)) {
        free(t);
        return ENOMEM;
    }
    do {
        t->id = ++c->next_txid;
    } while (t->id == 0 || txn_find(c, t->id));
    t->c = c;
    t->next = c->txns;
    c->txns = t;
    c->ntxns++;
    *id = t->id;
    return 0;
}

struct txn *txn_find(struct conn *c, uint32_t id)
{
    for (struct txn *t = c->txns; t; t = t->next)
        if (t->id == id)
            return t;
    return NULL;
}

static void unlink_txn(struct txn *t)
{
    for (struct txn **p = &t->c->txns; *p; p = &(*p)->next) {
        if (*p == t) {
            *p = t->next;
            t->c->ntxns--;
            return;
        }
    }
}

void txn_free_all(struct conn *c)
{
    while (c->txns) {
        struct txn *t = c->txns;
        c->txns = t->next;
        txn_free(t);
    }
    c->ntxns = 0;
}

int txn_error(const struct txn *t)
{
    return t->failed;
}

int txn_note_change(struct txn *t, const char *path, size_t len, bool removed)
{
    if (t->nchanges == t->capchanges) {
        size_t cap = t->capchanges ? t->capchanges * 2 : 8;
        struct change *ch = realloc(t->changes, cap * sizeof(*ch));
        if (!ch)
            return ENOMEM;
        t->changes = ch;
        t->capchanges = cap;
    }
    char *p = strndup(path, len);
    if (!p)
        return ENOMEM;
    t->changes[t->nchanges++] = (struct change){p, removed};
    return 0;
}

/* Fill te with a copy of the live node nd; 0 or ENOMEM. */
static int copy_node(struct tnode *te, const struct node *nd)
{
    te->gen = nd->gen;
    te->d.perms = perms_dup(nd->d.perms, nd->d.nperms);
    te->d.nperms = nd->d.nperms;
    te->d.vlen = nd->d.vlen;
    if (nd->d.vlen) {
        te->d.value = malloc(nd->d.vlen);
        if (te->d.value)
            memcpy(te->d.value, nd->d.value, nd->d.vlen);
    }
    if (!te->d.perms || (nd->d.vlen && !te->d.value) || tree_children(nd, &te->children))
        return ENOMEM;
    return 0;
}

/* The transaction's copy of path, taken from the live tree the first time
 * (a tombstone if the node is missing then).  NULL only if no copy could
 * be had: the transaction is then failed for good (t->failed says why). */
static struct tnode *touch(struct txn *t, const char *path, size_t len)
{
    struct tnode *te = (struct tnode *)shash_find(&t->copies, path, len);
    if (te)
        return te;
    if (t->failed)
        return NULL;
    if (t->c->domid != 0 && t->copies.count >= TXN_MAX_NODES) {
        t->failed = ENOSPC; /* a domain may not grow one transaction without bound */
        return NULL;
    }
    te = calloc(1, sizeof(*te));
    if (!te || !(te->h.key = strndup(path, len))) {
        free(te);
        t->failed = ENOMEM;
        return NULL;
    }
    te->h.keylen = len;
    const struct node *nd = tree_lookup(&t->c->store->tree, path, len);
    te->deleted = !nd;
    if (nd && copy_node(te, nd)) {
        tnode_clear(te);
        buf_dispose(&te->children);
        free(te->h.key);
        free(te);
        t->failed = ENOMEM;
        return NULL;
    }
    shash_insert(&t->copies, &te->h);
    return te;
}

/* The copy of an existing node, to change it.  NULL with *err set if the
 * node does not exist as the transaction sees it, or no copy could be had. */
static struct tnode *touch_existing(struct txn *t, const char *path, size_t len, int *err)
{
    struct tnode *te = touch(t, path, len);
    if (!te) {
        *err = t->failed;
        return NULL;
    }
    if (te->deleted) {
        *err = ENOENT;
        return NULL;
    }
    return te;
}

static void mark_modified(struct tnode *te)
{
    te->modified = true;
    te->edits++;
}

const struct ndata *txn_lookup(struct txn *t, const char *path, size_t len)
{
    struct tnode *te = touch(t, path, len);
    return te && !te->deleted ? &te->d : NULL;
}

static size_t parent_len(const char *path, size_t len)
{
    while (len > 0 && path[len - 1] != '/')
        len--;
    return len > 1 ? len - 1 : 1;
}

static void account(struct txn *t, const struct perm *p, int d)
{
    if (p && p[0].id == t->c->domid)
        t->delta += d;
}

int txn_create(struct txn *t, const char *path, size_t len, const struct perm *p, uint32_t n)
{
    int err;
    size_t plen = parent_len(path, len);
    struct tnode *parent = touch_existing(t, path, plen, &err);
    if (!parent)
        return err;
    struct tnode *te = touch(t, path, len);
    if (!te)
        return t->failed;
    if (!te->deleted)
        return EEXIST;
    struct perm *copy = perms_dup(p, n);
    size_t skip = plen == 1 ? 1 : plen + 1;
    size_t before = parent->children.len;
    if (!copy || buf_append(&parent->children, path + skip, len - skip) ||
        buf_append(&parent->children, "", 1)) {
        parent->children.len = before;
        free(copy);
        return ENOMEM;
    }
    mark_modified(parent);
    tnode_clear(te);
    te->deleted = false;
    te->d.perms = copy;
    te->d.nperms = n;
    mark_modified(te);
    account(t, copy, 1);
    return 0;
}

int txn_set_value(struct txn *t, const char *path, size_t len, const char *value, size_t vlen)
{
    int err;
    struct tnode *te = touch_existing(t, path, len, &err);
    if (!te)
        return err;
    char *v = NULL;
    if (vlen && !(v = malloc(vlen)))
        return ENOMEM;
    if (vlen)
        memcpy(v, value, vlen);
    free(te->d.value);
    te->d.value = v;
    te->d.vlen = (uint32_t)vlen;
    mark_modified(te);
    return 0;
}

int txn_set_perms(struct txn *t, const char *path, size_t len, const struct perm *p, uint32_t n)
{
    int err;
    struct tnode *te = touch_existing(t, path, len, &err);
    if (!te)
        return err;
    struct perm *copy = perms_dup(p, n);
    if (!copy)
        return ENOMEM;
    account(t, te->d.perms, -1);
    free(te->d.perms);
    te->d.perms = copy;
    te->d.nperms = n;
    account(t, copy, 1);
    mark_modified(te);
    return 0;
}

/* Tombstone path and everything below it, as this transaction sees it. */
static int remove_subtree(struct txn *t, const char *path, size_t len)
{
    int err;
    struct tnode *te = touch_existing(t, path, len, &err);
    if (!te)
        return err;
    const char *names = te->children.data;
    size_t namelen = te->children.len;
    for (size_t off = 0; off < namelen;) {
        const char *name = names + off;
        size_t nl = strlen(name);
        char *child = malloc(len + 1 + nl + 1);
        if (!child)
            return ENOMEM;
        size_t cl = len == 1 ? 0 : len;
        memcpy(child, path, cl);
        child[cl] = '/';
        memcpy(child + cl + 1, name, nl + 1);
        err = remove_subtree(t, child, cl + 1 + nl);
        free(child);
        if (err)
            return err;
        off += nl + 1;
    }
    account(t, te->d.perms, -1);
    tnode_clear(te);
    te->deleted = true;
    mark_modified(te);
    return 0;
}

int txn_remove(struct txn *t, const char *path, size_t len)
{
    int err;
    size_t plen = parent_len(path, len);
    struct tnode *parent = touch_existing(t, path, plen, &err);
    if (!parent)
        return err;
    err = remove_subtree(t, path, len);
    if (err)
        return err;
    /* Drop the name from the parent's copy of the child list. */
    size_t skip = plen == 1 ? 1 : plen + 1;
    const char *name = path + skip;
    size_t nl = len - skip;
    char *d = parent->children.data;
    for (size_t off = 0; off < parent->children.len;) {
        size_t l = strlen(d + off);
        if (l == nl && memcmp(d + off, name, nl) == 0) {
            memmove(d + off, d + off + l + 1, parent->children.len - off - l - 1);
            parent->children.len -= l + 1;
            break;
        }
        off += l + 1;
    }
    mark_modified(parent);
    return 0;
}

int txn_children(struct txn *t, const char *path, size_t len, struct buf *b)
{
    int err;
    struct tnode *te = touch_existing(t, path, len, &err);
    if (!te)
        return err;
    return buf_append(b, te->children.data, te->children.len);
}

uint64_t txn_generation(struct txn *t, const char *path, size_t len)
{
    /* The copy's generation, moved on by the transaction's own edits, so a
     * client paging a directory restarts if the transaction changed it. */
    struct tnode *te = touch(t, path, len);
    return te ? te->gen + te->edits : 0;
}

int32_t txn_owned_delta(struct txn *t)
{
    return t->delta;
}

static int by_length(const void *a, const void *b)
{
    const struct tnode *x = *(struct tnode *const *)a, *y = *(struct tnode *const *)b;
    return (x->h.keylen > y->h.keylen) - (x->h.keylen < y->h.keylen);
}

static bool conflicts(struct txn *t)
{
    const struct tree *tree = &t->c->store->tree;
    for (size_t i = 0; i < t->copies.nbuckets; i++) {
        for (struct hentry *e = t->copies.buckets[i]; e; e = e->next) {
            struct node *nd = tree_lookup(tree, e->key, e->keylen);
            if ((nd ? nd->gen : 0) != ((struct tnode *)e)->gen)
                return true;
        }
    }
    return false;
}

/* Would committing put the transaction's domain over its node quota? */
static bool over_quota(struct txn *t)
{
    struct store *s = t->c->store;
    uint32_t domid = t->c->domid;
    if (domid == 0 || domid > DOMID_MAX || t->delta <= 0)
        return false;
    return (uint64_t)s->tree.owned[domid] + (uint64_t)t->delta > s->limits.nodes;
}

static void fire_changes(struct txn *t)
{
    struct store *s = t->c->store;
    for (size_t i = 0; i < t->nchanges; i++) {
        const char *path = t->changes[i].path;
        size_t len = strlen(path);
        if (t->changes[i].removed) {
            struct node *nd = tree_lookup(&s->tree, path, len);
            if (nd)
                watch_fire(s, path, nd->d.perms, nd->d.nperms, true);
        } else {
            struct tnode *te = (struct tnode *)shash_find(&t->copies, path, len);
            if (te && !te->deleted)
                watch_fire(s, path, te->d.perms, te->d.nperms, false);
        }
    }
}

/* Create the children of te that the live tree lacks, in te's order. */
static void create_children(struct txn *t, const struct tnode *te)
{
    struct tree *tree = &t->c->store->tree;
    size_t plen = te->h.keylen == 1 ? 0 : te->h.keylen;
    for (size_t off = 0; off < te->children.len;) {
        const char *name = te->children.data + off;
        size_t nl = strlen(name);
        off += nl + 1;
        char *child = malloc(plen + 1 + nl + 1);
        if (!child)
            continue;
        memcpy(child, te->h.key, plen);
        child[plen] = '/';
        memcpy(child + plen + 1, name, nl + 1);
        struct tnode *ct = (struct tnode *)shash_find(&t->copies, child, plen + 1 + nl);
        if (ct && !ct->deleted && !tree_lookup(tree, child, plen + 1 + nl))
            tree_create(tree, child, plen + 1 + nl, ct->d.perms, ct->d.nperms, NULL);
        free(child);
    }
}

static int apply(struct txn *t)
{
    struct tree *tree = &t->c->store->tree;
    size_t n = 0;
    struct tnode **live = malloc((t->copies.count + 1) * sizeof(*live));
    if (!live)
        return ENOMEM;
    for (size_t i = 0; i < t->copies.nbuckets; i++) {
        for (struct hentry *e = t->copies.buckets[i]; e; e = e->next) {
            struct tnode *te = (struct tnode *)e;
            if (!te->modified)
                continue; /* only read: nothing to write back */
            if (!te->deleted) {
                live[n++] = te;
                continue;
            }
            struct node *nd = tree_lookup(tree, e->key, e->keylen);
            if (nd)
                tree_remove(tree, nd);
        }
    }
    /* Parents are shorter than their children: work top-down.  New nodes
     * are created while walking their parent's child list, so that they
     * keep the order in which the transaction created them. */
    qsort(live, n, sizeof(*live), by_length);
    for (size_t i = 0; i < n; i++) {
        struct tnode *te = live[i];
        struct node *nd = tree_lookup(tree, te->h.key, te->h.keylen);
        if (!nd && tree_create(tree, te->h.key, te->h.keylen, te->d.perms, te->d.nperms, &nd))
            continue; /* only ENOMEM can get here; nothing sane to undo */
        tree_set_value(tree, nd, te->d.value, te->d.vlen);
        if (!perms_equal(nd->d.perms, nd->d.nperms, te->d.perms, te->d.nperms))
            tree_set_perms(tree, nd, te->d.perms, te->d.nperms);
        create_children(t, te);
    }
    free(live);
    return 0;
}

int txn_end(struct txn *t, bool commit)
{
    int rc = 0;
    unlink_txn(t);
    if (!commit)
        goto out;
    if (t->failed) {
        rc = t->failed;
        goto out;
    }
    /* As Xen: the quota first (a permanent answer), then conflicts. */
    if (over_quota(t)) {
        rc = ENOSPC;
        goto out;
    }
    if (conflicts(t)) {
        rc = EAGAIN;
        goto out;
    }
    fire_changes(t);
    rc = apply(t);
out:
    txn_free(t);
    return rc;
}
