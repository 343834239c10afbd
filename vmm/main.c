/* stubvmm: run one KVM guest and route its I/O to its device model.
 *
 * usage: stubvmm --kernel FILE | --firmware seabios|FILE [--memory MiB] [--vcpus N] [--cmdline
 * STRING]
 *                [--ramdisk FILE] [--cpuid STRING]
 *                [--dm stubdom|process|inline] [--serial stdio|file:PATH]
 *                [--disk PATH[,ro]]... [--nic udp:LPORT:RPORT|unix:PATH|tap:IFNAME]...
 *                [--rng] [--virtio-console none|unix:PATH]
 *
 * The exit status is the guest's (the byte it wrote to port 0xf4), or
 * 100 for a usage error, 111 for a system error, 101 when the guest
 * crashed, 102 when its device model died or misbehaved, 103 when the guest
 * reset itself (the toolstack decides whether to start it again). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/log.h"
#include "vmm/firmware.h"
#include "vmm/managed.h"
#include "vmm/options.h"
#include "vmm/vmm.h"

#define MAX_KERNEL_SIZE     (64u << 20)
#define DM_READY_TIMEOUT_MS 20000

struct options {
    struct vmm_guest_options g;
    const char *serial_file;    /* NULL: stdio */
    const char *virtio_console; /* NULL: no port; "none" or "unix:PATH" */
};

static noreturn void usage(const char *why)
{
    if (why)
        fprintf(stderr, "stubvmm: %s\n", why);
    fprintf(stderr,
            "usage: stubvmm --kernel FILE | --firmware seabios|FILE\n"
            "               [--memory MiB] [--vcpus N] [--cmdline STRING]\n"
            "               [--ramdisk FILE] [--cpuid STRING]\n"
            "               [--dm stubdom|process|inline] [--serial stdio|file:PATH]\n"
            "               [--disk PATH[,ro]]... [--nic udp:LPORT:RPORT|unix:PATH|tap:IFNAME]...\n"
            "               [--rng] [--virtio-console none|unix:PATH]\n");
    exit(EXIT_USAGE);
}

static void parse_args(int argc, char **argv, struct options *o)
{
    *o = (struct options){0};
    vmm_guest_options_init(&o->g);
    for (int i = 1; i < argc;) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int used = vmm_guest_option(&o->g, a, v, usage);
        if (used) {
            i += used;
            continue;
        }
        if (!v)
            usage(strncmp(a, "--", 2) == 0 ? "option needs a value" : "unexpected argument");
        if (strcmp(a, "--serial") == 0) {
            if (strcmp(v, "stdio") == 0)
                o->serial_file = NULL;
            else if (strncmp(v, "file:", 5) == 0 && v[5])
                o->serial_file = v + 5;
            else
                usage("--serial must be stdio or file:PATH");
        } else if (strcmp(a, "--virtio-console") == 0) {
            if (strcmp(v, "none") != 0 && (strncmp(v, "unix:", 5) != 0 || !v[5]))
                usage("--virtio-console must be none or unix:PATH");
            o->virtio_console = v;
        } else {
            usage("unknown option");
        }
        i += 2;
    }
    if (!o->g.kernel == !o->g.firmware)
        usage("give either --kernel or --firmware");
}

/* Open a disk image, PATH or PATH,ro, as disk number vmm->nr_disks.  The
 * descriptors go to the device model, which never opens files itself.
 * Dies on error (start-up). */
void vmm_open_disk(struct vmm *vmm, const char *spec)
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

