/* The operations: one handler per message type, and process_message(),
 * which validates, checks privilege, finds the transaction, calls the
 * handler and sends its answer or its error.  Handlers return 0 (the reply
 * is in r->reply) or an errno, and change nothing when they fail. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "store/store.h"

#define PATH_BUF (XS_PAYLOAD_MAX + 64)

static const char ok[] = "OK";

static int reply(struct req *r, const void *data, size_t len)
{
    return buf_append(r->reply, data, len);
}

static int ack(struct req *r)
{
    return reply(r, ok, sizeof(ok));
}

/* ---- arguments ------------------------------------------------------------ */

/* Split the payload into exactly n NUL-terminated strings. */
static int get_args(struct req *r, const char **argv, unsigned n)
{
    const char *p = r->payload, *end = r->payload + r->hdr.len;
    for (unsigned i = 0; i < n; i++) {
        const char *nul = memchr(p, '\0', (size_t)(end - p));
        if (!nul)
            return EINVAL;
        argv[i] = p;
        p = nul + 1;
    }
    return p == end ? 0 : EINVAL;
}

static int parse_domid(const char *s, uint32_t *out)
{
    unsigned long v = 0;
    if (!*s)
        return EINVAL;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return EINVAL;
        v = v * 10 + (unsigned long)(*s - '0');
        if (v > DOMID_MAX)
            return EINVAL;
    }
    *out = (uint32_t)v;
    return 0;
}

static bool valid_chars(const char *s)
{
    static const char ok_chars[] = "abcdefghijklmnopqrstuvwxyz"
                                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-/_@";
    return s[strspn(s, ok_chars)] == '\0';
}

/* Turn a client's path argument into a canonical absolute path in out
 * (PATH_BUF bytes): relative paths resolve against /local/domain/<domid>.
 * Special watch names ("@...") pass only where allowed. */
static int canonical(struct req *r, const char *arg, char *out, size_t *len, bool special,
                     bool *relative)
{
    const struct store_limits *l = &r->s->limits;
    size_t n = strlen(arg);
    if (relative)
        *relative = false;
    if (n == 0 || !valid_chars(arg))
        return EINVAL;
    if (arg[0] == '@') {
        if (!special || strchr(arg, '/'))
            return EINVAL;
        if (n > l->path_abs)
            return E2BIG;
        memcpy(out, arg, n + 1);
        *len = n;
        return 0;
    }
    size_t off = 0;
    if (arg[0] != '/') {
        if (relative)
            *relative = true;
        off = r->c->home_len + 1;
        memcpy(out, r->c->home, r->c->home_len);
        out[r->c->home_len] = '/';
    }
    memcpy(out + off, arg, n + 1);
    n += off;
    if (strstr(out, "//") || (n > 1 && out[n - 1] == '/'))
        return EINVAL;
    if (n > l->path_abs)
        return E2BIG;
    /* Below a domain's home, the part after /local/domain/<id> is what the
     * relative limit bounds, however the client spelled the path. */
    unsigned id;
    int home = 0;
    if (sscanf(out, "/local/domain/%5u%n", &id, &home) == 1 && (size_t)home <= n &&
        n - (size_t)home > l->path_rel)
        return E2BIG;
    *len = n;
    return 0;
}

/* ---- node access ------------------------------------------------------------ */

static size_t parent_len(const char *path, size_t len)
{
    while (len > 0 && path[len - 1] != '/')
        len--;
    return len > 1 ? len - 1 : 1;
}

/* The node at path, if the connection holds `perm` on it.  Otherwise NULL
 * and *err: EACCES if denied; for a missing node ENOENT, unless the nearest
 * existing ancestor denies `perm` too, which yields EACCES so that a client
 * cannot probe for what it may not see (Xen's rule). */
static const struct ndata *get_node(struct req *r, const char *path, size_t len, unsigned perm,
                                    int *err)
{
    const struct ndata *d = view_lookup(r, path, len);
    if (d) {
        if ((perm_for_conn(r->c, d->perms, d->nperms, perm) & perm) == perm)
            return d;
        *err = EACCES;
        return NULL;
    }
    /* A transaction that could not copy the node has failed: say why. */
    if (r->txn && (*err = txn_error(r->txn)))
        return NULL;
    while (len > 1) {
        len = parent_len(path, len);
        const struct ndata *p = view_lookup(r, path, len);
        if (p) {
            bool allowed = (perm_for_conn(r->c, p->perms, p->nperms, perm) & perm) == perm;
            *err = allowed ? ENOENT : EACCES;
            return NULL;
        }
    }
    *err = ENOENT;
    return NULL;
}

