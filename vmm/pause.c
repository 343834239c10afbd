/* Pausing the vCPUs (toolstack pause/unpause, QMP stop/cont, a dead device
 * model).  One guest per stubvmm process, so one lock and condition.
 *
 * The invariant: a vCPU thread checks vmm->paused before every KVM_RUN.
 * vmm_pause_vcpus() sets it, then sets immediate_exit and kicks each thread,
 * so a thread that is inside KVM_RUN or about to enter it comes back out and
 * sees the flag.  The waiting thread clears immediate_exit only after the
 * pause has ended and re-checks the flag before the next KVM_RUN, so a pause
 * that begins meanwhile is never lost. */
#include <pthread.h>
#include <signal.h>

#include "vmm/vmm.h"

#define SIG_KICK SIGUSR1 /* vcpu.c's */

static pthread_mutex_t pause_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pause_cond = PTHREAD_COND_INITIALIZER;

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

void vmm_pause_wait(struct vcpu *v)
{
    struct vmm *vmm = v->vmm;

    pthread_mutex_lock(&pause_lock);
    while (atomic_load(&vmm->paused) && !atomic_load(&vmm->stopping))
        pthread_cond_wait(&pause_cond, &pause_lock);
    pthread_mutex_unlock(&pause_lock);
    if (!atomic_load(&vmm->stopping))
        v->run->immediate_exit = 0;
}
