/* The store client: see xs_client.h. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/xs_client.h"
#include "lib/xs_wire.h"

struct queued_event {
    struct queued_event *next;
    struct xsc_event *ev;
};

/* A registered watch, to register again after a reconnection. */
struct known_watch {
    struct known_watch *next;
    char *path, *token;
};

/* A small set of transaction ids. */
struct idset {
    uint32_t *ids;
    unsigned n, cap;
};

#define IN_CAP (2 * (XS_HEADER_SIZE + XS_PAYLOAD_MAX))

struct xsc {
    int fd;
    /* Received bytes not yet consumed: one recv() usually brings a whole
     * reply (header and payload), and sometimes events with it. */
    char in[IN_CAP];
    size_t in_off, in_len;
    uint32_t next_req;
    bool broken;
    struct queued_event *head, *tail;
    unsigned nevents;
    /* Reconnection. */
    char *path; /* from xsc_open */
    bool reconnect;
    struct xsc_reconnect how;
    unsigned reconnections;
    struct known_watch *watches;
    struct idset open_tx;  /* transactions started on this connection */
    struct idset stale_tx; /* started on a connection that was lost */
};

static bool idset_has(const struct idset *s, uint32_t id)
{
    for (unsigned i = 0; i < s->n; i++)
        if (s->ids[i] == id)
            return true;
    return false;
}

static int idset_add(struct idset *s, uint32_t id)
{
    if (s->n == s->cap) {
        unsigned cap = s->cap ? 2 * s->cap : 8;
        uint32_t *ids = realloc(s->ids, cap * sizeof(*ids));
        if (!ids)
            return -ENOMEM;
        s->ids = ids;
        s->cap = cap;
    }
    s->ids[s->n++] = id;
    return 0;
}

static void idset_del(struct idset *s, uint32_t id)
{
    for (unsigned i = 0; i < s->n; i++) {
        if (s->ids[i] == id) {
            s->ids[i] = s->ids[--s->n];
            return;
        }
    }
}

/* A connected socket to path, or -errno. */
static int connect_path(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(a.sun_path))
        return -ENAMETOOLONG;
    strcpy(a.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        int err = errno;
        close_quietly(fd);
        return -err;
    }
    return fd;
}

struct xsc *xsc_open(const char *path)
{
    int fd = connect_path(path);
    if (fd < 0) {
        errno = -fd;
        return NULL;
    }
    struct xsc *h = xsc_adopt(fd);
    if (h && !(h->path = strdup(path))) {
        xsc_close(h);
        errno = ENOMEM;
        return NULL;
    }
    return h;
}

struct xsc *xsc_adopt(int fd)
{
    struct xsc *h = calloc(1, sizeof(*h));
    if (!h) {
        close_quietly(fd);
        errno = ENOMEM;
        return NULL;
    }
    h->fd = fd;
    h->next_req = 1;
    return h;
}

static void known_watch_free(struct known_watch *w)
{
    free(w->path);
    free(w->token);
    free(w);
}

static void forget_watches(struct xsc *h)
{
    while (h->watches) {
        struct known_watch *w = h->watches;
        h->watches = w->next;
        known_watch_free(w);
    }
}

void xsc_close(struct xsc *h)
{
    if (!h)
        return;
    while (h->head) {
        struct queued_event *q = h->head;
        h->head = q->next;
        free(q->ev);
        free(q);
    }
    forget_watches(h);
    free(h->open_tx.ids);
    free(h->stale_tx.ids);
    free(h->path);
    close_quietly(h->fd);
    free(h);
}

int xsc_set_reconnect(struct xsc *h, const struct xsc_reconnect *how)
{
    if (!how->connect && !h->path)
        return -EINVAL;
    h->how = *how;
    h->reconnect = true;
    return 0;
}

unsigned xsc_reconnections(const struct xsc *h)
{
    return h->reconnections;
}

int xsc_fd(const struct xsc *h)
{
    return h->fd;
}

static int queue_event(struct xsc *h, char *payload, size_t len);
static int read_message(struct xsc *h, struct xs_msg_header *hdr, char **payload);
static bool have_message(const struct xsc *h);

unsigned xsc_pending_events(struct xsc *h)
{
    /* Events already received but not parsed count too: poll() on the
     * descriptor would not report them. */
    while (!h->broken && have_message(h)) {
        struct xs_msg_header hdr;
        char *p;
        if (read_message(h, &hdr, &p))
            break;
        if (hdr.type != XS_WATCH_EVENT || queue_event(h, p, hdr.len))
            h->broken = true;
        free(p);
    }
    return h->nevents;
}

