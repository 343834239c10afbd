/* Domains: connections other than domain 0's, introduced by domain 0.
 *
 * Xen connects a domain through a shared ring and an event channel.  Here
 * the toolstack makes a socket pair, keeps one end for the domain and hands
 * the other to the store with XS_INTRODUCE as an SCM_RIGHTS descriptor; the
 * store then knows that everything arriving on it comes from that domain.
 * RELEASE closes the connection, removes /local/domain/<domid>, and fires
 * @releaseDomain; INTRODUCE fires @introduceDomain.
 *
 * A domain outlives its connection: its record (id, target) is part of the
 * durable state, its connection is not.  When the connection ends -- the
 * domain's client hung up, or the store itself was restarted -- INTRODUCE
 * with a fresh socket attaches the domain again, keeping its nodes,
 * permissions, target and quota accounting.  After a restart of the store
 * the watches its old connection had come back on the new one, each fired
 * once so that the client reads again what it watches; after a mere
 * hang-up they are gone with the connection, as in Xen.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "lib/log.h"
#include "store/persist.h"
#include "store/store.h"

struct domain *domain_find(struct store *s, uint32_t domid)
{
    for (struct domain *d = s->domains; d; d = d->next)
        if (d->domid == domid)
            return d;
    return NULL;
}

struct domain *domain_add(struct store *s, uint32_t domid)
{
    struct domain *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->domid = domid;
    d->target = NO_DOMID;
    d->next = s->domains;
    s->domains = d;
    return d;
}

void domain_forget(struct store *s, struct domain *d)
{
    for (struct domain **p = &s->domains; *p; p = &(*p)->next) {
        if (*p == d) {
            *p = d->next;
            break;
        }
    }
    watch_list_free(&d->saved_watches, &d->nsaved_watches);
    free(d);
}

/* Give the new connection the watches saved from before a restart, and
 * fire each once, as a newly set watch fires. */
static void restore_watches(struct domain *d)
{
    struct conn *c = d->conn;
    c->watches = d->saved_watches;
    c->nwatches = d->nsaved_watches;
    d->saved_watches = NULL;
    d->nsaved_watches = 0;
    for (struct watch *w = c->watches; w; w = w->next)
        watch_send(c, w, w->path);
}

int domain_introduce(struct store *s, uint32_t domid, int fd)
{
    struct stat st;
    if (domid == 0 || domid > DOMID_MAX || fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
        return EINVAL;
    struct domain *d = domain_find(s, domid);
    bool fresh = !d;
    if (d && d->conn)
        return EEXIST;
    if (fresh && !(d = domain_add(s, domid)))
        return ENOMEM;
    d->conn = conn_new(s, fd, domid, d);
    if (!d->conn) {
        if (fresh)
            domain_forget(s, d);
        return ENOMEM;
    }
    if (fresh)
        journal_domain(s->persist, domid, d->target);
    else
        restore_watches(d);
    log_debug("%s domain %u", fresh ? "introduced" : "attached", domid);
    watch_fire_special(s, "@introduceDomain");
    return 0;
}

int domain_release(struct store *s, uint32_t domid)
{
    struct domain *d = domain_find(s, domid);
    if (!d)
        return ENOENT;
    if (d->conn) {
        struct conn *c = d->conn;
        conn_kill(c); /* closed and freed by store_reap() */
        c->dom = NULL;
    }
    domain_forget(s, d);
    journal_release(s->persist, domid);
    char home[32];
    int n = snprintf(home, sizeof(home), "/local/domain/%u", domid);
    struct node *nd = tree_lookup(&s->tree, home, (size_t)n);
    if (nd) {
        watch_fire(s, home, nd->d.perms, nd->d.nperms, true);
        tree_remove(&s->tree, nd);
    }
    log_debug("released domain %u", domid);
    watch_fire_special(s, "@releaseDomain");
    return 0;
}

int domain_set_target(struct store *s, uint32_t domid, uint32_t target)
{
    struct domain *d = domain_find(s, domid);
    if (!d)
        return ENOENT;
    if (target == domid || target > DOMID_MAX)
        return EINVAL;
    d->target = target;
    journal_domain(s->persist, domid, target);
    return 0;
}
