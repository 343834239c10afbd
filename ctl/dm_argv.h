/* The one place the toolstack describes a guest's devices to its device
 * model (seed 001's dm-argv; dm/argv.h has the grammar, docs/toolstack.md
 * the reference).  create writes the words to /vm/<uuid>/image/dm-argv
 * (every placement) and, inline, hands them to stubvmm after "--"; stubvmm
 * gets the options that open the descriptors the -device words take, in
 * the words' order. */
#ifndef STUBVISOR_CTL_DM_ARGV_H
#define STUBVISOR_CTL_DM_ARGV_H

#include <stdbool.h>

#include "ctl/config.h"
#include "ctl/vif.h"

#define CTL_DM_ARGV_MAX 128 /* as many words as a device model reads */

struct ctl_dm_argv {
    char *words[CTL_DM_ARGV_MAX]; /* "stubdm", "-name", NAME, ... */
    unsigned nr_words;
    char *vmm_args[CTL_DM_ARGV_MAX]; /* "--disk", "PATH,ro", "--nic", "unix:PATH", ... */
    unsigned nr_vmm_args;
};

/* Build both lists from a checked config (incoming: a restore, whose
 * device state comes on console 2).  taps (NULL: not made yet) names the
 * tap each bridged vif's NIC opens; the words do not depend on it.  0 or
 * -ENOMEM/-E2BIG (nothing kept). */
int ctl_dm_argv_build(struct ctl_dm_argv *a, const struct domain_config *c, bool incoming,
                      const struct vif_names *taps);
void ctl_dm_argv_dispose(struct ctl_dm_argv *a);

#endif
