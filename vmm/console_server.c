/* The guest's consoles, as xenconsoled serves a Xen guest's.  COM1 is the
 * device model's console 3; with --virtio-console under the toolstack the
 * virtio console is served too.  A port's output and input go to:
 *
 *   - a socket in the run directory (DIR/console.sock, DIR/console-pv.sock;
 *     `stubctl console [-t pv]`) that takes one client at a time; output
 *     that arrives while nobody is attached is kept (the last
 *     CONSOLE_BACKLOG_SIZE bytes) and given to the next client;
 *   - direct mode's stdin and stdout;
 *   - a file that gets a copy of the output (--serial-file, --serial
 *     file:PATH).
 *
 * Every descriptor is on the event loop; what each is watched for follows
 * the buffers (port_watch): the device model's end for output always and
 * for writing while input waits, the reader for writing while output
 * waits, the writer of input while nothing waits. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/log.h"
#include "vmm/monitor.h"

#define CONSOLE_DRAIN_MS 2000 /* at most, for a client to take the last output */

/* Whether the device model's end of this console is there to talk to. */
static bool port_live(const struct monitor *m, const struct console_port *c)
{
    return m->dm_alive && c->dm_fd && *c->dm_fd >= 0;
}

/* Where input comes from and output goes: the socket's client, or stdin
 * and stdout. */
static int reader(const struct console_port *c)
{
    return c->client >= 0 ? c->client : c->in_fd;
}

static int writer(const struct console_port *c)
{
    return c->client >= 0 ? c->client : c->out_fd;
}

/* Watch each of the port's descriptors for what its buffers need. */
static void port_watch(struct monitor *m, struct console_port *c)
{
    if (c->watching_dm)
        ev_fd_mask(m->loop, *c->dm_fd, EV_READ | (c->in_len ? EV_WRITE : 0));
    if (c->client >= 0) {
        ev_fd_mask(m->loop, c->client, (c->in_len ? 0 : EV_READ) | (c->backlog_len ? EV_WRITE : 0));
        return;
    }
    if (c->in_fd >= 0)
        ev_fd_mask(m->loop, c->in_fd, c->in_len ? 0 : EV_READ);
    if (c->out_fd >= 0)
        ev_fd_mask(m->loop, c->out_fd, c->backlog_len ? EV_WRITE : 0);
}

/* Append to the ring, dropping the oldest bytes when full. */
static void backlog_add(struct console_port *c, const uint8_t *p, size_t n)
{
    if (n >= CONSOLE_BACKLOG_SIZE) {
        p += n - CONSOLE_BACKLOG_SIZE;
        n = CONSOLE_BACKLOG_SIZE;
    }
    for (size_t i = 0; i < n; i++) {
        if (c->backlog_len == CONSOLE_BACKLOG_SIZE) {
            c->backlog_head = (c->backlog_head + 1) % CONSOLE_BACKLOG_SIZE;
            c->backlog_len--;
        }
        c->backlog[(c->backlog_head + c->backlog_len) % CONSOLE_BACKLOG_SIZE] = p[i];
        c->backlog_len++;
    }
}

static void client_close(struct monitor *m, struct console_port *c)
{
    if (c->client < 0)
        return;
    ev_fd_del(m->loop, c->client);
    close(c->client);
    c->client = -1;
    c->in_len = c->in_off = 0;
}

/* The output side failed: a client goes; stdout is given up. */
static void writer_failed(struct monitor *m, struct console_port *c)
{
    if (c->client >= 0) {
        client_close(m, c);
    } else if (c->out_fd >= 0) {
        log_debug("console output: %s", strerror(errno));
        ev_fd_del(m->loop, c->out_fd);
        c->out_fd = -1;
        c->backlog_len = 0;
    }
}

/* Give the reader as much of the backlog as it takes (without blocking on
 * a client; stdout is as the caller made it). */
static void backlog_flush(struct monitor *m, struct console_port *c)
{
    while (writer(c) >= 0 && c->backlog_len) {
        size_t chunk = CONSOLE_BACKLOG_SIZE - c->backlog_head;
        if (chunk > c->backlog_len)
            chunk = c->backlog_len;
        ssize_t n = send(writer(c), c->backlog + c->backlog_head, chunk, MSG_NOSIGNAL);
        if (n < 0 && errno == ENOTSOCK)
            n = write(writer(c), c->backlog + c->backlog_head, chunk);
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR)
                writer_failed(m, c);
            return;
        }
        c->backlog_head = (c->backlog_head + (size_t)n) % CONSOLE_BACKLOG_SIZE;
        c->backlog_len -= (size_t)n;
    }
}