/* Create path and any missing ancestors; the caller checked (get_node with
 * PERM_WRITE) that the nearest existing ancestor is writable.  Each new
 * node inherits its parent's ACL; an unprivileged creator owns it. */
static int create_path(struct req *r, const char *path, size_t len)
{
    size_t top = len;
    unsigned missing = 1;
    const struct ndata *anc;
    for (;;) {
        top = parent_len(path, top);
        anc = view_lookup(r, path, top);
        if (anc)
            break;
        missing++;
    }
    uint32_t domid = r->c->domid;
    if (domid != 0 && (uint64_t)view_owned(r, domid) + missing > r->s->limits.nodes)
        return ENOSPC;
    uint32_t n = anc->nperms;
    struct perm *p = perms_dup(anc->perms, n);
    if (!p)
        return ENOMEM;
    if (domid != 0)
        p[0].id = domid;
    int rc = 0;
    /* Walk down from the ancestor, creating each missing level. */
    for (size_t end = top + 1; rc == 0 && end <= len; end++) {
        if (end == len || path[end] == '/')
            rc = view_create(r, path, end, p, n);
    }
    free(p);
    return rc;
}

/* A change outside a transaction fires now; inside one, at commit. */
static int changed(struct req *r, const char *path, size_t len, bool removed)
{
    if (r->txn)
        return txn_note_change(r->txn, path, len, removed);
    const struct ndata *d = view_lookup(r, path, len);
    if (d)
        watch_fire(r->s, path, d->perms, d->nperms, removed);
    return 0;
}

/* ---- handlers ---------------------------------------------------------------- */

static int do_read(struct req *r)
{
    const char *arg;
    char path[PATH_BUF];
    size_t len;
    int rc = get_args(r, &arg, 1);
    if (rc || (rc = canonical(r, arg, path, &len, false, NULL)))
        return rc;
    const struct ndata *d = get_node(r, path, len, PERM_READ, &rc);
    return d ? reply(r, d->value, d->vlen) : rc;
}

static int do_write(struct req *r)
{
    char path[PATH_BUF];
    size_t len;
    const char *nul = memchr(r->payload, '\0', r->hdr.len);
    if (!nul)
        return EINVAL;
    const char *value = nul + 1;
    size_t vlen = r->hdr.len - (size_t)(value - r->payload);
    int rc = canonical(r, r->payload, path, &len, false, NULL);
    if (rc)
        return rc;
    if (vlen > r->s->limits.value)
        return E2BIG;
    if (!get_node(r, path, len, PERM_WRITE, &rc)) {
        if (rc != ENOENT || (rc = create_path(r, path, len)))
            return rc;
    }
    if ((rc = view_set_value(r, path, len, value, vlen)) || (rc = changed(r, path, len, false)))
        return rc;
    return ack(r);
}

static int do_mkdir(struct req *r)
{
    const char *arg;
    char path[PATH_BUF];
    size_t len;
    int rc = get_args(r, &arg, 1);
    if (rc || (rc = canonical(r, arg, path, &len, false, NULL)))
        return rc;
    if (!get_node(r, path, len, PERM_WRITE, &rc)) {
        if (rc != ENOENT || (rc = create_path(r, path, len)) || (rc = changed(r, path, len, false)))
            return rc;
    }
    return ack(r);
}

static int do_rm(struct req *r)
{
    const char *arg;
    char path[PATH_BUF];
    size_t len;
    int rc = get_args(r, &arg, 1);
    if (rc || (rc = canonical(r, arg, path, &len, false, NULL)))
        return rc;
    if (!get_node(r, path, len, PERM_WRITE, &rc)) {
        /* Removing what is not there is fine if its parent is. */
        if (rc == ENOENT && len > 1 && view_lookup(r, path, parent_len(path, len)))
            return ack(r);
        return rc;
    }
    if (len == 1)
        return EINVAL;
    if ((rc = changed(r, path, len, true)) || (rc = view_remove(r, path, len)))
        return rc;
    return ack(r);
}

