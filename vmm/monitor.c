/* The monitor (monitor.h): set-up in one order for both modes, the event
 * sources every guest has (its stop, signals, held vCPUs, posted writes),
 * what a stop means, and teardown.
 *
 * Set-up, in order: signals; a save file checked whole (--restore-fd); the
 * device model's binary opened (before any untrusted input); the kernel or
 * firmware read; the VM, its RAM and the back ends (descriptors for the
 * device model); the image loaded, the vCPUs made (or restored); consoles
 * and sockets; the device model started; "ready" to the toolstack.  The
 * loop then serves everything until the guest ends.  Once the device model
 * is ready, the monitor locks itself down and the vCPUs run
 * (monitor_dm.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/log.h"
#include "vmm/firmware.h"
#include "vmm/monitor.h"

#define MAX_IMAGE_SIZE (64u << 20)

void monitor_options_init(struct monitor_options *o)
{
    *o = (struct monitor_options){.status_fd = -1, .store_fd = -1, .restore_fd = -1};
    vmm_guest_options_init(&o->g);
}

/* The kernel or firmware image, whole, into a malloc'd buffer.  Dies with
 * exit 100 on a file that cannot be one. */
static uint8_t *load_image(const struct vmm_guest_options *g, size_t *size)
{
    const char *what = g->firmware ? "firmware" : "kernel";
    const char *path = g->firmware ? firmware_path(g->firmware) : g->kernel;
    struct stat st;
    uint8_t *buf = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        die(EXIT_USAGE, "%s %s: %s", what, path, strerror(errno));
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        (uint64_t)st.st_size > MAX_IMAGE_SIZE)
        die(EXIT_USAGE, "%s %s: not a regular file of 1 byte to %u MiB", what, path,
            MAX_IMAGE_SIZE >> 20);
    buf = malloc((size_t)st.st_size);
    if (!buf || read_full(fd, buf, (size_t)st.st_size) != st.st_size)
        die(EXIT_SYSTEM, "reading %s %s: %s", what, path, strerror(errno));
    close(fd);
    *size = (size_t)st.st_size;
    return buf;
}

/* The device model's devices: direct mode makes their words from its
 * options; under the toolstack the words are stubctl's (in the store, or
 * after "--" inline) and only the descriptors are opened here, in the
 * order the -device words take them (vmm/dm_words.c).  A served virtio
 * console's other end is ours (m->vcon_fd).  Dies on a bad one. */
static void open_devices(struct monitor *m)
{
    struct vmm *vmm = &m->vmm;
    const struct vmm_guest_options *g = &m->opt.g;

    if (!m->opt.dir) {
        vmm_dm_words_standalone(vmm, g, m->opt.virtio_console);
        return;
    }
    for (unsigned i = 0; i < g->nr_backends; i++) {
        const struct vmm_backend *b = &g->backends[i];
        if (b->kind == VMM_BACKEND_DISK)
            vmm_open_disk(vmm, b->spec);
        else if (b->kind == VMM_BACKEND_NIC)
            vmm_open_nic(vmm, b->spec);
        else
            m->vcon_fd = vmm_open_console(vmm, NULL);
    }
    if (m->opt.dm_words)
        vmm_dm_words_set(vmm, m->opt.dm_words, m->opt.nr_dm_words);
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

/* SIGTERM, SIGINT and SIGHUP arrive through a signalfd; SIGPIPE is ignored
 * (every write to a peer that may go away checks its result). */
static int signals_init(void)
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

void monitor_quit(struct monitor *m, const char *reason, int status)
{
    m->quitting = true;
    if (!m->stop_reason[0]) {
        snprintf(m->stop_reason, sizeof(m->stop_reason), "%s", reason);
        m->guest_status = status;
    }
    evloop_stop(m->loop);
}

const char *monitor_state_name(struct monitor *m)
{
    if (m->state == GUEST_SHUTDOWN)
        return "shutdown";
    if (m->state == GUEST_CRASHED)
        return "crashed";
    return m->vcpus_started && !atomic_load(&m->vmm.paused) ? "running" : "paused";
}

int monitor_listen(struct monitor *m, const char *name)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd;

    if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", m->opt.dir, name) >=
        sizeof(sa.sun_path)) {
        log_error("socket %s/%s: path too long", m->opt.dir, name);
        return -ENAMETOOLONG;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    unlink(sa.sun_path);
    mode_t old = umask(0077);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0) {
        int e = errno;
        umask(old);
        close(fd);
        log_error("socket %s: %s", sa.sun_path, strerror(e));
        return -e;
    }
    umask(old);
    chmod(sa.sun_path, 0600);
    return fd;
}