/* Device model -> reader.  At the end (drain) also what a device model
 * that is gone left in the socket. */
static void guest_output(struct monitor *m, struct console_port *c, bool drain)
{
    uint8_t buf[4096];
    ssize_t n;

    /* Flushed chunk by chunk: a blocking stdout takes everything, nothing
     * is dropped from the ring that a reader could have had. */
    while ((drain ? c->dm_fd && *c->dm_fd >= 0 : port_live(m, c)) &&
           (n = read(*c->dm_fd, buf, sizeof(buf))) > 0) {
        if (c->file_fd >= 0 && write_full(c->file_fd, buf, (size_t)n) < 0)
            log_debug("serial file: %s", strerror(errno));
        backlog_add(c, buf, (size_t)n);
        backlog_flush(m, c);
    }
}

/* The input side ended: a client goes; stdin is no longer read. */
static void reader_ended(struct monitor *m, struct console_port *c)
{
    if (c->client >= 0) {
        client_close(m, c);
    } else if (c->in_fd >= 0) {
        ev_fd_del(m->loop, c->in_fd);
        c->in_fd = -1;
    }
}

/* Reader -> guest: one buffer at a time, as fast as the device model takes
 * it. */
static void guest_input(struct monitor *m, struct console_port *c, bool readable)
{
    if (c->in_len == 0 && readable && reader(c) >= 0) {
        ssize_t n = read(reader(c), c->in_buf, sizeof(c->in_buf));
        if (n <= 0) {
            if (n == 0 || (errno != EAGAIN && errno != EINTR))
                reader_ended(m, c);
            return;
        }
        c->in_len = (size_t)n;
        c->in_off = 0;
    }
    if (c->in_len && port_live(m, c)) {
        ssize_t n = write(*c->dm_fd, c->in_buf + c->in_off, c->in_len - c->in_off);
        if (n > 0 && (c->in_off += (size_t)n) == c->in_len)
            c->in_len = c->in_off = 0;
    } else if (!port_live(m, c)) {
        c->in_len = c->in_off = 0; /* nobody to take it */
    }
}

static void on_client(struct evloop *el, int fd, unsigned ready, void *opaque);

static void on_listen(struct evloop *el, int fd, unsigned ready, void *opaque)
{
    struct monitor *m = opaque;
    struct console_port *c = NULL;
    int cfd;

    for (unsigned i = 0; i < CONSOLE_PORTS && !c; i++)
        if (m->cons[i].listen == fd)
            c = &m->cons[i];
    cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (!c || cfd < 0)
        return;
    if (c->client >= 0 || ev_fd_add(el, cfd, EV_READ, on_client, m) < 0) {
        static const char busy[] = "stubvmm: the console is in use\r\n";
        if (send(cfd, busy, sizeof(busy) - 1, MSG_NOSIGNAL) < 0)
            log_debug("console: %s", strerror(errno));
        close(cfd);
        return;
    }
    c->client = cfd;
    backlog_flush(m, c);
    port_watch(m, c);
}

/* A client socket, or stdin or stdout. */
static void on_client(struct evloop *el, int fd, unsigned ready, void *opaque)
{
    struct monitor *m = opaque;

    for (unsigned i = 0; i < CONSOLE_PORTS; i++) {
        struct console_port *c = &m->cons[i];
        if (fd != c->client && fd != c->in_fd && fd != c->out_fd)
            continue;
        /* A hang-up shows in the read or write that follows. */
        if ((ready & (EV_WRITE | EV_HUP)) && fd == writer(c))
            backlog_flush(m, c);
        if ((ready & (EV_READ | EV_HUP)) && fd == reader(c))
            guest_input(m, c, true);
        port_watch(m, c);
        return;
    }
}

/* The device model's end of a console. */
static void on_dm_end(struct evloop *el, int fd, unsigned ready, void *opaque)
{
    struct monitor *m = opaque;

    for (unsigned i = 0; i < CONSOLE_PORTS; i++) {
        struct console_port *c = &m->cons[i];
        if (!c->watching_dm || fd != *c->dm_fd)
            continue;
        if (ready & (EV_READ | EV_HUP))
            guest_output(m, c, false);
        if (ready & EV_WRITE)
            guest_input(m, c, false);
        port_watch(m, c);
        return;
    }
}

