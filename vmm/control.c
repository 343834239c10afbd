/* The control socket, DIR/control.sock (mode 0600): the toolstack's line
 * protocol.  One request per line, one reply line per request:
 *
 *   status   -> ok state=S dm=running|dead dm_pid=N cpu_us=N dm_cpu_us=N pid=N reason=TEXT
 *   vcpus    -> ok vcpus=N I:STATE:CPU:TIME_US:AFFINITY ...
 *               one word per vCPU: STATE r (running), b (blocked: halted or
 *               waiting), p (paused), - (not started; CPU is then -1);
 *               CPU the host CPU it last ran on; AFFINITY the host CPUs it
 *               may run on, as a list (0-3,6)
 *   pause    -> ok  (once every vCPU holds still: out of KVM_RUN and with no
 *                   access waiting for the device model; at most
 *                   CONTROL_PAUSE_WAIT_MS, then ok anyway)
 *   unpause  -> ok
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
 * S is running, paused, shutdown or crashed.  reason= is last and runs to
 * the end of the line (empty when there is nothing to say). */
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
#include "vmm/managed.h"

/* How long `pause` waits for the vCPUs to hold still before it answers.
 * A device model told to `save` right after stops answering accesses, so
 * none may be left waiting; the main loop keeps serving dm_ops meanwhile. */
#define CONTROL_PAUSE_WAIT_MS 2000

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* `vcpus`: up to VMM_MAX_VCPUS words of at most ~40 bytes. */
#define CONTROL_VCPUS_REPLY_MAX 8192

static void vcpus_reply(struct managed *m, char *out, size_t len)
{
    bool paused = m->state != GUEST_RUNNING || atomic_load(&m->vmm.paused);
    size_t n = (size_t)snprintf(out, len, "ok vcpus=%u", m->vmm.nr_vcpus);

    for (unsigned i = 0; i < m->vmm.nr_vcpus && n + 100 < len; i++) {
        struct vcpu *v = &m->vmm.vcpus[i];
        pid_t tid = atomic_load(&v->tid);
        struct proc_sched ps = {.cpu = -1, .affinity = "-"};
        char which[32], st = '-';

        snprintf(which, sizeof(which), "self/task/%d", (int)tid);
        if (tid > 0 && !v->gone && proc_sched_read(which, &ps) == 0)
            st = paused ? 'p' : ps.state == 'R' ? 'r' : 'b';
        n += (size_t)snprintf(out + n, len - n, " %u:%c:%d:%llu:%s", i, st, ps.cpu,
                              (unsigned long long)ps.cpu_us, ps.affinity);
    }
    snprintf(out + n, len - n, "\n");
}

static const char *state_name(enum guest_state s)
{
    switch (s) {
    case GUEST_RUNNING:
        return "running";
    case GUEST_SHUTDOWN:
        return "shutdown";
    case GUEST_CRASHED:
        return "crashed";
    case GUEST_PAUSED:
    default:
        return "paused";
    }
}

int control_init(struct managed *m)
{
    char path[PATH_MAX];

    for (unsigned i = 0; i < MANAGED_MAX_CONTROL_CLIENTS; i++)
        m->ctl_client[i] = m->ctl_fd[i] = -1;
    snprintf(path, sizeof(path), "%s/control.sock", m->dir);
    m->ctl_listen = managed_listen(path);
    return m->ctl_listen < 0 ? m->ctl_listen : 0;
}

static void reply(int fd, const char *text)
{
    size_t len = strlen(text);
    /* Replies are short and the client waits for them: a client that does
     * not read is dropped rather than waited for. */
    if (send(fd, text, len, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)len)
        log_debug("control client did not take its reply");
}

static void quit_with(struct managed *m, const char *reason)
{
    snprintf(m->stop_reason, sizeof(m->stop_reason), "%s", reason);
    m->guest_status = 0;
    m->quit = true;
}

