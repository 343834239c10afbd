/* The device model's description of its guest: dm-argv (seed 001), one
 * word per argument, the same words wherever they come from:
 *
 *   - /vm/<uuid>/image/dm-argv/NNN in the store, written by stubctl
 *     (stubdm --store, placements process and stubdom);
 *   - stubdm's own command line after its process flags (stubvmm run
 *     without the toolstack hands its devices over this way);
 *   - stubvmm's list for the inline device model (built from its own
 *     options, or given by stubctl after "--").
 *
 * Grammar (docs/toolstack.md has the reference):
 *
 *   stubdm WORD...
 *   -name NAME               the guest's name, for the log (printable, <= 64)
 *   -m MIB                   the guest's RAM; must be what the DM was handed
 *   -smp N                   vCPUs; must be what the DM was handed
 *   -serial console|null     COM1 on console 3 (null: accepted, still relayed)
 *   -bios FIRMWARE           the firmware the guest boots ("seabios" or a path)
 *   -incoming console2       restore: load the device state from console 2
 *   -device TYPE[,KEY=VALUE]...   one device of the device table (dm/device.h):
 *                            its options, plus addr=SLOT[.FN] (hex) for PCI
 *                            devices; descriptors in the words' order
 *
 * Every word and option is checked here, once: an unknown word, device or
 * option, a bad value, a second -m, more devices of a type than it allows,
 * all are refused with a message naming the word.  The input is untrusted
 * (a store another process wrote): nothing here trusts a length or a
 * count it did not check. */
#ifndef STUBVISOR_DM_ARGV_H
#define STUBVISOR_DM_ARGV_H

#include <stdbool.h>
#include <stddef.h>

#include "dm/device.h"

#define DM_ARGV_MAX     128 /* words */
#define DM_WORD_MAX     4096
#define DM_NAME_MAX     64
#define DM_FIRMWARE_MAX 4095
#define DM_DEVFN_AUTO   (-1)

/* One -device word. */
struct dm_dev_spec {
    const struct dm_device_type *type;
    void *config; /* type->config_size bytes, owned by the spec */
    int devfn;    /* addr=, or DM_DEVFN_AUTO */
};

enum dm_serial { DM_SERIAL_CONSOLE, DM_SERIAL_NULL };

struct dm_config {
    char name[DM_NAME_MAX + 1];
    unsigned memory_mib, vcpus; /* 0: not given */
    enum dm_serial serial;
    char firmware[DM_FIRMWARE_MAX + 1]; /* "" when not given */
    bool incoming;
    struct dm_dev_spec devs[DM_MAX_DEVICES];
    unsigned nr_devs;
};

/* The empty description: the PC machine alone. */
void dm_config_init(struct dm_config *cfg);

/* Parse words[0..n) ("stubdm" first) into *cfg (initialised here).
 * Returns 0, or -EINVAL / -E2BIG / -ENOMEM with err saying which word and
 * why ("dm-argv: word 5 (-device virtio-blk,ro=on): unknown option ro;
 * virtio-blk takes readonly, addr"); *cfg is then empty again. */
int dm_config_parse(struct dm_config *cfg, const char *const *words, unsigned n, char *err,
                    size_t errlen);

/* One device description, TYPE[,KEY=VALUE]... (a -device word's value;
 * also what hot-plug will add).  0 or -EINVAL/-ENOMEM with err filled; the
 * spec is disposed of with dm_dev_spec_dispose(). */
int dm_dev_spec_parse(struct dm_dev_spec *spec, const char *text, char *err, size_t errlen);
void dm_dev_spec_dispose(struct dm_dev_spec *spec);

void dm_config_dispose(struct dm_config *cfg);

/* How many descriptors the -device words take, in all. */
unsigned dm_config_nr_fds(const struct dm_config *cfg);

#endif
