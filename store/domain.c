/* Domains: connections other than domain 0's, introduced by domain 0.
 *
 * Xen connects a domain through a shared ring and an event channel.  Here
 * the toolstack makes a socket pair, keeps one end for the domain and hands
 * the other to the store with XS_INTRODUCE as an SCM_RIGHTS descriptor; the
 * store then knows that everything arriving on it comes from that domain.
 * RELEASE closes the connection, removes /local/domain/<domid>, and fires
 * @releaseDomain; INTRODUCE fires @introduceDomain.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "lib/log.h"
#include "store/store.h"

struct domain *domain_find(struct store *s, uint32_t domid)
{
    for (struct domain *d = s->domains; d; d = d->next)
        if (d->domid == domid)
            return d;
    return NULL;
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
    if (fresh) {
        d = calloc(1, sizeof(*d));
        if (!d)
            return ENOMEM;
        d->domid = domid;
        d->target = NO_DOMID;
    }
    d->conn = conn_new(s, fd, domid, d);
    if (!d->conn) {
        if (fresh)
            free(d);
        return ENOMEM;
    }
    if (fresh) {
        d->next = s->domains;
        s->domains = d;
    }
    log_debug("introduced domain %u", domid);
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
    for (struct domain **p = &s->domains; *p; p = &(*p)->next) {
        if (*p == d) {
            *p = d->next;
            break;
        }
    }
    free(d);
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
    return 0;
}
