/* The device model's own cgroup (internal to the sandbox library).
 *
 * Where: below a "stubvisor" group inside the spawning process's own cgroup
 * of each hierarchy (so that whatever contains the monitor still contains its
 * device models), or below $STUBVISOR_CGROUP_ROOT (a path inside the
 * hierarchy, "/" for its root).  Which: $STUBVISOR_CGROUP = auto (default),
 * v1, v2 or none; auto prefers a unified /sys/fs/cgroup, then the v1
 * controller mounts, then a hybrid /sys/fs/cgroup/unified, then none. */
#ifndef STUBVISOR_SANDBOX_CGROUP_H
#define STUBVISOR_SANDBOX_CGROUP_H

#include <stdint.h>
#include <sys/types.h>

#include "sandbox/sandbox.h"

/* Create the child's cgroup directories and set their limits; fills
 * child->cgroup_mode and child->cgroup_path.  Without a usable hierarchy
 * (auto mode only) returns 0 with SANDBOX_CGROUP_NONE.  On error returns
 * -errno with nothing created; *step says what failed. */
int sandbox_cgroup_create(struct sandbox_child *child, const char *name, uint64_t memory_limit,
                          unsigned max_tasks, const char **step);

/* Move process pid into the child's cgroup(s).  Returns 0 or -errno. */
int sandbox_cgroup_attach(const struct sandbox_child *child, pid_t pid);

/* CPU time of everything in the cgroup, in microseconds: open the file it
 * comes from (a descriptor for the caller to close), then read it, again
 * and again.  Both -ENOENT when the child has no cgroup with CPU
 * accounting. */
int sandbox_cgroup_cpu_open(const struct sandbox_child *child);
int sandbox_cgroup_cpu_read(const struct sandbox_child *child, int fd, uint64_t *usec);

/* Remove the child's cgroup directories (they must hold no process) and
 * clear the paths.  Idempotent. */
void sandbox_cgroup_remove(struct sandbox_child *child);

#endif
