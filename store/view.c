/* Views: the tree as one request sees it.  Outside a transaction that is
 * the live tree; inside one, the transaction's private overlay on top of it
 * (transaction.c).  Handlers in ops.c are written once against this. */
#include <errno.h>

#include "store/store.h"

const struct ndata *view_lookup(struct req *r, const char *path, size_t len)
{
    if (r->txn)
        return txn_lookup(r->txn, path, len);
    struct node *nd = tree_lookup(&r->s->tree, path, len);
    return nd ? &nd->d : NULL;
}

int view_create(struct req *r, const char *path, size_t len, const struct perm *p, uint32_t n)
{
    if (r->txn)
        return txn_create(r->txn, path, len, p, n);
    return tree_create(&r->s->tree, path, len, p, n, NULL);
}

int view_set_value(struct req *r, const char *path, size_t len, const char *value, size_t vlen)
{
    if (r->txn)
        return txn_set_value(r->txn, path, len, value, vlen);
    struct node *nd = tree_lookup(&r->s->tree, path, len);
    return nd ? tree_set_value(&r->s->tree, nd, value, vlen) : ENOENT;
}

int view_set_perms(struct req *r, const char *path, size_t len, const struct perm *p, uint32_t n)
{
    if (r->txn)
        return txn_set_perms(r->txn, path, len, p, n);
    struct node *nd = tree_lookup(&r->s->tree, path, len);
    return nd ? tree_set_perms(&r->s->tree, nd, p, n) : ENOENT;
}

int view_remove(struct req *r, const char *path, size_t len)
{
    if (r->txn)
        return txn_remove(r->txn, path, len);
    struct node *nd = tree_lookup(&r->s->tree, path, len);
    if (!nd)
        return ENOENT;
    tree_remove(&r->s->tree, nd);
    return 0;
}

int view_children(struct req *r, const char *path, size_t len, struct buf *b)
{
    if (r->txn)
        return txn_children(r->txn, path, len, b);
    struct node *nd = tree_lookup(&r->s->tree, path, len);
    return nd ? tree_children(nd, b) : ENOENT;
}

uint64_t view_generation(struct req *r, const char *path, size_t len)
{
    if (r->txn)
        return txn_generation(r->txn, path, len);
    struct node *nd = tree_lookup(&r->s->tree, path, len);
    return nd ? nd->gen : 0;
}

uint32_t view_owned(struct req *r, uint32_t domid)
{
    uint32_t n = domid <= DOMID_MAX ? r->s->tree.owned[domid] : 0;
    if (r->txn && domid == r->c->domid) {
        int64_t v = (int64_t)n + txn_owned_delta(r->txn);
        n = v < 0 ? 0 : (uint32_t)v;
    }
    return n;
}
