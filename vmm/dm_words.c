/* The device model's devices as stubvmm hands them over: descriptors it
 * opens (the device model opens nothing) and, without a toolstack, the
 * dm-argv words that describe them (dm/argv.h).  Under the toolstack the
 * words are stubctl's: in the store for a device model of its own, after
 * "--" on stubvmm's command line for the inline one.  Either way stubvmm
 * does not interpret a device option; translating its own options in
 * vmm_dm_words_standalone() is the one place that knows what a word says.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "dm/argv.h"
#include "lib/fdio.h"
#include "lib/log.h"
#include "lib/mac.h"
#include "vmm/options.h"
#include "vmm/vmm.h"

static void add_fd(struct vmm *vmm, int fd, const char *what)
{
    if (vmm->nr_dev_fds == VMM_MAX_DEV_FDS)
        die(EXIT_USAGE, "%s: too many devices", what);
    vmm->dev_fds[vmm->nr_dev_fds++] = fd;
}

void vmm_open_disk(struct vmm *vmm, const char *spec)
{
    char path[PATH_MAX];
    size_t len = strlen(spec);
    bool ro = len > 3 && strcmp(spec + len - 3, ",ro") == 0;
    struct stat st;
    int fd;

    if (ro)
        len -= 3;
    if (len == 0 || len >= sizeof(path))
        die(EXIT_USAGE, "--disk %s: bad path", spec);
    memcpy(path, spec, len);
    path[len] = 0;
    fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0)
        die(EXIT_USAGE, "disk %s: %s", path, strerror(errno));
    if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)))
        die(EXIT_USAGE, "disk %s: not a regular file or block device", path);
    add_fd(vmm, fd, spec);
}

static uint16_t parse_port(const char *s, char **end)
{
    unsigned long v;

    errno = 0;
    v = strtoul(s, end, 10);
    return errno || *end == s || v == 0 || v > 65535 ? 0 : (uint16_t)v;
}

/* A connected datagram socket on loopback (udp:LPORT:RPORT binds
 * 127.0.0.1:LPORT and sends to 127.0.0.1:RPORT), a datagram socket
 * connected to a unix socket (unix:PATH), or a tap device (tap:IFNAME). */
void vmm_open_nic(struct vmm *vmm, const char *spec)
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
    add_fd(vmm, fd, spec);
}

int vmm_open_console(struct vmm *vmm, const char *spec)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int sp[2], fd;

    if (!spec || strcmp(spec, "none") == 0) {
        /* A pair: ours to serve, or (none) closed at once, so that output
         * is dropped and input is at its end. */
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
            die(EXIT_SYSTEM, "virtio console: %s", strerror(errno));
        add_fd(vmm, sp[1], "virtio console");
        if (spec) {
            close(sp[0]);
            return -1;
        }
        fd_set_nonblock(sp[0], 1);
        return sp[0];
    }
    if (strncmp(spec, "unix:", 5) != 0 || !spec[5] || strlen(spec + 5) >= sizeof(sa.sun_path))
        die(EXIT_USAGE, "--virtio-console %s: expected none or unix:PATH", spec);
    strcpy(sa.sun_path, spec + 5);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        die(EXIT_USAGE, "--virtio-console %s: %s", spec, strerror(errno));
    add_fd(vmm, fd, spec);
    return -1;
}

/* ---- the words ---- */

struct words {
    char *w[DM_ARGV_MAX];
    unsigned n;
};

static void word(struct words *ws, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void word(struct words *ws, const char *fmt, ...)
{
    va_list ap;
    int r;

    if (ws->n == DM_ARGV_MAX)
        die(EXIT_USAGE, "too many devices");
    va_start(ap, fmt);
    r = vasprintf(&ws->w[ws->n], fmt, ap);
    va_end(ap);
    if (r < 0)
        die(EXIT_SYSTEM, "out of memory");
    ws->n++;
}

void vmm_dm_words_standalone(struct vmm *vmm, const struct vmm_guest_options *o, const char *vcon)
{
    struct words ws = {.n = 0};
    unsigned nic = 0;

    word(&ws, "stubdm");
    word(&ws, "-m");
    word(&ws, "%u", o->memory_mib);
    word(&ws, "-smp");
    word(&ws, "%u", o->vcpus);
    word(&ws, "-serial");
    word(&ws, "console");
    if (o->firmware) {
        word(&ws, "-bios");
        word(&ws, "%s", o->firmware);
    }
    /* The disks, then the NICs: the PCI slots a standalone guest has
     * always had. */
    for (unsigned i = 0; i < o->nr_backends; i++) {
        if (o->backends[i].kind != VMM_BACKEND_DISK)
            continue;
        size_t len = strlen(o->backends[i].spec);
        bool ro = len > 3 && strcmp(o->backends[i].spec + len - 3, ",ro") == 0;
        vmm_open_disk(vmm, o->backends[i].spec);
        word(&ws, "-device");
        word(&ws, "virtio-blk,readonly=%s", ro ? "on" : "off");
    }
    for (unsigned i = 0; i < o->nr_backends; i++) {
        if (o->backends[i].kind != VMM_BACKEND_NIC)
            continue;
        /* A locally administered address, distinct per NIC and guest. */
        uint8_t mac[6] = {0x52,          0x54, 0x00, (uint8_t)(getpid() >> 8), (uint8_t)getpid(),
                          (uint8_t)nic++};
        char text[MAC_STRLEN];
        vmm_open_nic(vmm, o->backends[i].spec);
        mac_format(mac, text);
        word(&ws, "-device");
        word(&ws, "virtio-net,mac=%s", text);
    }
    if (vcon) {
        vmm_open_console(vmm, vcon);
        word(&ws, "-device");
        word(&ws, "virtio-console");
    }
    if (o->rng) {
        word(&ws, "-device");
        word(&ws, "virtio-rng");
    }
    vmm_dm_words_set(vmm, (const char *const *)ws.w, ws.n);
    for (unsigned i = 0; i < ws.n; i++)
        free(ws.w[i]);
}

void vmm_dm_words_set(struct vmm *vmm, const char *const *words, unsigned n)
{
    char **copy = calloc(n + 1, sizeof(*copy));

    if (!copy)
        die(EXIT_SYSTEM, "out of memory");
    for (unsigned i = 0; i < n; i++)
        if (!(copy[i] = strdup(words[i])))
            die(EXIT_SYSTEM, "out of memory");
    vmm->dm_words = copy;
    vmm->nr_dm_words = n;
}

void vmm_dm_words_dispose(struct vmm *vmm)
{
    for (unsigned i = 0; i < vmm->nr_dev_fds; i++)
        close_quietly(vmm->dev_fds[i]);
    vmm->nr_dev_fds = 0;
    for (unsigned i = 0; vmm->dm_words && i < vmm->nr_dm_words; i++)
        free(vmm->dm_words[i]);
    free(vmm->dm_words);
    vmm->dm_words = NULL;
    vmm->nr_dm_words = 0;
}
