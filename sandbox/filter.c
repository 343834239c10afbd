/* The seccomp filter builder and the base every lockdown starts from
 * (filter.h).  Every entry is explained in docs/sandbox.md; keep the two in
 * step. */
#include "sandbox/filter.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sandbox/internal.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

int sandbox_filter_init(struct sandbox_filter *f)
{
    *f = (struct sandbox_filter){0};
    f->ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (!f->ctx)
        return f->rc = -ENOMEM;
    /* Every thread, not just the caller; and no_new_privs (the default). */
    f->rc = seccomp_attr_set(f->ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    if (!f->rc)
        f->rc = seccomp_attr_set(f->ctx, SCMP_FLTATR_CTL_NNP, 1);
    return f->rc;
}

static void note_allowed(struct sandbox_filter *f, int nr)
{
    for (unsigned i = 0; i < f->nr_allowed; i++)
        if (f->allowed[i] == nr)
            return;
    if (f->nr_allowed == SANDBOX_FILTER_MAX_ALLOWED) {
        f->rc = f->rc ?: -ENOSPC;
        return;
    }
    f->allowed[f->nr_allowed++] = nr;
}

int sandbox_filter_init_count(struct sandbox_filter *f)
{
    *f = (struct sandbox_filter){0};
    return 0;
}

void sandbox_filter_rule(struct sandbox_filter *f, uint32_t action, int nr, unsigned n, ...)
{
    struct scmp_arg_cmp cmp[6];
    va_list ap;
    int rc;

    if (f->rc)
        return;
    if (!f->ctx) { /* only counting */
        if (action == SCMP_ACT_ALLOW)
            note_allowed(f, nr);
        return;
    }
    if (n > COUNT(cmp)) {
        f->rc = -EINVAL;
        return;
    }
    va_start(ap, n);
    for (unsigned i = 0; i < n; i++)
        cmp[i] = va_arg(ap, struct scmp_arg_cmp);
    va_end(ap);
    rc = seccomp_rule_add_array(f->ctx, action, nr, n, cmp);
    if (rc < 0) {
        f->rc = rc;
        return;
    }
    if (action == SCMP_ACT_ALLOW)
        note_allowed(f, nr);
}

void sandbox_filter_allow(struct sandbox_filter *f, int nr)
{
    sandbox_filter_rule(f, SCMP_ACT_ALLOW, nr, 0);
}

void sandbox_filter_allow_list(struct sandbox_filter *f, const int *nrs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sandbox_filter_rule(f, SCMP_ACT_ALLOW, nrs[i], 0);
}

void sandbox_filter_refuse_list(struct sandbox_filter *f, int err, const int *nrs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sandbox_filter_rule(f, SCMP_ACT_ERRNO((uint32_t)err), nrs[i], 0);
}

/* Allowed whatever their arguments: they act on descriptors, memory or
 * threads the process already has. */
static const int base_allowed[] = {
    /* I/O on its descriptors */
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
    /* locks and time */
    SCMP_SYS(futex),
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
    /* signals to itself (abort, signal handlers), and ending */
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
#endif
};

/* File-system lookups: there is nothing to find, and libraries (the
 * sanitizers' report code) probe files and carry on. */
static const int base_lookups[] = {
    SCMP_SYS(open),       SCMP_SYS(openat),   SCMP_SYS(openat2),    SCMP_SYS(creat),
    SCMP_SYS(stat),       SCMP_SYS(lstat),    SCMP_SYS(access),     SCMP_SYS(faccessat),
    SCMP_SYS(faccessat2), SCMP_SYS(readlink), SCMP_SYS(readlinkat), SCMP_SYS(statx),
};

void sandbox_filter_base(struct sandbox_filter *f)
{
    const uint32_t eperm = SCMP_ACT_ERRNO(EPERM);

    sandbox_filter_allow_list(f, base_allowed, COUNT(base_allowed));
    sandbox_filter_refuse_list(f, EPERM, base_lookups, COUNT(base_lookups));

    /* Never executable memory.  Anonymous memory only private (counted by
     * RLIMIT_DATA); shared mappings only of descriptors it has. */
    sandbox_filter_rule(f, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 2,
                        SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0),
                        SCMP_A3(SCMP_CMP_MASKED_EQ, MAP_SHARED, 0));
    sandbox_filter_rule(f, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 2,
                        SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0),
                        SCMP_A3(SCMP_CMP_MASKED_EQ, MAP_SHARED | MAP_ANONYMOUS, MAP_SHARED));
    sandbox_filter_rule(f, eperm, SCMP_SYS(mmap), 1,
                        SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC));
    sandbox_filter_rule(
        f, eperm, SCMP_SYS(mmap), 2, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0),
        SCMP_A3(SCMP_CMP_MASKED_EQ, MAP_SHARED | MAP_ANONYMOUS, MAP_SHARED | MAP_ANONYMOUS));
    sandbox_filter_rule(f, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
                        SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    sandbox_filter_rule(f, eperm, SCMP_SYS(mprotect), 1,
                        SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC));
    sandbox_filter_rule(f, eperm, SCMP_SYS(pkey_mprotect), 0);

    /* fstat() on a descriptor (glibc: newfstatat(fd, "", st, AT_EMPTY_PATH));
     * path lookups are refused like open(). */
    sandbox_filter_rule(f, SCMP_ACT_ALLOW, SCMP_SYS(newfstatat), 1,
                        SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH));
    sandbox_filter_rule(f, eperm, SCMP_SYS(newfstatat), 1,
                        SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, 0));

    /* Descriptor flags only (O_NONBLOCK, FD_CLOEXEC). */
    sandbox_filter_rule(f, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1, SCMP_A1(SCMP_CMP_EQ, F_GETFD, 0));
    sandbox_filter_rule(f, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1, SCMP_A1(SCMP_CMP_EQ, F_SETFD, 0));
    sandbox_filter_rule(f, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1, SCMP_A1(SCMP_CMP_EQ, F_GETFL, 0));
    sandbox_filter_rule(f, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1, SCMP_A1(SCMP_CMP_EQ, F_SETFL, 0));

    /* isatty(): stdio asks it of character devices, the sanitizers of
     * stderr.  Not a terminal. */
    sandbox_filter_rule(f, SCMP_ACT_ERRNO(ENOTTY), SCMP_SYS(ioctl), 1,
                        SCMP_A1(SCMP_CMP_EQ, TCGETS, 0));

    /* Signals: only to its own threads (raise/abort use tgkill(getpid())). */
    sandbox_filter_rule(f, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
                        SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid(), 0));
    sandbox_filter_rule(f, eperm, SCMP_SYS(tgkill), 1,
                        SCMP_A0(SCMP_CMP_NE, (scmp_datum_t)getpid(), 0));
}

unsigned sandbox_filter_count(const struct sandbox_filter *f)
{
    return f->nr_allowed;
}

int sandbox_filter_load(struct sandbox_filter *f)
{
    if (!f->ctx)
        return -EINVAL;
    if (!f->rc)
        f->rc = seccomp_load(f->ctx);
    return f->rc < 0 ? f->rc : (int)f->nr_allowed;
}

void sandbox_filter_dispose(struct sandbox_filter *f)
{
    if (f->ctx)
        seccomp_release(f->ctx);
    f->ctx = NULL;
}
