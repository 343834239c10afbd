/* The event loop: accept domain-0 clients on the public socket, read what
 * every connection sends, hand it to wire.c, and write back what was
 * queued.  Level-triggered epoll; a client that stops reading its replies
 * is first paused (no more of its requests are read) and, if it falls far
 * behind, dropped (wire.c), so it cannot make the store grow without bound.
 *
 * Out of descriptors (EMFILE, ENFILE) or kernel memory, accept() fails
 * while the connection stays queued, so a level-triggered listener would be
 * ready again at once: the store would spin.  Instead it takes the listener
 * out of the epoll set for ACCEPT_PAUSE_MS, serving its existing clients
 * meanwhile, and says so once per ACCEPT_LOG_S with the count of refusals.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/log.h"
#include "store/persist.h"
#include "store/server.h"

#define ACCEPT_PAUSE_MS 100
#define ACCEPT_LOG_S    10

struct server {
    int epfd, listen_fd, sig_fd;
    char *path;
    bool accept_paused;
    long long accept_resume_ms; /* when to listen again (monotonic) */
    long long accept_logged_ms; /* last time the condition was logged */
    unsigned long refused;      /* accept() failures since then */
};

static long long monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Tags that tell epoll events apart: connections use their own pointer. */
static char tag_listen, tag_signal, tag_persist;

static int conn_attach(struct store *s, struct conn *c)
{
    struct server *sv = s->server;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (fd_set_nonblock(c->fd, 1) != 0 || fd_set_cloexec(c->fd, 1) != 0 ||
        epoll_ctl(sv->epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0)
        return -errno;
    c->ev_mask = EPOLLIN;
    return 0;
}

static void conn_detach(struct store *s, struct conn *c)
{
    struct server *sv = s->server;
    epoll_ctl(sv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
}

static void set_events(struct conn *c, uint32_t mask)
{
    struct server *sv = c->store->server;
    if (c->ev_mask == mask)
        return;
    struct epoll_event ev = {.events = mask, .data.ptr = c};
    if (epoll_ctl(sv->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
        c->ev_mask = mask;
}

static bool socket_is_live(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strncpy(a.sun_path, path, sizeof(a.sun_path) - 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool live = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return live;
}

int server_open(struct store *s, const char *path)
{
    struct server *sv = calloc(1, sizeof(*sv));
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    struct stat st;
    sigset_t mask;
    int rc = -ENOMEM;

    if (!sv)
        goto fail;
    sv->epfd = sv->listen_fd = sv->sig_fd = -1;
    if (strlen(path) >= sizeof(a.sun_path)) {
        log_error("socket path too long (at most %zu bytes): %s", sizeof(a.sun_path) - 1, path);
        rc = -ENAMETOOLONG;
        goto fail;
    }
    strcpy(a.sun_path, path);
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            log_error("%s exists and is not a socket", path);
            rc = -EEXIST;
            goto fail;
        }
        if (socket_is_live(path)) {
            log_error("another store is already serving %s", path);
            rc = -EADDRINUSE;
            goto fail;
        }
        unlink(path);
    }
    sv->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (sv->listen_fd < 0)
        goto fail_errno;
    /* Created 0600 from the start: there is no moment when others may
     * connect (the socket grants domain-0 rights). */
    mode_t old = umask(0177);
    int r = bind(sv->listen_fd, (struct sockaddr *)&a, sizeof(a));
    umask(old);
    if (r != 0) {
        rc = -errno;
        log_error("cannot bind %s: %s", path, strerror(errno));
        goto fail;
    }
    sv->path = strdup(path);
    if (!sv->path || chmod(path, 0600) != 0 || listen(sv->listen_fd, 64) != 0)
        goto fail_errno;

    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGCHLD); /* a compaction ended (persist.c) */
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    sv->sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    sv->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (sv->sig_fd < 0 || sv->epfd < 0)
        goto fail_errno;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &tag_listen};
    if (epoll_ctl(sv->epfd, EPOLL_CTL_ADD, sv->listen_fd, &ev) != 0)
        goto fail_errno;
    ev.data.ptr = &tag_signal;
    if (epoll_ctl(sv->epfd, EPOLL_CTL_ADD, sv->sig_fd, &ev) != 0)
        goto fail_errno;
    ev.data.ptr = &tag_persist;
    if (persist_event_fd(s) >= 0 &&
        epoll_ctl(sv->epfd, EPOLL_CTL_ADD, persist_event_fd(s), &ev) != 0)
        goto fail_errno;
    s->server = sv;
    s->conn_attach = conn_attach;
    s->conn_detach = conn_detach;
    return 0;

fail_errno:
    rc = -errno;
    log_error("cannot set up %s: %s", path, strerror(errno));
fail:
    if (sv) {
        if (sv->path)
            unlink(sv->path);
        close_quietly(sv->listen_fd);
        close_quietly(sv->sig_fd);
        close_quietly(sv->epfd);
        free(sv->path);
        free(sv);
    }
    return rc;
}

/* Stop listening for a moment: see the comment at the top. */
static void pause_accepting(struct server *sv, int err)
{
    long long now = monotonic_ms();
    sv->refused++;
    if (!sv->accept_paused && epoll_ctl(sv->epfd, EPOLL_CTL_DEL, sv->listen_fd, NULL) == 0) {
        sv->accept_paused = true;
        sv->accept_resume_ms = now + ACCEPT_PAUSE_MS;
    }
    if (sv->accept_logged_ms == 0 || now - sv->accept_logged_ms >= ACCEPT_LOG_S * 1000) {
        log_warn("out of descriptors or memory (%s): new clients wait; %lu refused in the "
                 "last %d s",
                 strerror(err), sv->refused, ACCEPT_LOG_S);
        sv->accept_logged_ms = now;
        sv->refused = 0;
    }
}

static void resume_accepting(struct server *sv)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &tag_listen};
    if (epoll_ctl(sv->epfd, EPOLL_CTL_ADD, sv->listen_fd, &ev) == 0)
        sv->accept_paused = false;
    else
        sv->accept_resume_ms = monotonic_ms() + ACCEPT_PAUSE_MS;
}

