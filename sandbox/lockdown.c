/* sandbox_lockdown(): the device model's seccomp allow-list.
 *
 * Default action: kill the whole process (SIGSYS).  A few calls that a
 * device model could plausibly try and that a test must be able to observe
 * (file opens and path lookups, sockets, ptrace, signals to others, fork,
 * executable mappings) fail with EPERM instead: a refusal either way, but a
 * visible one.  Every entry is explained in docs/sandbox.md; keep the two in
 * step. */
#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sandbox/internal.h"

/* Allowed whatever their arguments: they act on descriptors, memory or
 * threads the process already has. */
static const int allowed[] = {
    /* I/O on its descriptors (memory, eventfds, sockets, disk images) */
    SCMP_SYS(read),
    SCMP_SYS(write),
    SCMP_SYS(readv),
    SCMP_SYS(writev),
    SCMP_SYS(pread64),
    SCMP_SYS(pwrite64),
    SCMP_SYS(preadv),
    SCMP_SYS(pwritev),
    SCMP_SYS(preadv2),
    SCMP_SYS(pwritev2),
    SCMP_SYS(recvmsg),
    SCMP_SYS(sendmsg),
    SCMP_SYS(recvfrom),
    SCMP_SYS(sendto),
    SCMP_SYS(lseek),
    SCMP_SYS(fsync),
    SCMP_SYS(fdatasync),
    SCMP_SYS(fallocate),
    SCMP_SYS(fstat),
    SCMP_SYS(close),
    /* waiting */
    SCMP_SYS(epoll_wait),
    SCMP_SYS(epoll_pwait),
    SCMP_SYS(epoll_ctl),
    SCMP_SYS(poll),
    SCMP_SYS(ppoll),
    SCMP_SYS(timerfd_settime),
    SCMP_SYS(timerfd_gettime),
    /* memory (mmap and mprotect are filtered below) */
    SCMP_SYS(munmap),
    SCMP_SYS(mremap),
    SCMP_SYS(madvise),
    SCMP_SYS(brk),
    /* threads and time */
    SCMP_SYS(futex),
    SCMP_SYS(set_robust_list),
    SCMP_SYS(rseq),
    SCMP_SYS(sched_yield),
    SCMP_SYS(clock_gettime),
    SCMP_SYS(clock_getres),
    SCMP_SYS(clock_nanosleep),
    SCMP_SYS(nanosleep),
    SCMP_SYS(gettimeofday),
    SCMP_SYS(getpid),
    SCMP_SYS(gettid),
    SCMP_SYS(getrandom),
    /* its own CPU mask: ASan at thread start, and glibc's sysconf(
     * _SC_NPROCESSORS_*) once /sys and /proc cannot be opened */
    SCMP_SYS(sched_getaffinity),
    /* signals to itself (abort), and ending */
    SCMP_SYS(rt_sigreturn),
    SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(rt_sigaction),
    SCMP_SYS(restart_syscall),
    SCMP_SYS(exit),
    SCMP_SYS(exit_group),
#if SANDBOX_ASAN
    /* AddressSanitizer's run time: an alternate signal stack per thread for
     * its SEGV handler. */
    SCMP_SYS(sigaltstack),
    SCMP_SYS(sched_getaffinity),
#endif
};

/* Refused with EPERM, whatever their arguments. */
static const int refused[] = {
    SCMP_SYS(open),
    SCMP_SYS(openat),
    SCMP_SYS(openat2),
    SCMP_SYS(creat),
    SCMP_SYS(stat),
    SCMP_SYS(lstat),
    SCMP_SYS(access),
    SCMP_SYS(faccessat),
    SCMP_SYS(faccessat2),
    SCMP_SYS(readlink),
    SCMP_SYS(readlinkat),
    SCMP_SYS(statx),
    SCMP_SYS(socket),
    SCMP_SYS(socketpair),
    SCMP_SYS(connect),
    SCMP_SYS(bind),
    SCMP_SYS(ptrace),
    SCMP_SYS(kill),
    SCMP_SYS(tkill),
    SCMP_SYS(process_vm_readv),
    SCMP_SYS(process_vm_writev),
    SCMP_SYS(fork),
    SCMP_SYS(vfork),
};

