/* `stubctl qmp DOMAIN JSON`: one QMP command to the guest's device model
 * through stubvmm's relay; the greeting and capabilities negotiation are
 * done here, events are skipped, the answer is printed. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl/stubctl.h"
#include "lib/fdio.h"
#include "lib/log.h"

/* Read one line (a QMP message) into buf; 0 or -errno. */
static int read_line(int fd, char *buf, size_t len)
{
    size_t got = 0;

    while (got + 1 < len) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 10000) <= 0)
            return -ETIMEDOUT;
        if (read(fd, buf + got, 1) != 1)
            return -ECONNRESET;
        if (buf[got] == '\n')
            break;
        got++;
    }
    buf[got] = '\0';
    return 0;
}

/* Send cmd and wait for its answer (skipping events) into buf. */
static int exchange(int fd, const char *cmd, char *buf, size_t len)
{
    if (write_full(fd, cmd, strlen(cmd)) < 0 || write_full(fd, "\n", 1) < 0)
        return -errno;
    for (;;) {
        int rc = read_line(fd, buf, len);
        if (rc < 0)
            return rc;
        if (strncmp(buf, "{\"event\"", 8) != 0)
            return 0;
    }
}

int main_qmp(int argc, char **argv)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char dir[PATH_MAX], line[8192];
    json_error_t jerr;
    json_t *cmd;
    unsigned domid;
    int fd = -1, rc = 1, opt;
    struct xsc *xs;

    optind = 1;
    while ((opt = ctl_getopt(argc, argv, "", "qmp")) != -1)
        return ctl_opt_exit(opt);
    argc -= optind - 1; /* DOMAIN and JSON stay argv[1] and argv[2] */
    argv += optind - 1;
    if (argc != 3)
        return cmd_usage("qmp");
    cmd = json_loads(argv[2], 0, &jerr);
    if (!json_is_object(cmd)) {
        fprintf(stderr, "stubctl: qmp: the command must be a JSON object (%s)\n", jerr.text);
        json_decref(cmd);
        return EXIT_USAGE;
    }
    json_decref(cmd);
    xs = ctl_store_open(false);
    if (!xs)
        return EXIT_SYSTEM;
    if (ctl_find_domain(xs, argv[1], &domid) < 0)
        goto out;
    ctl_domain_dir(domid, dir, sizeof(dir));
    if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/qmp.sock", dir) >=
        sizeof(sa.sun_path))
        goto out;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        fprintf(stderr, "stubctl: qmp %s: %s\n", argv[1], strerror(errno));
        goto out;
    }
    if (read_line(fd, line, sizeof(line)) < 0 || strncmp(line, "{\"QMP\"", 6) != 0) {
        fprintf(stderr, "stubctl: qmp %s: no greeting (%s)\n", argv[1], line);
        goto out;
    }
    if (exchange(fd, "{\"execute\": \"qmp_capabilities\"}", line, sizeof(line)) < 0 ||
        strncmp(line, "{\"return\"", 9) != 0) {
        fprintf(stderr, "stubctl: qmp %s: negotiation failed\n", argv[1]);
        goto out;
    }
    if (exchange(fd, argv[2], line, sizeof(line)) < 0) {
        fprintf(stderr, "stubctl: qmp %s: no answer\n", argv[1]);
        goto out;
    }
    puts(line);
    rc = strncmp(line, "{\"return\"", 9) == 0 ? 0 : 1;
out:
    close_quietly(fd);
    xsc_close(xs);
    return rc;
}
