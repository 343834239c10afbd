/* stubvmm under the toolstack (`stubvmm --managed ...`, started by stubctl).
 *
 * Differences from the standalone monitor (main.c):
 *   - the guest starts paused; its vCPUs run once stubctl says "unpause"
 *     (after the device model wrote `running` to the store);
 *   - the guest's COM1 is served on DIR/console.sock (one client at a time,
 *     output kept while nobody is attached) and optionally copied to a file,
 *     its virtio console (--virtio-console) likewise on DIR/console-pv.sock;
 *   - DIR/control.sock takes the toolstack's commands (control.c);
 *   - a device model that dies does not end the process: the guest is
 *     paused, the reason is logged and reported by `status`;
 *   - when the guest stops, the reason goes to the status descriptor as
 *     "exit poweroff|reboot|crash|destroy STATUS" before stubvmm exits,
 *     unless the reason is one the toolstack asked to preserve: then the
 *     guest stays, stopped, until "destroy".
 *
 * With --dm inline the device model runs here, on the vCPU threads: its
 * UART (console 3) talks to one end of a socketpair whose other end stands
 * in for the device model's console descriptor, so the console server is
 * the same for every placement (the virtio console has a pair of its own).
 * There is no device model to die.
 *
 * usage: stubvmm --managed --dir DIR --kernel FILE|--firmware seabios|FILE --status-fd N
 *                [--disk PATH[,ro] | --nic SPEC | --virtio-console]...
 *                [--memory MiB] [--vcpus N] [--cmdline S] [--dm stubdom|process|inline]
 *                [--ramdisk FILE] [--cpuid STRING] [--store-fd N] [--serial-file PATH]
 *                [--preserve poweroff,reboot,crash]
 *                [--restore-fd N] [-- stubdm WORD...]
 *
 * The devices are the device model's description (dm-argv): in the store
 * for a device model of its own (--store-fd), the words after "--"
 * otherwise (inline).  stubvmm only opens the descriptors they take, in the
 * order given: --disk images, --nic back ends, and --virtio-console's
 * socket pair (its other end served on console-pv.sock).
 *
 * --restore-fd N starts the guest from a save file (lib/savefile.h) instead
 * of its boot state: checked whole first (nothing starts from a bad file),
 * --memory and --vcpus must be the file's, the firmware or kernel is loaded
 * as usual (the firmware's ROM is not in the file) and then guest RAM, the
 * vCPUs and the in-kernel devices are the file's; the device model's state
 * goes to DIR/dm-state (its console 2) or, inline, straight to the devices.
 * The guest starts paused, as always.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/log.h"
#include "vmm/firmware.h"
#include "vmm/managed.h"

#define MAX_KERNEL_SIZE (64u << 20)

static noreturn void managed_usage(const char *why)
{
    if (why)
        fprintf(stderr, "stubvmm: %s\n", why);
    fprintf(
        stderr,
        "usage: stubvmm --managed --dir DIR --kernel FILE|--firmware seabios|FILE\n"
        "               --status-fd N [--disk PATH[,ro] | --nic SPEC | --virtio-console]...\n"
        "               [--memory MiB] [--vcpus N] [--cmdline S] [--dm stubdom|process|inline]\n"
        "               [--ramdisk FILE] [--cpuid STRING] [--store-fd N] [--serial-file PATH]\n"
        "               [--preserve LIST]\n"
        "               [--restore-fd N] [-- stubdm WORD...]\n");
    exit(EXIT_USAGE);
}

static int open_fd_arg(const char *s, const char *what)
{
    int fd = (int)vmm_option_uint(s, 0, 1 << 20, what, managed_usage);

    if (fcntl(fd, F_GETFD) < 0)
        managed_usage("descriptor argument is not open");
    fd_set_cloexec(fd, 1);
    return fd;
}

static void parse(int argc, char **argv, struct managed *m)
{
    vmm_guest_options_init(&m->g);
    m->status_fd = m->store_fd = m->restore_fd = -1;
    m->dm_state_fd = m->dm_state2_fd = -1;
    for (int i = 2; i < argc;) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int used = vmm_guest_option(&m->g, a, v, managed_usage);
        if (used) {
            i += used;
            continue;
        }
        if (strcmp(a, "--virtio-console") == 0) {
            m->virtio_console = true; /* a flag: no value */
            vmm_guest_add_backend(&m->g, VMM_BACKEND_CONSOLE, NULL, managed_usage);
            i++;
            continue;
        }
        if (strcmp(a, "--") == 0) { /* the rest is the device model's */
            m->dm_words = (const char *const *)argv + i + 1;
            m->nr_dm_words = (unsigned)(argc - i - 1);
            break;
        }
        if (!v)
            managed_usage("option needs a value");
        if (strcmp(a, "--dir") == 0)
            m->dir = v;
        else if (strcmp(a, "--status-fd") == 0)
            m->status_fd = open_fd_arg(v, "--status-fd");
        else if (strcmp(a, "--store-fd") == 0)
            m->store_fd = open_fd_arg(v, "--store-fd");
        else if (strcmp(a, "--restore-fd") == 0)
            m->restore_fd = open_fd_arg(v, "--restore-fd");
        else if (strcmp(a, "--serial-file") == 0)
            m->serial_file = v;
        else if (strcmp(a, "--preserve") == 0) {
            m->preserve_poweroff = strstr(v, "poweroff") != NULL;
            m->preserve_reboot = strstr(v, "reboot") != NULL;
            m->preserve_crash = strstr(v, "crash") != NULL;
        } else
            managed_usage("unknown option");
        i += 2;
    }
    if (!m->dir || !m->g.kernel == !m->g.firmware || m->status_fd < 0)
        managed_usage("--dir, --kernel or --firmware, and --status-fd are required");
    if (m->g.rng)
        managed_usage("--rng: under the toolstack the devices are dm-argv's");
}