void monitor_unlink(struct monitor *m, const char *name)
{
    char path[PATH_MAX];

    if (!m->opt.dir || m->locked_down)
        return;
    snprintf(path, sizeof(path), "%s/%s", m->opt.dir, name);
    unlink(path);
}

/* The guest stopped by itself (vmm_stop from a vCPU or a dm_op): what the
 * stop means, and whether the toolstack wants the guest kept. */
static void guest_stopped(struct monitor *m)
{
    int st = m->vmm.exit_status;
    const char *reason;
    bool keep;

    if (st == VMM_EXIT_DM_FAILED) {
        /* The device model broke the protocol (logged): like its death. */
        monitor_dm_failed(m, "device model misbehaved");
        return;
    }
    if (st == VMM_EXIT_GUEST_REBOOT) {
        reason = "reboot"; /* QMP system_reset, or a guest that asked */
        keep = m->opt.preserve_reboot;
    } else if (st == VMM_EXIT_GUEST_CRASH) {
        reason = "crash";
        keep = m->opt.preserve_crash;
    } else {
        reason = "poweroff";
        keep = m->opt.preserve_poweroff;
    }
    if (keep) {
        log_info("guest stopped (%s, status %d); preserved until destroyed", reason, st);
        m->state = strcmp(reason, "crash") == 0 ? GUEST_CRASHED : GUEST_SHUTDOWN;
        if (m->state == GUEST_CRASHED && m->vmm.crash_reason) /* for `status` and list -l */
            snprintf(m->reason, sizeof(m->reason), "%s", m->vmm.crash_reason);
        return;
    }
    monitor_quit(m, reason, st);
}

static void on_stop(struct evloop *el, int fd, unsigned ready, void *opaque)
{
    uint64_t v;

    if (read(fd, &v, sizeof(v)) == sizeof(v))
        guest_stopped(opaque);
}

static void on_signal(struct evloop *el, int fd, unsigned ready, void *opaque)
{
    struct signalfd_siginfo si;

    if (read(fd, &si, sizeof(si)) != sizeof(si))
        return;
    log_error("stopped by signal %u; guest destroyed", si.ssi_signo);
    monitor_quit(opaque, "destroy", 128 + (int)si.ssi_signo);
}

static void on_hold(struct evloop *el, int fd, unsigned ready, void *opaque)
{
    uint64_t v;

    if (read(fd, &v, sizeof(v)) == sizeof(v))
        control_pause_progress(opaque);
}

/* Write "exit REASON STATUS [WHY]" to the status descriptor (once); WHY is
 * what the device model said of a crash ("guest panicked"). */
static void report_exit(struct monitor *m)
{
    const char *reason = m->stop_reason[0] ? m->stop_reason : "destroy";
    const char *why = strcmp(reason, "crash") == 0 ? m->vmm.crash_reason : NULL;
    char line[96];
    int n = snprintf(line, sizeof(line), "exit %s %d%s%s\n", reason, m->guest_status,
                     why ? " " : "", why ? why : "");

    if (m->opt.status_fd >= 0) {
        if (write_full(m->opt.status_fd, line, (size_t)n) < 0)
            log_debug("status descriptor: %s", strerror(errno));
        close(m->opt.status_fd);
        m->opt.status_fd = -1;
    }
}

