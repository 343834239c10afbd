/* QEMU's debug console (debugcon.h). */
#include "dm/hw/debugcon.h"

#include <string.h>

#include "dm/device.h"
#include "lib/log.h"

void debugcon_flush(struct debugcon *d)
{
    if (d->len == 0)
        return;
    if (d->lines < DEBUGCON_MAX_LINES)
        log_info("guest debug: %.*s", (int)d->len, d->line);
    else if (d->lines == DEBUGCON_MAX_LINES)
        log_info("guest debug: (more output suppressed)");
    if (d->lines <= DEBUGCON_MAX_LINES)
        d->lines++;
    d->len = 0;
}

static void debugcon_io(struct dm *dm, uint64_t addr, uint8_t *data, uint32_t size, bool is_write,
                        void *opaque)
{
    struct debugcon *d = opaque;

    (void)dm;
    (void)addr;
    if (!is_write) {
        memset(data, 0, size);
        data[0] = 0xe9; /* QEMU's "is the debug console there" answer */
        return;
    }
    for (uint32_t i = 0; i < size; i++) {
        char c = (char)data[i];
        if (c == '\n') {
            debugcon_flush(d);
            continue;
        }
        /* Guests are hostile: only printable bytes reach the log. */
        d->line[d->len++] = (c >= 0x20 && c < 0x7f) ? c : '?';
        if (d->len == sizeof(d->line))
            debugcon_flush(d);
    }
}

static int debugcon_create(struct dm_dev *dev)
{
    return dm_register(dev->dm, DM_TRAP_PIO, DEBUGCON_PORT, 1, DM_TRAP_POSTED, debugcon_io,
                       dev->state);
}

static const struct dm_device_type debugcon_type = {
    .name = "isa-debugcon",
    .bus = DM_BUS_ISA,
    .pc_default = true,
    .order = 10,
    .state_size = sizeof(struct debugcon),
    .create = debugcon_create,
};
DM_DEVICE(debugcon_type);
