/* QEMU's isa-debug-exit at port 0xf4: a write stops the guest with that
 * byte as its exit status (DMOP_SHUTDOWN_POWEROFF), reads give 0.  The
 * test guests' way to end with a verdict. */
#include <string.h>

#include "dm/device.h"
#include "dm/hw/debugcon.h"
#include "lib/dmop.h"

#define DEBUG_EXIT_PORT 0xf4

static void debug_exit_io(struct dm *dm, uint64_t addr, uint8_t *data, uint32_t size, bool is_write,
                          void *opaque)
{
    struct dm_dev *dev = opaque;
    struct debugcon *con = dm_machine_state(dev->machine, "isa-debugcon", 0);

    (void)addr;
    if (!is_write) {
        memset(data, 0, size);
        return;
    }
    if (con) /* the guest's last words, before it goes */
        debugcon_flush(con);
    dm_shutdown(dm, DMOP_SHUTDOWN_POWEROFF, data[0]);
}

static int debug_exit_create(struct dm_dev *dev)
{
    /* Synchronous on purpose: the guest must not run on after asking to stop. */
    return dm_register(dev->dm, DM_TRAP_PIO, DEBUG_EXIT_PORT, 4, 0, debug_exit_io, dev);
}

static const struct dm_device_type debug_exit_type = {
    .name = "isa-debug-exit",
    .bus = DM_BUS_ISA,
    .pc_default = true,
    .order = 20, /* after isa-debugcon, whose last line it flushes */
    .create = debug_exit_create,
};
DM_DEVICE(debug_exit_type);
