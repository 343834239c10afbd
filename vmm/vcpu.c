/* vCPU threads: KVM_RUN and the exits that come back to user space. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lib/log.h"
#include "vmm/vmm.h"

#define SIG_KICK SIGUSR1

static void kick_handler(int sig)
{
    (void)sig; /* only there to make KVM_RUN return -EINTR */
}

void vmm_stop(struct vmm *vmm, int status)
{
    int expect = 0;
    uint64_t one = 1;

    if (!atomic_compare_exchange_strong(&vmm->stopping, &expect, 1))
        return;
    vmm->exit_status = status;
    if (write(vmm->stop_efd, &one, sizeof(one)) < 0)
        log_error("stop eventfd: %s", strerror(errno));
}

static void report_internal_error(struct vcpu *v)
{
    struct kvm_run *run = v->run;

    log_error("vCPU %u: KVM internal error, suberror %u", v->id, run->internal.suberror);
    for (unsigned i = 0; i < run->internal.ndata && i < 16; i++)
        log_error("  data[%u] = 0x%llx", i, (unsigned long long)run->internal.data[i]);
}

static void *vcpu_loop(void *arg)
{
    struct vcpu *v = arg;
    struct vmm *vmm = v->vmm;
    sigset_t kick;

    sigemptyset(&kick);
    sigaddset(&kick, SIG_KICK);
    pthread_sigmask(SIG_UNBLOCK, &kick, NULL);

    while (!atomic_load(&vmm->stopping)) {
        struct kvm_run *run = v->run;
        int r;

        if (atomic_load(&vmm->paused)) {
            vmm_pause_wait(v);
            continue;
        }
        r = ioctl(v->fd, KVM_RUN, 0);

        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            log_error("vCPU %u: KVM_RUN: %s", v->id, strerror(errno));
            vmm_stop(vmm, VMM_EXIT_GUEST_CRASH);
            break;
        }
        switch (run->exit_reason) {
        case KVM_EXIT_IO:
            if (iobus_pio(v) < 0)
                return NULL;
            break;
        case KVM_EXIT_MMIO:
            if (iobus_mmio(v) < 0)
                return NULL;
            break;
        case KVM_EXIT_HLT:
            log_error("vCPU %u halted with interrupts off; guest stopped", v->id);
            vmm_stop(vmm, VMM_EXIT_GUEST_CRASH);
            return NULL;
        case KVM_EXIT_SHUTDOWN:
            log_error("vCPU %u: guest shut down (triple fault); guest stopped", v->id);
            vmm_stop(vmm, VMM_EXIT_GUEST_CRASH);
            return NULL;
        case KVM_EXIT_SYSTEM_EVENT:
            log_error("vCPU %u: guest asked for a system event %u (reset/shutdown); guest stopped",
                      v->id, run->system_event.type);
            vmm_stop(vmm, VMM_EXIT_GUEST_CRASH);
            return NULL;
        case KVM_EXIT_INTERNAL_ERROR:
            report_internal_error(v);
            vmm_stop(vmm, VMM_EXIT_GUEST_CRASH);
            return NULL;
        case KVM_EXIT_FAIL_ENTRY:
            log_error("vCPU %u: VM entry failed, reason 0x%llx; guest stopped", v->id,
                      (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
            vmm_stop(vmm, VMM_EXIT_GUEST_CRASH);
            return NULL;
        case KVM_EXIT_INTR:
            break;
        default:
            log_error("vCPU %u: unexpected exit reason %u; guest stopped", v->id, run->exit_reason);
            vmm_stop(vmm, VMM_EXIT_GUEST_CRASH);
            return NULL;
        }
    }
    return NULL;
}

/* A thread that has ended holds still for good (vmm_vcpus_holding). */
static void *vcpu_thread(void *arg)
{
    struct vcpu *v = arg;

    atomic_store(&v->tid, gettid());
    vcpu_loop(arg);
    vmm_vcpu_gone(arg);
    return NULL;
}

int vmm_start_vcpus(struct vmm *vmm)
{
    struct sigaction sa = {.sa_handler = kick_handler};
    sigset_t kick, old;
    int rc = 0;

    sigemptyset(&sa.sa_mask);
    sigaction(SIG_KICK, &sa, NULL); /* no SA_RESTART: KVM_RUN must return */
    /* Threads start with the kick blocked and unblock it themselves, so the
     * main thread never takes it. */
    sigemptyset(&kick);
    sigaddset(&kick, SIG_KICK);
    pthread_sigmask(SIG_BLOCK, &kick, &old);
    for (unsigned i = 0; i < vmm->nr_vcpus; i++) {
        struct vcpu *v = &vmm->vcpus[i];
        int r = pthread_create(&v->thread, NULL, vcpu_thread, v);
        if (r != 0) {
            log_error("starting vCPU %u: %s", i, strerror(r));
            rc = -r;
            break;
        }
        v->started = true;
    }
    return rc;
}

void vmm_join_vcpus(struct vmm *vmm)
{
    uint64_t one = 1;

    for (unsigned i = 0; i < vmm->nr_vcpus; i++) {
        struct vcpu *v = &vmm->vcpus[i];
        if (!v->started)
            continue;
        /* immediate_exit first, then the signal: whether the thread is in
         * KVM_RUN or about to enter it, it comes back out. */
        v->run->immediate_exit = 1;
        pthread_kill(v->thread, SIG_KICK);
        if (v->efd >= 0 && write(v->efd, &one, sizeof(one)) < 0)
            log_debug("waking vCPU %u: %s", i, strerror(errno));
    }
    for (unsigned i = 0; i < vmm->nr_vcpus; i++) {
        struct vcpu *v = &vmm->vcpus[i];
        if (v->started)
            pthread_join(v->thread, NULL);
        v->started = false;
    }
}
