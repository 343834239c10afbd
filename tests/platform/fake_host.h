/* A fake host for the platform device tests: it records what the device
 * model asks of it (maps, unmaps, IRQ levels, MSIs, shutdowns). */
#ifndef STUBVISOR_TESTS_PLATFORM_FAKE_HOST_H
#define STUBVISOR_TESTS_PLATFORM_FAKE_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "dm/dm.h"

#define FAKE_MAX_EVENTS 64

struct fake_range {
    int type;
    uint64_t start, end;
};

struct fake_host {
    int irq_level[24];
    unsigned irq_changes[24];
    struct fake_range maps[FAKE_MAX_EVENTS], unmaps[FAKE_MAX_EVENTS];
    unsigned nr_maps, nr_unmaps;
    uint64_t msi_addr[FAKE_MAX_EVENTS];
    uint32_t msi_data[FAKE_MAX_EVENTS];
    unsigned nr_msis;
    int shutdown_reason, shutdown_status;
    unsigned shutdowns;
    int refuse_map; /* non-zero: map_range fails with this */
    /* With fake_dm_new_irqfd: the links' routes and the level-triggered
     * irqfds bound per ISA IRQ (-1: none). */
    int link_route[4];
    int irqfd_efd[16], irqfd_rfd[16];
    int refuse_irqfd; /* non-zero: irqfd_resample fails with this */
};

extern struct fake_host fake;
extern const struct dm_host_ops fake_ops;
extern const struct dm_host_ops fake_irqfd_ops;

/* A fresh fake host and a dm core on it with ram_size bytes of "RAM"
 * (not backed: no device here touches it). */
struct dm *fake_dm_new(uint64_t ram_size);
/* The same on a host with level-triggered irqfds (and the core's event
 * loop enabled, as stubdm has it). */
struct dm *fake_dm_new_irqfd(uint64_t ram_size);

/* The PC machine alone (no -device words) on dm, with nr_vcpus vCPUs.
 * Asserts nothing: NULL on failure. */
struct dm_machine;
struct dm_machine *fake_machine_new(struct dm *dm, unsigned nr_vcpus);

/* Port and config accesses through the core's dispatch. */
uint32_t fake_in(struct dm *dm, uint16_t port, unsigned size);
void fake_out(struct dm *dm, uint16_t port, unsigned size, uint32_t v);
uint32_t fake_cfg_read(struct dm *dm, unsigned devfn, unsigned reg, unsigned size);
void fake_cfg_write(struct dm *dm, unsigned devfn, unsigned reg, unsigned size, uint32_t v);
uint64_t fake_mmio_read(struct dm *dm, uint64_t addr, unsigned size);
void fake_mmio_write(struct dm *dm, uint64_t addr, unsigned size, uint64_t v);

#endif
