/* Building a seccomp allow-list with libseccomp and counting what it
 * allows.  Shared by the device model's lockdown (lockdown.c) and the
 * monitor's (vmm/lockdown.c), which start from the same base: what any
 * locked-down program here needs to use the descriptors and memory it
 * already has, wait, keep time, and end.
 *
 *     struct sandbox_filter f;
 *     sandbox_filter_init(&f);               // default: kill the process
 *     sandbox_filter_base(&f);
 *     sandbox_filter_allow(&f, SCMP_SYS(accept4));
 *     sandbox_filter_rule(&f, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
 *                         SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)pid));
 *     int n = sandbox_filter_load(&f);       // installed: n calls allowed
 *     sandbox_filter_dispose(&f);
 *
 * Errors are sticky: the first one is what load returns. */
#ifndef STUBVISOR_SANDBOX_FILTER_H
#define STUBVISOR_SANDBOX_FILTER_H

#include <seccomp.h>
#include <stddef.h>
#include <stdint.h>

#define SANDBOX_FILTER_MAX_ALLOWED 256

struct sandbox_filter {
    scmp_filter_ctx ctx;
    int rc;                                  /* the first error */
    int allowed[SANDBOX_FILTER_MAX_ALLOWED]; /* each system call with an allow rule, once */
    unsigned nr_allowed;
};

/* A filter whose default kills the process (SIGSYS), for every thread
 * (TSYNC), with no_new_privs.  Returns 0 or -errno (also kept in f->rc). */
int sandbox_filter_init(struct sandbox_filter *f);

/* The same without libseccomp: the rules added are only counted (cheap;
 * sandbox_filter_load() refuses it). */
int sandbox_filter_init_count(struct sandbox_filter *f);

/* Add a rule: action (SCMP_ACT_ALLOW, SCMP_ACT_ERRNO(e)) for system call
 * nr when all n argument comparisons (struct scmp_arg_cmp, SCMP_A0() ...)
 * hold; n may be 0. */
void sandbox_filter_rule(struct sandbox_filter *f, uint32_t action, int nr, unsigned n, ...);

/* Unconditional rules for a list of system calls. */
void sandbox_filter_allow(struct sandbox_filter *f, int nr);
void sandbox_filter_allow_list(struct sandbox_filter *f, const int *nrs, size_t n);
void sandbox_filter_refuse_list(struct sandbox_filter *f, int err, const int *nrs, size_t n);

/* The base every locked-down program here shares (docs/sandbox.md):
 * I/O on descriptors it has, waiting (poll, epoll, timerfds), memory that
 * is never executable, futexes, clocks, signals to itself, exit; file
 * lookups fail with EPERM, isatty() with ENOTTY. */
void sandbox_filter_base(struct sandbox_filter *f);

/* How many system calls the rules so far allow. */
unsigned sandbox_filter_count(const struct sandbox_filter *f);

/* Install it.  Returns the count, or -errno (nothing installed). */
int sandbox_filter_load(struct sandbox_filter *f);

void sandbox_filter_dispose(struct sandbox_filter *f);

#endif