static uint8_t *load_file(const char *path, size_t *size)
{
    struct stat st;
    uint8_t *buf = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        (uint64_t)st.st_size > MAX_KERNEL_SIZE)
        goto out;
    buf = malloc((size_t)st.st_size);
    if (buf && read_full(fd, buf, (size_t)st.st_size) != st.st_size) {
        free(buf);
        buf = NULL;
    }
    *size = (size_t)st.st_size;
out:
    close_quietly(fd);
    return buf;
}

void managed_report_exit(struct managed *m, const char *reason, int status)
{
    const char *why = strcmp(reason, "crash") == 0 ? m->vmm.crash_reason : NULL;
    char line[96];
    int n = snprintf(line, sizeof(line), "exit %s %d%s%s\n", reason, status, why ? " " : "",
                     why ? why : "");

    if (m->status_fd >= 0) {
        if (write_full(m->status_fd, line, (size_t)n) < 0)
            log_debug("status descriptor: %s", strerror(errno));
        close(m->status_fd);
        m->status_fd = -1;
    }
}

/* The guest stopped by itself (vmm_stop from a vCPU or the DM).  Decide what
 * the stop means and whether the toolstack wants it preserved. */
static void guest_stopped(struct managed *m)
{
    int st = m->vmm.exit_status;
    const char *reason;
    bool keep;

    if (st == VMM_EXIT_DM_FAILED) {
        /* The device model broke the protocol: like its death. */
        managed_dm_failed(m, "device model misbehaved");
        return;
    }
    if (st == VMM_EXIT_GUEST_REBOOT) {
        reason = "reboot"; /* QMP system_reset, or a guest that asked */
        keep = m->preserve_reboot;
    } else if (st == VMM_EXIT_GUEST_CRASH) {
        reason = "crash";
        keep = m->preserve_crash;
    } else {
        reason = "poweroff";
        keep = m->preserve_poweroff;
    }
    snprintf(m->stop_reason, sizeof(m->stop_reason), "%s", reason);
    m->guest_status = st;
    if (keep) {
        log_info("guest stopped (%s, status %d); preserved until destroyed", reason, st);
        m->state = strcmp(reason, "crash") == 0 ? GUEST_CRASHED : GUEST_SHUTDOWN;
        if (m->state == GUEST_CRASHED && m->vmm.crash_reason) /* for `status` and list -l */
            snprintf(m->reason, sizeof(m->reason), "%s", m->vmm.crash_reason);
        return;
    }
    m->quit = true;
}

/* --dm inline: the console pair and the device model in this process.
 * m->dm stays without a child (pid 0, descriptors -1) but for its
 * console_fd, the console server's end. */
