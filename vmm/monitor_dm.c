/* The device model as the monitor sees it (monitor.h): started in one of
 * the three placements, its dm_op channel and pidfd (process, stubdom) or
 * its timers and descriptors (inline) on the event loop, its readiness,
 * and its failure.
 *
 * Readiness is the one moment the monitor changes character: once the
 * device model has enabled its ioreq server, everything the guest needs
 * exists.  The vCPU threads are made (held by a monitor pause), the seccomp
 * filter goes in for every thread (lockdown.c), and only then is the pause
 * dropped: no guest instruction runs before the lockdown. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/log.h"
#include "lib/procstat.h"
#include "vmm/monitor.h"

#define INLINE_RETRY_MS       5     /* a device had no room for console input */
#define VCPU_START_TIMEOUT_MS 10000 /* new threads reach their first wait */

/* ---- inline: the device model's sources in this loop ---- */

static int inline_retry(struct evloop *el, void *opaque);

/* COM1's input for the inline UART; a UART with no room is retried
 * shortly rather than polled for. */
static void inline_input(struct monitor *m)
{
    bool full = inline_dm_console_poll(&m->vmm);

    m->com1_full = full;
    /* At its end (the read saw it) or full: stop watching it for now. */
    ev_fd_mask(m->loop, m->vmm.in_fd, atomic_load(&m->vmm.in_eof) || full ? 0 : EV_READ);
    if (full && !m->retry_timer)
        m->retry_timer = ev_timer_add(m->loop, INLINE_RETRY_MS, inline_retry, m);
}

static int inline_retry(struct evloop *el, void *opaque)
{
    struct monitor *m = opaque;

    inline_input(m);
    if (m->com1_full)
        return INLINE_RETRY_MS;
    m->retry_timer = 0;
    return EV_TIMER_DONE;
}

static void on_inline_com1(struct evloop *el, int fd, unsigned ready, void *opaque)
{
    inline_input(opaque);
}

static void on_inline_timer(struct evloop *el, int fd, unsigned ready, void *opaque)
{
    struct monitor *m = opaque;

    inline_dm_timer_poll(&m->vmm);
}

static void on_inline_events(struct evloop *el, int fd, unsigned ready, void *opaque)
{
    struct monitor *m = opaque;

    inline_dm_events_run(&m->vmm);
}

/* The UART's console is one end of a socketpair whose other end stands in
 * for a device model's console descriptor, so the console server is the
 * same for every placement.  The devices take their own descriptors (a
 * served virtio console's among them) and watch them themselves.  There is
 * no device model to die. */
static void inline_start(struct monitor *m)
{
    struct vmm *vmm = &m->vmm;
    int sp[2];

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
        die(EXIT_SYSTEM, "socketpair: %s", strerror(errno));
    fd_set_nonblock(sp[0], 1);
    m->dm.console_fd = sp[0];
    vmm->in_fd = vmm->out_fd = sp[1]; /* blocking sends, MSG_DONTWAIT reads */
    close_quietly(m->opt.store_fd);   /* no device model domain: unused */
    m->opt.store_fd = -1;
    close_quietly(vmm->dm_qmp_fd); /* nobody answers QMP inline */
    vmm->dm_qmp_fd = -1;
    if (inline_dm_create(vmm) < 0)
        die(EXIT_SYSTEM, "cannot set up the device model");
    monitor_restore_dm(m);
    if (ev_fd_add(m->loop, vmm->in_fd, EV_READ, on_inline_com1, m) < 0 ||
        (inline_dm_timer_fd(vmm) >= 0 &&
         ev_fd_add(m->loop, inline_dm_timer_fd(vmm), EV_READ, on_inline_timer, m) < 0) ||
        (inline_dm_events_fd(vmm) >= 0 &&
         ev_fd_add(m->loop, inline_dm_events_fd(vmm), EV_READ, on_inline_events, m) < 0))
        die(EXIT_SYSTEM, "cannot watch the device model's descriptors");
}

/* ---- process, stubdom: stubdm and its channel ---- */

static void on_dmop(struct evloop *el, int fd, unsigned ready, void *opaque)
{
    struct monitor *m = opaque;

    if (dm_process_serve(&m->vmm, &m->dm) < 0) {
        /* It closed its channel: it is dying, or wants to look so. */
        struct pollfd dead = {.fd = m->dm.child.pidfd, .events = POLLIN};
        monitor_dm_failed(m, poll(&dead, 1, 2000) > 0 ? "device model died"
                                                      : "device model closed its dm_op channel");
        return;
    }
    monitor_dm_ready_check(m);
}

