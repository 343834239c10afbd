/* The device model core: trap registry, dispatch, console plumbing. */
#include "dm/dm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

struct dm_trap {
    enum dm_trap_type type;
    uint64_t start;
    uint64_t last; /* inclusive, so a trap may end at UINT64_MAX */
    dm_trap_fn fn;
    void *opaque;
};

struct dm {
    const struct dm_host_ops *host;
    void *h;
    uint8_t *ram;
    uint64_t ram_size;
    struct dm_trap traps[DM_MAX_TRAPS];
    unsigned nr_traps;
    struct dm_console_rx consoles[DM_MAX_CONSOLES];
};

struct dm *dm_new(const struct dm_host_ops *host, void *host_opaque, void *guest_ram,
                  uint64_t ram_size)
{
    struct dm *dm = calloc(1, sizeof(*dm));

    if (!dm)
        return NULL;
    dm->host = host;
    dm->h = host_opaque;
    dm->ram = guest_ram;
    dm->ram_size = guest_ram ? ram_size : 0;
    return dm;
}

void dm_free(struct dm *dm)
{
    free(dm);
}

int dm_register(struct dm *dm, enum dm_trap_type type, uint64_t addr, uint64_t len, uint32_t flags,
                dm_trap_fn fn, void *opaque)
{
    uint64_t last;
    int rc;

    if (len == 0 || addr + (len - 1) < addr || !fn)
        return -EINVAL;
    last = addr + (len - 1);
    for (unsigned i = 0; i < dm->nr_traps; i++) {
        const struct dm_trap *t = &dm->traps[i];
        if (t->type == type && addr <= t->last && t->start <= last)
            return -EEXIST;
    }
    if (dm->nr_traps == DM_MAX_TRAPS)
        return -ENOSPC;
    rc = dm->host->map_range(dm->h, type, addr, last, flags);
    if (rc < 0)
        return rc;
    dm->traps[dm->nr_traps++] = (struct dm_trap){type, addr, last, fn, opaque};
    return 0;
}

bool dm_dispatch(struct dm *dm, enum dm_trap_type type, uint64_t addr, uint8_t *data, uint32_t size,
                 bool is_write)
{
    if (size == 1 || size == 2 || size == 4 || size == 8) {
        uint64_t last = addr + (size - 1);
        for (unsigned i = 0; last >= addr && i < dm->nr_traps; i++) {
            const struct dm_trap *t = &dm->traps[i];
            if (t->type == type && t->start <= addr && last <= t->last) {
                t->fn(dm, addr, data, size, is_write, t->opaque);
                return true;
            }
        }
    } else {
        size = 8; /* data always has room for 8 bytes */
    }
    if (!is_write)
        memset(data, 0xff, size);
    return false;
}

int dm_set_isa_irq(struct dm *dm, unsigned irq, int level)
{
    return dm->host->set_isa_irq(dm->h, irq, level);
}

int dm_shutdown(struct dm *dm, unsigned reason, unsigned status)
{
    return dm->host->shutdown(dm->h, reason, status);
}

int dm_console_write(struct dm *dm, unsigned idx, const void *buf, size_t len)
{
    return dm->host->console_write(dm->h, idx, buf, len);
}

void *dm_guest_ptr(struct dm *dm, uint64_t gpa, uint64_t len)
{
    if (gpa > dm->ram_size || len > dm->ram_size - gpa)
        return NULL;
    return dm->ram + gpa;
}

int dm_console_attach(struct dm *dm, unsigned idx, const struct dm_console_rx *rx)
{
    if (idx >= DM_MAX_CONSOLES || !rx->room || !rx->rx)
        return -EINVAL;
    if (dm->consoles[idx].rx)
        return -EEXIST;
    dm->consoles[idx] = *rx;
    return 0;
}

bool dm_console_poll(struct dm *dm)
{
    bool full = false;

    for (unsigned idx = 0; idx < DM_MAX_CONSOLES; idx++) {
        struct dm_console_rx *c = &dm->consoles[idx];
        uint8_t buf[64];
        size_t room;
        ssize_t n;

        if (!c->rx)
            continue;
        /* Read no more than the device takes: what it cannot take yet stays
         * in the host's socket buffer, which is the flow control. */
        while ((room = c->room(c->opaque)) > 0) {
            if (room > sizeof(buf))
                room = sizeof(buf);
            n = dm->host->console_read(dm->h, idx, buf, room);
            if (n <= 0)
                break;
            c->rx(c->opaque, buf, (size_t)n);
            /* A short read drained the source: reading again could block. */
            if ((size_t)n < room)
                break;
        }
        if (room == 0)
            full = true;
    }
    return full;
}
