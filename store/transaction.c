/* Transactions: private overlays on the live tree, checked at commit.
 *
 * A transaction sees the live tree through an overlay.  The first time it
 * touches a path it either copies the live node into the overlay (to change
 * it) or just notes the generation it saw in `accessed` (0 if the node did
 * not exist).  Every later access to that path goes to the overlay, so the
 * transaction reads its own writes and nobody else sees them.  At commit,
 * every noted generation is compared with the live node's: any difference
 * means somebody changed something the transaction depended on, and the
 * commit fails with EAGAIN, changing nothing.  Otherwise the overlay is
 * copied into the live tree.
 *
 * Worked examples (T is a transaction, X another client, no transaction):
 *   1. T reads /a (gen 5 noted); X writes /a (now gen 9); T commits -> EAGAIN.
 *   2. T reads /a; X writes /b; T commits -> ok: T never saw /b.
 *   3. T writes /a/new: /a is copied into the overlay (its child list is
 *      part of it, gen noted) and /a/new noted as absent (0).  X creates
 *      /a/other: that restamps /a, so T's commit fails.  Two transactions
 *      creating children of one directory therefore conflict, as in Xen.
 *   4. T reads /x, absent (0 noted); X creates /x; T commits -> EAGAIN.
 *   5. T removes /a: /a and every node below it become tombstones in the
 *      overlay (their generations noted on the way); the parent's copy loses
 *      the name.  X writes /a/b/c meanwhile: /a/b/c's stamp changed -> EAGAIN.
 *   6. Abort (or an EAGAIN) just frees the overlay.
 *
 * Watches: handlers note each change in `changes`; they fire at commit, in
 * order, never for an aborted or failed transaction.
 *
 * A transaction that could not note an access (out of memory, or a domain's
 * transaction touching more than TXN_MAX_ENTRIES nodes) can never commit:
 * `failed` says with which error.
 *
 * Quota: `delta` counts nodes the transaction added (minus removed) that
 * belong to its own domain, so that view_owned() can check the node quota
 * as if the transaction had already committed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

struct tnode {
    struct hentry h;
    bool deleted;
    struct ndata d;
    struct buf children; /* names, each NUL-terminated */
};

struct taccess {
    struct hentry h;
    uint64_t gen;
};

struct change {
    char *path;
    bool removed;
};

struct txn {
    struct txn *next;
    struct conn *c;
    uint32_t id;
    struct shash overlay;  /* struct tnode */
    struct shash accessed; /* struct taccess */
    struct change *changes;
    size_t nchanges, capchanges;
    int32_t delta;
    int failed; /* why the commit must fail (EAGAIN: out of memory; ENOSPC: too big) */
};

/* Nodes one transaction of a domain may touch (read or changed). */
#define TXN_MAX_ENTRIES 65536

static void tnode_clear(struct tnode *te)
{
    free(te->d.value);
    free(te->d.perms);
    te->d = (struct ndata){0};
    te->children.len = 0;
}

static void free_entries(struct shash *h, bool tnodes)
{
    for (size_t i = 0; i < h->nbuckets; i++) {
        struct hentry *e = h->buckets[i];
        while (e) {
            struct hentry *next = e->next;
            if (tnodes) {
                struct tnode *te = (struct tnode *)e;
                tnode_clear(te);
                buf_dispose(&te->children);
            }
            free(e->key);
            free(e);
            e = next;
        }
    }
    shash_dispose(h);
}