static void on_pidfd(struct evloop *el, int fd, unsigned ready, void *opaque)
{
    monitor_dm_failed(opaque, "device model died");
}

static int on_ready_timeout(struct evloop *el, void *opaque)
{
    struct monitor *m = opaque;

    m->ready_timer = 0;
    if (!m->vcpus_started && m->dm_alive) {
        log_error("device model did not become ready in %u s; guest stopped",
                  m->opt.dm_ready_timeout_ms / 1000);
        monitor_quit(m, "crash", VMM_EXIT_DM_FAILED);
    }
    return EV_TIMER_DONE;
}

/* Posted writes wait in the buffered ring until the device model is woken:
 * at least every VMM_POSTED_FLUSH_MS, and before every wait of the loop. */
static int on_flush_tick(struct evloop *el, void *opaque)
{
    struct monitor *m = opaque;

    ioreq_flush_posted(&m->vmm);
    return VMM_POSTED_FLUSH_MS;
}

static void before_wait(struct evloop *el, void *opaque)
{
    struct monitor *m = opaque;

    if (m->flush_timer)
        ioreq_flush_posted(&m->vmm);
}

/* Consoles 1 and 2 under the toolstack: one file, two offsets, so that
 * `continue` reads back what `save` wrote.  Removed with the run
 * directory. */
static void open_dm_state(struct monitor *m)
{
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/dm-state", m->opt.dir);
    m->vmm.dm_save_fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    m->vmm.dm_restore_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (m->vmm.dm_save_fd < 0 || m->vmm.dm_restore_fd < 0)
        die(EXIT_SYSTEM, "%s: %s", path, strerror(errno));
}

static void process_start(struct monitor *m, int exe_fd)
{
    struct vmm *vmm = &m->vmm;

    if (m->opt.dir)
        open_dm_state(m);
    monitor_restore_dm(m);
    vmm->dm_store_fd = m->opt.store_fd;
    if (dm_process_spawn(vmm, &m->dm, exe_fd, m->opt.dm_fault) < 0)
        die(EXIT_SYSTEM, "cannot start the device model");
    /* The device model holds these now: its store connection, its
     * devices' descriptors and words, its QMP end. */
    close_quietly(m->opt.store_fd);
    m->opt.store_fd = vmm->dm_store_fd = -1;
    vmm_dm_words_dispose(vmm);
    close_quietly(vmm->dm_qmp_fd);
    vmm->dm_qmp_fd = -1;
    /* Ours stay open: `save` reads what the device model wrote. */
    m->dm_state_fd = vmm->dm_save_fd;
    m->dm_state2_fd = vmm->dm_restore_fd;
    vmm->dm_save_fd = vmm->dm_restore_fd = -1;
    /* Its CPU time must stay readable after the lockdown. */
    m->dm_cpu_fd = sandbox_child_cpu_open(&m->dm.child);
    if (ev_fd_add(m->loop, m->dm.dmop_fd, EV_READ, on_dmop, m) < 0 ||
        ev_fd_add(m->loop, m->dm.child.pidfd, EV_READ, on_pidfd, m) < 0)
        die(EXIT_SYSTEM, "cannot watch the device model");
    evloop_before_wait(m->loop, before_wait, m);
    if (m->opt.dm_ready_timeout_ms)
        m->ready_timer = ev_timer_add(m->loop, m->opt.dm_ready_timeout_ms, on_ready_timeout, m);
}

void monitor_dm_start(struct monitor *m, int exe_fd)
{
    if (m->opt.g.placement == PLACEMENT_INLINE)
        inline_start(m);
    else
        process_start(m, exe_fd);
    m->dm_alive = true;
    console_server_attach(m);
}

#ifdef STUBVISOR_TEST_HOOKS
/* Test builds: STUBVISOR_VMM_FAULT=forbidden-syscall makes the monitor try,
 * once locked down, a system call its filter does not allow; the filter
 * must kill it (tests/vmm/lockdown.sh). */
static void fault_after_lockdown(void)
{
    const char *f = getenv("STUBVISOR_VMM_FAULT");
    char *const argv[] = {"true", NULL};

    if (!f || strcmp(f, "forbidden-syscall") != 0)
        return;
    log_info("fault injection: execve after the lockdown");
    execve("/bin/true", argv, argv + 1);
    log_error("fault injection: execve was refused (%s) instead of killing", strerror(errno));
}
#endif

