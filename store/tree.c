/* The live tree: every node is indexed by its full path in one hash table,
 * so a lookup costs the same at 10 nodes and at 100,000, and each node
 * links its children in creation order (what DIRECTORY lists).
 *
 * Generations: every change stamps the changed node with a fresh value of
 * the tree's counter, and adding or removing a child also stamps the parent
 * (its child list is part of what a reader saw).  Transactions compare these
 * stamps at commit to detect conflicts (see transaction.c).
 *
 * Accounting: owned[id] counts the nodes whose owner (perms entry 0) is id;
 * it is kept exact here so that quota checks need no scan.
 *
 * Durability: every change to the live tree passes through the four
 * functions below, and each journals itself (persist.h), whoever made it:
 * a request, a committing transaction, a domain's release.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/persist.h"
#include "store/store.h"

static void account(struct tree *t, const struct perm *p, int delta)
{
    if (p && p[0].id <= DOMID_MAX) {
        t->owned[p[0].id] += (uint32_t)delta;
        t->owned_total += (size_t)(int64_t)delta; /* wraps back on removal */
    }
}

static struct node *node_alloc(const char *path, size_t len, const struct perm *p, uint32_t n)
{
    /* The path lives right after the node: one allocation, and one cache
     * line fewer to touch when a lookup compares keys. */
    struct node *nd = calloc(1, sizeof(*nd) + len + 1);
    if (!nd)
        return NULL;
    nd->d.perms = perms_dup(p, n);
    if (!nd->d.perms) {
        free(nd);
        return NULL;
    }
    nd->h.key = (char *)(nd + 1);
    memcpy(nd->h.key, path, len);
    nd->h.keylen = len;
    nd->d.nperms = n;
    return nd;
}

static void node_free(struct node *nd)
{
    free(nd->d.value);
    free(nd->d.perms);
    free(nd);
}

int tree_init(struct tree *t)
{
    static const struct perm root_perms[] = {{0, PERM_NONE}};
    memset(t, 0, sizeof(*t));
    t->owned = calloc(DOMID_MAX + 1, sizeof(*t->owned));
    if (!t->owned || shash_init(&t->index) != 0)
        goto fail;
    t->root = node_alloc("/", 1, root_perms, 1);
    if (!t->root)
        goto fail;
    t->root->gen = ++t->gen;
    shash_insert(&t->index, &t->root->h);
    account(t, root_perms, 1);
    return 0;
fail:
    free(t->owned);
    shash_dispose(&t->index);
    return ENOMEM;
}

static void free_subtree(struct node *nd)
{
    /* Iterative post-order so that deep trees cannot exhaust the stack. */
    struct node *cur = nd;
    while (cur) {
        if (cur->first_child) {
            cur = cur->first_child;
            continue;
        }
        struct node *parent = cur->parent, *next = cur->next;
        if (parent) {
            parent->first_child = next;
            if (!next)
                parent->last_child = NULL;
        }
        bool last = cur == nd;
        node_free(cur);
        if (last)
            break;
        cur = next ? next : parent;
    }
}

void tree_dispose(struct tree *t)
{
    if (t->root) {
        t->root->parent = NULL;
        free_subtree(t->root);
    }
    shash_dispose(&t->index);
    free(t->owned);
    memset(t, 0, sizeof(*t));
}

struct node *tree_lookup(const struct tree *t, const char *path, size_t len)
{
    struct hentry *e = shash_find(&t->index, path, len);
    return e ? (struct node *)e : NULL;
}

static size_t parent_len(const char *path, size_t len)
{
    while (len > 0 && path[len - 1] != '/')
        len--;
    return len > 1 ? len - 1 : 1; /* "/a" -> "/", "/a/b" -> "/a" */
}

int tree_create(struct tree *t, const char *path, size_t len, const struct perm *p, uint32_t n,
                struct node **out)
{
    struct node *parent = tree_lookup(t, path, parent_len(path, len));
    if (!parent)
        return ENOENT;
    return tree_create_at(t, parent, path, len, shash_hash(path, len), p, n, out);
}

int tree_create_at(struct tree *t, struct node *parent, const char *path, size_t len, uint32_t hash,
                   const struct perm *p, uint32_t n, struct node **out)
{
    struct node *nd = node_alloc(path, len, p, n);
    if (!nd)
        return ENOMEM;
    nd->parent = parent;
    nd->prev = parent->last_child;
    if (parent->last_child)
        parent->last_child->next = nd;
    else
        parent->first_child = nd;
    parent->last_child = nd;
    shash_insert_hashed(&t->index, &nd->h, hash);
    account(t, p, 1);
    nd->gen = parent->gen = ++t->gen;
    journal_create(t->persist, path, len, p, n);
    if (out)
        *out = nd;
    return 0;
}

