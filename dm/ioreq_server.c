/* The device model's ioreq server: takes requests from the shared page,
 * emulates them through the trap registry, answers.
 *
 * Ordering invariant: posted writes (the buffered ring) are always applied
 * before the synchronous slots of the same pass.  A vCPU that posted a write
 * and then issues a synchronous read (e.g. UART scratch write, then read)
 * published the ring entry before the slot, so draining the ring first means
 * the read sees the write. */
#include "dm/server.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/log.h"

int ioreq_server_connect(struct ioreq_server *s)
{
    struct dmop_req req = {.op = DMOP_GET_IOREQ_SERVER_INFO};
    struct dmop_reply rep;
    int fds[FDIO_MAX_FDS];
    size_t nfds = FDIO_MAX_FDS;
    void *map;
    int rc;

    s->notify_fd = -1;
    for (unsigned v = 0; v < IOREQ_MAX_VCPUS; v++)
        s->vcpu_fd[v] = -1;
    ioreq_server_host_init(s);
    rc = dmop_host_create_server(&s->host, true);
    if (rc < 0) {
        log_error("create_ioreq_server: %s", strerror(-rc));
        return rc;
    }
    req.u.server.id = s->host.server_id;
    rc = dmop_call(s->dmop_fd, &req, -1, &rep, fds, &nfds);
    if (rc < 0) {
        log_error("get_ioreq_server_info: %s", strerror(-rc));
        return rc;
    }
    if (rep.u.info.nr_vcpus == 0 || rep.u.info.nr_vcpus > IOREQ_MAX_VCPUS ||
        nfds != DMOP_INFO_FD_VCPU0 + rep.u.info.nr_vcpus ||
        rep.u.info.shm_size != IOREQ_SHM_SIZE(rep.u.info.nr_vcpus)) {
        log_error("get_ioreq_server_info: malformed reply");
        for (size_t i = 0; i < nfds; i++)
            close(fds[i]);
        return -EPROTO;
    }
    s->nr_vcpus = rep.u.info.nr_vcpus;
    s->shm_size = rep.u.info.shm_size;
    map = mmap(NULL, s->shm_size, PROT_READ | PROT_WRITE, MAP_SHARED, fds[DMOP_INFO_FD_SHM], 0);
    close(fds[DMOP_INFO_FD_SHM]);
    s->notify_fd = fds[DMOP_INFO_FD_NOTIFY];
    for (unsigned v = 0; v < s->nr_vcpus; v++)
        s->vcpu_fd[v] = fds[DMOP_INFO_FD_VCPU0 + v];
    if (map == MAP_FAILED) {
        rc = -errno;
        log_error("mapping the ioreq pages: %s", strerror(errno));
        return rc;
    }
    s->shm = map;
    s->page = map;
    s->buf = (struct ioreq_buf_page *)(s->shm + IOREQ_BUF_PAGE_OFFSET);
    s->buf_read = atomic_load_explicit(&s->buf->read_pointer, memory_order_acquire);
    return 0;
}

int ioreq_server_enable(struct ioreq_server *s)
{
    return dmop_host_enable_server(&s->host);
}

static bool size_ok(uint32_t size)
{
    return size == 1 || size == 2 || size == 4 || size == 8;
}

int ioreq_handle(struct dm *dm, struct ioreq *req, uint8_t *bounce)
{
    bool is_write = req->dir == IOREQ_WRITE;
    uint8_t data[8];

    if ((req->type != IOREQ_TYPE_PIO && req->type != IOREQ_TYPE_COPY &&
         req->type != IOREQ_TYPE_PCI_CONFIG) ||
        (req->dir != IOREQ_WRITE && req->dir != IOREQ_READ) || !size_ok(req->size) ||
        req->count == 0)
        goto bad;

    if (req->flags & IOREQ_F_DATA_IS_PTR) {
        uint64_t total = (uint64_t)req->count * req->size;
        if (total > IOREQ_PAGE_SIZE || req->data > IOREQ_PAGE_SIZE - total)
            goto bad;
        /* Elements are in access order already; the monitor did the df walk. */
        for (uint32_t i = 0; i < req->count; i++)
            dm_dispatch(dm, (enum dm_trap_type)req->type, req->addr,
                        bounce + req->data + (uint64_t)i * req->size, req->size, is_write);
        return 0;
    }
    if (req->count != 1)
        goto bad;
    memcpy(data, &req->data, sizeof(data));
    dm_dispatch(dm, (enum dm_trap_type)req->type, req->addr, data, req->size, is_write);
    if (!is_write) {
        uint64_t v = 0;
        memcpy(&v, data, req->size);
        req->data = v;
    }
    return 0;
bad:
    if (req->dir == IOREQ_READ)
        req->data = ~0ull;
    return -EINVAL;
}

