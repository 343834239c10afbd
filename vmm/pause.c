/* Pausing the vCPUs, by reference, as Xen counts a domain's pauses.
 *
 * Who may hold a pause (enum vmm_pause_holder): the toolstack (`stubctl
 * pause`, a save, a guest created paused), the device model (its own dm_op,
 * which is how it serves QMP `stop`) and the monitor itself (a device model
 * that died; the vCPUs' start while the monitor locks itself down).  Each
 * holder takes and drops only its own references, so the device model
 * cannot end the toolstack's pause, nor the toolstack a pause the device
 * model needs; the guest runs only while nobody holds one.  Worked example:
 *
 *   stubctl pause        toolstack 1              paused
 *   QMP stop             toolstack 1, dm 1        paused
 *   QMP cont             toolstack 1              paused (cont released only its own)
 *   dm_op unpause        toolstack 1              paused (-EALREADY: the DM holds none)
 *   stubctl unpause      -                        running
 *
 * The invariant: a vCPU thread checks vmm->paused (true while any reference
 * is held) before every KVM_RUN.  The first reference sets it, then sets
 * immediate_exit and kicks each thread, so a thread that is inside KVM_RUN
 * or about to enter it comes back out and sees the flag.  immediate_exit is
 * cleared only by the vCPU's own thread: after the pause has ended, or on
 * a KVM_RUN that came back with EINTR while no pause is held (a pause that
 * began and ended while the thread was busy elsewhere, e.g. waiting for the
 * device model); it then re-checks the flag before the next KVM_RUN (vcpu.c),
 * so a pause that begins meanwhile is never lost.
 *
 * A save needs more than a pause: after a port or MMIO exit the access is
 * only finished by the next KVM_RUN, so vmm_pause_sync() asks each paused
 * thread to make one with immediate_exit set (KVM completes the access and
 * returns at once), and waits for all of them. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"

#include "vmm/vmm.h"

static pthread_mutex_t pause_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pause_cond = PTHREAD_COND_INITIALIZER;
static unsigned sync_gen; /* vmm_pause_sync() requests made */

static const char *const holder_names[VMM_PAUSE_HOLDERS] = {
    [VMM_PAUSE_TOOLSTACK] = "toolstack",
    [VMM_PAUSE_DM] = "device-model",
    [VMM_PAUSE_MONITOR] = "monitor",
};

const char *vmm_pause_holder_name(enum vmm_pause_holder who)
{
    return (unsigned)who < VMM_PAUSE_HOLDERS ? holder_names[who] : "?";
}

static void kick_vcpus(struct vmm *vmm)
{
    for (unsigned i = 0; i < vmm->nr_vcpus; i++)
        if (vmm->vcpus[i].started)
            vmm_kick_vcpu(&vmm->vcpus[i]);
}

int vmm_pause_get(struct vmm *vmm, enum vmm_pause_holder who)
{
    bool first;

    if ((unsigned)who >= VMM_PAUSE_HOLDERS)
        return -EINVAL;
    pthread_mutex_lock(&pause_lock);
    if (vmm->pause_refs[who] == VMM_PAUSE_MAX_REFS) {
        pthread_mutex_unlock(&pause_lock);
        return -EOVERFLOW;
    }
    first = !atomic_load(&vmm->paused);
    vmm->pause_refs[who]++;
    atomic_store(&vmm->paused, true);
    pthread_mutex_unlock(&pause_lock);
    if (first)
        kick_vcpus(vmm);
    return 0;
}

int vmm_pause_put(struct vmm *vmm, enum vmm_pause_holder who)
{
    bool any = false;

    if ((unsigned)who >= VMM_PAUSE_HOLDERS)
        return -EINVAL;
    pthread_mutex_lock(&pause_lock);
    if (vmm->pause_refs[who] == 0) {
        pthread_mutex_unlock(&pause_lock);
        return -EALREADY;
    }
    vmm->pause_refs[who]--;
    for (unsigned i = 0; i < VMM_PAUSE_HOLDERS; i++)
        any = any || vmm->pause_refs[i] > 0;
    if (!any) {
        atomic_store(&vmm->paused, false);
        pthread_cond_broadcast(&pause_cond);
    }
    pthread_mutex_unlock(&pause_lock);
    return 0;
}

unsigned vmm_pause_refs(struct vmm *vmm, enum vmm_pause_holder who)
{
    unsigned n;

    if ((unsigned)who >= VMM_PAUSE_HOLDERS)
        return 0;
    pthread_mutex_lock(&pause_lock);
    n = vmm->pause_refs[who];
    pthread_mutex_unlock(&pause_lock);
    return n;
}

unsigned vmm_pause_holders(struct vmm *vmm)
{
    unsigned mask = 0;

    pthread_mutex_lock(&pause_lock);
    for (unsigned i = 0; i < VMM_PAUSE_HOLDERS; i++)
        if (vmm->pause_refs[i])
            mask |= 1u << i;
    pthread_mutex_unlock(&pause_lock);
    return mask;
}

void vmm_pause_describe(struct vmm *vmm, char *buf, size_t len)
{
    unsigned mask = vmm_pause_holders(vmm);
    size_t used = 0;

    if (len == 0)
        return;
    buf[0] = '\0';
    for (unsigned i = 0; i < VMM_PAUSE_HOLDERS; i++) {
        if (!(mask & (1u << i)))
            continue;
        int n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", holder_names[i]);
        if (n < 0 || (size_t)n >= len - used)
            break;
        used += (size_t)n;
    }
}

void vmm_pause_wake(struct vmm *vmm)
{
    (void)vmm;
    pthread_mutex_lock(&pause_lock);
    pthread_cond_broadcast(&pause_cond);
    pthread_mutex_unlock(&pause_lock);
}

