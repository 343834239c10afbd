/* stubvmm under the toolstack: managed.c (set-up, event loop, device model
 * faults), console_server.c (COM1 on a socket), control.c (the control
 * socket).  docs/toolstack.md describes both sockets. */
#ifndef STUBVISOR_VMM_MANAGED_H
#define STUBVISOR_VMM_MANAGED_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/dmfds.h"
#include "lib/savefile.h"
#include "vmm/options.h"
#include "vmm/vmm.h"

#define MANAGED_MAX_CONTROL_CLIENTS 4
#define MANAGED_MAX_POLL            (10 + MANAGED_MAX_CONTROL_CLIENTS)
#define CONSOLE_BACKLOG_SIZE        (64u << 10)

enum guest_state { GUEST_PAUSED, GUEST_RUNNING, GUEST_SHUTDOWN, GUEST_CRASHED };

/* One console served on a socket in the run directory (console_server.c). */
struct console_port {
    const char *sock_name; /* "console.sock", "console-pv.sock" */
    const int *dm_fd;      /* our end of the device model's console (-1: none) */
    int listen, client, file_fd;
    uint8_t *backlog; /* output nobody has read yet (ring) */
    size_t backlog_head, backlog_len;
    uint8_t in_buf[1024]; /* client -> guest, not yet taken by the DM */
    size_t in_len, in_off;
};

enum { CONSOLE_SERIAL, CONSOLE_PV, CONSOLE_PORTS };

struct managed {
    /* options: the guest's (options.h), then the toolstack's */
    struct vmm_guest_options g;
    const char *dir, *serial_file;
    bool virtio_console;         /* --virtio-console: the port, on console-pv.sock */
    int vcon_fd;                 /* our end of it (non-blocking), or -1 */
    const char *const *dm_words; /* after "--": the device model's, or NULL */
    unsigned nr_dm_words;
    bool preserve_poweroff, preserve_reboot, preserve_crash;
    int status_fd, store_fd;
    int restore_fd; /* --restore-fd: a save file to start from, or -1 */

    struct vmm vmm;
    struct dm_process dm;
    bool dm_alive;
    uint64_t dm_cpu_us; /* last known; kept after the DM is gone */
    int sigfd;

    enum guest_state state;
    bool want_run;      /* the toolstack unpaused the guest */
    bool vcpus_started; /* threads exist (once the DM is ready and want_run) */
    char reason[160];   /* why the guest is paused, when not by request */
    bool quit;
    char stop_reason[16]; /* poweroff, reboot, crash, destroy */
    int guest_status;

    /* console_server.c: COM1, and the virtio console with --virtio-console */
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
    int ctl_client[MANAGED_MAX_CONTROL_CLIENTS];
    int ctl_fd[MANAGED_MAX_CONTROL_CLIENTS]; /* a descriptor that came with a line */
    /* `pause` answered once the vCPUs hold still (or at the deadline). */
    bool ctl_pause_wait[MANAGED_MAX_CONTROL_CLIENTS];
    uint64_t ctl_pause_deadline[MANAGED_MAX_CONTROL_CLIENTS]; /* CLOCK_MONOTONIC ms */
    char ctl_buf[MANAGED_MAX_CONTROL_CLIENTS][256];
    size_t ctl_len[MANAGED_MAX_CONTROL_CLIENTS];
};

/* `stubvmm --managed ...`: never returns to the standalone path. */
int managed_main(int argc, char **argv);
void managed_loop(struct managed *m);

/* The device model died or misbehaved: kill and reap it, pause the guest,
 * log why.  Idempotent. */
void managed_dm_failed(struct managed *m, const char *why);

/* The device model's CPU time in microseconds (last known once it is gone). */
uint64_t managed_dm_cpu(struct managed *m);

/* Write "exit REASON STATUS [WHY]" to the status descriptor (once); WHY is
 * what the device model said of a crash ("guest panicked"). */
void managed_report_exit(struct managed *m, const char *reason, int status);

/* Each *_pollfds fills pf with its descriptors and returns how many; each
 * *_handle looks at the whole array of those entries for its own. */
int console_server_init(struct managed *m);
unsigned console_server_pollfds(struct managed *m, struct pollfd *pf);
void console_server_handle(struct managed *m, struct pollfd *pf, unsigned n);
void console_server_drain(struct managed *m); /* what the DM still holds */
void console_server_dispose(struct managed *m);

/* Creates the DM's channel (m->vmm.dm_qmp_fd, closed after the spawn). */
int qmp_relay_init(struct managed *m);
unsigned qmp_relay_pollfds(struct managed *m, struct pollfd *pf);
void qmp_relay_handle(struct managed *m, struct pollfd *pf, unsigned n);
void qmp_relay_dispose(struct managed *m);

int control_init(struct managed *m);
unsigned control_pollfds(struct managed *m, struct pollfd *pf);
void control_handle(struct managed *m, struct pollfd *pf, unsigned n);
void control_dispose(struct managed *m);
/* Deferred `pause` replies: the poll timeout they need (-1: none), and
 * answering those that are due.  Every loop iteration. */
int control_timeout(struct managed *m);
void control_tick(struct managed *m);

/* save.c.  `save` with the file's descriptor (positioned where our
 * sections go): pause, finish pending I/O, write, resume if it was running;
 * out gets the reply line.  The descriptor stays the caller's. */
void managed_save(struct managed *m, int fd, char *out, size_t outlen);
/* --restore-fd: check the whole file and that it fits --memory/--vcpus,
 * keep the device model's blob (dies with a message otherwise); then, once
 * the VM and vCPUs exist, load them; then hand the blob to the device
 * model (DIR/dm-state, or inline).  Each dies on error. */
int managed_restore_check(struct managed *m);
void managed_restore_vm(struct managed *m);
void managed_restore_dm(struct managed *m);

/* Bind a listening Unix stream socket at path, mode 0600.  Returns the
 * descriptor or -errno. */
int managed_listen(const char *path);

#endif
