/* Bridged vifs, as Xen's vif-bridge does them (vif.c).
 *
 * A vif with a bridge (xl's default: `vif = [ '' ]` is a tap on xenbr0)
 * gets a tap the toolstack makes before stubvmm starts: named vifname=, or
 * vif<domid>.<devid> as Xen names them, persistent so that stubvmm (and
 * through it the device model) attaches to it.  Then either the vif's
 * script= runs with Xen's hotplug conventions (`SCRIPT online
 * type_if=vif`, the environment libxl gives it, the backend nodes in the
 * store), or, without a script, the toolstack does what vif-bridge does:
 * the tap on the bridge, up.  When the guest goes, `offline` (or off the
 * bridge, down) and the tap is deleted.
 *
 * The store keeps what teardown needs, under the backend path libxl uses
 * (/local/domain/0/backend/vif/<domid>/<devid>), so that whichever stubctl
 * cleans up (the supervisor, or `destroy` when the supervisor is gone)
 * can. */
#ifndef STUBVISOR_CTL_VIF_H
#define STUBVISOR_CTL_VIF_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

#include "ctl/config.h"
#include "ctl/stubctl.h"

#define VIF_SCRIPT_TIMEOUT 30 /* seconds a hotplug script may take */

/* The tap each vif's NIC opens ("" for a vif that is not a tap). */
struct vif_names {
    char name[CONFIG_MAX_VIFS][IF_NAMESIZE];
};

/* Whether the toolstack makes and plugs in this vif's tap. */
bool vif_is_bridged(const struct vif_spec *v);

/* Before anything exists: each bridge a vif without script= joins is a
 * Linux bridge here, and no tap the toolstack would make exists already.
 * Message printed (naming what); 0 or -errno. */
int vif_check(const char *what, const struct domain_config *cfg);

/* Make and plug in the bridged vifs of guest domid; names gets every
 * tap's name.  On failure what was made is undone and err says why. */
int vif_up(struct xsc *xs, unsigned domid, const struct domain_config *cfg, struct vif_names *names,
           char *err, size_t errlen);

/* Undo vif_up for guest domid from what the store says (its processes
 * are gone, or going).  Quiet; safe when there is nothing. */
void vif_down(struct xsc *xs, unsigned domid);

#endif
