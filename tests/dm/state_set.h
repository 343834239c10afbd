/* A complete device set for save/restore tests and the fuzzer: the PC
 * machine plus virtio devices, built from dm-argv words as every placement
 * builds them, on the recording fake host of tests/platform/fake_host.h,
 * over a guest RAM buffer shared by every set (a restore sees the saved
 * guest's RAM). */
#ifndef STUBVISOR_TESTS_DM_STATE_SET_H
#define STUBVISOR_TESTS_DM_STATE_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dm/hw/piix.h"
#include "dm/hw/rtc.h"
#include "dm/machine.h"
#include "dm/virtio/blk.h"
#include "dm/virtio/console.h"
#include "dm/virtio/net.h"
#include "dm/virtio/rng.h"

#define SET_RAM_SIZE (1u << 20)

struct state_set {
    struct dm *dm;
    struct dm_machine *m;
    int console_peer; /* the virtio console's host side, or -1 */
};

/* What a set gets, in this order: disks (each a dup of disk_fd), NICs
 * (socketpair ends, MAC 52:54:00:00:00:<index + mac_base>), console, RNG. */
struct set_cfg {
    unsigned nr_disks;
    int disk_fd;
    unsigned nr_nics;
    uint8_t mac_base;
    bool rng;
    bool kick_eventfds; /* queue notifications through ioeventfds */
    bool console;       /* a virtio-console (its host side: console_peer) */
    bool msi_routes;    /* the host offers MSI routes (irqfds), as stubvmm does */
};

/* MSI routes the host was asked for (msi_routes sets): GSI = index. */
#define SET_MAX_ROUTES 64
struct set_routes {
    unsigned nr;
    uint64_t addr[SET_MAX_ROUTES];
    uint32_t data[SET_MAX_ROUTES];
};
extern struct set_routes set_routes;

/* The shared guest RAM (allocated on first use, never freed). */
uint8_t *set_ram(void);

/* A new set, or NULL (the reason on stderr). */
struct state_set *set_new(const struct set_cfg *cfg);
void set_free(struct state_set *s);

/* A device's state (dm_machine_state). */
#define SET_STATE(s, type, name, i) ((type *)dm_machine_state((s)->m, (name), (i)))

/* Every device's state bytes, one after the other (malloc'd; *len). */
uint8_t *set_snapshot(const struct state_set *s, size_t *len);

#endif
