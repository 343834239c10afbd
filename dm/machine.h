/* A guest's device set, built from its description (dm/argv.h) with the
 * device table (dm/device.h): what a placement calls.
 *
 *   struct dm_machine_params p = {.nr_vcpus = n, .kick_eventfds = true, .fds = &list.src};
 *   struct dm_machine *m = dm_machine_new(dm, &cfg, &p);
 *   ... dm_state_save(m, ...), dm_state_load(m, ...) (dm/state.h) ...
 *   dm_machine_free(m);
 */
#ifndef STUBVISOR_DM_MACHINE_H
#define STUBVISOR_DM_MACHINE_H

#include "dm/argv.h"
#include "dm/device.h"

struct dm_machine_params {
    unsigned nr_vcpus;        /* what the guest has (CMOS, fw_cfg) */
    bool kick_eventfds;       /* virtio kicks through ioeventfds (needs dm_events_enable) */
    struct dm_fd_source *fds; /* the -device words' descriptors; NULL: none */
};

/* Create the PC machine's devices, then one per -device word of cfg (NULL:
 * none), in order, each taking its descriptors from p->fds.  cfg's -m and
 * -smp, when given, must be what dm and p say.  Returns the machine, owned
 * by the caller (dm must outlive it), or NULL with the reason logged: the
 * devices made so far are destroyed and the descriptors taken so far
 * closed, but their traps stay registered on dm, which the caller then
 * frees too (the device model does not go on without its devices). */
struct dm_machine *dm_machine_new(struct dm *dm, const struct dm_config *cfg,
                                  const struct dm_machine_params *p);

/* Add one device to a running machine (what hot-plug will do: a spec from
 * dm_dev_spec_parse(), descriptors from a source of its own).  Placed and
 * created as a -device word would be, after the ones already there.  0 or
 * -errno (logged); on failure the device is not added and its descriptors
 * are closed, but what its create registered before it failed stays,
 * pointing at state that is kept (unused) until the machine goes: check
 * what can be checked (the descriptors' kinds) before. */
int dm_machine_add_device(struct dm_machine *m, const struct dm_dev_spec *spec,
                          struct dm_fd_source *fds);

/* Every device's destroy(), then their descriptors closed.  NULL is fine. */
void dm_machine_free(struct dm_machine *m);

/* Every device back to its power-on state (reset(), in creation order). */
void dm_machine_reset(struct dm_machine *m);

/* "00:00.0 i440fx-piix3, 00:03.0 virtio-blk, ..." in the log (debug). */
void dm_machine_log(const struct dm_machine *m);

#endif
