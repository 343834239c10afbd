/* Small containers: a growable byte buffer and a string-keyed hash table
 * with intrusive entries, used by the tree and the transaction overlays. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

int buf_append(struct buf *b, const void *data, size_t len)
{
    if (len > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < len) {
            if (cap > SIZE_MAX / 2)
                return ENOMEM;
            cap *= 2;
        }
        char *p = realloc(b->data, cap);
        if (!p)
            return ENOMEM;
        b->data = p;
        b->cap = cap;
    }
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

void buf_dispose(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* FNV-1a: cheap, and good enough for paths that share long prefixes. */
uint32_t shash_hash(const char *key, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 16777619u;
    }
    return h;
}

int shash_init(struct shash *h)
{
    h->nbuckets = 64;
    h->count = 0;
    h->buckets = calloc(h->nbuckets, sizeof(*h->buckets));
    return h->buckets ? 0 : ENOMEM;
}

void shash_dispose(struct shash *h)
{
    free(h->buckets);
    h->buckets = NULL;
    h->nbuckets = h->count = 0;
}

struct hentry *shash_find(const struct shash *h, const char *key, size_t len)
{
    return shash_find_hashed(h, key, len, shash_hash(key, len));
}

struct hentry *shash_find_hashed(const struct shash *h, const char *key, size_t len, uint32_t hash)
{
    for (struct hentry *e = h->buckets[hash & (h->nbuckets - 1)]; e; e = e->next)
        if (e->hash == hash && e->keylen == len && memcmp(e->key, key, len) == 0)
            return e;
    return NULL;
}

/* Doubling keeps chains short; if the bigger array cannot be had we keep
 * the old one, which stays correct, only slower. */
static void shash_grow(struct shash *h)
{
    size_t n = h->nbuckets * 2;
    struct hentry **b = calloc(n, sizeof(*b));
    if (!b)
        return;
    for (size_t i = 0; i < h->nbuckets; i++) {
        struct hentry *e = h->buckets[i];
        while (e) {
            struct hentry *next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(h->buckets);
    h->buckets = b;
    h->nbuckets = n;
}

void shash_reserve(struct shash *h, size_t n)
{
    while (h->nbuckets < n) {
        size_t before = h->nbuckets;
        shash_grow(h);
        if (h->nbuckets == before)
            return; /* no memory: it stays correct, only slower */
    }
}

void shash_insert(struct shash *h, struct hentry *e)
{
    shash_insert_hashed(h, e, shash_hash(e->key, e->keylen));
}

void shash_insert_hashed(struct shash *h, struct hentry *e, uint32_t hash)
{
    if (h->count + 1 > h->nbuckets)
        shash_grow(h);
    e->hash = hash;
    struct hentry **head = &h->buckets[e->hash & (h->nbuckets - 1)];
    e->next = *head;
    *head = e;
    h->count++;
}

void shash_remove(struct shash *h, struct hentry *e)
{
    for (struct hentry **p = &h->buckets[e->hash & (h->nbuckets - 1)]; *p; p = &(*p)->next) {
        if (*p == e) {
            *p = e->next;
            h->count--;
            return;
        }
    }
}