static void open_disks(struct vmm *vmm, const struct options *o)
{
    for (unsigned i = 0; i < o->g.nr_disks; i++)
        vmm_open_disk(vmm, o->g.disks[i]);
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
int vmm_open_nic(const char *spec)
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

static void open_nics(struct vmm *vmm, const struct options *o)
{
    for (unsigned i = 0; i < o->g.nr_nics; i++) {
        /* A locally administered address, distinct per NIC and guest. */
        uint8_t mac[6] = {0x52,      0x54, 0x00, (uint8_t)(getpid() >> 8), (uint8_t)getpid(),
                          (uint8_t)i};
        vmm->nic_fd[i] = vmm_open_nic(o->g.nics[i]);
        memcpy(vmm->nic_mac[i], mac, 6);
        vmm->nr_nics = i + 1;
    }
    vmm->virtio_rng = o->g.rng;
}

/* The virtio console: none (the port has no host side) or unix:PATH, a
 * stream socket someone listens on, connected here and handed to the device
 * model as the port's descriptor (as --nic unix:PATH is).  Dies on error. */
static void open_virtio_console(struct vmm *vmm, const struct options *o)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    const char *path;

    if (!o->virtio_console)
        return;
    vmm->virtio_console = true;
    if (strcmp(o->virtio_console, "none") == 0)
        return;
    path = o->virtio_console + 5;
    if (strlen(path) >= sizeof(sa.sun_path))
        die(EXIT_USAGE, "--virtio-console %s: path too long", o->virtio_console);
    strcpy(sa.sun_path, path);
    vmm->vcon_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (vmm->vcon_fd < 0 || connect(vmm->vcon_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        die(EXIT_USAGE, "--virtio-console %s: %s", o->virtio_console, strerror(errno));
}

static uint8_t *read_kernel(const char *what, const char *path, size_t *size)
{
    struct stat st;
    uint8_t *buf;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        die(EXIT_USAGE, "%s %s: %s", what, path, strerror(errno));
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        (uint64_t)st.st_size > MAX_KERNEL_SIZE)
        die(EXIT_USAGE, "%s %s: not a regular file of 1 byte to %u MiB", what, path,
            MAX_KERNEL_SIZE >> 20);
    buf = malloc((size_t)st.st_size);
    if (!buf || read_full(fd, buf, (size_t)st.st_size) != st.st_size)
        die(EXIT_SYSTEM, "reading %s %s: %s", what, path, strerror(errno));
    close(fd);
    *size = (size_t)st.st_size;
    return buf;
}

static unsigned env_uint(const char *name, unsigned def, unsigned max)
{
    const char *v = getenv(name);
    char *end;
    unsigned long n;

    if (!v || !*v)
        return def;
    n = strtoul(v, &end, 10);
    return *end || n > max ? def : (unsigned)n;
}

/* Serial input state.  Process placements: stdin -> DM, buffered while
 * the DM's socket is full.  Inline: dm_full when the UART could not take
 * all input (retried on a short timer). */
struct relay {
    uint8_t buf[4096];
    size_t len, off;
    bool in_eof;
    bool dm_full;
    bool vcon_full; /* inline: the virtio console had no room */
};

/* Copy what the device model wrote to COM1 to our output. */
static void relay_out(struct vmm *vmm, struct dm_process *p)
{
    uint8_t buf[4096];
    ssize_t n;

    while ((n = read(p->console_fd, buf, sizeof(buf))) > 0)
        if (write_full(vmm->out_fd, buf, (size_t)n) < 0)
            break;
}

static void relay_in(struct vmm *vmm, struct dm_process *p, struct relay *r)
{
    ssize_t n;

    if (r->len == 0) {
        n = read(vmm->in_fd, r->buf, sizeof(r->buf));
        if (n <= 0) {
            if (n == 0 || (errno != EINTR && errno != EAGAIN))
                r->in_eof = true;
            return;
        }
        r->len = (size_t)n;
        r->off = 0;
    }
    n = write(p->console_fd, r->buf + r->off, r->len - r->off);
    if (n > 0) {
        r->off += (size_t)n;
        if (r->off == r->len)
            r->len = r->off = 0;
    }
}

static void dm_died(struct vmm *vmm, struct dm_process *p)
{
    char how[64] = "status unknown";

    dm_process_reap(p, how, sizeof(how));
    if (atomic_load(&vmm->stopping))
        return;
    atomic_store(&vmm->dm_dead, true);
    log_error("device model died (%s); guest stopped", how);
    vmm_stop(vmm, VMM_EXIT_DM_FAILED);
}

enum { P_STOP, P_SIG, P_PIDFD, P_DMOP, P_CONS, P_IN, P_TIMER, P_EVENTS, P_VCON, P_COUNT };

/* The main loop.  With until_ready it returns once the device model has
 * enabled its ioreq server (true) or failed (false); otherwise it runs until
 * the guest stops. */
static bool main_loop(struct vmm *vmm, struct dm_process *p, int sigfd, struct relay *r,
                      bool until_ready)
{
    struct timespec start;

    clock_gettime(CLOCK_MONOTONIC, &start);
    while (!atomic_load(&vmm->stopping)) {
        struct pollfd pf[P_COUNT];
        int timeout = -1;

        if (until_ready && vmm->server.enabled)
            return true;
        for (int i = 0; i < P_COUNT; i++)
            pf[i] = (struct pollfd){.fd = -1};
        pf[P_STOP] = (struct pollfd){.fd = vmm->stop_efd, .events = POLLIN};
        pf[P_SIG] = (struct pollfd){.fd = sigfd, .events = POLLIN};
        if (p) {
            pf[P_PIDFD] = (struct pollfd){.fd = p->child.pidfd, .events = POLLIN};
            pf[P_DMOP] = (struct pollfd){.fd = p->dmop_fd, .events = POLLIN};
            pf[P_CONS].fd = p->console_fd;
            pf[P_CONS].events = POLLIN | (r->len ? POLLOUT : 0);
            if (!until_ready && !r->in_eof && r->len == 0 && vmm->in_fd >= 0)
                pf[P_IN] = (struct pollfd){.fd = vmm->in_fd, .events = POLLIN};
        } else if (!until_ready && !r->in_eof && !atomic_load(&vmm->in_eof) && vmm->in_fd >= 0) {
            pf[P_IN] = (struct pollfd){.fd = vmm->in_fd, .events = POLLIN};
        }
        if (!p && !until_ready) { /* inline: the device model's timers and NIC back ends */
            pf[P_TIMER] = (struct pollfd){.fd = inline_dm_timer_fd(vmm), .events = POLLIN};
            pf[P_EVENTS] = (struct pollfd){.fd = inline_dm_events_fd(vmm), .events = POLLIN};
            if (!r->vcon_full && !atomic_load(&vmm->vcon_eof))
                pf[P_VCON] = (struct pollfd){.fd = vmm->vcon_fd, .events = POLLIN};
        }
        if (until_ready) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            timeout = DM_READY_TIMEOUT_MS - (int)((now.tv_sec - start.tv_sec) * 1000 +
                                                  (now.tv_nsec - start.tv_nsec) / 1000000);
            if (timeout <= 0) {
                log_error("device model did not become ready in %d s; guest stopped",
                          DM_READY_TIMEOUT_MS / 1000);
                vmm_stop(vmm, VMM_EXIT_DM_FAILED);
                return false;
            }
        }
        if (!p && (r->dm_full || r->vcon_full)) /* inline device full: retry soon */
            timeout = 5;
        if (p && !until_ready) /* a tick to flush posted writes (ioreq.c) */
            timeout = VMM_POSTED_FLUSH_MS;

        if (poll(pf, P_COUNT, timeout) < 0) {
            if (errno == EINTR)
                continue;
            die(EXIT_SYSTEM, "poll: %s", strerror(errno));
        }
        if (pf[P_SIG].revents) {
            struct signalfd_siginfo si;
            if (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
                log_error("stopped by signal %u; guest stopped", si.ssi_signo);
                vmm_stop(vmm, 128 + (int)si.ssi_signo);
            }
        }
        if (p && (pf[P_DMOP].revents & (POLLIN | POLLHUP | POLLERR))) {
            int rc = dm_process_serve(vmm, p);
            if (rc < 0) {
                /* It closed its channel: it is dying, or wants to look so. */
                struct pollfd dead = {.fd = p->child.pidfd, .events = POLLIN};
                if (poll(&dead, 1, 2000) > 0) {
                    dm_died(vmm, p);
                } else {
                    log_error("device model closed its dm_op channel; guest stopped");
                    vmm_stop(vmm, VMM_EXIT_DM_FAILED);
                }
            }
        }
        if (p && (pf[P_CONS].revents & POLLIN))
            relay_out(vmm, p);
        if (p && ((pf[P_IN].revents & (POLLIN | POLLHUP)) || (pf[P_CONS].revents & POLLOUT)))
            relay_in(vmm, p, r);
        if (!p && (pf[P_IN].revents || r->dm_full)) {
            r->dm_full = inline_dm_console_poll(vmm);
            if (pf[P_IN].revents & (POLLHUP | POLLERR) && !(pf[P_IN].revents & POLLIN))
                r->in_eof = true;
        }
        if (!p && !until_ready && (pf[P_VCON].revents || r->vcon_full))
            r->vcon_full = inline_dm_vcon_poll(vmm);
        if (pf[P_TIMER].revents & POLLIN)
            inline_dm_timer_poll(vmm);
        if (pf[P_EVENTS].revents & POLLIN)
            inline_dm_events_run(vmm);
        if (p && (pf[P_PIDFD].revents & POLLIN))
            dm_died(vmm, p);
        if (p)
            ioreq_flush_posted(vmm);
    }
    return false;
}