static int error_from_name(const char *name)
{
    static const struct xs_error_name names[] = XS_ERROR_NAMES;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(names[i].name, name) == 0)
            return -names[i].err;
    return -EIO;
}

/* Receive more bytes; 0, or -ECONNRESET once the store is gone. */
static int fill(struct xsc *h)
{
    if (h->in_off) {
        memmove(h->in, h->in + h->in_off, h->in_len - h->in_off);
        h->in_len -= h->in_off;
        h->in_off = 0;
    }
    for (;;) {
        ssize_t r = recv(h->fd, h->in + h->in_len, IN_CAP - h->in_len, 0);
        if (r > 0) {
            h->in_len += (size_t)r;
            return 0;
        }
        if (r < 0 && errno == EINTR)
            continue;
        h->broken = true;
        return -ECONNRESET;
    }
}

/* Whether a whole message is already buffered. */
static bool have_message(const struct xsc *h)
{
    struct xs_msg_header hdr;
    size_t avail = h->in_len - h->in_off;
    if (avail < sizeof(hdr))
        return false;
    memcpy(&hdr, h->in + h->in_off, sizeof(hdr));
    return hdr.len > XS_PAYLOAD_MAX || avail >= sizeof(hdr) + hdr.len;
}

/* Read one whole message; *payload is malloc()ed with a NUL added. */
static int read_message(struct xsc *h, struct xs_msg_header *hdr, char **payload)
{
    int rc;
    while (h->in_len - h->in_off < sizeof(*hdr))
        if ((rc = fill(h)))
            return rc;
    memcpy(hdr, h->in + h->in_off, sizeof(*hdr));
    if (hdr->len > XS_PAYLOAD_MAX) {
        h->broken = true;
        return -EPROTO;
    }
    while (h->in_len - h->in_off < sizeof(*hdr) + hdr->len)
        if ((rc = fill(h)))
            return rc;
    char *p = malloc(hdr->len + 1);
    if (!p) {
        h->broken = true; /* the message stays unread: out of step */
        return -ENOMEM;
    }
    memcpy(p, h->in + h->in_off + sizeof(*hdr), hdr->len);
    p[hdr->len] = '\0';
    h->in_off += sizeof(*hdr) + hdr->len;
    if (h->in_off == h->in_len)
        h->in_off = h->in_len = 0;
    *payload = p;
    return 0;
}

/* Turn a WATCH_EVENT payload into a queued event. */
static int queue_event(struct xsc *h, char *payload, size_t len)
{
    struct queued_event *q = calloc(1, sizeof(*q));
    struct xsc_event *ev = malloc(sizeof(*ev) + len + 1);
    const char *nul = memchr(payload, '\0', len);
    if (!q || !ev || !nul) {
        free(q);
        free(ev);
        return nul ? -ENOMEM : -EPROTO;
    }
    char *copy = (char *)(ev + 1);
    memcpy(copy, payload, len + 1);
    ev->path = copy;
    ev->token = copy + (nul - payload) + 1;
    q->ev = ev;
    if (h->tail)
        h->tail->next = q;
    else
        h->head = q;
    h->tail = q;
    h->nevents++;
    return 0;
}

/* One request and its answer on the current connection.  *sent tells
 * whether any of it reached the socket (then the store may have acted). */
