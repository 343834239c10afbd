/* Pausing the vCPUs (toolstack pause/unpause, QMP stop/cont, a dead device
 * model).  One guest per stubvmm process, so one lock and condition.
 *
 * The invariant: a vCPU thread checks vmm->paused before every KVM_RUN.
 * vmm_pause_vcpus() sets it, then sets immediate_exit and kicks each thread,
 * so a thread that is inside KVM_RUN or about to enter it comes back out and
 * sees the flag.  The waiting thread clears immediate_exit only after the
 * pause has ended and re-checks the flag before the next KVM_RUN, so a pause
 * that begins meanwhile is never lost.
 *
 * A save needs more than a pause: after a port or MMIO exit the access is
 * only finished by the next KVM_RUN, so vmm_pause_sync() asks each paused
 * thread to make one with immediate_exit set (KVM completes the access and
 * returns at once), and waits for all of them. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <time.h>

#include "lib/log.h"

#include "vmm/vmm.h"

#define SIG_KICK SIGUSR1 /* vcpu.c's */

static pthread_mutex_t pause_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pause_cond = PTHREAD_COND_INITIALIZER;
static unsigned sync_gen; /* vmm_pause_sync() requests made */

void vmm_pause_vcpus(struct vmm *vmm)
{
    pthread_mutex_lock(&pause_lock);
    atomic_store(&vmm->paused, true);
    pthread_mutex_unlock(&pause_lock);
    for (unsigned i = 0; i < vmm->nr_vcpus; i++) {
        struct vcpu *v = &vmm->vcpus[i];
        if (!v->started)
            continue;
        v->run->immediate_exit = 1;
        pthread_kill(v->thread, SIG_KICK);
    }
}

void vmm_unpause_vcpus(struct vmm *vmm)
{
    pthread_mutex_lock(&pause_lock);
    atomic_store(&vmm->paused, false);
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

int vmm_pause_sync(struct vmm *vmm, unsigned timeout_ms)
{
    struct timespec deadline;
    unsigned gen;
    int rc = 0;

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
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

bool vmm_vcpus_holding(struct vmm *vmm)
{
    bool all = true;

    pthread_mutex_lock(&pause_lock);
    for (unsigned i = 0; i < vmm->nr_vcpus; i++)
        if (vmm->vcpus[i].started && !vmm->vcpus[i].holding)
            all = false;
    pthread_mutex_unlock(&pause_lock);
    return all;
}

void vmm_vcpu_gone(struct vcpu *v)
{
    pthread_mutex_lock(&pause_lock);
    v->holding = v->gone = true;
    pthread_cond_broadcast(&pause_cond);
    pthread_mutex_unlock(&pause_lock);
}

void vmm_pause_wait(struct vcpu *v)
{
    struct vmm *vmm = v->vmm;

    pthread_mutex_lock(&pause_lock);
    v->holding = true;
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
    if (!atomic_load(&vmm->stopping))
        v->run->immediate_exit = 0;
}
