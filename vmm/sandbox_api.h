/* The sandbox API (sandbox/sandbox.h).  Until the sandbox library is part
 * of the tree, vmm/sandbox_stub.c stands in for it: SANDBOX_NONE only
 * (a plain fork + exec with the listed descriptors), no lockdown. */
#ifndef STUBVISOR_VMM_SANDBOX_API_H
#define STUBVISOR_VMM_SANDBOX_API_H

#if __has_include("sandbox/sandbox.h")
#include "sandbox/sandbox.h"
#else
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum sandbox_level { SANDBOX_NONE, SANDBOX_STUBDOM };

struct sandbox_spec {
    enum sandbox_level level;
    const char *name;
    int exe_fd;
    char *const *argv;
    const int *fds;
    size_t nfds;
    int log_fd;
    uint64_t memory_limit;
    uint64_t address_space_limit;
};

struct sandbox_child {
    pid_t pid;
    int pidfd;
    enum sandbox_level level;
};

int sandbox_spawn(const struct sandbox_spec *spec, struct sandbox_child *child);
void sandbox_child_dispose(struct sandbox_child *child);
int sandbox_lockdown(void);
#endif

#endif