static int do_directory(struct req *r)
{
    const char *arg;
    char path[PATH_BUF];
    size_t len;
    int rc = get_args(r, &arg, 1);
    if (rc || (rc = canonical(r, arg, path, &len, false, NULL)))
        return rc;
    if (!get_node(r, path, len, PERM_READ, &rc))
        return rc;
    if ((rc = view_children(r, path, len, r->reply)))
        return rc;
    /* Too long for one message: the client pages with DIRECTORY_PART. */
    return r->reply->len > XS_PAYLOAD_MAX ? E2BIG : 0;
}

/* Reply: "<generation>\0" then as many whole names ("name\0") from byte
 * offset `off` of the child list as fit; the chunk that reaches the end of
 * the list carries one more "\0", which is how the client knows it is done
 * (an offset at or past the end yields "<generation>\0\0").  The client
 * restarts if the generation changes between its calls. */
static int do_directory_part(struct req *r)
{
    const char *argv[2];
    char path[PATH_BUF];
    size_t len;
    struct buf kids = {0};
    int rc = get_args(r, argv, 2);
    if (rc || (rc = canonical(r, argv[0], path, &len, false, NULL)))
        return rc;
    char *end;
    unsigned long off = strtoul(argv[1], &end, 10);
    if (!*argv[1] || *end)
        return EINVAL;
    if (!get_node(r, path, len, PERM_READ, &rc))
        return rc;
    char gen[32];
    int genlen =
        snprintf(gen, sizeof(gen), "%llu", (unsigned long long)view_generation(r, path, len)) + 1;
    if ((rc = view_children(r, path, len, &kids)) || (rc = reply(r, gen, (size_t)genlen)))
        goto out;
    size_t take = 0, room = XS_PAYLOAD_MAX - (size_t)genlen - 1;
    if (off < kids.len) {
        while (off + take < kids.len) {
            size_t l = strlen(kids.data + off + take) + 1;
            if (take + l > room)
                break;
            take += l;
        }
        if (take == 0) {
            rc = E2BIG;
            goto out;
        }
        rc = reply(r, kids.data + off, take);
    }
    if (!rc && off + take >= kids.len)
        rc = reply(r, "", 1);
out:
    buf_dispose(&kids);
    return rc;
}

static int do_get_perms(struct req *r)
{
    const char *arg;
    char path[PATH_BUF];
    size_t len;
    int rc = get_args(r, &arg, 1);
    if (rc || (rc = canonical(r, arg, path, &len, false, NULL)))
        return rc;
    const struct ndata *d = get_node(r, path, len, PERM_READ, &rc);
    return d ? perms_format(d->perms, d->nperms, r->reply) : rc;
}

static int do_set_perms(struct req *r)
{
    char path[PATH_BUF];
    size_t len;
    struct perm *p = NULL;
    uint32_t n;
    const char *nul = memchr(r->payload, '\0', r->hdr.len);
    if (!nul)
        return EINVAL;
    size_t plen = (size_t)(nul - r->payload) + 1;
    int rc = canonical(r, r->payload, path, &len, false, NULL);
    if (rc || (rc = perms_parse(r->payload + plen, r->hdr.len - plen, &p, &n)))
        return rc;
    const struct ndata *d = get_node(r, path, len, PERM_WRITE | PERM_OWNER, &rc);
    if (!d)
        goto out;
    /* Only the privileged may give a node away. */
    rc = EPERM;
    if (r->c->domid != 0 && p[0].id != d->perms[0].id)
        goto out;
    if ((rc = view_set_perms(r, path, len, p, n)) || (rc = changed(r, path, len, false)))
        goto out;
    rc = ack(r);
out:
    free(p);
    return rc;
}

static int do_watch(struct req *r)
{
    const char *argv[2];
    char path[PATH_BUF];
    size_t len;
    bool relative;
    int rc = get_args(r, argv, 2);
    if (rc || (rc = canonical(r, argv[0], path, &len, true, &relative)))
        return rc;
    rc = watch_add(r->c, path, argv[1], relative ? r->c->home_len + 1 : 0, &r->initial);
    return rc ? rc : ack(r);
}