/* How long epoll may sleep: forever, unless accepting is paused. */
static int loop_timeout(struct server *sv)
{
    if (!sv->accept_paused)
        return -1;
    long long left = sv->accept_resume_ms - monotonic_ms();
    return left > 0 ? (int)left : 0;
}

static void accept_clients(struct store *s)
{
    struct server *sv = s->server;
    for (;;) {
        int fd = accept4(sv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                pause_accepting(sv, errno);
            else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                log_warn("accept: %s", strerror(errno));
            return;
        }
        if (!conn_new(s, fd, 0, NULL)) {
            close(fd);
            pause_accepting(sv, ENOMEM);
            return;
        }
    }
}

static void conn_readable(struct conn *c)
{
    size_t room = CONN_IN_CAP - c->in_len;
    if (room == 0)
        return;
    ssize_t n;
    if (c->dom) {
        /* Domains have no business passing descriptors. */
        n = recv(c->fd, c->in + c->in_len, room, 0);
    } else {
        int fds[FDIO_MAX_FDS];
        size_t nfds = FDIO_MAX_FDS;
        n = recv_with_fds(c->fd, c->in + c->in_len, room, fds, &nfds);
        for (size_t i = 0; n > 0 && i < nfds; i++) {
            if (c->nfds < CONN_MAX_FDS)
                c->fds[c->nfds++] = fds[i];
            else
                close(fds[i]);
        }
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        if (n < 0)
            log_debug("domain %u: read: %s", c->domid, strerror(errno));
        conn_kill(c);
        return;
    }
    conn_receive(c, (size_t)n);
}