static int inline_start(struct managed *m)
{
    int sp[2];

    m->dm.child.pid = 0;
    m->dm.child.pidfd = m->dm.dmop_fd = -1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
        return -errno;
    fd_set_nonblock(sp[0], 1);
    m->dm.console_fd = sp[0];
    m->vmm.in_fd = m->vmm.out_fd = sp[1]; /* blocking sends, MSG_DONTWAIT reads */
    close_quietly(m->store_fd);           /* no device model domain: unused */
    m->store_fd = -1;
    close_quietly(m->vmm.dm_qmp_fd); /* nobody answers QMP inline */
    m->vmm.dm_qmp_fd = -1;
    return inline_dm_create(&m->vmm);
}

int managed_main(int argc, char **argv)
{
    struct managed *m = calloc(1, sizeof(*m));
    sigset_t set;
    const uint8_t *initrd = NULL;
    uint8_t *image;
    size_t image_size = 0, initrd_size = 0;
    int exe_fd = -1;
    bool inl;

    if (!m)
        die(EXIT_SYSTEM, "out of memory");
    log_set_program("stubvmm");
    parse(argc, argv, m);
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    m->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (m->sigfd < 0)
        die(EXIT_SYSTEM, "signalfd: %s", strerror(errno));
    inl = m->g.placement == PLACEMENT_INLINE;
    if (m->restore_fd >= 0)
        managed_restore_check(m);
    if (!inl && (exe_fd = dm_exe_open()) < 0)
        die(EXIT_SYSTEM, "cannot find the device model (stubdm, next to stubvmm)");
    {
        const char *path = m->g.firmware ? firmware_path(m->g.firmware) : m->g.kernel;
        image = load_file(path, &image_size);
        if (!image)
            die(EXIT_USAGE, "%s %s: not a readable regular file of 1 byte to %u MiB",
                m->g.firmware ? "firmware" : "kernel", path, MAX_KERNEL_SIZE >> 20);
    }
    if (m->g.ramdisk && !(initrd = vmm_map_file("ramdisk", m->g.ramdisk, &initrd_size)))
        exit(EXIT_USAGE);
    if (vmm_create(&m->vmm, m->g.memory_mib) < 0)
        die(EXIT_SYSTEM, "cannot create the VM");
    m->vmm.placement = m->g.placement;
    m->dm.console_fd = m->vcon_fd = -1;
    for (unsigned i = 0; i < m->g.nr_backends; i++) {
        const struct vmm_backend *b = &m->g.backends[i];
        if (b->kind == VMM_BACKEND_DISK)
            vmm_open_disk(&m->vmm, b->spec);
        else if (b->kind == VMM_BACKEND_NIC)
            vmm_open_nic(&m->vmm, b->spec);
        else /* ours served on console-pv.sock */
            m->vcon_fd = vmm_open_console(&m->vmm, NULL);
    }
    if (m->dm_words)
        vmm_dm_words_set(&m->vmm, m->dm_words, m->nr_dm_words);
    m->vmm.spin_us = SPIN_VCPU_DEFAULT_US;
    m->vmm.dm_spin_us = SPIN_DM_DEFAULT_US;
    m->vmm.stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (m->vmm.stop_efd < 0)
        die(EXIT_SYSTEM, "eventfd: %s", strerror(errno));
    if (vmm_cpuid_init(&m->vmm, m->g.cpuid) < 0)
        exit(EXIT_USAGE);
    if (m->g.firmware
            ? firmware_load(&m->vmm, image, image_size) < 0
            : vmm_load_guest(&m->vmm, image, image_size, m->g.cmdline, initrd, initrd_size) < 0)
        exit(EXIT_USAGE);
    free(image);
    vmm_unmap_file(initrd, initrd_size);
    if (vmm_create_vcpus(&m->vmm, m->g.vcpus) < 0)
        die(EXIT_SYSTEM, "cannot create the vCPUs");
    if (m->restore_fd >= 0)
        managed_restore_vm(m);
    else if (m->g.firmware && firmware_reset_vcpu(&m->vmm.vcpus[0]) < 0)
        die(EXIT_SYSTEM, "cannot put the vCPU at the reset vector");
    if (console_server_init(m) < 0 || control_init(m) < 0 || qmp_relay_init(m) < 0)
        die(EXIT_SYSTEM, "cannot set up the console and control sockets in %s", m->dir);

    if (inl) {
        if (inline_start(m) < 0)
            die(EXIT_SYSTEM, "cannot set up the device model");
        managed_restore_dm(m);
        goto started;
    }
    m->vmm.dm_store_fd = m->store_fd;
    /* Consoles 1 and 2: one file, two offsets, so that "continue" reads back
     * what "save" wrote.  Removed with the run directory. */
    {
        char path[4096];
        snprintf(path, sizeof(path), "%s/dm-state", m->dir);
        m->vmm.dm_save_fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        m->vmm.dm_restore_fd = open(path, O_RDONLY | O_CLOEXEC);
        if (m->vmm.dm_save_fd < 0 || m->vmm.dm_restore_fd < 0)
            die(EXIT_SYSTEM, "%s: %s", path, strerror(errno));
    }
    managed_restore_dm(m);
    if (dm_process_spawn(&m->vmm, &m->dm, exe_fd, NULL) < 0)
        die(EXIT_SYSTEM, "cannot start the device model");
    close(exe_fd);
    close_quietly(m->store_fd); /* the device model's now, and its devices' descriptors */
    vmm_dm_words_dispose(&m->vmm);
    close_quietly(m->vmm.dm_qmp_fd);
    m->vmm.dm_qmp_fd = -1;
    /* Ours stay open: `save` reads what the device model wrote. */
    m->dm_state_fd = m->vmm.dm_save_fd;
    m->dm_state2_fd = m->vmm.dm_restore_fd;
    m->vmm.dm_save_fd = m->vmm.dm_restore_fd = -1;
    m->store_fd = m->vmm.dm_store_fd = -1;
started:
    m->dm_alive = true;
    m->state = GUEST_PAUSED;
    /* Sockets listen, the DM is on its way: the toolstack may talk to us. */
    if (write_full(m->status_fd, "ready\n", 6) < 0)
        die(EXIT_SYSTEM, "status descriptor: %s", strerror(errno));

    managed_loop(m);

    /* Wake paused vCPUs so that they see the stop and end. */
    vmm_stop(&m->vmm, 0);
    vmm_unpause_vcpus(&m->vmm);
    vmm_join_vcpus(&m->vmm);
    if (m->dm_alive)
        console_server_drain(m);
    dm_process_destroy(&m->dm);
    inline_dm_destroy(&m->vmm);
    close_quietly(m->vmm.out_fd); /* inline: the UART's end of the console pair */
    m->vmm.in_fd = m->vmm.out_fd = -1;
    managed_report_exit(m, m->stop_reason[0] ? m->stop_reason : "destroy", m->guest_status);
    control_dispose(m);
    qmp_relay_dispose(m);
    console_server_dispose(m);
    {
        char path[4096];
        snprintf(path, sizeof(path), "%s/dm-state", m->dir);
        unlink(path);
    }
    close_quietly(m->dm_state_fd);
    close_quietly(m->dm_state2_fd);
    close_quietly(m->vcon_fd);
    vmm_destroy(&m->vmm);
    close(m->sigfd);
    free(m);
    return 0;
}

