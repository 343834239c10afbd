/* The monitor's side of the shared ioreq page (lib/ioreq.h).
 *
 * Sleeping without losing a wake-up, in both directions: the waiter sets
 * its flag (vp_eport for a vCPU, dm_sleeping for the DM), issues a full
 * fence, re-checks the state and only then blocks on its eventfd; the other
 * side publishes its state change, issues a full fence and signals if it
 * sees the flag.  One of the two always sees the other.
 *
 * The device model is not trusted: we only ever read the state byte and,
 * for reads, the data (or the bounce page, whose size we know).  Every
 * other field keeps the value we wrote, as far as we are concerned. */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/log.h"
#include "lib/spin.h"
#include "vmm/vmm.h"

static struct ioreq_page *page(struct vmm *vmm)
{
    return (struct ioreq_page *)vmm->shm;
}

static struct ioreq_buf_page *buf_page(struct vmm *vmm)
{
    return (struct ioreq_buf_page *)(vmm->shm + IOREQ_BUF_PAGE_OFFSET);
}

uint8_t *ioreq_bounce(struct vmm *vmm, unsigned vcpu)
{
    return vmm->shm + IOREQ_BOUNCE_OFFSET(vcpu);
}

int ioreq_shm_create(struct vmm *vmm)
{
    size_t size = IOREQ_SHM_SIZE(vmm->nr_vcpus);
    void *p;

    vmm->shm_fd = memfd_create("stubvmm-ioreq", MFD_CLOEXEC);
    if (vmm->shm_fd < 0 || ftruncate(vmm->shm_fd, (off_t)size) < 0)
        goto fail;
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vmm->shm_fd, 0);
    if (p == MAP_FAILED)
        goto fail;
    vmm->shm = p;
    vmm->buf_write = 0;
    vmm->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (vmm->notify_fd < 0)
        goto fail;
    for (unsigned i = 0; i < vmm->nr_vcpus; i++) {
        spin_budget_init(&vmm->vcpus[i].spin, (uint64_t)vmm->spin_us * 1000);
        vmm->vcpus[i].efd = eventfd(0, EFD_CLOEXEC);
        if (vmm->vcpus[i].efd < 0)
            goto fail;
    }
    return 0;
fail:
    log_error("creating the ioreq pages: %s", strerror(errno));
    ioreq_shm_destroy(vmm);
    return -ENOMEM;
}

void ioreq_shm_destroy(struct vmm *vmm)
{
    if (vmm->shm)
        munmap(vmm->shm, IOREQ_SHM_SIZE(vmm->nr_vcpus));
    vmm->shm = NULL;
    close_quietly(vmm->shm_fd);
    close_quietly(vmm->notify_fd);
    vmm->shm_fd = vmm->notify_fd = -1;
    for (unsigned i = 0; i < VMM_MAX_VCPUS; i++) {
        close_quietly(vmm->vcpus[i].efd);
        vmm->vcpus[i].efd = -1;
    }
}

static void notify_dm(struct vmm *vmm)
{
    uint64_t one = 1;

    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&page(vmm)->dm_sleeping, memory_order_relaxed) &&
        write(vmm->notify_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        log_debug("notify eventfd: %s", strerror(errno));
}

static int protocol_violation(struct vcpu *v, const char *what, unsigned state)
{
    log_error("device model broke the ioreq protocol (vCPU %u: %s, state %u); guest stopped", v->id,
              what, state);
    vmm_stop(v->vmm, VMM_EXIT_DM_FAILED);
    return -EPROTO;
}

