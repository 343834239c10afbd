/* The device sets of state_set.h. */
#include "tests/dm/state_set.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    const char *words[64] = {"stubdm"};
    char macs[8][64];
    int fds[32];
    unsigned nw = 1, nfds = 0;
    struct dm_config dc;
    struct dm_fd_list list;
    char err[256];

    if (!s || !set_ram())
        goto fail;
    s->console_peer = -1;
    static struct dm_host_ops with_routes;
    with_routes = fake_ops;
    with_routes.msi_route = route;
    s->dm = dm_new(cfg->msi_routes ? &with_routes : &fake_ops, NULL, ram, SET_RAM_SIZE);
    if (!s->dm || (cfg->kick_eventfds && dm_events_enable(s->dm) < 0))
        goto fail;
    for (unsigned i = 0; i < cfg->nr_disks; i++) {
        words[nw++] = "-device";
        words[nw++] = "virtio-blk";
        fds[nfds++] = dup(cfg->disk_fd);
    }
    for (unsigned i = 0; i < cfg->nr_nics && i < 8; i++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
            goto fail;
        close(sv[1]);
        fds[nfds++] = sv[0];
        snprintf(macs[i], sizeof(macs[i]), "virtio-net,mac=52:54:00:00:00:%02x",
                 (unsigned)(uint8_t)(cfg->mac_base + i));
        words[nw++] = "-device";
        words[nw++] = macs[i];
    }
    if (cfg->console) { /* its host side: a socket nobody writes to */
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
            goto fail;
        s->console_peer = sv[1];
        fds[nfds++] = sv[0];
        words[nw++] = "-device";
        words[nw++] = "virtio-console";
    }
    if (cfg->rng) {
        words[nw++] = "-device";
        words[nw++] = "virtio-rng";
    }
    if (dm_config_parse(&dc, words, nw, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        goto fail;
    }
    dm_fd_list_init(&list, fds, nfds);
    s->m = dm_machine_new(s->dm, &dc,
                          &(struct dm_machine_params){
                              .nr_vcpus = 1,
                              .kick_eventfds = cfg->kick_eventfds,
                              .fds = &list.src,
                          });
    dm_config_dispose(&dc);
    if (!s->m)
        goto fail;
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
    dm_machine_free(s->m);
    close_quietly(s->console_peer);
    if (s->dm)
        dm_free(s->dm);
    free(s);
}

uint8_t *set_snapshot(const struct state_set *s, size_t *len)
{
    size_t total = 0;
    uint8_t *buf;

    for (unsigned i = 0; i < s->m->nr_devs; i++)
        total += s->m->devs[i]->type->state_size;
    buf = malloc(total ? total : 1);
    *len = 0;
    for (unsigned i = 0; buf && i < s->m->nr_devs; i++) {
        memcpy(buf + *len, s->m->devs[i]->state, s->m->devs[i]->type->state_size);
        *len += s->m->devs[i]->type->state_size;
    }
    return buf;
}
