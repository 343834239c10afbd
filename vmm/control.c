/* The control socket, DIR/control.sock (mode 0600): the toolstack's line
 * protocol.  One request per line, one reply line per request:
 *
 *   status   -> ok state=S dm=running|dead dm_pid=N cpu_us=N dm_cpu_us=N pid=N
 *               paused_by=LIST seccomp=N dm_seccomp=N reason=TEXT
 *   vcpus    -> ok vcpus=N I:STATE:CPU:TIME_US:AFFINITY ...
 *               one word per vCPU: STATE r (running), b (blocked: halted or
 *               waiting), p (paused), - (not started; CPU is then -1);
 *               CPU the host CPU it last ran on; AFFINITY the host CPUs it
 *               may run on, as a list (0-3,6)
 *   pause    -> ok  (the toolstack holds one more pause reference, and every
 *                   vCPU holds still: out of KVM_RUN and with no access
 *                   waiting for the device model)
 *            -> error TEXT  (a vCPU still waits for the device model after
 *                   CONTROL_PAUSE_WAIT_MS: the reference is dropped again,
 *                   nothing changed)
 *   unpause  -> ok  (one toolstack reference dropped; the guest runs when
 *                   nobody holds one) | error TEXT
 *   shutdown -> ok  (the guest is powered off; stubvmm reports "poweroff")
 *   reboot   -> ok  (stubvmm reports "reboot"; the toolstack restarts it)
 *   destroy  -> ok  (stubvmm reports "destroy" and exits)
 *   save     -> ok bytes=N | error TEXT
 *               with one descriptor (SCM_RIGHTS) sent along with the line:
 *               a save file positioned after the header and CONFIG; the VM,
 *               VCPU, MEMORY, DM and END sections are appended (save.c).
 *               The guest is paused meanwhile and left as it was.
 *   anything else -> error unknown command
 *
 * S is running, paused, shutdown or crashed: paused whenever anybody holds
 * a pause.  LIST names who does ("toolstack,device-model,monitor"; "-" for
 * nobody).  seccomp= and dm_seccomp= count the system calls the monitor's
 * and the device model's filters allow (0: none installed).  reason= is
 * last and runs to the end of the line (empty when there is nothing to
 * say). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/log.h"
#include "lib/procstat.h"
#include "vmm/monitor.h"

/* How long `pause` waits for the vCPUs to hold still.  A device model
 * answers an access in microseconds; one that has not answered in this
 * time is stopped or hung, and the pause fails rather than pretend.
 * stubctl waits 5 s for a reply. */
#define CONTROL_PAUSE_WAIT_MS 3000

static void reply(int fd, const char *text)
{
    size_t len = strlen(text);
    /* Replies are short and the client waits for them: a client that does
     * not read is dropped rather than waited for. */
    if (send(fd, text, len, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)len)
        log_debug("control client did not take its reply");
}

/* `vcpus`: up to VMM_MAX_VCPUS words of at most ~40 bytes.  Each vCPU
 * thread's /proc files are read through descriptors opened before the
 * lockdown (monitor_dm.c). */
#define CONTROL_VCPUS_REPLY_MAX 8192

static void vcpus_reply(struct monitor *m, char *out, size_t len)
{
    bool paused = strcmp(monitor_state_name(m), "running") != 0;
    size_t n = (size_t)snprintf(out, len, "ok vcpus=%u", m->vmm.nr_vcpus);

    for (unsigned i = 0; i < m->vmm.nr_vcpus && n + 100 < len; i++) {
        struct vcpu *v = &m->vmm.vcpus[i];
        struct proc_sched ps = {.cpu = -1, .affinity = "-"};
        char st = '-';

        if (v->started && !v->gone && proc_sched_read_fds(v->sched_fds, &ps) == 0)
            st = paused ? 'p' : ps.state == 'R' ? 'r' : 'b';
        n += (size_t)snprintf(out + n, len - n, " %u:%c:%d:%llu:%s", i, st, ps.cpu,
                              (unsigned long long)ps.cpu_us, ps.affinity);
    }
    snprintf(out + n, len - n, "\n");
}