static int exchange(struct xsc *h, uint32_t type, uint32_t tx, const void *payload, size_t len,
                    int pass_fd, char **reply, size_t *reply_len, bool *sent)
{
    struct xs_msg_header hdr = {type, h->next_req++, tx, (uint32_t)len};
    char msg[XS_HEADER_SIZE + XS_PAYLOAD_MAX];
    int rc;

    if (h->broken)
        return -ECONNRESET;
    if (len > XS_PAYLOAD_MAX)
        return -E2BIG;
    memcpy(msg, &hdr, sizeof(hdr));
    if (len)
        memcpy(msg + sizeof(hdr), payload, len);
    /* MSG_NOSIGNAL throughout: a store that went away is an error to
     * return, not a SIGPIPE to kill the caller with. */
    size_t total = sizeof(hdr) + len;
    ssize_t r = send_with_fds(h->fd, msg, total, &pass_fd, pass_fd >= 0 ? 1 : 0);
    size_t done = r > 0 ? (size_t)r : 0;
    *sent = done > 0;
    while (r >= 0 && done < total) {
        r = send(h->fd, msg + done, total - done, MSG_NOSIGNAL);
        if (r < 0 && errno == EINTR)
            r = 0;
        else if (r > 0)
            done += (size_t)r;
    }
    if (done != total) {
        h->broken = true;
        return -ECONNRESET;
    }
    for (;;) {
        struct xs_msg_header in;
        char *p = NULL;
        if ((rc = read_message(h, &in, &p)))
            return rc;
        if (in.type == XS_WATCH_EVENT) {
            rc = queue_event(h, p, in.len);
            free(p);
            if (rc)
                return rc;
            continue;
        }
        if (in.req_id != hdr.req_id) {
            free(p);
            h->broken = true;
            return -EPROTO;
        }
        if (in.type == XS_ERROR) {
            rc = error_from_name(p);
            free(p);
            return rc;
        }
        if (in.type != type) {
            free(p);
            h->broken = true;
            return -EPROTO;
        }
        if (reply_len)
            *reply_len = in.len;
        if (reply)
            *reply = p;
        else
            free(p);
        return 0;
    }
}

/* Keep the list of watches and open transactions that a reconnection
 * restores, from the requests that succeeded. */