/* Everything up to the device model's start (see the top of this file). */
static void setup(struct monitor *m, int *exe_fd)
{
    struct vmm *vmm = &m->vmm;
    const struct vmm_guest_options *g = &m->opt.g;
    const uint8_t *initrd = NULL;
    uint8_t *image;
    size_t image_size = 0, initrd_size = 0;

    m->sigfd = signals_init();
    if (m->opt.restore_fd >= 0)
        monitor_restore_check(m);
    if (g->placement != PLACEMENT_INLINE && (*exe_fd = dm_exe_open()) < 0)
        die(EXIT_SYSTEM, "cannot find the device model (stubdm, next to stubvmm)");
    image = load_image(g, &image_size);
    if (g->ramdisk && !(initrd = vmm_map_file("ramdisk", g->ramdisk, &initrd_size)))
        exit(EXIT_USAGE);
    if (vmm_create(vmm, g->memory_mib) < 0)
        die(EXIT_SYSTEM, "cannot create the VM");
    vmm->placement = g->placement;
    open_devices(m);
    vmm->spin_us = env_uint("STUBVISOR_SPIN_US", SPIN_VCPU_DEFAULT_US, 100000);
    vmm->dm_spin_us = env_uint("STUBVISOR_DM_SPIN_US", SPIN_DM_DEFAULT_US, 100000);
    if (getenv("STUBVISOR_DM_POLL_US"))
        vmm->dm_poll_us = (int)env_uint("STUBVISOR_DM_POLL_US", 0, 100000);
    if (vmm_cpuid_init(vmm, g->cpuid) < 0)
        exit(EXIT_USAGE);
    if (g->firmware ? firmware_load(vmm, image, image_size) < 0
                    : vmm_load_guest(vmm, image, image_size, g->cmdline, initrd, initrd_size) < 0)
        exit(EXIT_USAGE);
    free(image);
    vmm_unmap_file(initrd, initrd_size);
    if (vmm_create_vcpus(vmm, g->vcpus) < 0)
        die(EXIT_SYSTEM, "cannot create the vCPUs");
    if (m->opt.restore_fd >= 0)
        monitor_restore_vm(m);
    else if (g->firmware && firmware_reset_vcpu(&vmm->vcpus[0]) < 0)
        die(EXIT_SYSTEM, "cannot put the vCPU at the reset vector");

    m->loop = evloop_new();
    if (!m->loop || ev_fd_add(m->loop, vmm->stop_efd, EV_READ, on_stop, m) < 0 ||
        ev_fd_add(m->loop, m->sigfd, EV_READ, on_signal, m) < 0 ||
        ev_fd_add(m->loop, vmm->hold_efd, EV_READ, on_hold, m) < 0)
        die(EXIT_SYSTEM, "cannot set up the event loop");
    if (console_server_init(m) < 0 ||
        (m->opt.dir && (control_init(m) < 0 || qmp_relay_init(m) < 0)))
        die(EXIT_SYSTEM, "cannot set up the consoles and sockets%s%s", m->opt.dir ? " in " : "",
            m->opt.dir ? m->opt.dir : "");
}

static void teardown(struct monitor *m)
{
    struct vmm *vmm = &m->vmm;

    vmm_stop(vmm, m->guest_status); /* the vCPUs see it, paused or not */
    vmm_join_vcpus(vmm);
    console_server_drain(m);
    monitor_dm_stop(m);
    report_exit(m);
    control_dispose(m);
    qmp_relay_dispose(m);
    console_server_dispose(m);
    monitor_unlink(m, "dm-state");
    close_quietly(m->dm_state_fd);
    close_quietly(m->dm_state2_fd);
    close_quietly(m->vcon_fd);
    vmm_destroy(vmm);
    close_quietly(m->sigfd);
    evloop_free(m->loop);
}

int monitor_main(const struct monitor_options *opt)
{
    struct monitor *m = calloc(1, sizeof(*m));
    int exe_fd = -1, status;
    bool locked;

    if (!m)
        die(EXIT_SYSTEM, "out of memory");
    m->opt = *opt;
    m->sigfd = m->qmp_fd = m->qmp_listen = m->qmp_client = m->ctl_listen = -1;
    m->dm_state_fd = m->dm_state2_fd = m->dm_cpu_fd = -1;
    m->dm.child.pidfd = m->dm.dmop_fd = m->dm.console_fd = m->vcon_fd = -1;
    for (unsigned i = 0; i < CONSOLE_PORTS; i++)
        m->cons[i].listen = m->cons[i].client = m->cons[i].in_fd = m->cons[i].out_fd =
            m->cons[i].file_fd = -1;
    for (unsigned i = 0; i < MONITOR_MAX_CONTROL_CLIENTS; i++)
        m->ctl[i].fd = m->ctl[i].passed_fd = -1;

    setup(m, &exe_fd);
    /* The toolstack's first pause, before anything can start the vCPUs. */
    if (m->opt.start_paused && vmm_pause_get(&m->vmm, VMM_PAUSE_TOOLSTACK) < 0)
        die(EXIT_SYSTEM, "cannot pause the guest");
    monitor_dm_start(m, exe_fd);
    close_quietly(exe_fd);
    /* Sockets listen, the device model is on its way: the toolstack may
     * talk to us. */
    if (m->opt.status_fd >= 0 && write_full(m->opt.status_fd, "ready\n", 6) < 0)
        die(EXIT_SYSTEM, "status descriptor: %s", strerror(errno));
    monitor_dm_ready_check(m); /* inline: ready at once */

    if (evloop_run(m->loop) < 0)
        die(EXIT_SYSTEM, "event loop: %s", strerror(errno));

    teardown(m);
    status = opt->status_fd >= 0 ? 0 : m->guest_status;
    locked = m->locked_down;
    free(m);
    if (locked) {
        /* Nothing registered with atexit() may run under the filter: in
         * sanitizer builds LeakSanitizer would stop the world with ptrace,
         * which the filter kills (docs/sandbox.md). */
        fflush(NULL);
        _exit(status);
    }
    return status;
}