/* Finish the access the vCPU last exited for.  A string instruction may
 * exit again for its next element: serve those too (a bounded number). */
static int complete_io(struct vcpu *v)
{
    v->run->immediate_exit = 1;
    for (unsigned i = 0; i < 4096; i++) {
        int r = ioctl(v->fd, KVM_RUN, 0);
        if (r < 0)
            return errno == EINTR || errno == EAGAIN ? 0 : -errno;
        if (v->run->exit_reason == KVM_EXIT_IO)
            r = iobus_pio(v);
        else if (v->run->exit_reason == KVM_EXIT_MMIO)
            r = iobus_mmio(v);
        else if (v->run->exit_reason == KVM_EXIT_INTR)
            return 0;
        else
            r = -EBUSY;
        if (r < 0) {
            log_error("vCPU %u: exit %u while finishing its I/O", v->id, v->run->exit_reason);
            return r;
        }
    }
    return -EBUSY;
}

/* timeout_ms from now, for pthread_cond_timedwait (CLOCK_REALTIME). */
static struct timespec deadline_in(unsigned timeout_ms)
{
    struct timespec t;

    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += timeout_ms / 1000;
    t.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

int vmm_pause_sync(struct vmm *vmm, unsigned timeout_ms)
{
    struct timespec deadline = deadline_in(timeout_ms);
    unsigned gen;
    int rc = 0;

    pthread_mutex_lock(&pause_lock);
    gen = ++sync_gen;
    pthread_cond_broadcast(&pause_cond);
    for (unsigned i = 0; i < vmm->nr_vcpus && !rc; i++) {
        struct vcpu *v = &vmm->vcpus[i];
        if (!v->started)
            continue;
        while (v->sync_seen != gen && !v->gone && !atomic_load(&vmm->stopping) && !rc) {
            int r = pthread_cond_timedwait(&pause_cond, &pause_lock, &deadline);
            if (r == ETIMEDOUT) {
                log_error("vCPU %u did not hold still within %u ms", i, timeout_ms);
                rc = -ETIMEDOUT;
            }
        }
        if (!rc && v->sync_seen != gen)
            rc = -ESHUTDOWN;
        if (!rc && v->sync_rc < 0)
            rc = v->sync_rc;
    }
    pthread_mutex_unlock(&pause_lock);
    return rc;
}

/* With pause_lock held. */
static bool all_holding(struct vmm *vmm)
{
    for (unsigned i = 0; i < vmm->nr_vcpus; i++)
        if (vmm->vcpus[i].started && !vmm->vcpus[i].holding)
            return false;
    return true;
}

/* A vCPU started holding still: tell the main loop when that makes all of
 * them (with pause_lock held). */
static void note_holding(struct vmm *vmm)
{
    uint64_t one = 1;

    if (vmm->hold_efd >= 0 && all_holding(vmm) && write(vmm->hold_efd, &one, sizeof(one)) < 0 &&
        errno != EAGAIN)
        log_debug("hold eventfd: %s", strerror(errno));
}

bool vmm_vcpus_holding(struct vmm *vmm)
{
    bool all;

    pthread_mutex_lock(&pause_lock);
    all = all_holding(vmm);
    pthread_mutex_unlock(&pause_lock);
    return all;
}

int vmm_vcpus_wait_holding(struct vmm *vmm, unsigned timeout_ms)
{
    struct timespec deadline = deadline_in(timeout_ms);
    int rc = 0;

    pthread_mutex_lock(&pause_lock);
    while (!all_holding(vmm) && rc == 0)
        if (pthread_cond_timedwait(&pause_cond, &pause_lock, &deadline) == ETIMEDOUT)
            rc = -ETIMEDOUT;
    pthread_mutex_unlock(&pause_lock);
    return rc;
}

void vmm_vcpu_gone(struct vcpu *v)
{
    pthread_mutex_lock(&pause_lock);
    v->holding = v->gone = true;
    note_holding(v->vmm);
    pthread_cond_broadcast(&pause_cond);
    pthread_mutex_unlock(&pause_lock);
}

void vmm_pause_wait(struct vcpu *v)
{
    struct vmm *vmm = v->vmm;

    pthread_mutex_lock(&pause_lock);
    v->holding = true;
    note_holding(vmm);
    pthread_cond_broadcast(&pause_cond); /* vmm_vcpus_wait_holding() */
    while (atomic_load(&vmm->paused) && !atomic_load(&vmm->stopping)) {
        if (v->sync_seen != sync_gen) {
            unsigned gen = sync_gen;
            pthread_mutex_unlock(&pause_lock);
            int rc = complete_io(v);
            pthread_mutex_lock(&pause_lock);
            v->sync_rc = rc;
            v->sync_seen = gen;
            pthread_cond_broadcast(&pause_cond);
            continue;
        }
        pthread_cond_wait(&pause_cond, &pause_lock);
    }
    v->holding = false;
    pthread_mutex_unlock(&pause_lock);
    if (!atomic_load(&vmm->stopping)) {
        /* Then the caller looks at the flags again: a pause that begins
         * now either is seen there or sets immediate_exit after this. */
        v->run->immediate_exit = 0;
        atomic_thread_fence(memory_order_seq_cst);
    }
}

_Static_assert(DMOP_PAUSED_BY_TOOLSTACK == 1u << VMM_PAUSE_TOOLSTACK &&
                   DMOP_PAUSED_BY_DM == 1u << VMM_PAUSE_DM &&
                   DMOP_PAUSED_BY_MONITOR == 1u << VMM_PAUSE_MONITOR,
               "dm_op pause holders are the monitor's");