static int port_init(struct monitor *m, struct console_port *c, const char *sock_name,
                     const int *dm_fd)
{
    c->sock_name = sock_name;
    c->dm_fd = dm_fd;
    c->backlog = malloc(CONSOLE_BACKLOG_SIZE);
    if (!c->backlog)
        return -ENOMEM;
    if (sock_name) {
        c->listen = monitor_listen(m, sock_name);
        if (c->listen < 0)
            return c->listen;
        if (ev_fd_add(m->loop, c->listen, EV_READ, on_listen, m) < 0)
            return -ENOMEM;
    }
    if ((c->in_fd >= 0 && ev_fd_add(m->loop, c->in_fd, EV_READ, on_client, m) < 0) ||
        (c->out_fd >= 0 && ev_fd_add(m->loop, c->out_fd, 0, on_client, m) < 0))
        return -EINVAL;
    return 0;
}

int console_server_init(struct monitor *m)
{
    struct console_port *com1 = &m->cons[CONSOLE_SERIAL];
    int rc;

    if (m->opt.serial_file) {
        /* Direct mode writes the file afresh; under the toolstack it is a
         * log that survives restarts. */
        int flags = m->opt.dir ? O_APPEND : O_TRUNC;
        com1->file_fd = open(m->opt.serial_file, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY | flags,
                             m->opt.dir ? 0640 : 0644);
        if (com1->file_fd < 0) {
            log_error("serial file %s: %s", m->opt.serial_file, strerror(errno));
            return -errno;
        }
    }
    if (m->opt.serial_stdio) {
        com1->in_fd = STDIN_FILENO;
        com1->out_fd = STDOUT_FILENO;
    }
    rc = port_init(m, com1, m->opt.dir ? "console.sock" : NULL, &m->dm.console_fd);
    if (rc == 0 && m->opt.dir && m->vcon_fd >= 0)
        rc = port_init(m, &m->cons[CONSOLE_PV], "console-pv.sock", &m->vcon_fd);
    return rc;
}

void console_server_attach(struct monitor *m)
{
    for (unsigned i = 0; i < CONSOLE_PORTS; i++) {
        struct console_port *c = &m->cons[i];
        if (!c->backlog || !port_live(m, c) || c->watching_dm)
            continue;
        if (ev_fd_add(m->loop, *c->dm_fd, EV_READ, on_dm_end, m) == 0)
            c->watching_dm = true;
    }
}

void console_server_detach(struct monitor *m)
{
    for (unsigned i = 0; i < CONSOLE_PORTS; i++) {
        struct console_port *c = &m->cons[i];
        if (c->watching_dm)
            ev_fd_del(m->loop, *c->dm_fd);
        c->watching_dm = false;
    }
}

void console_server_drain(struct monitor *m)
{
    for (unsigned i = 0; i < CONSOLE_PORTS; i++) {
        struct console_port *c = &m->cons[i];
        if (!c->backlog)
            continue;
        guest_output(m, c, true);
        /* A client attached to the end (`stubctl create -c`) gets the last
         * of the output too, as long as it keeps reading. */
        for (int waited = 0; c->client >= 0 && c->backlog_len && waited < CONSOLE_DRAIN_MS;
             waited += 10) {
            struct pollfd p = {.fd = c->client, .events = POLLOUT};
            if (poll(&p, 1, 10) > 0)
                backlog_flush(m, c);
        }
    }
}

void console_server_dispose(struct monitor *m)
{
    console_server_detach(m);
    for (unsigned i = 0; i < CONSOLE_PORTS; i++) {
        struct console_port *c = &m->cons[i];
        client_close(m, c);
        if (c->in_fd >= 0)
            ev_fd_del(m->loop, c->in_fd);
        if (c->out_fd >= 0)
            ev_fd_del(m->loop, c->out_fd);
        c->in_fd = c->out_fd = -1; /* stdio stays open: not ours */
        close_quietly(c->file_fd);
        c->file_fd = -1;
        if (c->listen >= 0) {
            ev_fd_del(m->loop, c->listen);
            close(c->listen);
            c->listen = -1;
            monitor_unlink(m, c->sock_name);
        }
        free(c->backlog);
        c->backlog = NULL;
    }
}
