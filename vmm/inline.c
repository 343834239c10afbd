/* The inline placement: the device model runs inside stubvmm, on the vCPU
 * thread that exited, like QEMU's and kvmtool's devices.  Its host ops are
 * dm/dmop_host.c's, the same dm_op requests stubdm sends, with
 * dmop_dispatch() as the transport, so what a device may do is checked the
 * same way in every placement.  One
 * mutex serialises the device model between vCPUs and the serial input. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dm/dmop_host.h"
#include "dm/machine.h"
#include "dm/state.h"
#include "dm/uart.h"
#include "lib/fdio.h"
#include "lib/log.h"
#include "vmm/vmm.h"

struct vmm_inline {
    struct dmop_host host;
    struct dm *dm;
    struct dm_machine *machine;
    pthread_mutex_t lock;
};

/* The transport of dm/dmop_host.h: a call to the dispatcher that serves
 * the dm_op socket.  dmop_dispatch() consumes the descriptors it is given
 * while the device keeps its own, so it gets duplicates, as a socket would
 * carry. */
static int dispatch_call(void *transport, const struct dmop_req *req, const int *fds, size_t nfds,
                         struct dmop_reply *rep)
{
    int in[2] = {-1, -1}, out[FDIO_MAX_FDS];
    size_t nout = 0;

    if (nfds > 2)
        return -EINVAL;
    for (size_t i = 0; i < nfds; i++) {
        in[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 0);
        if (in[i] < 0) {
            int rc = -errno;
            close_quietly(in[0]);
            return rc;
        }
    }
    dmop_dispatch_fds(transport, req, in, nfds, rep, out, &nout);
    return rep->rc;
}

static int inline_console_write(void *transport, unsigned idx, const void *buf, size_t len)
{
    struct vmm *vmm = transport;

    if (idx != DM_COM1_CONSOLE)
        return -EBADF;
    return write_full(vmm->out_fd, buf, len) < 0 ? -errno : 0;
}

static ssize_t inline_console_read(void *transport, unsigned idx, void *buf, size_t len)
{
    struct vmm *vmm = transport;
    int fd = idx == DM_COM1_CONSOLE ? vmm->in_fd : -1;
    ssize_t r;

    if (fd < 0)
        return 0;
    /* Under the toolstack this is a socket whose other direction the vCPUs
     * write with blocking sends: read without blocking. */
    r = recv(fd, buf, len, MSG_DONTWAIT);
    if (r < 0 && errno == ENOTSOCK)
        r = read(fd, buf, len);
    if (r < 0)
        return errno == EAGAIN ? 0 : -errno;
    if (r == 0 && len > 0) /* the main loop stops polling it */
        atomic_store(&vmm->in_eof, true);
    return r;
}

/* The devices of the words stubvmm was given, the same words a device
 * model of its own reads, with the descriptors it opened.  The machine owns
 * the descriptors afterwards. */
static int build_machine(struct vmm *vmm, struct vmm_inline *in)
{
    struct dm_config cfg;
    struct dm_fd_list fds;
    struct dm_machine_params p = {.nr_vcpus = vmm->nr_vcpus, .fds = &fds.src};
    char err[512];
    int rc;

    if (!vmm->dm_words)
        dm_config_init(&cfg); /* the PC machine alone */
    else if ((rc = dm_config_parse(&cfg, (const char *const *)vmm->dm_words, vmm->nr_dm_words, err,
                                   sizeof(err))) < 0) {
        log_error("%s", err);
        return rc;
    }
    if (dm_config_nr_fds(&cfg) != vmm->nr_dev_fds) {
        log_error("dm-argv: the devices take %u descriptors, %u were opened",
                  dm_config_nr_fds(&cfg), vmm->nr_dev_fds);
        dm_config_dispose(&cfg);
        return -EINVAL;
    }
    dm_fd_list_init(&fds, vmm->dev_fds, vmm->nr_dev_fds);
    vmm->nr_dev_fds = 0; /* the machine's, whatever happens */
    in->machine = dm_machine_new(in->dm, &cfg, &p);
    dm_config_dispose(&cfg);
    if (!in->machine) {
        /* What it did not take is still ours to close. */
        for (unsigned i = fds.next; i < fds.nr; i++)
            close(fds.fds[i]);
        return -EINVAL;
    }
    dm_machine_log(in->machine);
    return 0;
}

