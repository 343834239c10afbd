/* The device sets of state_set.h. */
#include "tests/dm/state_set.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/dmop.h"
#include "lib/fdio.h"
#include "tests/platform/fake_host.h"

static uint8_t *ram;
struct set_routes set_routes;

static int route(void *h, unsigned action, unsigned gsi, uint64_t addr, uint32_t data)
{
    (void)h;
    if (action == DMOP_MSI_ROUTE_ALLOC) {
        if (set_routes.nr == SET_MAX_ROUTES)
            return -ENOSPC;
        gsi = set_routes.nr++;
    } else if (gsi >= set_routes.nr) {
        return -EINVAL;
    }
    if (action != DMOP_MSI_ROUTE_FREE) {
        set_routes.addr[gsi] = addr;
        set_routes.data[gsi] = data;
    }
    return (int)gsi;
}

uint8_t *set_ram(void)
{
    if (!ram)
        ram = calloc(1, SET_RAM_SIZE);
    return ram;
}

struct state_set *set_new(const struct set_cfg *cfg)
{
    struct state_set *s = calloc(1, sizeof(*s));

    if (s)
        s->console_peer = -1;
    struct virtio_config vc = {.rng = cfg->rng,
                               .kick_eventfds = cfg->kick_eventfds,
                               .console = cfg->console,
                               .console_fd = -1};

    if (!s || !set_ram())
        goto fail;
    static struct dm_host_ops with_routes;
    with_routes = fake_ops;
    with_routes.msi_route = route;
    s->dm = dm_new(cfg->msi_routes ? &with_routes : &fake_ops, NULL, ram, SET_RAM_SIZE);
    if (!s->dm || (cfg->kick_eventfds && dm_events_enable(s->dm) < 0) ||
        dm_devices_setup(s->dm, &s->devs) < 0)
        goto fail;
    for (unsigned i = 0; i < cfg->nr_disks; i++)
        vc.disks[vc.nr_disks++] = (struct virtio_disk_spec){.fd = dup(cfg->disk_fd)};
    for (unsigned i = 0; i < cfg->nr_nics; i++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
            goto fail;
        close(sv[1]);
        vc.nics[i].fd = sv[0];
        uint8_t mac[6] = {0x52, 0x54, 0, 0, 0, (uint8_t)(cfg->mac_base + i)};
        for (unsigned k = 0; k < 6; k++)
            vc.nics[i].mac[k] = mac[k];
        vc.nr_nics++;
    }
    if (cfg->console) { /* its host side: a socket nobody writes to */
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
            goto fail;
        s->console_peer = sv[1];
        vc.console_fd = sv[0];
    }
    if (vc.nr_disks || vc.nr_nics || vc.rng || vc.console) {
        s->v = virtio_devices_new(s->dm, &s->devs.pci, &vc);
        if (!s->v)
            goto fail;
    }
    return s;
fail:
    fprintf(stderr, "cannot set up a device set\n");
    set_free(s);
    return NULL;
}

void set_free(struct state_set *s)
{
    if (!s)
        return;
    virtio_devices_free(s->v);
    close_quietly(s->console_peer);
    if (s->dm)
        dm_free(s->dm);
    free(s);
}
