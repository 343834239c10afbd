/* The device table: every device type is one entry in its own file, and
 * nothing lists them by name.
 *
 *   static const struct dm_device_type pvpanic_type = {.name = "pvpanic", ...};
 *   DM_DEVICE(pvpanic_type);
 *
 * DM_DEVICE() puts a pointer to the entry in the linker section
 * "dm_device_types"; the machine (dm/machine.c) walks that section.  The
 * device files are linked whole (dm/meson.build), so an entry nothing else
 * refers to is not dropped.  Adding a device is its file plus one line in
 * dm/meson.build (docs/devices.md).
 *
 * A machine is the device set of one guest: the PC platform's devices
 * (entries with .pc_default, created first, in .order), then one instance
 * per -device word of the guest's description (dm-argv, dm/argv.h), in the
 * words' order.  Save, restore and reset walk the instances; no code names
 * a device to do so.
 *
 * Descriptors: a device type declares how many it takes (.nr_fds: a disk
 * image, a NIC back end, a console socket); the machine takes them from a
 * descriptor source before create(), in instance order.  At start-up that
 * is the list the monitor handed over (stubdm's descriptors from
 * DMFD_DISK0 on, or stubvmm's own list inline); a device added later
 * (hot-plug) gets its descriptors from a source of its own.  The device
 * never learns where they came from.
 *
 * Platform context: devices reach the platform's singletons (the PCI bus,
 * the PIIX3's IRQ router, fw_cfg) through struct dm_machine, filled in by
 * the platform devices that provide them as they are created.
 */
#ifndef STUBVISOR_DM_DEVICE_H
#define STUBVISOR_DM_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dm/dm.h"
#include "dm/state_rec.h"

struct dm_dev;
struct dm_machine;
struct pci_bus;
struct piix;
struct fw_cfg;

#define DM_DEV_MAX_FDS  4  /* descriptors one device takes at most */
#define DM_MAX_DEVICES  48 /* instances per machine, platform included */
#define DM_DEV_MAX_OPTS 16 /* options per device type */

/* Where a device sits. */
enum dm_dev_bus {
    DM_BUS_ISA, /* fixed ports, MMIO and IRQs it registers itself (dm_register) */
    DM_BUS_PCI, /* one PCI function on bus 0 at dev->devfn: the next free slot from
                 * DM_PCI_FIRST_SLOT in the words' order, or the word's addr= */
};

/* Slots before this one are the platform's (0: i440FX, 1: PIIX3) or kept
 * for devices that want a fixed one (2: VGA, as on QEMU's pc machine). */
#define DM_PCI_FIRST_SLOT 3

/* Options of a -device word: key=value, parsed into the type's config
 * struct (config_size bytes, zeroed, then config_init) at `offset`.  The
 * machine adds addr= for PCI devices. */
enum dm_opt_type {
    DM_OPT_BOOL,   /* on | off -> bool */
    DM_OPT_UINT,   /* decimal (or 0x hex) up to .max -> unsigned */
    DM_OPT_MAC,    /* xx:xx:xx:xx:xx:xx (lib/mac.h) -> uint8_t[6] */
    DM_OPT_STRING, /* printable, up to .max - 1 bytes -> char[.max] */
};

struct dm_dev_opt {
    const char *key;
    enum dm_opt_type type;
    size_t offset;
    unsigned max;
};

#define DM_OPT(key_, type_, config_, field_, max_)                                                 \
    {                                                                                              \
        .key = (key_), .type = (type_), .offset = offsetof(config_, field_), .max = (max_)         \
    }

/* One device type.  Every function gets the instance; its state is
 * dev->state (state_size bytes, zeroed before create), its options
 * dev->config. */
struct dm_device_type {
    const char *name; /* the -device word (QEMU's spelling where QEMU has it) */
    enum dm_dev_bus bus;
    /* Part of the PC machine: created for every guest before the -device
     * words, lowest .order first (the providers of dm_machine's
     * singletons come first); never a -device word. */
    bool pc_default;
    unsigned order;
    unsigned max_instances; /* 0: no limit besides DM_MAX_DEVICES */
    unsigned nr_fds;        /* descriptors taken at create (dev->fds) */

    /* Options. */
    size_t config_size;
    const struct dm_dev_opt *opts;
    unsigned nr_opts;
    void (*config_init)(void *config); /* defaults; NULL: all zero */
    /* After parsing: a missing or inconsistent option.  0 or -EINVAL with
     * err filled.  May be NULL. */
    int (*config_check)(const void *config, char *err, size_t errlen);