#if SANDBOX_ASAN
/* Sanitizer defaults for every program that locks itself down.  In the
 * sandbox the sanitizers cannot read their *_OPTIONS variables (they read
 * them from /proc/self/environ, and there is no /proc), so these defaults are
 * what applies there.  LeakSanitizer must be off: it stops the world with
 * ptrace from a helper, which seccomp forbids (the process would be killed
 * at exit).  No abort_on_error: the device model is PID 1 of its namespace,
 * which ignores its own SIGABRT, so it would die of a second fault instead;
 * after a report it exits with status 1.  Options from the environment,
 * where readable, still override. */
const char *__asan_default_options(void);
const char *__ubsan_default_options(void);
__attribute__((used, visibility("default"))) const char *__asan_default_options(void)
{
    return "detect_leaks=0";
}
__attribute__((used, visibility("default"))) const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1";
}
#endif

#define ADD(action, nr, ...)                                                                       \
    do {                                                                                           \
        rc = seccomp_rule_add(ctx, action, nr, __VA_ARGS__);                                       \
        if (rc < 0)                                                                                \
            goto out;                                                                              \
    } while (0)

int sandbox_lockdown(void)
{
    const uint32_t eperm = SCMP_ACT_ERRNO(EPERM);
    scmp_filter_ctx ctx;
    int rc = 0;

    ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (!ctx)
        return -ENOMEM;
    /* Every thread, not just the caller; and no_new_privs (the default). */
    rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    if (rc < 0)
        goto out;
    rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
    if (rc < 0)
        goto out;

    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        ADD(SCMP_ACT_ALLOW, allowed[i], 0);
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        ADD(eperm, refused[i], 0);

    /* Never executable memory.  Anonymous memory only private (counted by
     * RLIMIT_DATA); shared mappings only of descriptors it was handed. */
    ADD(SCMP_ACT_ALLOW, SCMP_SYS(mmap), 2, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0),
        SCMP_A3(SCMP_CMP_MASKED_EQ, MAP_SHARED, 0));
    ADD(SCMP_ACT_ALLOW, SCMP_SYS(mmap), 2, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0),
        SCMP_A3(SCMP_CMP_MASKED_EQ, MAP_SHARED | MAP_ANONYMOUS, MAP_SHARED));
    ADD(eperm, SCMP_SYS(mmap), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC));
    ADD(eperm, SCMP_SYS(mmap), 2, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0),
        SCMP_A3(SCMP_CMP_MASKED_EQ, MAP_SHARED | MAP_ANONYMOUS, MAP_SHARED | MAP_ANONYMOUS));
    ADD(SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    ADD(eperm, SCMP_SYS(mprotect), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC));
    ADD(eperm, SCMP_SYS(pkey_mprotect), 0);

    /* fstat() on a descriptor (glibc: newfstatat(fd, "", st, AT_EMPTY_PATH));
     * path lookups are refused like open(). */
    ADD(SCMP_ACT_ALLOW, SCMP_SYS(newfstatat), 1,
        SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH));
    ADD(eperm, SCMP_SYS(newfstatat), 1, SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, 0));

    /* Descriptor flags only (O_NONBLOCK, FD_CLOEXEC). */
    ADD(SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1, SCMP_A1(SCMP_CMP_EQ, F_GETFD, 0));
    ADD(SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1, SCMP_A1(SCMP_CMP_EQ, F_SETFD, 0));
    ADD(SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1, SCMP_A1(SCMP_CMP_EQ, F_GETFL, 0));
    ADD(SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1, SCMP_A1(SCMP_CMP_EQ, F_SETFL, 0));

    /* isatty(): stdio asks it of character devices (stdout is /dev/null),
     * the sanitizers of stderr.  Not a terminal; every other ioctl kills. */
    ADD(SCMP_ACT_ERRNO(ENOTTY), SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_EQ, TCGETS, 0));

    /* Signals: only to its own threads (raise/abort use tgkill(getpid())). */
    ADD(SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid(), 0));
    ADD(eperm, SCMP_SYS(tgkill), 1, SCMP_A0(SCMP_CMP_NE, (scmp_datum_t)getpid(), 0));

    /* New threads, never new processes.  clone3 passes its flags in memory,
     * out of seccomp's reach: ENOSYS makes glibc fall back to clone. */
    ADD(SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
        SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
    ADD(eperm, SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
    ADD(SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);

    rc = seccomp_load(ctx);
out:
    seccomp_release(ctx);
    return rc < 0 ? rc : 0;
}
