/* What the device model gets from the monitor besides memory: disk images,
 * NIC back ends and the virtio console's socket.  The device model never
 * opens a file or a socket itself; these are opened here, at set-up, and
 * handed over as descriptors (lib/dmfds.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/log.h"
#include "vmm/monitor.h"

/* A disk image, PATH or PATH,ro, as disk number vmm->nr_disks.  Dies on
 * error (start-up). */
static void open_disk(struct vmm *vmm, const char *spec)
{
    char path[PATH_MAX];
    size_t len = strlen(spec);
    bool ro = len > 3 && strcmp(spec + len - 3, ",ro") == 0;
    struct stat st;
    int fd;

    if (ro)
        len -= 3;
    if (len == 0 || len >= sizeof(path) || vmm->nr_disks == DMFD_MAX_DISKS)
        die(EXIT_USAGE, "--disk %s: bad path", spec);
    memcpy(path, spec, len);
    path[len] = 0;
    fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0)
        die(EXIT_USAGE, "disk %s: %s", path, strerror(errno));
    if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)))
        die(EXIT_USAGE, "disk %s: not a regular file or block device", path);
    vmm->disk_fd[vmm->nr_disks] = fd;
    vmm->disk_ro[vmm->nr_disks] = ro;
    vmm->nr_disks++;
}

static uint16_t parse_port(const char *s, char **end)
{
    unsigned long v;

    errno = 0;
    v = strtoul(s, end, 10);
    return errno || *end == s || v == 0 || v > 65535 ? 0 : (uint16_t)v;
}

/* A NIC back end: a connected datagram socket on loopback (udp:LPORT:RPORT
 * binds 127.0.0.1:LPORT and sends to 127.0.0.1:RPORT), a datagram socket
 * connected to a unix socket (unix:PATH), or a tap device (tap:IFNAME).
 * Returns the descriptor; dies on error (start-up). */
static int open_nic(const char *spec)
{
    int fd = -1;

    if (strncmp(spec, "udp:", 4) == 0) {
        struct sockaddr_in local = {.sin_family = AF_INET}, remote = {.sin_family = AF_INET};
        char *end;
        uint16_t lport = parse_port(spec + 4, &end), rport = 0;
        if (lport && *end == ':')
            rport = parse_port(end + 1, &end);
        if (!lport || !rport || *end)
            die(EXIT_USAGE, "--nic %s: expected udp:LPORT:RPORT", spec);
        local.sin_addr.s_addr = remote.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        local.sin_port = htons(lport);
        remote.sin_port = htons(rport);
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&local, sizeof(local)) < 0 ||
            connect(fd, (struct sockaddr *)&remote, sizeof(remote)) < 0)
            die(EXIT_USAGE, "--nic %s: %s", spec, strerror(errno));
    } else if (strncmp(spec, "unix:", 5) == 0) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        sa_family_t autobind = AF_UNIX;
        if (!spec[5] || strlen(spec + 5) >= sizeof(sa.sun_path))
            die(EXIT_USAGE, "--nic %s: bad path", spec);
        strcpy(sa.sun_path, spec + 5);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        /* An abstract address of our own, so the peer can answer. */
        if (fd < 0 || bind(fd, (struct sockaddr *)&autobind, sizeof(autobind)) < 0 ||
            connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
            die(EXIT_USAGE, "--nic %s: %s", spec, strerror(errno));
    } else if (strncmp(spec, "tap:", 4) == 0) {
        struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI};
        if (!spec[4] || strlen(spec + 4) >= sizeof(ifr.ifr_name))
            die(EXIT_USAGE, "--nic %s: bad interface name", spec);
        strcpy(ifr.ifr_name, spec + 4);
        fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0)
            die(EXIT_USAGE, "--nic %s: %s", spec, strerror(errno));
    } else {
        die(EXIT_USAGE, "--nic %s: expected udp:LPORT:RPORT, unix:PATH or tap:IFNAME", spec);
    }
    return fd;
}

/* The virtio console's host side when it is a stream socket someone listens
 * on (unix:PATH): connected here and handed over, as --nic unix:PATH is.
 * Dies on error. */
static int connect_virtio_console(const char *spec)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    const char *path = spec + 5;
    int fd;

    if (strlen(path) >= sizeof(sa.sun_path))
        die(EXIT_USAGE, "--virtio-console %s: path too long", spec);
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        die(EXIT_USAGE, "--virtio-console %s: %s", spec, strerror(errno));
    return fd;
}

void backends_open(struct monitor *m)
{
    struct vmm *vmm = &m->vmm;
    const struct vmm_guest_options *g = &m->opt.g;

    for (unsigned i = 0; i < g->nr_disks; i++)
        open_disk(vmm, g->disks[i]);
    for (unsigned i = 0; i < g->nr_nics; i++) {
        /* Without --mac: a locally administered address, distinct per NIC
         * and guest. */
        uint8_t mac[6] = {0x52,      0x54, 0x00, (uint8_t)(getpid() >> 8), (uint8_t)getpid(),
                          (uint8_t)i};
        vmm->nic_fd[i] = open_nic(g->nics[i]);
        memcpy(vmm->nic_mac[i], i < m->opt.nr_macs ? m->opt.macs[i] : mac, 6);
        vmm->nr_nics = i + 1;
    }
    vmm->virtio_rng = g->rng;
    vmm->virtio_console = m->opt.virtio_console;
    if (m->opt.virtio_console_connect)
        vmm->vcon_fd = connect_virtio_console(m->opt.virtio_console_connect);
}
