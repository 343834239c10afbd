/* Connections and message framing: bytes in, complete messages to
 * process_message(), replies and events queued out.  Nothing here touches
 * a socket; server.c moves the bytes, and the fuzzer feeds them directly.
 *
 * A client that announces a payload longer than XS_PAYLOAD_MAX has lost
 * the framing for good: it gets one E2BIG error and is disconnected once
 * that is written.  A fragment simply waits for the rest; a connection that
 * hangs up mid-message is dropped.  Neither affects any other client.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/log.h"
#include "store/persist.h"
#include "store/store.h"

void store_limits_default(struct store_limits *l)
{
    *l = (struct store_limits){
        .nodes = 1000,
        .watches = 128,
        .transactions = 10,
        .path_rel = XS_REL_PATH_MAX,
        .path_abs = XS_ABS_PATH_MAX,
        .value = XS_PAYLOAD_MAX,
    };
}

int store_init(struct store *s, const struct store_limits *l)
{
    memset(s, 0, sizeof(*s));
    s->limits = *l;
    return tree_init(&s->tree);
}

void store_dispose(struct store *s)
{
    while (s->conns)
        conn_kill(s->conns);
    store_reap(s);
    while (s->domains)
        domain_forget(s, s->domains);
    tree_dispose(&s->tree);
}

struct conn *conn_new(struct store *s, int fd, uint32_t domid, struct domain *dom)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->store = s;
    c->fd = fd;
    c->domid = domid;
    c->dom = dom;
    c->home_len = (size_t)snprintf(c->home, sizeof(c->home), "/local/domain/%u", domid);
    if (s->conn_attach && s->conn_attach(s, c) != 0) {
        free(c);
        return NULL;
    }
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    return c;
}

static void unlink_gated(struct conn *c)
{
    if (!c->in_gated)
        return;
    for (struct conn **p = &c->store->gated; *p; p = &(*p)->gated_next) {
        if (*p == c) {
            *p = c->gated_next;
            break;
        }
    }
    c->in_gated = false;
}

static void unlink_flush(struct conn *c)
{
    if (!c->in_flush)
        return;
    for (struct conn **p = &c->store->flush; *p; p = &(*p)->flush_next) {
        if (*p == c) {
            *p = c->flush_next;
            break;
        }
    }
    c->in_flush = false;
}

void conn_kill(struct conn *c)
{
    struct store *s = c->store;
    if (c->dead)
        return;
    c->dead = true;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    unlink_flush(c);
    unlink_gated(c);
    if (c->dom && c->dom->conn == c) {
        /* The domain's watches end with its connection, unless the store
         * is stopping: then they are state, and come back (domain.c). */
        if (!s->stopping && c->nwatches)
            journal_unwatch_all(s->persist, c->domid);
        c->dom->conn = NULL;
    }
    if (s->conn_detach)
        s->conn_detach(s, c);
    /* c->next stays as it was, so that a loop over the connections that
     * is at c when it dies (watch_fire) can go on. */
    c->grave_next = s->graveyard;
    s->graveyard = c;
}

void store_reap(struct store *s)
{
    while (s->graveyard) {
        struct conn *c = s->graveyard;
        s->graveyard = c->grave_next;
        watch_free_all(c);
        txn_free_all(c);
        buf_dispose(&c->out);
        for (unsigned i = 0; i < c->nfds; i++)
            close_quietly(c->fds[i]);
        close_quietly(c->fd);
        free(c);
    }
}

static void queue_flush(struct conn *c)
{
    if (!c->in_flush) {
        c->in_flush = true;
        c->flush_next = c->store->flush;
        c->store->flush = c;
    }
}

/* Hold out[..out.len) back until the journal is durable up to its
 * position now (see persist.c), or let it go at once if it is. */