int inline_dm_create(struct vmm *vmm)
{
    struct vmm_inline *in = calloc(1, sizeof(*in));
    int rc;

    if (!in)
        return -ENOMEM;
    pthread_mutex_init(&in->lock, NULL);
    vmm->inl = in;
    in->host = (struct dmop_host){
        .call = dispatch_call,
        .transport = vmm,
        .console_write = inline_console_write,
        .console_read = inline_console_read,
    };
    rc = dmop_host_create_server(&in->host, false);
    if (rc < 0)
        goto fail;
    in->dm = dm_new(dmop_host_ops(false), &in->host, vmm->ram, vmm->ram_size);
    if (!in->dm) {
        rc = -ENOMEM;
        goto fail;
    }
    /* Kicks stay on the vCPU thread (the trap); the devices' descriptors
     * (NIC back ends, the virtio console) are watched by the main loop. */
    if (dm_events_enable(in->dm) < 0) {
        rc = -errno;
        goto fail;
    }
    rc = build_machine(vmm, in);
    if (rc < 0)
        goto fail;
    rc = dmop_host_enable_server(&in->host);
    if (rc < 0)
        goto fail;
    return 0;
fail:
    log_error("inline device model: %s", strerror(-rc));
    return rc;
}

void inline_dm_destroy(struct vmm *vmm)
{
    struct vmm_inline *in = vmm->inl;

    if (!in)
        return;
    dm_machine_free(in->machine);
    dm_free(in->dm);
    pthread_mutex_destroy(&in->lock);
    free(in);
    vmm->inl = NULL;
}

void inline_dm_access(struct vmm *vmm, uint32_t type, uint64_t addr, uint8_t *data, uint32_t size,
                      bool is_write)
{
    struct vmm_inline *in = vmm->inl;

    pthread_mutex_lock(&in->lock);
    dm_dispatch(in->dm, (enum dm_trap_type)type, addr, data, size, is_write);
    pthread_mutex_unlock(&in->lock);
}

bool inline_dm_console_poll(struct vmm *vmm)
{
    struct vmm_inline *in = vmm->inl;
    bool full;

    pthread_mutex_lock(&in->lock);
    full = dm_console_poll_one(in->dm, DM_COM1_CONSOLE);
    pthread_mutex_unlock(&in->lock);
    return full;
}

int inline_dm_events_fd(struct vmm *vmm)
{
    struct vmm_inline *in = vmm->inl;

    return in ? dm_events_enable(in->dm) : -1;
}

void inline_dm_events_run(struct vmm *vmm)
{
    struct vmm_inline *in = vmm->inl;

    pthread_mutex_lock(&in->lock);
    dm_events_run(in->dm);
    pthread_mutex_unlock(&in->lock);
}

int inline_dm_timer_fd(struct vmm *vmm)
{
    return vmm->inl ? dm_timer_fd(vmm->inl->dm) : -1;
}

void inline_dm_timer_poll(struct vmm *vmm)
{
    struct vmm_inline *in = vmm->inl;

    pthread_mutex_lock(&in->lock);
    dm_timer_poll(in->dm);
    pthread_mutex_unlock(&in->lock);
}

int inline_dm_save(struct vmm *vmm, uint8_t **blob, size_t *len)
{
    struct vmm_inline *in = vmm->inl;
    int rc;

    if (!in)
        return -ENODEV;
    pthread_mutex_lock(&in->lock);
    rc = dm_state_quiesce(in->machine);
    if (!rc)
        rc = dm_state_save(in->machine, blob, len);
    pthread_mutex_unlock(&in->lock);
    return rc;
}

int inline_dm_load(struct vmm *vmm, const uint8_t *blob, size_t len)
{
    struct vmm_inline *in = vmm->inl;
    int rc;

    if (!in)
        return -ENODEV;
    pthread_mutex_lock(&in->lock);
    rc = dm_state_load(in->machine, blob, len);
    pthread_mutex_unlock(&in->lock);
    return rc;
}
