/* The monitor: one guest, its device model, and the event loop that serves
 * them (lib/evloop.h).  There is one monitor.  Direct mode (`stubvmm
 * --kernel ...`) and toolstack mode (`stubvmm --managed ...`, started by
 * stubctl) differ only in their options (struct monitor_options, filled by
 * main.c): the toolstack's add a run directory with the control, console
 * and QMP sockets, a status descriptor, a first pause held by the
 * toolstack, and a device model failure that pauses the guest instead of
 * ending it.  docs/stubvmm.md has both command lines, docs/toolstack.md the
 * sockets.
 *
 *   monitor.c         set-up, the fixed event sources, how the guest ends,
 *                     teardown
 *   monitor_dm.c      the device model: start, its channel, death, and its
 *                     readiness (lockdown, then the vCPUs run)
 *   console_server.c  COM1 and the virtio console: stdio, a file, sockets
 *   control.c         DIR/control.sock, the toolstack's commands
 *   qmp_relay.c       DIR/qmp.sock, relayed to the device model
 *   save.c            `save` and --restore-fd
 *   lockdown.c        the monitor's seccomp allow-list
 *
 * Event sources, all on one loop in the main thread: the stop eventfd (a
 * vCPU or dm_op ended the guest), the signalfd, the hold eventfd (vCPUs
 * hold still: deferred `pause` replies), the device model's dm_op channel
 * and pidfd or, inline, its timers, watched descriptors and console
 * inputs; the console, control and QMP sockets and their clients; timers
 * for posted writes, deadlines and retries.
 */
#ifndef STUBVISOR_VMM_MONITOR_H
#define STUBVISOR_VMM_MONITOR_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/dmfds.h"
#include "lib/evloop.h"
#include "lib/savefile.h"
#include "vmm/options.h"
#include "vmm/vmm.h"

#define MONITOR_MAX_CONTROL_CLIENTS 4
#define CONSOLE_BACKLOG_SIZE        (64u << 10)

/* What the command line asked for (main.c). */
struct monitor_options {
    struct vmm_guest_options g; /* the guest, its placement and devices */

    /* The toolstack's: the run directory (control.sock, console.sock,
     * console-pv.sock, qmp.sock, dm-state; NULL: none of these), the status
     * descriptor ("ready", then "exit REASON STATUS"), the device model's
     * store connection, a save file to start from (-1: none). */
    const char *dir;
    int status_fd, store_fd, restore_fd;
    bool preserve_poweroff, preserve_reboot, preserve_crash;
    /* The device model's words for an inline one under the toolstack
     * ("stubdm" first; after "--"), NULL otherwise (dm_words.c). */
    const char *const *dm_words;
    unsigned nr_dm_words;

    /* COM1: on stdin/stdout, and/or its output to a file (truncated, or
     * with a run directory appended as a copy of what console.sock gets). */
    bool serial_stdio;
    const char *serial_file;
    /* Direct mode's virtio console: NULL for none, "none" (a port whose
     * host side is gone) or "unix:PATH" (a stream socket to connect to).
     * Under the toolstack --virtio-console is a backend in g, served on
     * DIR/console-pv.sock. */
    const char *virtio_console;

    /* What differs between the modes, as policy. */
    bool start_paused;            /* the toolstack holds the first pause */
    bool dm_failure_pauses;       /* else a failed device model ends the guest (102) */
    unsigned dm_ready_timeout_ms; /* the device model must be ready by then; 0: no limit */
    const char *dm_fault;         /* test builds: stubdm --fault=NAME */
};

/* The options' defaults: a direct-mode guest on stdio (vmm_guest_options
 * defaults, no directory, no descriptors). */
void monitor_options_init(struct monitor_options *o);

enum guest_state { GUEST_ALIVE, GUEST_SHUTDOWN, GUEST_CRASHED };

/* One console served (console_server.c). */
struct console_port {
    const char *sock_name; /* "console.sock", "console-pv.sock"; NULL: no socket */
    const int *dm_fd;      /* our end of the device model's console (-1: none) */
    bool watching_dm;      /* *dm_fd is registered with the loop */
    int listen, client;    /* the socket and its one client */
    int in_fd, out_fd;     /* direct mode: stdin, stdout (-1: none) */
    int file_fd;           /* the output also goes here (-1: none) */
    uint8_t *backlog;      /* output nobody has taken yet (ring) */
    size_t backlog_head, backlog_len;
    uint8_t in_buf[1024]; /* input not yet taken by the device model */
    size_t in_len, in_off;
};

enum { CONSOLE_SERIAL, CONSOLE_PV, CONSOLE_PORTS };

struct monitor;

struct control_client {
    struct monitor *m;
    int fd;
    int passed_fd; /* a descriptor that came with a line, for `save` */
    char buf[256];
    size_t len;
    /* A `pause` whose reply waits until the vCPUs hold still. */
    bool pause_wait;
    ev_timer_id pause_deadline;
};

struct monitor {
    struct monitor_options opt;
    struct evloop *loop;
    struct vmm vmm;
    struct dm_process dm;
    bool dm_alive;
    uint64_t dm_cpu_us; /* last known; kept after the DM is gone */
    int sigfd;