static int setup_signals(void)
{
    sigset_t set;
    int fd;

    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0)
        die(EXIT_SYSTEM, "signalfd: %s", strerror(errno));
    return fd;
}

int main(int argc, char **argv)
{
    struct options o;
    struct vmm vmm;
    struct dm_process proc, *p = NULL;
    struct relay relay = {0};
    const char *fault = NULL;
    const uint8_t *initrd = NULL;
    uint8_t *image;
    size_t image_size, initrd_size = 0;
    int exe_fd = -1, sigfd, status;

    log_set_program("stubvmm");
    if (argc > 1 && strcmp(argv[1], "--managed") == 0)
        return managed_main(argc, argv); /* under the toolstack: managed.c */
    parse_args(argc, argv, &o);
    sigfd = setup_signals();
#ifdef STUBVISOR_TEST_HOOKS
    fault = getenv("STUBVISOR_DM_FAULT");
    if (fault && !*fault)
        fault = NULL;
#endif
    if (o.g.placement != PLACEMENT_INLINE) {
        exe_fd = dm_exe_open();
        if (exe_fd < 0)
            die(EXIT_SYSTEM, "cannot find the device model (set STUBVISOR_DM)");
    }
    if (o.g.firmware)
        image = read_kernel("firmware", firmware_path(o.g.firmware), &image_size);
    else
        image = read_kernel("kernel", o.g.kernel, &image_size);
    if (o.g.ramdisk && !(initrd = vmm_map_file("ramdisk", o.g.ramdisk, &initrd_size)))
        exit(EXIT_USAGE);

    if (vmm_create(&vmm, o.g.memory_mib) < 0)
        die(EXIT_SYSTEM, "cannot create the VM");
    vmm.placement = o.g.placement;
    open_disks(&vmm, &o);
    open_nics(&vmm, &o);
    open_virtio_console(&vmm, &o);
    vmm.spin_us = env_uint("STUBVISOR_SPIN_US", SPIN_VCPU_DEFAULT_US, 100000);
    vmm.dm_spin_us = env_uint("STUBVISOR_DM_SPIN_US", SPIN_DM_DEFAULT_US, 100000);
    if (getenv("STUBVISOR_DM_POLL_US"))
        vmm.dm_poll_us = (int)env_uint("STUBVISOR_DM_POLL_US", 0, 100000);
    vmm.stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (vmm.stop_efd < 0)
        die(EXIT_SYSTEM, "eventfd: %s", strerror(errno));
    if (vmm_cpuid_init(&vmm, o.g.cpuid) < 0)
        exit(EXIT_USAGE);
    if (o.g.firmware
            ? firmware_load(&vmm, image, image_size) < 0
            : vmm_load_guest(&vmm, image, image_size, o.g.cmdline, initrd, initrd_size) < 0)
        exit(EXIT_USAGE);
    free(image);
    vmm_unmap_file(initrd, initrd_size);
    if (vmm_create_vcpus(&vmm, o.g.vcpus) < 0)
        die(EXIT_SYSTEM, "cannot create the vCPUs");
    if (o.g.firmware && firmware_reset_vcpu(&vmm.vcpus[0]) < 0)
        die(EXIT_SYSTEM, "cannot put the vCPU at the reset vector");

    if (o.serial_file) {
        vmm.out_fd = open(o.serial_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (vmm.out_fd < 0)
            die(EXIT_USAGE, "serial file %s: %s", o.serial_file, strerror(errno));
    } else {
        vmm.in_fd = STDIN_FILENO;
        vmm.out_fd = STDOUT_FILENO;
    }

    if (o.g.placement == PLACEMENT_INLINE) {
        if (inline_dm_create(&vmm) < 0)
            die(EXIT_SYSTEM, "cannot set up the device model");
    } else {
        p = &proc;
        if (dm_process_spawn(&vmm, p, exe_fd, fault) < 0)
            die(EXIT_SYSTEM, "cannot start the device model");
        close(exe_fd);
        /* The device model holds the disks and NICs now. */
        for (unsigned i = 0; i < vmm.nr_disks; i++)
            close(vmm.disk_fd[i]);
        for (unsigned i = 0; i < vmm.nr_nics; i++)
            close(vmm.nic_fd[i]);
        vmm.nr_disks = vmm.nr_nics = 0;
        close_quietly(vmm.vcon_fd);
        vmm.vcon_fd = -1;
        main_loop(&vmm, p, sigfd, &relay, true);
    }
    if (!atomic_load(&vmm.stopping)) {
        if (vmm_start_vcpus(&vmm) < 0)
            vmm_stop(&vmm, EXIT_SYSTEM);
        else
            main_loop(&vmm, p, sigfd, &relay, false);
    }
    vmm_join_vcpus(&vmm);
    if (p) {
        relay_out(&vmm, p); /* everything the guest printed before it stopped */
        dm_process_destroy(p);
    }
    inline_dm_destroy(&vmm);
    status = vmm.exit_status;
    if (o.serial_file)
        close(vmm.out_fd);
    vmm_destroy(&vmm);
    close(sigfd);
    return status;
}