    /* Life.  create: set the device up (register traps, put its PCI
     * function on dm_machine's bus at dev->devfn, take over dev->fds).
     * 0 or -errno (logged by the device, with the reason).  destroy: undo
     * what is not the machine's (back ends, threads); may be NULL.  reset:
     * back to power-on state; may be NULL. */
    size_t state_size;
    int (*create)(struct dm_dev *dev);
    void (*destroy)(struct dm_dev *dev);
    void (*reset)(struct dm_dev *dev);

    /* Save and restore (dm/state.h, docs/dm-state.md).  A type with a
     * state_tag (STATE_TAG_*, unique) writes one record per instance; a
     * restore then requires exactly one for each instance.  Load is two
     * passes: parse() checks a record into the instance's stage
     * (stage_size bytes, zeroed) without touching the device or the host;
     * once every record of the blob passed, apply() makes each stage live,
     * in instance order, after the PCI config spaces (which the machine
     * saves and restores for every function).  apply may exist without a
     * record (stage NULL): a device that recomputes from the restored
     * config spaces.  quiesce() completes in-flight work before a save
     * (0 or -errno). */
    uint32_t state_tag;
    size_t stage_size;
    int (*quiesce)(struct dm_dev *dev);
    void (*save)(struct dm_dev *dev, struct srec_w *w);
    void (*parse)(struct dm_dev *dev, void *stage, struct srec_r *r);
    void (*apply)(struct dm_dev *dev, const void *stage);
};

#define DM_DEVICE(type_)                                                                           \
    static const struct dm_device_type *const dm_device_entry_##type_                              \
        __attribute__((used, section("dm_device_types"), aligned(sizeof(void *)))) = &(type_)

/* One instance. */
struct dm_dev {
    const struct dm_device_type *type;
    struct dm_machine *machine;
    struct dm *dm;
    unsigned instance; /* among its type's instances, from 0 */
    unsigned devfn;    /* DM_BUS_PCI: where it sits */
    const void *config;
    void *state;
    /* Taken from the descriptor source before create.  The machine closes
     * what is still here after destroy; a device that hands one to code
     * that closes it sets the slot to -1. */
    int fds[DM_DEV_MAX_FDS];
};

/* Where descriptors come from.  take() returns the next one for dev (its
 * n-th, from 0), which the caller then owns, or -errno (the reason logged
 * by the source). */
struct dm_fd_source {
    int (*take)(struct dm_fd_source *src, const struct dm_dev *dev, unsigned n);
};

/* The common source: a list handed over at start, taken in order. */
struct dm_fd_list {
    struct dm_fd_source src;
    const int *fds;
    unsigned nr, next;
};
void dm_fd_list_init(struct dm_fd_list *l, const int *fds, unsigned nr);

/* The platform context: what devices may reach besides their own state. */
struct dm_machine {
    struct dm *dm;
    unsigned nr_vcpus;
    uint64_t ram_size;
    bool kick_eventfds; /* virtio kicks through ioeventfds (dm_events_enable) */
    /* The platform's singletons, set by the platform devices that provide
     * them (NULL until then). */
    struct pci_bus *pci; /* bus 0 (i440fx-piix3) */
    struct piix *piix;   /* its INTx router and PIRQ links (i440fx-piix3) */
    struct fw_cfg *fw_cfg;
    /* The instances, in creation order. */
    struct dm_dev *devs[DM_MAX_DEVICES];
    unsigned nr_devs;
    /* Instances whose create failed: kept (unused) until the machine goes,
     * since what they registered may still point at their state. */
    struct dm_dev *failed[DM_MAX_DEVICES];
    unsigned nr_failed;
};

/* Every registered type, in link order (tests, docs); n gets the count. */
const struct dm_device_type *const *dm_device_types(size_t *n);
const struct dm_device_type *dm_device_type_find(const char *name);

/* "virtio-blk (00:03.0)", "isa-serial", "isa-serial #1". */
const char *dm_dev_name(const struct dm_dev *dev, char *buf, size_t len);

/* The instance-th instance of type `name`, or NULL; its state. */
struct dm_dev *dm_machine_find(const struct dm_machine *m, const char *name, unsigned instance);
void *dm_machine_state(const struct dm_machine *m, const char *name, unsigned instance);

#endif
