/* The device model's host services as dm_op requests (lib/dmop.h): the one
 * encoder every placement uses.  What differs between placements is only
 * how a request travels, and that is the transport's business:
 *
 *   - process, stubdom (dm/host_dmop.c): over the dm_op socket, descriptors
 *     with SCM_RIGHTS;
 *   - inline (vmm/inline.c): a call to stubvmm's dmop_dispatch(), the very
 *     function that serves the socket, so a request is checked the same
 *     way wherever the device model runs.
 *
 * Console I/O is not a dm_op: the placement brings its own. */
#ifndef STUBVISOR_DM_DMOP_HOST_H
#define STUBVISOR_DM_DMOP_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dm/dm.h"
#include "lib/dmop.h"

struct dmop_host {
    /* Carry req to the monitor with the nfds descriptors of fds attached
     * (they stay the caller's: the transport passes copies) and fill *rep.
     * Returns the request's result (rep->rc: 0 or -errno), or -errno when
     * the channel itself failed. */
    int (*call)(void *transport, const struct dmop_req *req, const int *fds, size_t nfds,
                struct dmop_reply *rep);
    void *transport;
    uint16_t server_id; /* set by dmop_host_create_server() */
    /* Consoles (dm.h's console_write/console_read), the placement's own. */
    int (*console_write)(void *transport, unsigned idx, const void *buf, size_t len);
    ssize_t (*console_read)(void *transport, unsigned idx, void *buf, size_t len);
};

/* The host-ops table over a struct dmop_host (the dm's host_opaque).
 * out_of_process: the monitor is across a socket, so interrupts take the
 * short ways KVM offers (MSI routes for irqfds, level-triggered irqfds for
 * PCI INTx); inline each interrupt is a cheap call and those ops are
 * absent (dm_has_msi_routes() and dm_has_irqfd_resample() say false). */
const struct dm_host_ops *dmop_host_ops(bool out_of_process);

/* The ioreq server's life: create (with the buffered ring when
 * bufioreq; sets h->server_id) and enable (the monitor starts routing
 * I/O, and may start the vCPUs).  0 or -errno. */
int dmop_host_create_server(struct dmop_host *h, bool bufioreq);
int dmop_host_enable_server(struct dmop_host *h);

#endif
