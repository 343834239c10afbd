/* stubdm as a separate process: find it, spawn it through the sandbox with
 * exactly its descriptors, serve its dm_ops, and notice when it dies. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dm/argv.h"
#include "lib/dmfds.h"
#include "lib/fdio.h"
#include "lib/log.h"
#include "vmm/vmm.h"

int dm_exe_open(void)
{
    char path[PATH_MAX], *slash;
    ssize_t n;
    int fd;

    /* Where the installation (or the build tree) put it: next to us. */
    n = readlink("/proc/self/exe", path, sizeof(path) - 1);
    if (n < 0)
        return -errno;
    path[n] = '\0';
    slash = strrchr(path, '/');
    if (!slash || (size_t)(slash - path) + sizeof("/stubdm") > sizeof(path))
        return -ENAMETOOLONG;
    strcpy(slash, "/stubdm");
    fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) {
        log_error("device model %s: %s", path, strerror(errno));
        return -errno;
    }
    return fd;
}

int dm_process_spawn(struct vmm *vmm, struct dm_process *p, int exe_fd, const char *fault)
{
    int dmop[2] = {-1, -1}, console[2] = {-1, -1}, null_fd = -1, log_fd = -1;
    char spin[32], poll_arg[32], fault_arg[64], name[32];
    const char *argv[8 + DM_ARGV_MAX];
    int fds[DMFD_DISK0 - DMFD_DMOP + VMM_MAX_DEV_FDS];
    size_t nfds = DMFD_COUNT;
    int argc = 0, rc = 0;

    memset(p, 0, sizeof(*p));
    p->child.pidfd = -1;
    p->dmop_fd = p->console_fd = -1;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, dmop) < 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, console) < 0 ||
        (null_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0 ||
        (log_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 0)) < 0) {
        rc = -errno;
        log_error("device model channels: %s", strerror(errno));
        goto out;
    }
    /* Its process flags, then its description: the store's (--store) or
     * our words. */
    argv[argc++] = "stubdm";
    if (vmm->placement == PLACEMENT_STUBDOM)
        argv[argc++] = "--lockdown";
    snprintf(spin, sizeof(spin), "--spin-us=%u", vmm->dm_spin_us);
    argv[argc++] = spin;
    if (vmm->dm_poll_us >= 0) {
        snprintf(poll_arg, sizeof(poll_arg), "--poll-us=%d", vmm->dm_poll_us);
        argv[argc++] = poll_arg;
    }
    if (fault) {
        snprintf(fault_arg, sizeof(fault_arg), "--fault=%s", fault);
        argv[argc++] = fault_arg;
    }
    if (vmm->dm_store_fd >= 0)
        argv[argc++] = "--store";
    else
        for (unsigned i = 1; i < vmm->nr_dm_words && i < DM_ARGV_MAX; i++)
            argv[argc++] = vmm->dm_words[i];
    /* In lib/dmfds.h order: 3 dm_op, 4 RAM, 5 log, 6/7 save/restore, 8 COM1,
     * then under the toolstack or with devices' descriptors 9 the store and
     * 10 QMP (/dev/null when absent), and from 11 on the descriptors. */
    fds[0] = dmop[1];
    fds[1] = vmm->ram_fd;
    fds[2] = log_fd;
    fds[3] = vmm->dm_save_fd >= 0 ? vmm->dm_save_fd : null_fd;
    fds[4] = vmm->dm_restore_fd >= 0 ? vmm->dm_restore_fd : null_fd;
    fds[5] = console[1];
    if (vmm->dm_store_fd >= 0 || vmm->nr_dev_fds) {
        fds[DMFD_STORE - DMFD_DMOP] = vmm->dm_store_fd >= 0 ? vmm->dm_store_fd : null_fd;
        fds[DMFD_QMP - DMFD_DMOP] = vmm->dm_qmp_fd >= 0 ? vmm->dm_qmp_fd : null_fd;
        nfds = DMFD_DISK0 - DMFD_DMOP;
    }
    for (unsigned i = 0; i < vmm->nr_dev_fds; i++)
        fds[nfds++] = vmm->dev_fds[i];
    argv[argc] = NULL;
    snprintf(name, sizeof(name), "guest%d-dm", (int)getpid());

    struct sandbox_spec spec = {
        .level = vmm->placement == PLACEMENT_STUBDOM ? SANDBOX_STUBDOM : SANDBOX_NONE,
        .name = name,
        .exe_fd = exe_fd,
        .argv = (char **)argv,
        .fds = fds,
        .nfds = nfds,
        .log_fd = log_fd,
    };
    rc = sandbox_spawn(&spec, &p->child);
    if (rc < 0) {
        log_error("starting the device model: %s", strerror(-rc));
        goto out;
    }
    p->dmop_fd = dmop[0];
    p->console_fd = console[0];
    dmop[0] = console[0] = -1;
    fd_set_nonblock(p->console_fd, 1);
out:
    close_quietly(dmop[0]);
    close_quietly(dmop[1]);
    close_quietly(console[0]);
    close_quietly(console[1]);
    close_quietly(null_fd);
    close_quietly(log_fd);
    return rc;
}

int dm_process_serve(struct vmm *vmm, struct dm_process *p)
{
    struct dmop_req req;
    struct dmop_reply rep;
    int fds_in[FDIO_MAX_FDS], fds_out[FDIO_MAX_FDS];
    size_t nin = FDIO_MAX_FDS, nout = 0;
    ssize_t r;

    r = recv_with_fds(p->dmop_fd, &req, sizeof(req), fds_in, &nin);
    if (r == 0)
        return -EPIPE;
    if (r < 0) {
        if (errno == EINTR || errno == EAGAIN)
            return 0;
        if (errno != EPROTO)
            return -errno;
        nin = 0; /* too many descriptors: already closed, refuse below */
        r = 0;
    }
    if ((size_t)r != sizeof(req) || nin > 2) {
        /* A malformed message is refused like a bad op: the device model is
         * told, nothing changes. */
        for (size_t i = 0; i < nin; i++)
            close(fds_in[i]);
        memset(&rep, 0, sizeof(rep));
        rep.op = (size_t)r >= sizeof(uint32_t) ? req.op : 0;
        rep.rc = -EINVAL;
    } else {
        dmop_dispatch_fds(vmm, &req, fds_in, nin, &rep, fds_out, &nout);
    }
    if (send_with_fds(p->dmop_fd, &rep, sizeof(rep), fds_out, nout) < 0)
        return errno == EPIPE || errno == ECONNRESET ? -EPIPE : -errno;
    return 0;
}

int dm_process_reap(struct dm_process *p, char *buf, size_t len)
{
    int status;

    if (p->reaped)
        return 0;
    if (waitpid(p->child.pid, &status, 0) < 0)
        return -errno;
    p->reaped = true;
    if (WIFSIGNALED(status))
        snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
    else
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
    return 0;
}

void dm_process_destroy(struct dm_process *p)
{
    char how[64];

    if (p->child.pid > 0 && !p->reaped) {
        kill(p->child.pid, SIGKILL);
        dm_process_reap(p, how, sizeof(how));
    }
    if (p->child.pid > 0)
        sandbox_child_dispose(&p->child);
    p->child.pid = 0;
    close_quietly(p->dmop_fd);
    close_quietly(p->console_fd);
    p->dmop_fd = p->console_fd = -1;
}
