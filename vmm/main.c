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
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/log.h"
#include "lib/version.h"
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

enum { P_STOP, P_SIG, P_PIDFD, P_DMOP, P_CONS, P_IN, P_TIMER, P_EVENTS, P_COUNT };

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
        if (!p && r->dm_full) /* inline device full: retry soon */
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

    version_option(argc, argv, "stubvmm");
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
            die(EXIT_SYSTEM, "cannot find the device model (stubdm, next to stubvmm)");
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
    vmm_dm_words_standalone(&vmm, &o.g, o.virtio_console);
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
        vmm_dm_words_dispose(&vmm); /* the device model holds the descriptors now */
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