static int do_unwatch(struct req *r)
{
    const char *argv[2];
    char path[PATH_BUF];
    size_t len;
    int rc = get_args(r, argv, 2);
    if (rc || (rc = canonical(r, argv[0], path, &len, true, NULL)) ||
        (rc = watch_remove(r->c, path, argv[1])))
        return rc;
    return ack(r);
}

static int do_transaction_start(struct req *r)
{
    uint32_t id;
    if (r->hdr.tx_id != 0)
        return EBUSY;
    int rc = txn_start(r->c, &id);
    if (rc)
        return rc;
    char s[16];
    int n = snprintf(s, sizeof(s), "%u", id);
    return reply(r, s, (size_t)n + 1);
}

static int do_transaction_end(struct req *r)
{
    const char *arg;
    int rc = get_args(r, &arg, 1);
    if (rc)
        return rc;
    if (strcmp(arg, "T") != 0 && strcmp(arg, "F") != 0)
        return EINVAL;
    if (!r->txn)
        return ENOENT;
    rc = txn_end(r->txn, arg[0] == 'T');
    r->txn = NULL;
    return rc ? rc : ack(r);
}

/* INTRODUCE domid [mfn port]: the domain's connection is the descriptor that
 * came with the message (SCM_RIGHTS); mfn and port mean nothing here. */
static int do_introduce(struct req *r)
{
    const char *argv[3];
    uint32_t domid;
    int rc = EINVAL;
    for (unsigned n = 1; n <= 3 && rc; n++)
        rc = get_args(r, argv, n);
    if (rc)
        return rc;
    if ((rc = parse_domid(argv[0], &domid)))
        return rc;
    if (domid == 0 || r->fd < 0)
        return EINVAL;
    if ((rc = domain_introduce(r->s, domid, r->fd)))
        return rc;
    r->fd = -1; /* the store owns it now */
    return ack(r);
}

static int one_domid(struct req *r, uint32_t *domid)
{
    const char *arg;
    int rc = get_args(r, &arg, 1);
    return rc ? rc : parse_domid(arg, domid);
}

static int do_release(struct req *r)
{
    uint32_t domid;
    int rc = one_domid(r, &domid);
    if (rc || (rc = domain_release(r->s, domid)))
        return rc;
    return ack(r);
}

static int do_resume(struct req *r)
{
    uint32_t domid;
    int rc = one_domid(r, &domid);
    if (rc)
        return rc;
    return domain_find(r->s, domid) ? ack(r) : ENOENT;
}

static int do_get_domain_path(struct req *r)
{
    uint32_t domid;
    int rc = one_domid(r, &domid);
    if (rc)
        return rc;
    char s[32];
    int n = snprintf(s, sizeof(s), "/local/domain/%u", domid);
    return reply(r, s, (size_t)n + 1);
}

static int do_is_domain_introduced(struct req *r)
{
    uint32_t domid;
    int rc = one_domid(r, &domid);
    if (rc)
        return rc;
    struct domain *d = domain_find(r->s, domid);
    return reply(r, domid == 0 || (d && d->conn) ? "T" : "F", 2);
}

static int do_set_target(struct req *r)
{
    const char *argv[2];
    uint32_t domid, target;
    int rc = get_args(r, argv, 2);
    if (rc || (rc = parse_domid(argv[0], &domid)) || (rc = parse_domid(argv[1], &target)) ||
        (rc = domain_set_target(r->s, domid, target)))
        return rc;
    return ack(r);
}

static int do_reset_watches(struct req *r)
{
    watch_reset(r->c);
    txn_free_all(r->c);
    return ack(r);
}

/* A harmless subset of Xen's debug commands. */
static int do_control(struct req *r)
{
    const char *nul = memchr(r->payload, '\0', r->hdr.len);
    if (!nul)
        return EINVAL;
    if (strcmp(r->payload, "check") == 0) {
        /* As Xen's: verify the tree's internal consistency. */
        if (tree_check(&r->s->tree) != 0) {
            log_error("control check: the tree is inconsistent");
            return EIO;
        }
        return ack(r);
    }
    if (strcmp(r->payload, "print") == 0) {
        log_info("control print: %.*s", (int)(r->hdr.len - (size_t)(nul + 1 - r->payload)),
                 nul + 1);
        return ack(r);
    }
    if (strcmp(r->payload, "help") == 0) {
        static const char help[] = "check\nprint <string>\nhelp\n";
        return reply(r, help, sizeof(help));
    }
    return EINVAL;
}

