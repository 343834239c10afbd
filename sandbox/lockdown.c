/* sandbox_lockdown(): the device model's seccomp allow-list.
 *
 * The base every lockdown shares (filter.c), plus threads.  A few calls
 * that a device model could plausibly try and that a test must be able to
 * observe (sockets, ptrace, signals to others, fork) fail with EPERM, as
 * file lookups and executable mappings do in the base: a refusal either
 * way, but a visible one.  Everything else kills the process.  Every entry
 * is explained in docs/sandbox.md; keep the two in step. */
#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sandbox/filter.h"
#include "sandbox/internal.h"

/* Threads: made by pthread_create after the lockdown too. */
static const int thread_calls[] = {
    SCMP_SYS(set_robust_list),
    SCMP_SYS(rseq),
};

/* Refused with EPERM, whatever their arguments. */
static const int refused[] = {
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

static void build(struct sandbox_filter *f)
{
    sandbox_filter_base(f);
    sandbox_filter_allow_list(f, thread_calls, sizeof(thread_calls) / sizeof(thread_calls[0]));
    sandbox_filter_refuse_list(f, EPERM, refused, sizeof(refused) / sizeof(refused[0]));
    /* New threads, never new processes.  clone3 passes its flags in memory,
     * out of seccomp's reach: ENOSYS makes glibc fall back to clone. */
    sandbox_filter_rule(f, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                        SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
    sandbox_filter_rule(f, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                        SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
    sandbox_filter_rule(f, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
}

int sandbox_lockdown(void)
{
    struct sandbox_filter f;
    int rc;

    sandbox_filter_init(&f);
    build(&f);
    rc = sandbox_filter_load(&f);
    sandbox_filter_dispose(&f);
    return rc < 0 ? rc : 0;
}

int sandbox_lockdown_count(void)
{
    struct sandbox_filter f;
    int rc;

    sandbox_filter_init_count(&f);
    build(&f);
    rc = f.rc < 0 ? f.rc : (int)sandbox_filter_count(&f);
    sandbox_filter_dispose(&f);
    return rc;
}
