/* stubdm's side of the toolstack <-> stub domain protocol (seed 001, Linux
 * flavour), on its store connection DMFD_STORE:
 *
 *   - its target: relative "target" (/local/domain/<dm>/target);
 *   - its arguments: /vm/<uuid>/image/dm-argv/NNN, where /vm/<uuid> is the
 *     target's "vm" node (readable by the device model only);
 *   - readiness: "running" to device-model/<target>/state;
 *   - runtime commands: device-model/<target>/command (+ parameter), the
 *     result in .../state: save -> paused (device state to console 1 from
 *     offset 0, I/O emulation held), continue -> running (with -incoming
 *     console2: after loading the state from console 2), anything else or
 *     a failure -> "error".
 *
 * docs/toolstack.md lists the dm-argv words (dm/argv.h parses them). */
#ifndef STUBVISOR_DM_STORE_DM_H
#define STUBVISOR_DM_STORE_DM_H

#include <stdbool.h>
#include <stdint.h>

#include "dm/argv.h"
#include "dm/machine.h"
#include "lib/dmfds.h"

/* Connect through DMFD_STORE, read target and dm-argv, parse the words
 * into *cfg (dm/argv.h; test builds first take out -selfcheck and
 * -fail-save) and watch for commands.  Returns 0 or -errno with the
 * reason logged (the device model then exits). */
int store_dm_init(struct dm_config *cfg);

/* The machine that save and continue work on, once it is set up.
 * drain(opaque), if not NULL, serves what requests are still waiting (the
 * buffered ring's posted writes) before a save. */
void store_dm_attach(struct dm_machine *m, void (*drain)(void *), void *opaque);

/* Tell the toolstack the device model is ready: "running", or with
 * -incoming "paused" (I/O held until continue restores the state). */
int store_dm_ready(void);

/* The store connection, for the event loop (-1 without one). */
int store_dm_fd(void);

/* The store connection is readable: handle the commands that came. */
void store_dm_handle(void);

/* Between "save" and "continue": I/O emulation is held.  store_dm_hold()
 * waits for the next store message and handles it. */
bool store_dm_quiesced(void);
void store_dm_hold(void);

#endif
