/* The monitor's seccomp allow-list (monitor.h: monitor_lockdown()).
 *
 * Installed once the device model is ready, with the vCPU threads made
 * and held, before the guest's first instruction (monitor_dm.c), on every
 * thread (TSYNC) with no_new_privs.  From then on the monitor is what a
 * compromised device model talks to, so it keeps only what running the
 * guest takes: the base of every lockdown here (sandbox/filter.c: I/O on
 * the descriptors it has, poll, memory never executable, futexes, clocks,
 * signals to itself, exit), plus
 *
 *   - the KVM ioctls of a running guest: KVM_RUN, the dm_ops' interrupt
 *     and eventfd registrations, and the reads a save makes (its state is
 *     read from KVM, never written: restore happens before the lockdown);
 *   - accepting clients on the sockets it listens on;
 *   - ftruncate of the device model's state file (save), F_DUPFD_CLOEXEC
 *     (the inline device model's eventfds);
 *   - kill(SIGKILL) and wait4 of its own device model, by pid.
 *
 * No open, no socket, no exec, no clone, no path-based changes: the
 * toolstack removes the run directory's files, and the device model's
 * empty cgroup is swept by whoever outlives the monitor
 * (sandbox_cgroup_sweep()).  Everything else kills the process.  Each entry
 * is justified in docs/sandbox.md; keep the two in step. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>

#include "sandbox/filter.h"
#include "vmm/monitor.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The ioctl requests a running guest needs, on the KVM, VM and vCPU
 * descriptors (the kernel takes the request as 32 bits: compared so). */
static const unsigned long kvm_requests[] = {
    /* vCPU threads */
    KVM_RUN,
    /* dm_ops: interrupts, ioeventfds, irqfds, MSI routes */
    KVM_IRQ_LINE,
    KVM_SIGNAL_MSI,
    KVM_IOEVENTFD,
    KVM_IRQFD,
    KVM_SET_GSI_ROUTING,
    /* save: the VM's and every vCPU's state */
    KVM_CHECK_EXTENSION,
    KVM_GET_MSR_INDEX_LIST,
    KVM_GET_IRQCHIP,
    KVM_GET_PIT2,
    KVM_GET_CLOCK,
    KVM_GET_REGS,
    KVM_GET_SREGS,
    KVM_GET_FPU,
    KVM_GET_XSAVE,
#ifdef KVM_GET_XSAVE2
    KVM_GET_XSAVE2,
#endif
    KVM_GET_XCRS,
    KVM_GET_MSRS,
    KVM_GET_LAPIC,
    KVM_GET_VCPU_EVENTS,
    KVM_GET_MP_STATE,
    KVM_GET_DEBUGREGS,
};

static const int monitor_allowed[] = {
    SCMP_SYS(accept4),   /* clients of the console, control and QMP sockets */
    SCMP_SYS(ftruncate), /* the device model's state file, emptied after a save */
};

int monitor_lockdown(struct monitor *m)
{
    struct sandbox_filter f;
    int rc;

    sandbox_filter_init(&f);
    sandbox_filter_base(&f);
    sandbox_filter_allow_list(&f, monitor_allowed, COUNT(monitor_allowed));
    for (size_t i = 0; i < COUNT(kvm_requests); i++)
        sandbox_filter_rule(
            &f, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
            SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, kvm_requests[i] & 0xffffffffu));
    sandbox_filter_rule(&f, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
                        SCMP_A1(SCMP_CMP_EQ, F_DUPFD_CLOEXEC, 0));
    if (m->dm.child.pid > 0) {
        /* Its own device model only: killed when it misbehaves, reaped. */
        sandbox_filter_rule(&f, SCMP_ACT_ALLOW, SCMP_SYS(kill), 2,
                            SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)m->dm.child.pid, 0),
                            SCMP_A1(SCMP_CMP_EQ, SIGKILL, 0));
        sandbox_filter_rule(&f, SCMP_ACT_ALLOW, SCMP_SYS(wait4), 1,
                            SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)m->dm.child.pid, 0));
    }
    /* Reported next to the monitor's own. */
    if (m->opt.g.placement == PLACEMENT_STUBDOM) {
        rc = sandbox_lockdown_count();
        m->dm_seccomp_syscalls = rc > 0 ? (unsigned)rc : 0;
    }
    rc = sandbox_filter_load(&f);
    sandbox_filter_dispose(&f);
    return rc;
}