    enum guest_state state;
    bool vcpus_started;      /* threads exist (once the device model is ready) */
    char reason[160];        /* why the guest is paused, when not by request */
    char stop_reason[16];    /* poweroff, reboot, crash, destroy */
    int guest_status;        /* the exit status (direct mode's own) */
    ev_timer_id ready_timer; /* dm_ready_timeout_ms */
    ev_timer_id flush_timer; /* posted writes (process placements) */
    ev_timer_id retry_timer; /* inline: COM1 input the UART had no room for */
    bool com1_full;
    bool quitting;                /* monitor_quit() was called */
    bool locked_down;             /* the seccomp filter is in (lockdown.c) */
    int dm_cpu_fd;                /* where the device model's CPU time is read */
    int vcon_fd;                  /* our end of a served virtio console, or -1 */
    unsigned seccomp_syscalls;    /* how many system calls it allows */
    unsigned dm_seccomp_syscalls; /* the device model's filter's, 0: none */

    struct console_port cons[CONSOLE_PORTS];

    /* qmp_relay.c */
    int qmp_fd; /* our end of the DM's QMP channel (SOCK_SEQPACKET) */
    int qmp_listen, qmp_client;

    /* save.c: our own descriptions of the device model's consoles 1 and 2
     * (DIR/dm-state), -1 inline; what --restore-fd brought. */
    int dm_state_fd, dm_state2_fd;
    struct savefile_summary *restore_sum;
    uint8_t *restore_dm;
    size_t restore_dm_len;

    /* control.c */
    int ctl_listen;
    struct control_client ctl[MONITOR_MAX_CONTROL_CLIENTS];
};

/* ---- monitor.c ---- */

/* Run the guest the options describe until it ends; returns the process's
 * exit status: direct mode the guest's (docs/stubvmm.md), with a status
 * descriptor 0.  Takes over opt (its descriptors included).  Dies with a
 * message (exit 100 or 111) when set-up fails. */
int monitor_main(const struct monitor_options *opt);

/* End the event loop: the guest is done (reason "poweroff", "reboot",
 * "crash" or "destroy", with its exit status).  The first call decides. */
void monitor_quit(struct monitor *m, const char *reason, int status);

/* "running", "paused", "shutdown" or "crashed": paused while any pause
 * reference is held or the vCPUs have not started. */
const char *monitor_state_name(struct monitor *m);

/* Bind a listening Unix stream socket at DIR/name, mode 0600, non-blocking.
 * Returns the descriptor or -errno (logged). */
int monitor_listen(struct monitor *m, const char *name);

/* Remove DIR/name, unless the lockdown forbids it (the toolstack removes
 * the run directory after the monitor). */
void monitor_unlink(struct monitor *m, const char *name);

/* ---- monitor_dm.c ---- */

/* Start the device model: inline in this process, or stubdm spawned from
 * exe_fd with its descriptors; register its event sources.  Dies on
 * failure (set-up). */
void monitor_dm_start(struct monitor *m, int exe_fd);

/* Once the device model has enabled its ioreq server: lock down, then let
 * the vCPUs run (under whatever pause is held).  Nothing before, nothing
 * twice. */
void monitor_dm_ready_check(struct monitor *m);

/* The device model died or misbehaved (why; how it ended is added): kill
 * and reap it, then pause the guest (a monitor reference) or end it with
 * VMM_EXIT_DM_FAILED, as the options say.  Idempotent. */
void monitor_dm_failed(struct monitor *m, const char *why);

/* The device model's CPU time in microseconds (last known once gone). */
uint64_t monitor_dm_cpu(struct monitor *m);

/* Kill and reap the device model, release the inline one. */
void monitor_dm_stop(struct monitor *m);

/* ---- console_server.c ---- */

/* Create the consoles the options ask for (sockets, files, stdio) and
 * register them.  Returns 0 or -errno (logged). */
int console_server_init(struct monitor *m);
/* The device model's ends exist (after its start) / are gone (it died). */
void console_server_attach(struct monitor *m);
void console_server_detach(struct monitor *m);
/* At the end: take what the device model still holds and hand it out
 * (direct mode: all of it, to stdout). */
void console_server_drain(struct monitor *m);
void console_server_dispose(struct monitor *m);

/* ---- qmp_relay.c ---- */

/* Creates the device model's channel (vmm.dm_qmp_fd, closed after the
 * spawn) and DIR/qmp.sock. */
int qmp_relay_init(struct monitor *m);
void qmp_relay_dispose(struct monitor *m);

/* ---- control.c ---- */

int control_init(struct monitor *m);
void control_dispose(struct monitor *m);
/* Every started vCPU holds still (vmm.hold_efd): answer deferred pauses. */
void control_pause_progress(struct monitor *m);
/* The `status` line (without its newline): state, device model, CPU time,
 * who holds a pause, the seccomp filters, and the reason last. */
void control_status_line(struct monitor *m, char *out, size_t len);

/* ---- save.c ---- */

/* `save` with the file's descriptor (positioned where our sections go):
 * hold a toolstack pause, finish pending I/O, write, drop the pause; out
 * gets the reply line.  The descriptor stays the caller's. */
void monitor_save(struct monitor *m, int fd, char *out, size_t outlen);
/* --restore-fd: check the whole file and that it fits --memory/--vcpus,
 * keep the device model's blob (dies with a message otherwise); then, once
 * the VM and vCPUs exist, load them; then hand the blob to the device
 * model (DIR/dm-state, or inline).  Each dies on error. */
void monitor_restore_check(struct monitor *m);
void monitor_restore_vm(struct monitor *m);
void monitor_restore_dm(struct monitor *m);

/* ---- lockdown.c ---- */

/* Install the monitor's seccomp allow-list (with no_new_privs) on every
 * thread.  Returns the number of system calls it allows, or -errno. */
int monitor_lockdown(struct monitor *m);

#endif