static void mark_output(struct conn *c)
{
    struct persist *p = c->store->persist;
    uint64_t need = persist_position(p);
    if (c->nmarks == 0 && need <= persist_durable(p)) {
        c->out_safe = c->out.len;
        return;
    }
    if (!c->in_gated) {
        c->in_gated = true;
        c->gated_next = c->store->gated;
        c->store->gated = c;
    }
    struct out_mark *last = c->nmarks ? &c->marks[c->nmarks - 1] : NULL;
    if (last && last->need >= need) {
        last->end = c->out.len; /* it waits for the earlier output anyway */
    } else if (c->nmarks < sizeof(c->marks) / sizeof(c->marks[0])) {
        c->marks[c->nmarks++] = (struct out_mark){c->out.len, need};
    } else {
        last->end = c->out.len; /* out of marks: wait longer, never less */
        last->need = need;
    }
}

void store_release_output(struct store *s, uint64_t durable)
{
    struct conn **p = &s->gated;
    while (*p) {
        struct conn *c = *p;
        unsigned n = 0;
        while (n < c->nmarks && c->marks[n].need <= durable)
            c->out_safe = c->marks[n++].end;
        if (n) {
            c->nmarks -= n;
            memmove(c->marks, c->marks + n, c->nmarks * sizeof(c->marks[0]));
            queue_flush(c);
        }
        if (c->nmarks) {
            p = &c->gated_next;
        } else {
            *p = c->gated_next;
            c->in_gated = false;
        }
    }
}

void conn_discard_output(struct conn *c)
{
    c->out.len = c->out_off = c->out_safe = 0;
    c->nmarks = 0;
    unlink_gated(c);
}

void conn_send(struct conn *c, uint32_t type, uint32_t req_id, uint32_t tx_id, const void *payload,
               size_t len)
{
    if (c->dead)
        return;
    if (c->out.len - c->out_off > CONN_OUT_MAX) {
        log_warn("domain %u: client is not reading its replies, disconnecting", c->domid);
        conn_kill(c);
        return;
    }
    struct xs_msg_header h = {type, req_id, tx_id, (uint32_t)len};
    size_t before = c->out.len;
    if (buf_append(&c->out, &h, sizeof(h)) || buf_append(&c->out, payload, len)) {
        c->out.len = before; /* never half a message */
        log_warn("domain %u: out of memory, disconnecting", c->domid);
        conn_kill(c);
        return;
    }
    mark_output(c);
    queue_flush(c);
}

int conn_receive(struct conn *c, size_t got)
{
    struct store *s = c->store;
    size_t off = 0;
    char payload[XS_PAYLOAD_MAX + 1];
    struct buf reply = {0};

    c->in_len += got;
    while (!c->dead && !c->closing && c->in_len - off >= XS_HEADER_SIZE) {
        if (c->out.len - c->out_off > CONN_OUT_PAUSE)
            break; /* resumed by the server once the client reads */
        struct req r = {.s = s, .c = c, .payload = payload, .reply = &reply, .fd = -1};
        memcpy(&r.hdr, c->in + off, sizeof(r.hdr));
        if (r.hdr.len > XS_PAYLOAD_MAX) {
            static const char e2big[] = "E2BIG";
            log_warn("domain %u: message of %u bytes, disconnecting", c->domid, r.hdr.len);
            conn_send(c, XS_ERROR, r.hdr.req_id, r.hdr.tx_id, e2big, sizeof(e2big));
            c->closing = true;
            break;
        }
        if (c->in_len - off < XS_HEADER_SIZE + r.hdr.len)
            break;
        memcpy(payload, c->in + off + XS_HEADER_SIZE, r.hdr.len);
        payload[r.hdr.len] = '\0';
        off += XS_HEADER_SIZE + r.hdr.len;
        if (r.hdr.type == XS_INTRODUCE && c->nfds > 0) {
            r.fd = c->fds[0];
            memmove(c->fds, c->fds + 1, --c->nfds * sizeof(int));
        }
        process_message(&r);
        close_quietly(r.fd); /* unless the handler took it */
    }
    buf_dispose(&reply);
    if (c->closing)
        off = c->in_len;
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
    return c->dead ? -1 : 0;
}