int ioreq_send(struct vcpu *v, struct ioreq *req)
{
    struct vmm *vmm = v->vmm;
    struct ioreq *slot = &page(vmm)->slot[v->id];
    uint64_t start, spin_until;
    bool taken = false;
    uint8_t state;

    state = atomic_load_explicit(&slot->state, memory_order_acquire);
    if (state != STATE_IOREQ_NONE)
        return protocol_violation(v, "slot not free", state);
    slot->addr = req->addr;
    slot->data = req->data;
    slot->count = req->count;
    slot->size = req->size;
    slot->dir = req->dir;
    slot->type = req->type;
    slot->flags = req->flags;
    atomic_store_explicit(&slot->vp_eport, 0, memory_order_relaxed);
    atomic_store_explicit(&slot->state, STATE_IOREQ_READY, memory_order_release);
    notify_dm(vmm);

    start = spin_now_ns();
    spin_until = start + v->spin.cur_ns;
    for (unsigned iter = 0;; iter++) {
        state = atomic_load_explicit(&slot->state, memory_order_acquire);
        if (state == STATE_IORESP_READY)
            break;
        if (state == STATE_IOREQ_INPROCESS)
            taken = true;
        else if (state != STATE_IOREQ_READY)
            return protocol_violation(v, "impossible state", state);
        else if (taken)
            return protocol_violation(v, "state moved backwards", state);
        if (atomic_load(&vmm->stopping) || atomic_load(&vmm->dm_dead))
            return -ESHUTDOWN;
        if ((iter & 31) != 0 || spin_now_ns() < spin_until) {
            __builtin_ia32_pause();
            continue;
        }
        /* Sleep: flag, fence, re-check, block (see the top of this file). */
        atomic_store_explicit(&slot->vp_eport, 1, memory_order_relaxed);
        atomic_thread_fence(memory_order_seq_cst);
        state = atomic_load_explicit(&slot->state, memory_order_acquire);
        if (state == STATE_IOREQ_READY || state == STATE_IOREQ_INPROCESS) {
            uint64_t count;
            if (read(v->efd, &count, sizeof(count)) < 0 && errno != EINTR)
                return protocol_violation(v, "eventfd failed", state);
        }
        atomic_store_explicit(&slot->vp_eport, 0, memory_order_relaxed);
    }
    spin_budget_update(&v->spin, spin_now_ns() - start);
    req->data = slot->data;
    if (req->size < 8)
        req->data &= (1ull << (req->size * 8)) - 1;
    atomic_store_explicit(&slot->state, STATE_IOREQ_NONE, memory_order_release);
    return 0;
}

int ioreq_post(struct vmm *vmm, uint8_t type, uint64_t addr, uint32_t size, uint32_t data)
{
    struct ioreq_buf_page *b = buf_page(vmm);
    struct ioreq_buf_slot *s;
    uint32_t rp;

    if (!vmm->server.bufioreq)
        return -ENOSPC;
    pthread_mutex_lock(&vmm->buf_lock);
    rp = atomic_load_explicit(&b->read_pointer, memory_order_acquire);
    /* A read pointer beyond ours is the DM's bug: treat the ring as full, the
     * synchronous path still works. */
    if (vmm->buf_write - rp >= IOREQ_BUF_SLOTS) {
        pthread_mutex_unlock(&vmm->buf_lock);
        return -ENOSPC;
    }
    s = &b->slot[vmm->buf_write % IOREQ_BUF_SLOTS];
    s->addr = addr;
    s->data = data;
    s->type = type;
    s->size = (uint8_t)size;
    s->pad = 0;
    vmm->buf_write++;
    atomic_store_explicit(&b->write_pointer, vmm->buf_write, memory_order_release);
    /* Posted writes wake a sleeping device model lazily: at the vCPU's next
     * synchronous request (the DM drains the ring first), when the ring is
     * half full, or at the main loop's next tick (ioreq_flush_posted). */
    bool half_full = vmm->buf_write - rp >= IOREQ_BUF_SLOTS / 2;
    pthread_mutex_unlock(&vmm->buf_lock);
    if (half_full)
        notify_dm(vmm);
    return 0;
}

void ioreq_flush_posted(struct vmm *vmm)
{
    struct ioreq_buf_page *b;

    if (!vmm->shm || !vmm->server.bufioreq)
        return;
    b = buf_page(vmm);
    if (atomic_load_explicit(&b->write_pointer, memory_order_acquire) !=
        atomic_load_explicit(&b->read_pointer, memory_order_acquire))
        notify_dm(vmm);
}