/* Write what may leave of c's output (persist.c holds back what waits for
 * the journal); returns false if c was dropped. */
static bool conn_flush(struct conn *c)
{
    while (c->out_off < c->out_safe) {
        ssize_t n = send(c->fd, c->out.data + c->out_off, c->out_safe - c->out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                break;
            conn_kill(c);
            return false;
        }
        c->out_off += (size_t)n;
    }
    size_t pending = c->out.len - c->out_off;
    if (pending == 0) {
        conn_discard_output(c);
        if (c->closing) {
            conn_kill(c);
            return false;
        }
        set_events(c, EPOLLIN);
        /* Requests held back while the client was behind. */
        if (c->in_len >= XS_HEADER_SIZE)
            conn_receive(c, 0);
        return true;
    }
    if (c->out_off > (1u << 20)) {
        memmove(c->out.data, c->out.data + c->out_off, pending);
        c->out.len = pending;
        c->out_safe -= c->out_off;
        for (unsigned i = 0; i < c->nmarks; i++)
            c->marks[i].end -= c->out_off;
        c->out_off = 0;
    }
    /* Wait for the socket only with something to send; stop reading a
     * client that is far behind (or closing). */
    uint32_t ev = pending > CONN_OUT_PAUSE || c->closing ? 0 : EPOLLIN;
    if (c->out_safe > c->out_off)
        ev |= EPOLLOUT;
    set_events(c, ev);
    return true;
}

static void flush_all(struct store *s)
{
    /* Flushing may process held-back requests, which queue more output. */
    while (s->flush) {
        struct conn *c = s->flush;
        s->flush = c->flush_next;
        c->in_flush = false;
        conn_flush(c);
    }
}

/* The signal that made the signalfd readable (0 if none was left). */
static int read_signal(struct server *sv)
{
    struct signalfd_siginfo si;
    return read(sv->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si) ? (int)si.ssi_signo : 0;
}

int server_run(struct store *s)
{
    struct server *sv = s->server;
    struct epoll_event evs[64];
    persist_commit(s); /* a compaction may be due from the start */
    for (;;) {
        int n = epoll_wait(sv->epfd, evs, 64, loop_timeout(sv));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_error("epoll_wait: %s", strerror(errno));
            return -errno;
        }
        if (sv->accept_paused && monotonic_ms() >= sv->accept_resume_ms)
            resume_accepting(sv);
        for (int i = 0; i < n; i++) {
            void *tag = evs[i].data.ptr;
            if (tag == &tag_listen) {
                accept_clients(s);
            } else if (tag == &tag_signal) {
                int sig = read_signal(sv);
                if (sig == SIGTERM || sig == SIGINT) {
                    log_info("shutting down");
                    return 0;
                }
                if (sig == SIGCHLD)
                    persist_child_exited(s);
            } else if (tag == &tag_persist) {
                persist_synced(s);
            } else {
                struct conn *c = tag;
                if (c->dead)
                    continue;
                if (evs[i].events & EPOLLOUT)
                    conn_flush(c);
                if (!c->dead && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                    conn_readable(c);
            }
        }
        /* Group commit: this round's changes go to the journal in one
         * write and one sync; the output they hold back leaves when it is
         * done (persist_synced).  Flushing can process requests held back
         * for a slow client: those changes join the journal too. */
        do {
            persist_commit(s);
            flush_all(s);
        } while (persist_pending(s));
        store_reap(s);
    }
}

void server_close(struct store *s)
{
    struct server *sv = s->server;
    if (!sv)
        return;
    s->stopping = true; /* connections end; what they registered is state */
    while (s->conns)
        conn_kill(s->conns);
    store_reap(s);
    unlink(sv->path);
    close_quietly(sv->listen_fd);
    close_quietly(sv->sig_fd);
    close_quietly(sv->epfd);
    free(sv->path);
    free(sv);
    s->server = NULL;
    s->conn_attach = NULL;
    s->conn_detach = NULL;
}