static void track(struct xsc *h, uint32_t type, uint32_t tx, const char *payload, size_t len,
                  const char *reply)
{
    const char *nul = len ? memchr(payload, '\0', len) : NULL;
    switch (type) {
    case XS_WATCH:
    case XS_UNWATCH: {
        if (!nul || !memchr(nul + 1, '\0', len - (size_t)(nul + 1 - payload)))
            return;
        const char *token = nul + 1;
        struct known_watch **p = &h->watches;
        while (*p && (strcmp((*p)->path, payload) != 0 || strcmp((*p)->token, token) != 0))
            p = &(*p)->next;
        if (type == XS_UNWATCH && *p) {
            struct known_watch *w = *p;
            *p = w->next;
            known_watch_free(w);
        } else if (type == XS_WATCH && !*p) {
            struct known_watch *w = calloc(1, sizeof(*w));
            if (w && (w->path = strdup(payload)) && (w->token = strdup(token))) {
                *p = w; /* appended: registered again in the same order */
            } else if (w) {
                free(w->path);
                free(w);
            }
        }
        break;
    }
    case XS_RESET_WATCHES:
        forget_watches(h);
        h->open_tx.n = 0;
        break;
    case XS_TRANSACTION_START:
        idset_add(&h->open_tx, (uint32_t)strtoul(reply ? reply : "0", NULL, 10));
        break;
    case XS_TRANSACTION_END:
        idset_del(&h->open_tx, tx);
        break;
    default:
        break;
    }
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static long long now_ms(void);

/* Connect again with backoff, register the watches again, report.  0, or
 * -ECONNRESET once max_wait_ms has passed. */
static int reconnect(struct xsc *h)
{
    long long deadline = h->how.max_wait_ms >= 0 ? now_ms() + h->how.max_wait_ms : 0;
    long delay = 10;
    for (;;) {
        close_quietly(h->fd);
        int fd = h->how.connect ? h->how.connect(h->how.opaque) : connect_path(h->path);
        h->fd = fd >= 0 ? fd : -1;
        h->in_off = h->in_len = 0;
        h->broken = fd < 0;
        int rc = fd < 0 ? fd : 0;
        for (struct known_watch *w = h->watches; rc == 0 && w; w = w->next) {
            char payload[XS_PAYLOAD_MAX];
            size_t pl = strlen(w->path) + 1, tl = strlen(w->token) + 1;
            bool sent;
            if (pl + tl > sizeof(payload))
                continue;
            memcpy(payload, w->path, pl);
            memcpy(payload + pl, w->token, tl);
            rc = exchange(h, XS_WATCH, 0, payload, pl + tl, -1, NULL, NULL, &sent);
            if (rc == -EEXIST) /* a domain's watches come back by themselves */
                rc = 0;
        }
        if (rc == 0) {
            /* Transactions died with the old connection. */
            for (unsigned i = 0; i < h->open_tx.n; i++)
                idset_add(&h->stale_tx, h->open_tx.ids[i]);
            h->open_tx.n = 0;
            h->reconnections++;
            if (h->how.reconnected)
                h->how.reconnected(h, h->how.opaque);
            return 0;
        }
        if (h->fd >= 0 && !h->broken && rc != -ECONNRESET) {
            /* The store answered, but refused a watch: keep the
             * connection; the owner hears of it through its watches. */
            h->reconnections++;
            if (h->how.reconnected)
                h->how.reconnected(h, h->how.opaque);
            return 0;
        }
        h->broken = true;
        if (h->how.max_wait_ms >= 0 && now_ms() >= deadline)
            return -ECONNRESET;
        sleep_ms(delay);
        delay = delay < 500 ? delay * 2 : 1000;
    }
}

int xsc_request(struct xsc *h, uint32_t type, uint32_t tx, const void *payload, size_t len,
                int pass_fd, char **reply, size_t *reply_len)
{
    bool commit = type == XS_TRANSACTION_END && len >= 1 && ((const char *)payload)[0] == 'T';
    char *rep = NULL;
    int rc;

    if (tx && idset_has(&h->stale_tx, tx)) {
        /* A transaction of a lost connection: it is gone, nothing of it
         * was committed. */
        if (type == XS_TRANSACTION_END) {
            idset_del(&h->stale_tx, tx);
            return commit ? -EAGAIN : 0;
        }
        return -EAGAIN;
    }
    for (;;) {
        bool sent = false;
        if (h->broken && h->reconnect && (rc = reconnect(h)) != 0)
            return rc;
        rc = exchange(h, type, tx, payload, len, pass_fd, &rep, reply_len, &sent);
        if (rc == 0 && type == XS_TRANSACTION_START && rep &&
            idset_has(&h->stale_tx, (uint32_t)strtoul(rep, NULL, 10))) {
            /* The store reused an id the owner still holds for a lost
             * transaction: take another. */
            bool ignored;
            exchange(h, XS_TRANSACTION_END, (uint32_t)strtoul(rep, NULL, 10), "F", 2, -1, NULL,
                     NULL, &ignored);
            free(rep);
            rep = NULL;
            continue;
        }
        if (rc != -ECONNRESET || !h->reconnect)
            break;
        if ((rc = reconnect(h)) != 0)
            return rc;
        if (tx) {
            if (type == XS_TRANSACTION_END) {
                idset_del(&h->stale_tx, tx);
                return commit && sent ? -ECONNRESET : commit ? -EAGAIN : 0;
            }
            return -EAGAIN;
        }
        /* Outside a transaction every request is safe to repeat. */
    }
    if (rc == 0 || (type == XS_TRANSACTION_END && rc != -ENOENT))
        track(h, type, tx, payload, len, rep);
    if (rc == 0 && reply)
        *reply = rep;
    else
        free(rep);
    return rc;
}

/* Requests whose payload is NUL-terminated strings. */
static int request_strings(struct xsc *h, uint32_t type, uint32_t tx, const char *const *args,
                           unsigned nargs, char **reply, size_t *reply_len)
{
    char payload[XS_PAYLOAD_MAX];
    size_t len = 0;
    for (unsigned i = 0; i < nargs; i++) {
        size_t l = strlen(args[i]) + 1;
        if (l > sizeof(payload) - len)
            return -E2BIG;
        memcpy(payload + len, args[i], l);
        len += l;
    }
    return xsc_request(h, type, tx, payload, len, -1, reply, reply_len);
}

static int request_path(struct xsc *h, uint32_t type, uint32_t tx, const char *path)
{
    return request_strings(h, type, tx, &path, 1, NULL, NULL);
}

int xsc_read(struct xsc *h, uint32_t tx, const char *path, char **value, size_t *len)
{
    return request_strings(h, XS_READ, tx, &path, 1, value, len);
}

int xsc_write(struct xsc *h, uint32_t tx, const char *path, const void *value, size_t len)
{
    char payload[XS_PAYLOAD_MAX];
    size_t pl = strlen(path) + 1;
    if (pl + len > sizeof(payload))
        return -E2BIG;
    memcpy(payload, path, pl);
    if (len)
        memcpy(payload + pl, value, len);
    return xsc_request(h, XS_WRITE, tx, payload, pl + len, -1, NULL, NULL);
}

int xsc_write_str(struct xsc *h, uint32_t tx, const char *path, const char *value)
{
    return xsc_write(h, tx, path, value, strlen(value));
}

int xsc_mkdir(struct xsc *h, uint32_t tx, const char *path)
{
    return request_path(h, XS_MKDIR, tx, path);
}

int xsc_rm(struct xsc *h, uint32_t tx, const char *path)
{
    return request_path(h, XS_RM, tx, path);
}

/* Split "a\0b\0" into one block holding the array and the strings. */
static int split_names(const char *list, size_t len, char ***names, unsigned *n)
{
    unsigned count = 0;
    for (size_t i = 0; i < len; i++)
        if (list[i] == '\0')
            count++;
    char **v = malloc((count + 1) * sizeof(*v) + len + 1);
    if (!v)
        return -ENOMEM;
    char *s = (char *)(v + count + 1);
    memcpy(s, list, len);
    s[len] = '\0';
    for (unsigned i = 0; i < count; i++) {
        v[i] = s;
        s += strlen(s) + 1;
    }
    v[count] = NULL;
    *names = v;
    *n = count;
    return 0;
}

/* DIRECTORY_PART: chunks of whole names, restarted if the directory
 * changes (its generation differs) between chunks. */
static int directory_parts(struct xsc *h, uint32_t tx, const char *path, char ***names, unsigned *n)
{
    for (int attempt = 0; attempt < 16; attempt++) {
        char *all = NULL, *gen0 = NULL;
        size_t total = 0;
        int rc = 0;
        for (;;) {
            char off[24];
            snprintf(off, sizeof(off), "%zu", total);
            const char *args[2] = {path, off};
            char *rep;
            size_t rl;
            if ((rc = request_strings(h, XS_DIRECTORY_PART, tx, args, 2, &rep, &rl)))
                break;
            size_t gl = strnlen(rep, rl);
            if (gl == rl || rl < gl + 2 || rep[rl - 1] != '\0') {
                free(rep);
                rc = -EPROTO;
                break;
            }
            if (!gen0) {
                gen0 = strdup(rep);
            } else if (strcmp(gen0, rep) != 0) {
                free(rep);
                rc = -EAGAIN;
                break;
            }
            /* Names after "<gen>\0"; the last chunk ends with an extra "\0". */
            size_t chunk = rl - gl - 1;
            bool last = chunk == 1 || rep[rl - 2] == '\0';
            if (last)
                chunk--;
            char *grown = realloc(all, total + chunk + 1);
            if (!grown || !gen0) {
                free(grown ? grown : all);
                all = NULL;
                free(rep);
                rc = -ENOMEM;
                break;
            }
            all = grown;
            memcpy(all + total, rep + gl + 1, chunk);
            total += chunk;
            free(rep);
            if (last)
                break;
        }
        free(gen0);
        if (rc == 0)
            rc = split_names(all ? all : "", total, names, n);
        free(all);
        if (rc != -EAGAIN)
            return rc;
    }
    return -EAGAIN;
}

int xsc_directory(struct xsc *h, uint32_t tx, const char *path, char ***names, unsigned *n)
{
    char *rep;
    size_t rl;
    int rc = request_strings(h, XS_DIRECTORY, tx, &path, 1, &rep, &rl);
    if (rc == -E2BIG)
        return directory_parts(h, tx, path, names, n);
    if (rc)
        return rc;
    rc = split_names(rep, rl, names, n);
    free(rep);
    return rc;
}

int xsc_get_perms(struct xsc *h, uint32_t tx, const char *path, struct xsc_perm **perms,
                  unsigned *n)
{
    char *rep, **v;
    size_t rl;
    unsigned count;
    int rc = request_strings(h, XS_GET_PERMS, tx, &path, 1, &rep, &rl);
    if (rc)
        return rc;
    rc = split_names(rep, rl, &v, &count);
    free(rep);
    if (rc)
        return rc;
    struct xsc_perm *p = calloc(count ? count : 1, sizeof(*p));
    for (unsigned i = 0; p && i < count; i++) {
        char *end;
        p[i].perm = v[i][0];
        p[i].domid = (uint32_t)strtoul(v[i] + 1, &end, 10);
    }
    free(v);
    if (!p)
        return -ENOMEM;
    *perms = p;
    *n = count;
    return 0;
}

int xsc_set_perms(struct xsc *h, uint32_t tx, const char *path, const struct xsc_perm *perms,
                  unsigned n)
{
    char payload[XS_PAYLOAD_MAX];
    size_t len = strlen(path) + 1;
    if (n == 0)
        return -EINVAL;
    if (len > sizeof(payload))
        return -E2BIG;
    memcpy(payload, path, len);
    for (unsigned i = 0; i < n; i++) {
        int k =
            snprintf(payload + len, sizeof(payload) - len, "%c%u", perms[i].perm, perms[i].domid);
        if (k < 0 || (size_t)k + 1 > sizeof(payload) - len)
            return -E2BIG;
        len += (size_t)k + 1;
    }
    return xsc_request(h, XS_SET_PERMS, tx, payload, len, -1, NULL, NULL);
}

int xsc_watch(struct xsc *h, const char *path, const char *token)
{
    const char *args[2] = {path, token};
    return request_strings(h, XS_WATCH, 0, args, 2, NULL, NULL);
}

int xsc_unwatch(struct xsc *h, const char *path, const char *token)
{
    const char *args[2] = {path, token};
    return request_strings(h, XS_UNWATCH, 0, args, 2, NULL, NULL);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int xsc_read_watch(struct xsc *h, int timeout_ms, struct xsc_event **ev)
{
    long long deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : 0;
    while (!h->head) {
        if (h->broken) {
            /* Reconnecting registers the watches again: their events come. */
            if (h->reconnect && reconnect(h) == 0)
                continue;
            return -ECONNRESET;
        }
        int wait = -1;
        if (timeout_ms >= 0) {
            long long left = deadline - now_ms();
            wait = left > 0 ? (int)left : 0;
        }
        if (!have_message(h)) {
            struct pollfd p = {.fd = h->fd, .events = POLLIN};
            int r = poll(&p, 1, wait);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                return -errno;
            if (r == 0)
                return -ETIMEDOUT;
        }
        struct xs_msg_header in;
        char *payload;
        int rc = read_message(h, &in, &payload);
        if (rc == -ECONNRESET && h->reconnect)
            continue;
        if (rc)
            return rc;
        rc = in.type == XS_WATCH_EVENT ? queue_event(h, payload, in.len) : -EPROTO;
        free(payload);
        if (rc) {
            h->broken = rc == -EPROTO;
            return rc;
        }
    }
    struct queued_event *q = h->head;
    h->head = q->next;
    if (!h->head)
        h->tail = NULL;
    h->nevents--;
    *ev = q->ev;
    free(q);
    return 0;
}

int xsc_transaction_start(struct xsc *h, uint32_t *tx)
{
    char *rep;
    const char *empty = "";
    int rc = request_strings(h, XS_TRANSACTION_START, 0, &empty, 1, &rep, NULL);
    if (rc)
        return rc;
    char *end;
    unsigned long id = strtoul(rep, &end, 10);
    rc = (*rep && !*end && id && id <= UINT32_MAX) ? 0 : -EPROTO;
    free(rep);
    if (!rc)
        *tx = (uint32_t)id;
    return rc;
}

int xsc_transaction_end(struct xsc *h, uint32_t tx, bool commit)
{
    return request_path(h, XS_TRANSACTION_END, tx, commit ? "T" : "F");
}

int xsc_introduce(struct xsc *h, uint32_t domid, int domain_fd)
{
    char payload[48];
    int n = snprintf(payload, sizeof(payload), "%u%c0%c0", domid, '\0', '\0');
    return xsc_request(h, XS_INTRODUCE, 0, payload, (size_t)n + 1, domain_fd, NULL, NULL);
}

static int request_domid(struct xsc *h, uint32_t type, uint32_t domid, char **reply)
{
    char s[16];
    const char *arg = s;
    snprintf(s, sizeof(s), "%u", domid);
    return request_strings(h, type, 0, &arg, 1, reply, NULL);
}

int xsc_release(struct xsc *h, uint32_t domid)
{
    return request_domid(h, XS_RELEASE, domid, NULL);
}

int xsc_set_target(struct xsc *h, uint32_t domid, uint32_t target)
{
    char a[16], b[16];
    const char *args[2] = {a, b};
    snprintf(a, sizeof(a), "%u", domid);
    snprintf(b, sizeof(b), "%u", target);
    return request_strings(h, XS_SET_TARGET, 0, args, 2, NULL, NULL);
}

int xsc_get_domain_path(struct xsc *h, uint32_t domid, char **path)
{
    return request_domid(h, XS_GET_DOMAIN_PATH, domid, path);
}

int xsc_is_domain_introduced(struct xsc *h, uint32_t domid, bool *introduced)
{
    char *rep;
    int rc = request_domid(h, XS_IS_DOMAIN_INTRODUCED, domid, &rep);
    if (rc)
        return rc;
    *introduced = rep[0] == 'T';
    free(rep);
    return 0;
}
