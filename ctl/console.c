/* `stubctl console [-t pv|serial]`: attach to the guest's COM1 on
 * DIR/console.sock, or its virtio console on DIR/console-pv.sock.  With a
 * terminal on stdin it goes raw and Ctrl-] detaches, as with xl console;
 * otherwise it shows output until the guest goes away (or a signal).  When
 * the guest went away, it returns once the guest is gone from the store
 * too, so that a `create -c` that returns leaves the name free. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "ctl/stubctl.h"
#include "lib/fdio.h"
#include "lib/log.h"

#define CTRL_RIGHT_BRACKET 0x1d

int ctl_console_attach(struct xsc *xs, unsigned domid, bool unpause)
{
    return ctl_console_attach_type(xs, domid, unpause, false);
}

int ctl_console_attach_type(struct xsc *xs, unsigned domid, bool unpause, bool pv)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct termios saved, raw;
    bool tty = isatty(STDIN_FILENO), in_open = true, gone = false;
    char dir[PATH_MAX], buf_reply[512];
    int fd, rc = 0;

    ctl_domain_dir(domid, dir, sizeof(dir));
    if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", dir,
                         pv ? "console-pv.sock" : "console.sock") >= sizeof(sa.sun_path))
        return 1;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        if (pv && errno == ENOENT)
            fprintf(stderr, "stubctl: domain %u has no pv console (virtio_console = 1)\n", domid);
        else
            fprintf(stderr, "stubctl: console of domain %u: %s\n", domid, strerror(errno));
        close_quietly(fd);
        return 1;
    }
    if (unpause) {
        char reply[256];
        int r = ctl_control(xs, domid, "unpause", reply, sizeof(reply));
        if (r < 0) {
            fprintf(stderr, "stubctl: unpausing domain %u: %s\n", domid,
                    r == -EREMOTEIO ? reply : strerror(-r));
            close(fd);
            return 1;
        }
    }
    if (tty && tcgetattr(STDIN_FILENO, &saved) == 0) {
        raw = saved;
        cfmakeraw(&raw);
        tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    } else {
        tty = false;
    }
    for (;;) {
        struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
                              {.fd = in_open ? STDIN_FILENO : -1, .events = POLLIN}};
        char buf[4096];
        ssize_t n;

        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            rc = EXIT_SYSTEM;
            break;
        }
        if (p[0].revents) {
            n = read(fd, buf, sizeof(buf));
            if (n <= 0) {
                gone = true; /* the guest went away */
                break;
            }
            if (write_full(STDOUT_FILENO, buf, (size_t)n) < 0)
                break;
        }
        if (p[1].revents) {
            n = read(STDIN_FILENO, buf, sizeof(buf));
            if (n <= 0) {
                /* End of a non-terminal input: keep showing output until
                 * the guest goes away. */
                in_open = false;
                continue;
            }
            char *esc = tty ? memchr(buf, CTRL_RIGHT_BRACKET, (size_t)n) : NULL;
            if (esc)
                n = esc - buf;
            if (n > 0 && write_full(fd, buf, (size_t)n) < 0)
                break;
            if (esc)
                break;
        }
    }
    if (tty)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    close(fd);
    /* The console closed: the guest went away (its stubvmm no longer
     * answers; its supervisor is removing it, or restarting it under a new
     * id), or we were turned away (it answers). */
    int alive = gone ? ctl_control(xs, domid, "status", buf_reply, sizeof(buf_reply)) : 0;
    if (gone && alive != 0 && alive != -EREMOTEIO &&
        ctl_wait_released(xs, domid, STUBCTL_DESTROY_TIMEOUT) < 0)
        log_warn("domain %u is still there %d s after its console closed", domid,
                 STUBCTL_DESTROY_TIMEOUT);
    return rc;
}
