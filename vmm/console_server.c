/* The guest's COM1 on a socket, as xenconsoled serves a Xen guest's console:
 * DIR/console.sock takes one client at a time (`stubctl console`); output
 * that arrives while nobody is attached is kept (the last
 * CONSOLE_BACKLOG_SIZE bytes) and given to the next client; with
 * --serial-file everything is also appended to that file. */
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

int console_server_init(struct managed *m)
{
    char path[PATH_MAX];

    m->con_client = m->serial_file_fd = -1;
    m->backlog = malloc(CONSOLE_BACKLOG_SIZE);
    if (!m->backlog)
        return -ENOMEM;
    if (m->serial_file) {
        m->serial_file_fd =
            open(m->serial_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
        if (m->serial_file_fd < 0) {
            log_error("serial file %s: %s", m->serial_file, strerror(errno));
            return -errno;
        }
    }
    path_in_dir(m, "console.sock", path, sizeof(path));
    m->con_listen = managed_listen(path);
    return m->con_listen < 0 ? m->con_listen : 0;
}

/* Append to the ring, dropping the oldest bytes when full. */
static void backlog_add(struct managed *m, const uint8_t *p, size_t n)
{
    if (n >= CONSOLE_BACKLOG_SIZE) {
        p += n - CONSOLE_BACKLOG_SIZE;
        n = CONSOLE_BACKLOG_SIZE;
    }
    for (size_t i = 0; i < n; i++) {
        if (m->backlog_len == CONSOLE_BACKLOG_SIZE) {
            m->backlog_head = (m->backlog_head + 1) % CONSOLE_BACKLOG_SIZE;
            m->backlog_len--;
        }
        m->backlog[(m->backlog_head + m->backlog_len) % CONSOLE_BACKLOG_SIZE] = p[i];
        m->backlog_len++;
    }
}

static void client_close(struct managed *m)
{
    close_quietly(m->con_client);
    m->con_client = -1;
    m->in_len = m->in_off = 0;
}

/* Give the client as much of the backlog as it takes without blocking. */
static void backlog_flush(struct managed *m)
{
    while (m->con_client >= 0 && m->backlog_len) {
        size_t chunk = CONSOLE_BACKLOG_SIZE - m->backlog_head;
        if (chunk > m->backlog_len)
            chunk = m->backlog_len;
        ssize_t n = send(m->con_client, m->backlog + m->backlog_head, chunk, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR)
                client_close(m);
            return;
        }
        m->backlog_head = (m->backlog_head + (size_t)n) % CONSOLE_BACKLOG_SIZE;
        m->backlog_len -= (size_t)n;
    }
}

static void guest_output(struct managed *m)
{
    uint8_t buf[4096];
    ssize_t n;

    while (m->dm_alive && (n = read(m->dm.console_fd, buf, sizeof(buf))) > 0) {
        if (m->serial_file_fd >= 0 && write_full(m->serial_file_fd, buf, (size_t)n) < 0)
            log_debug("serial file: %s", strerror(errno));
        backlog_add(m, buf, (size_t)n);
    }
    backlog_flush(m);
}

void console_server_drain(struct managed *m)
{
    guest_output(m);
}

/* Client -> guest: one buffer at a time, as fast as the DM takes it. */
static void guest_input(struct managed *m, bool client_readable)
{
    if (m->in_len == 0 && client_readable && m->con_client >= 0) {
        ssize_t n = read(m->con_client, m->in_buf, sizeof(m->in_buf));
        if (n <= 0) {
            if (n == 0 || (errno != EAGAIN && errno != EINTR))
                client_close(m);
            return;
        }
        m->in_len = (size_t)n;
        m->in_off = 0;
    }
    if (m->in_len && m->dm_alive) {
        ssize_t n = write(m->dm.console_fd, m->in_buf + m->in_off, m->in_len - m->in_off);
        if (n > 0 && (m->in_off += (size_t)n) == m->in_len)
            m->in_len = m->in_off = 0;
    } else if (!m->dm_alive) {
        m->in_len = m->in_off = 0; /* nobody to take it */
    }
}

unsigned console_server_pollfds(struct managed *m, struct pollfd *pf)
{
    unsigned n = 0;

    pf[n++] = (struct pollfd){.fd = m->con_listen, .events = POLLIN};
    if (m->dm_alive)
        pf[n++] =
            (struct pollfd){.fd = m->dm.console_fd, .events = POLLIN | (m->in_len ? POLLOUT : 0)};
    if (m->con_client >= 0)
        pf[n++] = (struct pollfd){.fd = m->con_client,
                                  .events = (m->in_len ? 0 : POLLIN) |
                                            (m->backlog_len ? POLLOUT : 0) | POLLRDHUP};
    return n;
}

void console_server_handle(struct managed *m, struct pollfd *pf, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        short ev = pf[i].revents;
        if (!ev)
            continue;
        if (pf[i].fd == m->con_listen) {
            int c = accept4(m->con_listen, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (c < 0)
                continue;
            if (m->con_client >= 0) {
                static const char busy[] = "stubvmm: the console is in use\r\n";
                if (send(c, busy, sizeof(busy) - 1, MSG_NOSIGNAL) < 0)
                    log_debug("console: %s", strerror(errno));
                close(c);
                continue;
            }
            m->con_client = c;
            backlog_flush(m);
        } else if (m->dm_alive && pf[i].fd == m->dm.console_fd) {
            if (ev & POLLIN)
                guest_output(m);
            if (ev & POLLOUT)
                guest_input(m, false);
        } else if (pf[i].fd == m->con_client && m->con_client >= 0) {
            if (ev & POLLOUT)
                backlog_flush(m);
            if (m->con_client >= 0 && (ev & (POLLIN | POLLHUP | POLLRDHUP | POLLERR)))
                guest_input(m, true);
        }
    }
}

void console_server_dispose(struct managed *m)
{
    char path[PATH_MAX];

    client_close(m);
    close_quietly(m->con_listen);
    close_quietly(m->serial_file_fd);
    path_in_dir(m, "console.sock", path, sizeof(path));
    unlink(path);
    free(m->backlog);
}