void control_status_line(struct monitor *m, char *out, size_t len)
{
    struct timespec ts;
    char holders[64];

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    vmm_pause_describe(&m->vmm, holders, sizeof(holders));
    snprintf(out, len,
             "ok state=%s dm=%s dm_pid=%d cpu_us=%llu dm_cpu_us=%llu pid=%d paused_by=%s "
             "seccomp=%u dm_seccomp=%u reason=%s",
             monitor_state_name(m), m->dm_alive ? "running" : "dead",
             m->dm_alive ? (int)m->dm.child.pid : 0,
             (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000,
             (unsigned long long)monitor_dm_cpu(m), (int)getpid(), holders[0] ? holders : "-",
             m->seccomp_syscalls, m->dm_seccomp_syscalls, m->reason);
}

static void run_lines(struct monitor *m, struct control_client *c);

static void pause_done(struct monitor *m, struct control_client *c, bool holding)
{
    char out[256];

    c->pause_wait = false;
    ev_timer_del(m->loop, c->pause_deadline);
    c->pause_deadline = 0;
    if (holding) {
        reply(c->fd, "ok\n");
    } else {
        vmm_pause_put(&m->vmm, VMM_PAUSE_TOOLSTACK);
        log_warn("pause: a vCPU still waits for the device model after %u ms; not paused",
                 CONTROL_PAUSE_WAIT_MS);
        snprintf(out, sizeof(out),
                 "error a vCPU still waits for the device model after %u ms (is it stopped or "
                 "hung?); the guest was not paused\n",
                 CONTROL_PAUSE_WAIT_MS);
        reply(c->fd, out);
    }
    run_lines(m, c);
}

static int pause_deadline(struct evloop *el, void *opaque)
{
    struct control_client *c = opaque;
    struct monitor *m = c->m;

    c->pause_deadline = 0;
    if (c->pause_wait)
        pause_done(m, c, vmm_vcpus_holding(&m->vmm));
    return EV_TIMER_DONE;
}

void control_pause_progress(struct monitor *m)
{
    if (!vmm_vcpus_holding(&m->vmm))
        return;
    for (unsigned i = 0; i < MONITOR_MAX_CONTROL_CLIENTS; i++)
        if (m->ctl[i].fd >= 0 && m->ctl[i].pause_wait)
            pause_done(m, &m->ctl[i], true);
}

static void cmd_pause(struct monitor *m, struct control_client *c)
{
    int rc = vmm_pause_get(&m->vmm, VMM_PAUSE_TOOLSTACK);

    if (rc < 0) {
        reply(c->fd, "error the toolstack holds too many pauses\n");
        return;
    }
    if (vmm_vcpus_holding(&m->vmm)) {
        reply(c->fd, "ok\n");
        return;
    }
    c->pause_wait = true;
    c->pause_deadline = ev_timer_add(m->loop, CONTROL_PAUSE_WAIT_MS, pause_deadline, c);
}

static void cmd_unpause(struct monitor *m, struct control_client *c)
{
    char out[256], holders[64];

    if (!m->dm_alive) {
        reply(c->fd, "error the device model is gone; destroy the guest\n");
    } else if (m->state != GUEST_ALIVE) {
        reply(c->fd, "error the guest has stopped\n");
    } else if (vmm_pause_put(&m->vmm, VMM_PAUSE_TOOLSTACK) < 0) {
        vmm_pause_describe(&m->vmm, holders, sizeof(holders));
        snprintf(out, sizeof(out), "error the toolstack holds no pause%s%s%s\n",
                 holders[0] ? " (paused by the " : "", holders, holders[0] ? ")" : "");
        reply(c->fd, out);
    } else {
        reply(c->fd, "ok\n");
    }
}

static void command(struct monitor *m, struct control_client *c, const char *cmd)
{
    char out[512];

    if (strcmp(cmd, "status") == 0) {
        control_status_line(m, out, sizeof(out) - 1);
        strcat(out, "\n");
        reply(c->fd, out);
    } else if (strcmp(cmd, "vcpus") == 0) {
        char big[CONTROL_VCPUS_REPLY_MAX];
        vcpus_reply(m, big, sizeof(big));
        reply(c->fd, big);
    } else if (strcmp(cmd, "pause") == 0) {
        cmd_pause(m, c);
    } else if (strcmp(cmd, "unpause") == 0) {
        cmd_unpause(m, c);
    } else if (strcmp(cmd, "save") == 0) {
        if (c->passed_fd < 0) {
            reply(c->fd, "error save needs the file's descriptor\n");
        } else {
            monitor_save(m, c->passed_fd, out, sizeof(out));
            close(c->passed_fd);
            c->passed_fd = -1;
            reply(c->fd, out);
        }
    } else if (strcmp(cmd, "destroy") == 0 || strcmp(cmd, "shutdown") == 0 ||
               strcmp(cmd, "reboot") == 0) {
        reply(c->fd, "ok\n");
        monitor_quit(m, strcmp(cmd, "shutdown") == 0 ? "poweroff" : cmd, 0);
    } else {
        reply(c->fd, "error unknown command\n");
    }
}

static void drop_client(struct monitor *m, struct control_client *c)
{
    if (c->fd >= 0) {
        ev_fd_del(m->loop, c->fd);
        close(c->fd);
    }
    close_quietly(c->passed_fd);
    c->fd = c->passed_fd = -1;
    c->len = 0;
    if (c->pause_wait) { /* never confirmed, nobody to tell: undone */
        ev_timer_del(m->loop, c->pause_deadline);
        vmm_pause_put(&m->vmm, VMM_PAUSE_TOOLSTACK);
    }
    c->pause_wait = false;
    c->pause_deadline = 0;
}

/* Carry out the complete lines buffered for the client, in order; a
 * deferred reply holds the rest back. */
static void run_lines(struct monitor *m, struct control_client *c)
{
    char *nl;

    while (c->fd >= 0 && !c->pause_wait && (nl = strchr(c->buf, '\n'))) {
        *nl = '\0';
        command(m, c, c->buf);
        size_t used = (size_t)(nl + 1 - c->buf);
        memmove(c->buf, nl + 1, c->len - used + 1);
        c->len -= used;
    }
}

static void on_client(struct evloop *el, int fd, unsigned ready, void *opaque)
{
    struct monitor *m = opaque;
    struct control_client *c = NULL;
    int fds[1];
    size_t nfds = 1;

    for (unsigned i = 0; i < MONITOR_MAX_CONTROL_CLIENTS && !c; i++)
        if (m->ctl[i].fd == fd)
            c = &m->ctl[i];
    if (!c)
        return;
    ssize_t n = recv_with_fds(fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, fds, &nfds);
    if (n <= 0) {
        /* EPROTO: more than one descriptor (closed for us). */
        if (n == 0 || (errno != EAGAIN && errno != EINTR))
            drop_client(m, c);
        return;
    }
    if (nfds) {
        /* For the next `save`; a newer one replaces it. */
        close_quietly(c->passed_fd);
        c->passed_fd = fds[0];
    }
    c->len += (size_t)n;
    c->buf[c->len] = '\0';
    run_lines(m, c);
    if (c->fd >= 0 && c->len == sizeof(c->buf) - 1) {
        reply(c->fd, "error line too long\n");
        drop_client(m, c);
    }
}

static void on_listen(struct evloop *el, int fd, unsigned ready, void *opaque)
{
    struct monitor *m = opaque;
    struct control_client *c = NULL;
    int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

    if (cfd < 0)
        return;
    for (unsigned i = 0; i < MONITOR_MAX_CONTROL_CLIENTS && !c; i++)
        if (m->ctl[i].fd < 0)
            c = &m->ctl[i];
    if (!c || ev_fd_add(el, cfd, EV_READ, on_client, m) < 0) {
        reply(cfd, "error busy\n");
        close(cfd);
        return;
    }
    c->fd = cfd;
}

int control_init(struct monitor *m)
{
    for (unsigned i = 0; i < MONITOR_MAX_CONTROL_CLIENTS; i++) {
        m->ctl[i] = (struct control_client){.fd = -1, .passed_fd = -1};
        m->ctl[i].m = m;
    }
    m->ctl_listen = monitor_listen(m, "control.sock");
    if (m->ctl_listen < 0)
        return m->ctl_listen;
    return ev_fd_add(m->loop, m->ctl_listen, EV_READ, on_listen, m);
}

void control_dispose(struct monitor *m)
{
    for (unsigned i = 0; i < MONITOR_MAX_CONTROL_CLIENTS; i++)
        drop_client(m, &m->ctl[i]);
    if (m->ctl_listen >= 0) {
        ev_fd_del(m->loop, m->ctl_listen);
        close(m->ctl_listen);
        m->ctl_listen = -1;
        monitor_unlink(m, "control.sock");
    }
}