void managed_dm_failed(struct managed *m, const char *why)
{
    char how[96] = "";

    if (!m->dm_alive)
        return;
    managed_dm_cpu(m); /* before the reaping loses /proc/<pid> */
    if (m->dm.child.pid > 0 && !m->dm.reaped) {
        kill(m->dm.child.pid, SIGKILL);
        dm_process_reap(&m->dm, how, sizeof(how));
    }
    m->dm_alive = false;
    atomic_store(&m->vmm.dm_dead, true);
    vmm_pause_vcpus(&m->vmm);
    m->state = GUEST_PAUSED;
    snprintf(m->reason, sizeof(m->reason), "%s%s%s; guest paused", why, how[0] ? ": " : "", how);
    log_error("%s", m->reason);
}

uint64_t managed_dm_cpu(struct managed *m)
{
    uint64_t us;

    if (m->dm_alive && m->dm.child.pid > 0 && sandbox_child_cpu_usage(&m->dm.child, &us) == 0 &&
        us >= m->dm_cpu_us)
        m->dm_cpu_us = us;
    return m->dm_cpu_us;
}

enum { P_STOP, P_SIG, P_PIDFD, P_DMOP, P_IN, P_TIMER, P_EVENTS, P_FIXED };

void managed_loop(struct managed *m)
{
    struct vmm *vmm = &m->vmm;
    bool inl = m->g.placement == PLACEMENT_INLINE, in_full = false;

    while (!m->quit) {
        struct pollfd pf[P_FIXED + MANAGED_MAX_POLL];
        unsigned n = P_FIXED;
        int timeout = -1;

        if (!m->vcpus_started && vmm->server.enabled && m->want_run && m->dm_alive) {
            if (vmm_start_vcpus(vmm) < 0) {
                log_error("cannot start the vCPUs");
                m->guest_status = EXIT_SYSTEM;
                snprintf(m->stop_reason, sizeof(m->stop_reason), "crash");
                return;
            }
            m->vcpus_started = true;
            m->state = GUEST_RUNNING;
        }
        for (unsigned i = 0; i < P_FIXED; i++)
            pf[i] = (struct pollfd){.fd = -1};
        pf[P_STOP] = (struct pollfd){.fd = vmm->stop_efd, .events = POLLIN};
        pf[P_SIG] = (struct pollfd){.fd = m->sigfd, .events = POLLIN};
        if (inl) {
            /* The UART's input, its timers, the devices' descriptors. */
            if (!atomic_load(&vmm->in_eof))
                pf[P_IN] = (struct pollfd){.fd = vmm->in_fd, .events = POLLIN};
            pf[P_TIMER] = (struct pollfd){.fd = inline_dm_timer_fd(vmm), .events = POLLIN};
            pf[P_EVENTS] = (struct pollfd){.fd = inline_dm_events_fd(vmm), .events = POLLIN};
            if (in_full)
                timeout = 5; /* a device was full: retry soon */
        } else if (m->dm_alive) {
            pf[P_PIDFD] = (struct pollfd){.fd = m->dm.child.pidfd, .events = POLLIN};
            pf[P_DMOP] = (struct pollfd){.fd = m->dm.dmop_fd, .events = POLLIN};
            if (m->vcpus_started)
                timeout = VMM_POSTED_FLUSH_MS;
        }
        if (control_timeout(m) >= 0 && (timeout < 0 || timeout > control_timeout(m)))
            timeout = control_timeout(m);
        n += console_server_pollfds(m, pf + n);
        n += control_pollfds(m, pf + n);
        n += qmp_relay_pollfds(m, pf + n);

        if (poll(pf, n, timeout) < 0) {
            if (errno == EINTR)
                continue;
            die(EXIT_SYSTEM, "poll: %s", strerror(errno));
        }
        if (pf[P_SIG].revents) {
            struct signalfd_siginfo si;
            if (read(m->sigfd, &si, sizeof(si)) == sizeof(si)) {
                log_error("stopped by signal %u; guest destroyed", si.ssi_signo);
                snprintf(m->stop_reason, sizeof(m->stop_reason), "destroy");
                m->guest_status = 128 + (int)si.ssi_signo;
                return;
            }
        }
        if (inl && ((pf[P_IN].revents & POLLIN) || in_full))
            in_full = inline_dm_console_poll(vmm);
        if (pf[P_TIMER].revents & POLLIN)
            inline_dm_timer_poll(vmm);
        if (pf[P_EVENTS].revents & POLLIN)
            inline_dm_events_run(vmm);
        if (!inl && m->dm_alive && (pf[P_DMOP].revents & (POLLIN | POLLHUP | POLLERR))) {
            if (dm_process_serve(vmm, &m->dm) < 0) {
                struct pollfd dead = {.fd = m->dm.child.pidfd, .events = POLLIN};
                managed_dm_failed(m, poll(&dead, 1, 2000) > 0
                                         ? "device model died"
                                         : "device model closed its dm_op channel");
            }
        }
        if (m->dm_alive && (pf[P_PIDFD].revents & POLLIN))
            managed_dm_failed(m, "device model died");
        console_server_handle(m, pf + P_FIXED, n - P_FIXED);
        control_handle(m, pf + P_FIXED, n - P_FIXED);
        control_tick(m);
        qmp_relay_handle(m, pf + P_FIXED, n - P_FIXED);
        if (pf[P_STOP].revents & POLLIN) {
            uint64_t v;
            if (read(vmm->stop_efd, &v, sizeof(v)) < 0)
                log_debug("stop eventfd: %s", strerror(errno));
            guest_stopped(m);
        }
        if (!inl && m->dm_alive && m->vcpus_started)
            ioreq_flush_posted(vmm);
    }
}