int tree_set_value(struct tree *t, struct node *nd, const char *value, size_t vlen)
{
    char *v = NULL;
    if (vlen) {
        v = malloc(vlen);
        if (!v)
            return ENOMEM;
        memcpy(v, value, vlen);
    }
    free(nd->d.value);
    nd->d.value = v;
    nd->d.vlen = (uint32_t)vlen;
    nd->gen = ++t->gen;
    journal_value(t->persist, nd->h.key, nd->h.keylen, value, vlen);
    return 0;
}

int tree_set_perms(struct tree *t, struct node *nd, const struct perm *p, uint32_t n)
{
    struct perm *copy = perms_dup(p, n);
    if (!copy)
        return ENOMEM;
    account(t, nd->d.perms, -1);
    free(nd->d.perms);
    nd->d.perms = copy;
    nd->d.nperms = n;
    account(t, copy, 1);
    nd->gen = ++t->gen;
    journal_perms(t->persist, nd->h.key, nd->h.keylen, p, n);
    return 0;
}

void tree_remove(struct tree *t, struct node *nd)
{
    if (nd == t->root)
        return;
    journal_remove(t->persist, nd->h.key, nd->h.keylen);
    struct node *parent = nd->parent;
    if (nd->prev)
        nd->prev->next = nd->next;
    else
        parent->first_child = nd->next;
    if (nd->next)
        nd->next->prev = nd->prev;
    else
        parent->last_child = nd->prev;
    parent->gen = ++t->gen;
    nd->parent = NULL;
    nd->prev = nd->next = NULL;
    /* Unindex and account first, then free the detached subtree. */
    for (struct node *cur = nd; cur;) {
        shash_remove(&t->index, &cur->h);
        account(t, cur->d.perms, -1);
        if (cur->first_child) {
            cur = cur->first_child;
            continue;
        }
        while (cur && cur != nd && !cur->next)
            cur = cur->parent;
        if (!cur || cur == nd)
            break;
        cur = cur->next;
    }
    free_subtree(nd);
}

int tree_children(const struct node *nd, struct buf *b)
{
    for (const struct node *c = nd->first_child; c; c = c->next) {
        const char *name = strrchr(c->h.key, '/') + 1;
        int rc = buf_append(b, name, strlen(name) + 1);
        if (rc)
            return rc;
    }
    return 0;
}

int tree_check(const struct tree *t)
{
    struct {
        uint32_t id, count;
    } owners[64];
    unsigned nowners = 0;
    size_t seen = 0, owned_total = 0;
    int rc = 0;
    const struct node *cur = t->root;
    while (cur && rc == 0) {
        seen++;
        if (tree_lookup(t, cur->h.key, cur->h.keylen) != cur || cur->d.nperms == 0 ||
            cur->gen > t->gen)
            rc = -1;
        else if (cur->d.perms[0].id <= DOMID_MAX) {
            owned_total++;
            unsigned i = 0;
            while (i < nowners && owners[i].id != cur->d.perms[0].id)
                i++;
            if (i == nowners && nowners < 64) {
                owners[i].id = cur->d.perms[0].id;
                owners[i].count = 0;
                nowners++;
            }
            if (i < nowners)
                owners[i].count++;
        }
        if (cur->parent) {
            size_t pl = cur->parent->h.keylen == 1 ? 0 : cur->parent->h.keylen;
            if (cur->h.keylen <= pl + 1 || memcmp(cur->h.key, cur->parent->h.key, pl) != 0 ||
                cur->h.key[pl] != '/' || strchr(cur->h.key + pl + 1, '/'))
                rc = -1;
        }
        if (cur->first_child) {
            if (cur->first_child->prev || cur->first_child->parent != cur)
                rc = -1;
            cur = cur->first_child;
            continue;
        }
        while (cur && !cur->next)
            cur = cur->parent;
        if (cur) {
            if (cur->next->prev != cur || cur->next->parent != cur->parent)
                rc = -1;
            cur = cur->next;
        }
    }
    /* Per-owner counts (for up to 64 owners) and the grand total. */
    for (unsigned i = 0; rc == 0 && i < nowners && nowners < 64; i++)
        if (t->owned[owners[i].id] != owners[i].count)
            rc = -1;
    if (rc == 0 && (seen != t->index.count || t->owned_total != owned_total))
        rc = -1;
    return rc;
}