static void txn_free(struct txn *t)
{
    free_entries(&t->overlay, true);
    free_entries(&t->accessed, false);
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
    if (shash_init(&t->overlay) || shash_init(&t->accessed)) {
        shash_dispose(&t->overlay);
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

/* Note the live generation of path, the first time only. */
static struct node *live_lookup(struct txn *t, const char *path, size_t len)
{
    struct node *nd = tree_lookup(&t->c->store->tree, path, len);
    if (shash_find(&t->accessed, path, len))
        return nd;
    if (t->c->domid != 0 && t->accessed.count + t->overlay.count >= TXN_MAX_ENTRIES) {
        /* A domain may not grow one transaction without bound. */
        t->failed = ENOSPC;
        return nd;
    }
    struct taccess *a = calloc(1, sizeof(*a));
    char *key = strndup(path, len);
    if (!a || !key) {
        /* Without the note the commit could miss a conflict: fail it. */
        free(a);
        free(key);
        t->failed = EAGAIN;
        return nd;
    }
    a->h.key = key;
    a->h.keylen = len;
    a->gen = nd ? nd->gen : 0;
    shash_insert(&t->accessed, &a->h);
    return nd;
}

static struct tnode *overlay_find(struct txn *t, const char *path, size_t len)
{
    return (struct tnode *)shash_find(&t->overlay, path, len);
}

static struct tnode *tnode_new(struct txn *t, const char *path, size_t len)
{
    struct tnode *te = calloc(1, sizeof(*te));
    if (!te || !(te->h.key = strndup(path, len))) {
        free(te);
        return NULL;
    }
    te->h.keylen = len;
    shash_insert(&t->overlay, &te->h);
    return te;
}

/* The overlay copy of an existing node, made on first use; NULL with
 * *err set if the node does not exist here or memory ran out. */
static struct tnode *materialize(struct txn *t, const char *path, size_t len, int *err)
{
    struct tnode *te = overlay_find(t, path, len);
    if (te) {
        *err = ENOENT;
        return te->deleted ? NULL : te;
    }
    struct node *nd = live_lookup(t, path, len);
    if (!nd) {
        *err = ENOENT;
        return NULL;
    }
    *err = ENOMEM;
    te = tnode_new(t, path, len);
    if (!te)
        return NULL;
    te->d.perms = perms_dup(nd->d.perms, nd->d.nperms);
    te->d.nperms = nd->d.nperms;
    if (nd->d.vlen) {
        te->d.value = malloc(nd->d.vlen);
        if (te->d.value)
            memcpy(te->d.value, nd->d.value, nd->d.vlen);
    }
    te->d.vlen = nd->d.vlen;
    if (!te->d.perms || (nd->d.vlen && !te->d.value) || tree_children(nd, &te->children)) {
        /* Keep the entry (now a tombstone) so the overlay stays coherent,
         * and poison the transaction so that it cannot commit. */
        tnode_clear(te);
        te->deleted = true;
        t->failed = EAGAIN;
        return NULL;
    }
    return te;
}

const struct ndata *txn_lookup(struct txn *t, const char *path, size_t len)
{
    struct tnode *te = overlay_find(t, path, len);
    if (te)
        return te->deleted ? NULL : &te->d;
    struct node *nd = live_lookup(t, path, len);
    return nd ? &nd->d : NULL;
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
    struct tnode *parent = materialize(t, path, plen, &err);
    if (!parent)
        return err;
    struct tnode *te = overlay_find(t, path, len);
    if (te && !te->deleted)
        return EEXIST;
    if (!te) {
        if (live_lookup(t, path, len))
            return EEXIST;
        te = tnode_new(t, path, len);
        if (!te)
            return ENOMEM;
        te->deleted = true;
    }
    struct perm *copy = perms_dup(p, n);
    size_t skip = plen == 1 ? 1 : plen + 1;
    if (!copy || buf_append(&parent->children, path + skip, len - skip) ||
        buf_append(&parent->children, "", 1)) {
        free(copy);
        return ENOMEM;
    }
    tnode_clear(te);
    te->deleted = false;
    te->d.perms = copy;
    te->d.nperms = n;
    account(t, copy, 1);
    return 0;
}

int txn_set_value(struct txn *t, const char *path, size_t len, const char *value, size_t vlen)
{
    int err;
    struct tnode *te = materialize(t, path, len, &err);
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
    return 0;
}

int txn_set_perms(struct txn *t, const char *path, size_t len, const struct perm *p, uint32_t n)
{
    int err;
    struct tnode *te = materialize(t, path, len, &err);
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
    return 0;
}

/* Tombstone path and everything below it, as this transaction sees it. */
static int remove_subtree(struct txn *t, const char *path, size_t len)
{
    int err;
    struct tnode *te = materialize(t, path, len, &err);
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
    return 0;
}

int txn_remove(struct txn *t, const char *path, size_t len)
{
    int err;
    size_t plen = parent_len(path, len);
    struct tnode *parent = materialize(t, path, plen, &err);
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
    return 0;
}

int txn_children(struct txn *t, const char *path, size_t len, struct buf *b)
{
    struct tnode *te = overlay_find(t, path, len);
    if (te) {
        if (te->deleted)
            return ENOENT;
        return buf_append(b, te->children.data, te->children.len);
    }
    struct node *nd = live_lookup(t, path, len);
    return nd ? tree_children(nd, b) : ENOENT;
}

uint64_t txn_generation(struct txn *t, const char *path, size_t len)
{
    struct taccess *a = (struct taccess *)shash_find(&t->accessed, path, len);
    if (a)
        return a->gen;
    struct node *nd = live_lookup(t, path, len);
    return nd ? nd->gen : 0;
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
    for (size_t i = 0; i < t->accessed.nbuckets; i++) {
        for (struct hentry *e = t->accessed.buckets[i]; e; e = e->next) {
            struct node *nd = tree_lookup(tree, e->key, e->keylen);
            if ((nd ? nd->gen : 0) != ((struct taccess *)e)->gen)
                return true;
        }
    }
    return false;
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
            struct tnode *te = overlay_find(t, path, len);
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
        struct tnode *ct = overlay_find(t, child, plen + 1 + nl);
        if (ct && !ct->deleted && !tree_lookup(tree, child, plen + 1 + nl))
            tree_create(tree, child, plen + 1 + nl, ct->d.perms, ct->d.nperms, NULL);
        free(child);
    }
}

static int apply(struct txn *t)
{
    struct tree *tree = &t->c->store->tree;
    size_t n = 0;
    struct tnode **live = malloc((t->overlay.count + 1) * sizeof(*live));
    if (!live)
        return ENOMEM;
    for (size_t i = 0; i < t->overlay.nbuckets; i++) {
        for (struct hentry *e = t->overlay.buckets[i]; e; e = e->next) {
            struct tnode *te = (struct tnode *)e;
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