void monitor_dm_ready_check(struct monitor *m)
{
    struct vmm *vmm = &m->vmm;
    int rc;

    if (m->vcpus_started || !vmm->server.enabled || !m->dm_alive || m->quitting)
        return;
    ev_timer_del(m->loop, m->ready_timer);
    m->ready_timer = 0;
    /* The threads start held, so that the filter is in before they run. */
    if (vmm_pause_get(vmm, VMM_PAUSE_MONITOR) < 0 || vmm_start_vcpus(vmm) < 0) {
        log_error("cannot start the vCPUs");
        monitor_quit(m, "crash", EXIT_SYSTEM);
        return;
    }
    m->vcpus_started = true;
    /* Each thread's own start-up (glibc's rseq and robust list) is behind
     * it once it holds: the filter then covers only what running takes. */
    rc = vmm_vcpus_wait_holding(vmm, VCPU_START_TIMEOUT_MS);
    for (unsigned i = 0; rc == 0 && i < vmm->nr_vcpus; i++) {
        /* `vcpus` reads each thread's /proc files after the lockdown too. */
        char which[32];
        snprintf(which, sizeof(which), "self/task/%d", (int)atomic_load(&vmm->vcpus[i].tid));
        if (proc_sched_open(which, vmm->vcpus[i].sched_fds) < 0)
            log_debug("vCPU %u: no /proc/%s", i, which);
    }
    rc = rc ?: monitor_lockdown(m);
    if (rc < 0) {
        log_error("cannot install the seccomp filter: %s; guest stopped", strerror(-rc));
        monitor_quit(m, "crash", EXIT_SYSTEM);
        return;
    }
    /* What building the filter left in the heap goes back to the system
     * (brk and madvise are allowed): a monitor's memory per guest counts. */
    malloc_trim(0);
    m->locked_down = true;
    m->dm.cgroup_stays = true;
    m->seccomp_syscalls = (unsigned)rc;
    if (m->opt.g.placement == PLACEMENT_INLINE)
        m->dm_seccomp_syscalls = m->seccomp_syscalls; /* it runs here */
    if (m->opt.status_fd >= 0)
        log_info("locked down: seccomp allows %u system calls (device model: %u)",
                 m->seccomp_syscalls, m->dm_seccomp_syscalls);
    else
        log_debug("locked down: seccomp allows %u system calls (device model: %u)",
                  m->seccomp_syscalls, m->dm_seccomp_syscalls);
#ifdef STUBVISOR_TEST_HOOKS
    fault_after_lockdown();
#endif
    if (m->opt.g.placement != PLACEMENT_INLINE)
        m->flush_timer = ev_timer_add(m->loop, VMM_POSTED_FLUSH_MS, on_flush_tick, m);
    vmm_pause_put(vmm, VMM_PAUSE_MONITOR);
}

void monitor_dm_failed(struct monitor *m, const char *why)
{
    struct vmm *vmm = &m->vmm;
    char how[96] = "";

    if (!m->dm_alive)
        return;
    monitor_dm_cpu(m); /* before the reaping loses it */
    if (m->dm.child.pid > 0 && !m->dm.reaped) {
        kill(m->dm.child.pid, SIGKILL);
        dm_process_reap(&m->dm, how, sizeof(how));
    }
    m->dm_alive = false;
    atomic_store(&vmm->dm_dead, true);
    ev_fd_del(m->loop, m->dm.dmop_fd);
    ev_fd_del(m->loop, m->dm.child.pidfd);
    ev_timer_del(m->loop, m->flush_timer);
    m->flush_timer = 0;
    console_server_detach(m);
    if (m->quitting)
        return; /* the guest is ending anyway: nothing to report */
    snprintf(m->reason, sizeof(m->reason), "%s%s%s%s; guest %s", why, how[0] ? " (" : "", how,
             how[0] ? ")" : "", m->opt.dm_failure_pauses ? "paused" : "stopped");
    log_error("%s", m->reason);
    if (m->opt.dm_failure_pauses)
        vmm_pause_get(vmm, VMM_PAUSE_MONITOR);
    else
        monitor_quit(m, "crash", VMM_EXIT_DM_FAILED);
}

uint64_t monitor_dm_cpu(struct monitor *m)
{
    uint64_t us;

    if (m->dm_alive && m->dm.child.pid > 0 && m->dm_cpu_fd >= 0 &&
        sandbox_child_cpu_read(&m->dm.child, m->dm_cpu_fd, &us) == 0 && us >= m->dm_cpu_us)
        m->dm_cpu_us = us;
    return m->dm_cpu_us;
}

void monitor_dm_stop(struct monitor *m)
{
    dm_process_destroy(&m->dm);
    close_quietly(m->dm_cpu_fd);
    m->dm_cpu_fd = -1;
    inline_dm_destroy(&m->vmm);
    close_quietly(m->vmm.out_fd); /* inline: the UART's end of the console pair */
    m->vmm.in_fd = m->vmm.out_fd = -1;
}
