/* Watches: a client names a path and a token; from then on every change
 * at or below that path queues a WATCH_EVENT (path, token) for it.
 *
 * Rules, as in Xen:
 *   - Setting a watch fires it once at once, so the client can read the
 *     initial state without a race.
 *   - A change of /a/b fires watches on /a/b, /a and /; removing /a also
 *     fires watches on nodes below /a that existed, each with its own path.
 *   - A client only hears about nodes it may read.
 *   - A watch set with a relative path gets relative event paths.
 *   - Changes made in a transaction fire when it commits (transaction.c).
 *   - Events for one connection leave in the order the changes happened.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/persist.h"
#include "store/store.h"

int watch_list_add(struct watch **head, unsigned *n, const char *path, const char *token,
                   size_t strip, unsigned limit, struct watch **out)
{
    struct watch **tail = head;
    for (struct watch *w = *head; w; w = w->next) {
        if (strcmp(w->path, path) == 0 && strcmp(w->token, token) == 0)
            return EEXIST;
        tail = &w->next;
    }
    if (*n >= limit)
        return E2BIG;
    struct watch *w = calloc(1, sizeof(*w));
    if (!w || !(w->path = strdup(path)) || !(w->token = strdup(token))) {
        if (w)
            free(w->path);
        free(w);
        return ENOMEM;
    }
    w->strip = strip;
    *tail = w;
    *out = w;
    (*n)++;
    return 0;
}

static void watch_free(struct watch *w)
{
    free(w->path);
    free(w->token);
    free(w);
}

int watch_list_remove(struct watch **head, unsigned *n, const char *path, const char *token)
{
    for (struct watch **p = head; *p; p = &(*p)->next) {
        struct watch *w = *p;
        if (strcmp(w->path, path) == 0 && strcmp(w->token, token) == 0) {
            *p = w->next;
            watch_free(w);
            (*n)--;
            return 0;
        }
    }
    return ENOENT;
}

void watch_list_free(struct watch **head, unsigned *n)
{
    while (*head) {
        struct watch *w = *head;
        *head = w->next;
        watch_free(w);
    }
    *n = 0;
}

/* A domain's watches are part of the durable state (they come back when
 * it is introduced again after a restart of the store); domain 0's public
 * connections are anonymous, and their clients register theirs again. */
int watch_add(struct conn *c, const char *path, const char *token, size_t strip, struct watch **out)
{
    unsigned limit = c->domid != 0 ? c->store->limits.watches : UINT32_MAX;
    int rc = watch_list_add(&c->watches, &c->nwatches, path, token, strip, limit, out);
    if (rc == 0 && c->dom)
        journal_watch(c->store->persist, c->domid, *out);
    return rc;
}

int watch_remove(struct conn *c, const char *path, const char *token)
{
    int rc = watch_list_remove(&c->watches, &c->nwatches, path, token);
    if (rc == 0 && c->dom)
        journal_unwatch(c->store->persist, c->domid, path, token);
    return rc;
}

void watch_free_all(struct conn *c)
{
    watch_list_free(&c->watches, &c->nwatches);
}

void watch_reset(struct conn *c)
{
    if (c->dom && c->nwatches)
        journal_unwatch_all(c->store->persist, c->domid);
    watch_free_all(c);
}

void watch_send(struct conn *c, const struct watch *w, const char *path)
{
    size_t plen = strlen(path), tlen = strlen(w->token);
    if (w->strip && plen > w->strip && strncmp(path, c->home, c->home_len) == 0 &&
        path[c->home_len] == '/') {
        path += w->strip;
        plen -= w->strip;
    }
    char stackbuf[512];
    char *msg = plen + tlen + 2 <= sizeof(stackbuf) ? stackbuf : malloc(plen + tlen + 2);
    if (!msg)
        return;
    memcpy(msg, path, plen + 1);
    memcpy(msg + plen + 1, w->token, tlen + 1);
    conn_send(c, XS_WATCH_EVENT, 0, 0, msg, plen + tlen + 2);
    if (msg != stackbuf)
        free(msg);
}

/* Is `above` the same node as `path` or one of its ancestors? */
static bool at_or_above(const char *above, const char *path)
{
    size_t n = strlen(above);
    if (n == 1 && above[0] == '/')
        return path[0] == '/';
    return strncmp(above, path, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

void watch_fire(struct store *s, const char *path, const struct perm *p, uint32_t n, bool removed)
{
    for (struct conn *c = s->conns; c; c = c->next) {
        if (c->dead)
            continue;
        for (struct watch *w = c->watches; w; w = w->next) {
            if (at_or_above(w->path, path)) {
                if (perm_for_conn(c, p, n, PERM_READ))
                    watch_send(c, w, path);
            } else if (removed && at_or_above(path, w->path)) {
                struct node *nd = tree_lookup(&s->tree, w->path, strlen(w->path));
                if (nd && perm_for_conn(c, nd->d.perms, nd->d.nperms, PERM_READ))
                    watch_send(c, w, w->path);
            }
        }
    }
}

void watch_fire_special(struct store *s, const char *name)
{
    for (struct conn *c = s->conns; c; c = c->next) {
        if (c->dead)
            continue;
        for (struct watch *w = c->watches; w; w = w->next)
            if (strcmp(w->path, name) == 0)
                watch_send(c, w, name);
    }
}
