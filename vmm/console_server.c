/* The guest's consoles on sockets, as xenconsoled serves a Xen guest's:
 * DIR/console.sock is COM1, DIR/console-pv.sock the virtio console (with
 * --virtio-console; `stubctl console -t pv`).  Each takes one client at a
 * time; output that arrives while nobody is attached is kept (the last
 * CONSOLE_BACKLOG_SIZE bytes) and given to the next client; with
 * --serial-file COM1's output is also appended to that file. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/log.h"
#include "vmm/managed.h"

int managed_listen(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd;

    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    unlink(path);
    mode_t old = umask(0077);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0) {
        int e = errno;
        umask(old);
        close(fd);
        log_error("socket %s: %s", path, strerror(e));
        return -e;
    }
    umask(old);
    chmod(path, 0600);
    return fd;
}

static void path_in_dir(const struct managed *m, const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", m->dir, name);
}

static int port_init(struct managed *m, struct console_port *c, const char *name, const int *dm_fd)
{
    char path[PATH_MAX];

    c->sock_name = name;
    c->dm_fd = dm_fd;
    c->backlog = malloc(CONSOLE_BACKLOG_SIZE);
    if (!c->backlog)
        return -ENOMEM;
    path_in_dir(m, name, path, sizeof(path));
    c->listen = managed_listen(path);
    return c->listen < 0 ? c->listen : 0;
}

int console_server_init(struct managed *m)
{
    int rc;

    for (unsigned i = 0; i < CONSOLE_PORTS; i++)
        m->cons[i].listen = m->cons[i].client = m->cons[i].file_fd = -1;
    if (m->serial_file) {
        int fd = open(m->serial_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
        if (fd < 0) {
            log_error("serial file %s: %s", m->serial_file, strerror(errno));
            return -errno;
        }
        m->cons[CONSOLE_SERIAL].file_fd = fd;
    }
    rc = port_init(m, &m->cons[CONSOLE_SERIAL], "console.sock", &m->dm.console_fd);
    if (rc == 0 && m->virtio_console)
        rc = port_init(m, &m->cons[CONSOLE_PV], "console-pv.sock", &m->vcon_fd);
    return rc;
}

/* Whether the device model's end of this console is there to talk to. */
static bool port_live(const struct managed *m, const struct console_port *c)
{
    return m->dm_alive && c->dm_fd && *c->dm_fd >= 0;
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

static void client_close(struct console_port *c)
{
    close_quietly(c->client);
    c->client = -1;
    c->in_len = c->in_off = 0;
}

/* Give the client as much of the backlog as it takes without blocking. */
static void backlog_flush(struct console_port *c)
{
    while (c->client >= 0 && c->backlog_len) {
        size_t chunk = CONSOLE_BACKLOG_SIZE - c->backlog_head;
        if (chunk > c->backlog_len)
            chunk = c->backlog_len;
        ssize_t n = send(c->client, c->backlog + c->backlog_head, chunk, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR)
                client_close(c);
            return;
        }
        c->backlog_head = (c->backlog_head + (size_t)n) % CONSOLE_BACKLOG_SIZE;
        c->backlog_len -= (size_t)n;
    }
}

static void guest_output(struct managed *m, struct console_port *c)
{
    uint8_t buf[4096];
    ssize_t n;

    while (port_live(m, c) && (n = read(*c->dm_fd, buf, sizeof(buf))) > 0) {
        if (c->file_fd >= 0 && write_full(c->file_fd, buf, (size_t)n) < 0)
            log_debug("serial file: %s", strerror(errno));
        backlog_add(c, buf, (size_t)n);
    }
    backlog_flush(c);
}

void console_server_drain(struct managed *m)
{
    for (unsigned i = 0; i < CONSOLE_PORTS; i++)
        if (m->cons[i].backlog)
            guest_output(m, &m->cons[i]);
}

/* Client -> guest: one buffer at a time, as fast as the DM takes it. */
static void guest_input(struct managed *m, struct console_port *c, bool client_readable)
{
    if (c->in_len == 0 && client_readable && c->client >= 0) {
        ssize_t n = read(c->client, c->in_buf, sizeof(c->in_buf));
        if (n <= 0) {
            if (n == 0 || (errno != EAGAIN && errno != EINTR))
                client_close(c);
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

unsigned console_server_pollfds(struct managed *m, struct pollfd *pf)
{
    unsigned n = 0;

    for (unsigned i = 0; i < CONSOLE_PORTS; i++) {
        struct console_port *c = &m->cons[i];
        if (c->listen < 0)
            continue;
        pf[n++] = (struct pollfd){.fd = c->listen, .events = POLLIN};
        if (port_live(m, c))
            pf[n++] =
                (struct pollfd){.fd = *c->dm_fd, .events = POLLIN | (c->in_len ? POLLOUT : 0)};
        if (c->client >= 0)
            pf[n++] = (struct pollfd){.fd = c->client,
                                      .events = (c->in_len ? 0 : POLLIN) |
                                                (c->backlog_len ? POLLOUT : 0) | POLLRDHUP};
    }
    return n;
}

static void port_handle(struct managed *m, struct console_port *c, const struct pollfd *p)
{
    short ev = p->revents;

    if (p->fd == c->listen) {
        int fd = accept4(c->listen, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            return;
        if (c->client >= 0) {
            static const char busy[] = "stubvmm: the console is in use\r\n";
            if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL) < 0)
                log_debug("console: %s", strerror(errno));
            close(fd);
            return;
        }
        c->client = fd;
        backlog_flush(c);
    } else if (port_live(m, c) && p->fd == *c->dm_fd) {
        if (ev & POLLIN)
            guest_output(m, c);
        if (ev & POLLOUT)
            guest_input(m, c, false);
    } else if (p->fd == c->client && c->client >= 0) {
        if (ev & POLLOUT)
            backlog_flush(c);
        if (c->client >= 0 && (ev & (POLLIN | POLLHUP | POLLRDHUP | POLLERR)))
            guest_input(m, c, true);
    }
}

void console_server_handle(struct managed *m, struct pollfd *pf, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (!pf[i].revents || pf[i].fd < 0)
            continue;
        for (unsigned k = 0; k < CONSOLE_PORTS; k++) {
            struct console_port *c = &m->cons[k];
            if (c->listen >= 0 && (pf[i].fd == c->listen || pf[i].fd == c->client ||
                                   (port_live(m, c) && pf[i].fd == *c->dm_fd))) {
                port_handle(m, c, &pf[i]);
                break;
            }
        }
    }
}

void console_server_dispose(struct managed *m)
{
    char path[PATH_MAX];

    for (unsigned i = 0; i < CONSOLE_PORTS; i++) {
        struct console_port *c = &m->cons[i];
        client_close(c);
        close_quietly(c->file_fd);
        c->file_fd = -1;
        if (c->listen >= 0) {
            close(c->listen);
            c->listen = -1;
            path_in_dir(m, c->sock_name, path, sizeof(path));
            unlink(path);
        }
        free(c->backlog);
        c->backlog = NULL;
    }
}