static void notify(int fd)
{
    uint64_t one = 1;

    if (write(fd, &one, sizeof(one)) < 0)
        log_debug("eventfd write: %s", strerror(errno));
}

static int drain_ring(struct ioreq_server *s, struct dm *dm)
{
    uint32_t wp = atomic_load_explicit(&s->buf->write_pointer, memory_order_acquire);
    uint32_t n = wp - s->buf_read;

    if (n == 0)
        return 0;
    if (n > IOREQ_BUF_SLOTS) {
        log_error("buffered ring: write pointer %u is %u ahead of %u", wp, n, s->buf_read);
        return -EPROTO;
    }
    for (uint32_t i = 0; i < n; i++) {
        struct ioreq_buf_slot b = s->buf->slot[(s->buf_read + i) % IOREQ_BUF_SLOTS];
        struct ioreq req = {
            .addr = b.addr,
            .data = b.data,
            .count = 1,
            .size = b.size,
            .dir = IOREQ_WRITE,
            .type = b.type,
        };
        if (req.type == IOREQ_TYPE_PCI_CONFIG || req.size > 4)
            continue; /* posted writes are PIO or MMIO, at most 4 bytes */
        ioreq_handle(dm, &req, NULL);
    }
    s->buf_read = wp;
    atomic_store_explicit(&s->buf->read_pointer, s->fault == DM_FAULT_BAD_RING ? wp + 1000 : wp,
                          memory_order_release);
    return (int)n;
}

static void serve_slot(struct ioreq_server *s, struct dm *dm, unsigned v)
{
    struct ioreq *slot = &s->page->slot[v];
    uint8_t expect = STATE_IOREQ_READY;
    struct ioreq req;

    if (!atomic_compare_exchange_strong_explicit(&slot->state, &expect, STATE_IOREQ_INPROCESS,
                                                 memory_order_acq_rel, memory_order_relaxed))
        return;
    req.addr = slot->addr;
    req.data = slot->data;
    req.count = slot->count;
    req.size = slot->size;
    req.dir = slot->dir;
    req.type = slot->type;
    req.flags = slot->flags;
    if (s->fault == DM_FAULT_HANG)
        return; /* INPROCESS for ever */
    ioreq_handle(dm, &req, s->shm + IOREQ_BOUNCE_OFFSET(v));
    slot->data = req.data;

    switch (s->fault) {
    case DM_FAULT_BAD_STATE:
        atomic_store_explicit(&slot->state, 0x5a, memory_order_release);
        break;
    case DM_FAULT_BACKWARDS:
        atomic_store_explicit(&slot->state, STATE_IOREQ_READY, memory_order_release);
        break;
    default:
        atomic_store_explicit(&slot->state, STATE_IORESP_READY, memory_order_release);
        break;
    }
    /* Pairs with the vCPU's fence between setting vp_eport and re-reading
     * the state: either it sees our answer or we see it sleeping. */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&slot->vp_eport, memory_order_relaxed))
        notify(s->vcpu_fd[v]);
}

int ioreq_server_poll(struct ioreq_server *s, struct dm *dm)
{
    int served, rc;

    rc = drain_ring(s, dm);
    if (rc < 0)
        return rc;
    served = rc;
    for (unsigned v = 0; v < s->nr_vcpus; v++) {
        if (atomic_load_explicit(&s->page->slot[v].state, memory_order_acquire) ==
            STATE_IOREQ_READY) {
            /* A posted write may have landed after the drain but before this
             * slot was published: drain again so it is not overtaken. */
            rc = drain_ring(s, dm);
            if (rc < 0)
                return rc;
            serve_slot(s, dm, v);
            served += rc + 1;
        }
    }
    return served;
}

bool ioreq_server_pending(const struct ioreq_server *s)
{
    if (atomic_load_explicit(&s->buf->write_pointer, memory_order_acquire) != s->buf_read)
        return true;
    for (unsigned v = 0; v < s->nr_vcpus; v++)
        if (atomic_load_explicit(&s->page->slot[v].state, memory_order_relaxed) ==
            STATE_IOREQ_READY)
            return true;
    return false;
}