/* ---- dispatch ----------------------------------------------------------- */

enum {
    F_PRIV = 1, /* domain 0 only */
    F_NOTX = 2, /* the header's tx_id is not looked up */
};

static const struct {
    const char *name;
    int (*fn)(struct req *r);
    unsigned flags;
} wire_funcs[XS_TYPE_COUNT] = {
    [XS_CONTROL] = {"CONTROL", do_control, F_PRIV | F_NOTX},
    [XS_DIRECTORY] = {"DIRECTORY", do_directory, 0},
    [XS_READ] = {"READ", do_read, 0},
    [XS_GET_PERMS] = {"GET_PERMS", do_get_perms, 0},
    [XS_WATCH] = {"WATCH", do_watch, F_NOTX},
    [XS_UNWATCH] = {"UNWATCH", do_unwatch, F_NOTX},
    [XS_TRANSACTION_START] = {"TRANSACTION_START", do_transaction_start, F_NOTX},
    [XS_TRANSACTION_END] = {"TRANSACTION_END", do_transaction_end, 0},
    [XS_INTRODUCE] = {"INTRODUCE", do_introduce, F_PRIV | F_NOTX},
    [XS_RELEASE] = {"RELEASE", do_release, F_PRIV | F_NOTX},
    [XS_GET_DOMAIN_PATH] = {"GET_DOMAIN_PATH", do_get_domain_path, F_NOTX},
    [XS_WRITE] = {"WRITE", do_write, 0},
    [XS_MKDIR] = {"MKDIR", do_mkdir, 0},
    [XS_RM] = {"RM", do_rm, 0},
    [XS_SET_PERMS] = {"SET_PERMS", do_set_perms, 0},
    [XS_IS_DOMAIN_INTRODUCED] = {"IS_DOMAIN_INTRODUCED", do_is_domain_introduced, F_PRIV | F_NOTX},
    [XS_RESUME] = {"RESUME", do_resume, F_PRIV | F_NOTX},
    [XS_SET_TARGET] = {"SET_TARGET", do_set_target, F_PRIV | F_NOTX},
    [XS_RESET_WATCHES] = {"RESET_WATCHES", do_reset_watches, F_NOTX},
    [XS_DIRECTORY_PART] = {"DIRECTORY_PART", do_directory_part, 0},
};

static const struct xs_error_name error_names[] = XS_ERROR_NAMES;

static const char *error_name(int err)
{
    for (size_t i = 0; i < sizeof(error_names) / sizeof(error_names[0]); i++)
        if (error_names[i].err == err)
            return error_names[i].name;
    return "EIO";
}

void process_message(struct req *r)
{
    uint32_t type = r->hdr.type;
    int rc;

    r->txn = NULL;
    r->initial = NULL;
    r->reply->len = 0;
    if (type >= XS_TYPE_COUNT || !wire_funcs[type].fn) {
        log_debug("domain %u: unknown operation %u", r->c->domid, type);
        rc = ENOSYS;
        goto out;
    }
    if ((wire_funcs[type].flags & F_PRIV) && r->c->domid != 0) {
        rc = EACCES;
        goto out;
    }
    if (r->hdr.tx_id && !(wire_funcs[type].flags & F_NOTX)) {
        r->txn = txn_find(r->c, r->hdr.tx_id);
        if (!r->txn) {
            rc = ENOENT;
            goto out;
        }
    }
    rc = wire_funcs[type].fn(r);
out:
    if (rc) {
        const char *e = error_name(rc);
        conn_send(r->c, XS_ERROR, r->hdr.req_id, r->hdr.tx_id, e, strlen(e) + 1);
        return;
    }
    conn_send(r->c, type, r->hdr.req_id, r->hdr.tx_id, r->reply->data, r->reply->len);
    if (r->initial)
        watch_send(r->c, r->initial, r->initial->path);
}
