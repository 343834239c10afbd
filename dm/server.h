/* The device model's side of the ioreq path (lib/ioreq.h) and of the dm_op
 * channel (lib/dmop.h), for the process and stubdom placements. */
#ifndef STUBVISOR_DM_SERVER_H
#define STUBVISOR_DM_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dm/dm.h"
#include "dm/dmop_host.h"
#include "lib/dmop.h"
#include "lib/ioreq.h"

/* Test-only protocol violations (stubdm --fault=NAME in test builds). */
enum dm_fault {
    DM_FAULT_NONE,
    DM_FAULT_BAD_STATE, /* answer with a state that does not exist */
    DM_FAULT_BACKWARDS, /* move a slot back from INPROCESS to READY */
    DM_FAULT_BAD_DMOPS, /* send out-of-range dm_ops; each must be refused */
    DM_FAULT_BAD_RING,  /* move the ring's read pointer past the write pointer */
    DM_FAULT_HANG,      /* take a request and never answer it */
};

struct ioreq_server {
    int dmop_fd;
    struct dmop_host host; /* the host services over dmop_fd (the dm's host_opaque) */
    uint8_t *shm;          /* IOREQ_SHM_SIZE(nr_vcpus) bytes, shared with stubvmm */
    size_t shm_size;
    struct ioreq_page *page;
    struct ioreq_buf_page *buf;
    unsigned nr_vcpus;
    int notify_fd;                /* stubvmm -> us */
    int vcpu_fd[IOREQ_MAX_VCPUS]; /* us -> vCPU v */
    uint32_t buf_read;            /* our own copy of the ring's read pointer */
    enum dm_fault fault;
};

/* One dm_op round trip on fd: send req (with attach_fd unless it is -1),
 * wait for the reply.  Descriptors in the reply land in fds (room for *nfds;
 * *nfds = how many came; they belong to the caller).  fds may be NULL when
 * none are expected.  Returns the reply's rc (0 or -errno), or -errno if
 * the channel failed (-EPIPE at end of file, -EPROTO for a malformed
 * reply).  rep may be NULL. */
int dmop_call(int fd, const struct dmop_req *req, int attach_fd, struct dmop_reply *rep, int *fds,
              size_t *nfds);
/* The same with n descriptors attached (attach may be NULL when n is 0). */
int dmop_call_fds(int fd, const struct dmop_req *req, const int *attach, size_t n,
                  struct dmop_reply *rep, int *fds, size_t *nfds);

/* Set s->host up to send its requests over s->dmop_fd; the device model's
 * host ops are then dmop_host_ops(true) with &s->host. */
void ioreq_server_host_init(struct ioreq_server *s);

/* Create the ioreq server (with the buffered ring), fetch and map its
 * shared pages and eventfds.  s->dmop_fd must be set; everything else,
 * s->host included, is filled in.  Returns 0 or a negative errno
 * (logged). */
int ioreq_server_connect(struct ioreq_server *s);

/* Tell stubvmm to start routing I/O to us (after the devices mapped their
 * ranges).  Returns 0 or a negative errno. */
int ioreq_server_enable(struct ioreq_server *s);

/* Emulate one request on a private copy: validate it (type, size 1/2/4/8,
 * count, bounce-page bounds), dispatch each element, and leave the reply in
 * req->data (reads) or in bounce (string reads).  bounce is the vCPU's
 * IOREQ_PAGE_SIZE bounce page.  A malformed request is answered all-ones
 * and gets -EINVAL; it never touches memory outside bounce. */
int ioreq_handle(struct dm *dm, struct ioreq *req, uint8_t *bounce);

/* One pass over the shared page: drain the buffered ring, then serve each
 * READY slot (so posted writes are seen before any later synchronous
 * access).  Returns the number of requests served, or -EPROTO if stubvmm's
 * ring pointers are impossible. */
int ioreq_server_poll(struct ioreq_server *s, struct dm *dm);

/* Whether a request or a posted write is waiting (cheap, for spinning). */
bool ioreq_server_pending(const struct ioreq_server *s);

#endif