static void command(struct managed *m, unsigned client, const char *cmd)
{
    int fd = m->ctl_client[client];
    char out[512];

    if (strcmp(cmd, "status") == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        snprintf(out, sizeof(out),
                 "ok state=%s dm=%s dm_pid=%d cpu_us=%llu dm_cpu_us=%llu pid=%d reason=%s\n",
                 state_name(m->state == GUEST_RUNNING && atomic_load(&m->vmm.paused) ? GUEST_PAUSED
                                                                                     : m->state),
                 m->dm_alive ? "running" : "dead", m->dm_alive ? (int)m->dm.child.pid : 0,
                 (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000,
                 (unsigned long long)managed_dm_cpu(m), (int)getpid(), m->reason);
        reply(fd, out);
    } else if (strcmp(cmd, "vcpus") == 0) {
        char big[CONTROL_VCPUS_REPLY_MAX];
        vcpus_reply(m, big, sizeof(big));
        reply(fd, big);
    } else if (strcmp(cmd, "pause") == 0) {
        if (m->state == GUEST_RUNNING) {
            vmm_pause_vcpus(&m->vmm);
            m->state = GUEST_PAUSED;
        }
        m->want_run = false;
        if (m->vcpus_started && !vmm_vcpus_holding(&m->vmm)) {
            m->ctl_pause_wait[client] = true;
            m->ctl_pause_deadline[client] = now_ms() + CONTROL_PAUSE_WAIT_MS;
            return;
        }
        reply(fd, "ok\n");
    } else if (strcmp(cmd, "unpause") == 0) {
        if (!m->dm_alive) {
            reply(fd, "error the device model is gone; destroy the guest\n");
        } else if (m->state == GUEST_SHUTDOWN || m->state == GUEST_CRASHED) {
            reply(fd, "error the guest has stopped\n");
        } else {
            m->want_run = true;
            if (m->vcpus_started) {
                vmm_unpause_vcpus(&m->vmm);
                m->state = GUEST_RUNNING;
            }
            reply(fd, "ok\n");
        }
    } else if (strcmp(cmd, "save") == 0) {
        if (m->ctl_fd[client] < 0) {
            reply(fd, "error save needs the file's descriptor\n");
        } else {
            managed_save(m, m->ctl_fd[client], out, sizeof(out));
            close(m->ctl_fd[client]);
            m->ctl_fd[client] = -1;
            reply(fd, out);
        }
    } else if (strcmp(cmd, "destroy") == 0 || strcmp(cmd, "shutdown") == 0 ||
               strcmp(cmd, "reboot") == 0) {
        reply(fd, "ok\n");
        quit_with(m, strcmp(cmd, "shutdown") == 0 ? "poweroff" : cmd);
    } else {
        reply(fd, "error unknown command\n");
    }
}

unsigned control_pollfds(struct managed *m, struct pollfd *pf)
{
    unsigned n = 0;

    pf[n++] = (struct pollfd){.fd = m->ctl_listen, .events = POLLIN};
    for (unsigned i = 0; i < MANAGED_MAX_CONTROL_CLIENTS; i++)
        if (m->ctl_client[i] >= 0)
            pf[n++] = (struct pollfd){.fd = m->ctl_client[i], .events = POLLIN};
    return n;
}

static void drop_client(struct managed *m, unsigned i)
{
    close_quietly(m->ctl_client[i]);
    close_quietly(m->ctl_fd[i]);
    m->ctl_client[i] = m->ctl_fd[i] = -1;
    m->ctl_len[i] = 0;
    m->ctl_pause_wait[i] = false;
}

/* Carry out the complete lines buffered for client i, in order; a
 * deferred reply holds the rest back. */
static void run_lines(struct managed *m, unsigned i)
{
    char *nl;

    while (m->ctl_client[i] >= 0 && !m->ctl_pause_wait[i] && (nl = strchr(m->ctl_buf[i], '\n'))) {
        *nl = '\0';
        command(m, i, m->ctl_buf[i]);
        size_t used = (size_t)(nl + 1 - m->ctl_buf[i]);
        memmove(m->ctl_buf[i], nl + 1, m->ctl_len[i] - used + 1);
        m->ctl_len[i] -= used;
    }
}

int control_timeout(struct managed *m)
{
    for (unsigned i = 0; i < MANAGED_MAX_CONTROL_CLIENTS; i++)
        if (m->ctl_pause_wait[i])
            return 1;
    return -1;
}

void control_tick(struct managed *m)
{
    bool holding = true, checked = false;

    for (unsigned i = 0; i < MANAGED_MAX_CONTROL_CLIENTS; i++) {
        if (!m->ctl_pause_wait[i])
            continue;
        if (!checked) {
            holding = vmm_vcpus_holding(&m->vmm);
            checked = true;
        }
        if (!holding && now_ms() < m->ctl_pause_deadline[i])
            continue;
        if (!holding)
            log_warn("pause: a vCPU is still busy after %u ms", CONTROL_PAUSE_WAIT_MS);
        m->ctl_pause_wait[i] = false;
        reply(m->ctl_client[i], "ok\n");
        run_lines(m, i);
    }
}

static void client_readable(struct managed *m, unsigned i)
{
    int fds[1];
    size_t nfds = 1;
    ssize_t n = recv_with_fds(m->ctl_client[i], m->ctl_buf[i] + m->ctl_len[i],
                              sizeof(m->ctl_buf[i]) - 1 - m->ctl_len[i], fds, &nfds);

    if (n <= 0) {
        /* EPROTO: more than one descriptor (closed for us). */
        if (n == 0 || (errno != EAGAIN && errno != EINTR))
            drop_client(m, i);
        return;
    }
    if (nfds) {
        /* For the next `save`; a newer one replaces it. */
        close_quietly(m->ctl_fd[i]);
        m->ctl_fd[i] = fds[0];
    }
    m->ctl_len[i] += (size_t)n;
    m->ctl_buf[i][m->ctl_len[i]] = '\0';
    run_lines(m, i);
    if (m->ctl_client[i] >= 0 && m->ctl_len[i] == sizeof(m->ctl_buf[i]) - 1) {
        reply(m->ctl_client[i], "error line too long\n");
        drop_client(m, i);
    }
}

void control_handle(struct managed *m, struct pollfd *pf, unsigned n)
{
    for (unsigned k = 0; k < n; k++) {
        if (!pf[k].revents)
            continue;
        if (pf[k].fd == m->ctl_listen) {
            int c = accept4(m->ctl_listen, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
            unsigned i;
            if (c < 0)
                continue;
            for (i = 0; i < MANAGED_MAX_CONTROL_CLIENTS && m->ctl_client[i] >= 0; i++)
                ;
            if (i == MANAGED_MAX_CONTROL_CLIENTS) {
                reply(c, "error busy\n");
                close(c);
                continue;
            }
            m->ctl_client[i] = c;
            continue;
        }
        for (unsigned i = 0; i < MANAGED_MAX_CONTROL_CLIENTS; i++)
            if (m->ctl_client[i] >= 0 && pf[k].fd == m->ctl_client[i])
                client_readable(m, i);
    }
}

void control_dispose(struct managed *m)
{
    char path[PATH_MAX];

    for (unsigned i = 0; i < MANAGED_MAX_CONTROL_CLIENTS; i++)
        drop_client(m, i);
    close_quietly(m->ctl_listen);
    snprintf(path, sizeof(path), "%s/control.sock", m->dir);
    unlink(path);
}
