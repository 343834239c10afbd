/* QEMU's pvpanic ISA device at port 0x505 (QEMU's docs/specs/pvpanic.txt):
 * how a guest tells its host that it panicked.
 *
 *   read:  the events the device supports: bit 0 PANICKED, bit 1
 *          CRASH_LOADED;
 *   write: bit 0 PANICKED, the guest panicked: it is stopped as a crash
 *          (the device model's crash report, DMOP_CRASH_PANIC), and the
 *          toolstack applies on_crash; bit 1 CRASH_LOADED, the guest has a
 *          crash kernel loaded and goes on: logged only.  Other bits are
 *          ignored.
 *
 * Part of every PC guest here (QEMU adds it with -device pvpanic): a guest
 * that does not know it never touches the port.  It has no state. */
#include <string.h>

#include "dm/device.h"
#include "lib/dmop.h"
#include "lib/log.h"

#define PVPANIC_PORT         0x505
#define PVPANIC_PANICKED     0x1
#define PVPANIC_CRASH_LOADED 0x2

static void pvpanic_io(struct dm *dm, uint64_t addr, uint8_t *data, uint32_t size, bool is_write,
                       void *opaque)
{
    (void)addr, (void)opaque;
    if (!is_write) {
        memset(data, 0, size);
        data[0] = PVPANIC_PANICKED | PVPANIC_CRASH_LOADED;
        return;
    }
    if (data[0] & PVPANIC_PANICKED) {
        dm_shutdown(dm, DMOP_SHUTDOWN_CRASH, DMOP_CRASH_PANIC);
        return;
    }
    if (data[0] & PVPANIC_CRASH_LOADED)
        log_info("the guest loaded a crash kernel (pvpanic)");
}

static int pvpanic_create(struct dm_dev *dev)
{
    /* Synchronous: a panicked guest must not run on. */
    return dm_register(dev->dm, DM_TRAP_PIO, PVPANIC_PORT, 1, 0, pvpanic_io, NULL);
}

static const struct dm_device_type pvpanic_type = {
    .name = "pvpanic",
    .bus = DM_BUS_ISA,
    .pc_default = true,
    .order = 20,
    .create = pvpanic_create,
};
DM_DEVICE(pvpanic_type);
