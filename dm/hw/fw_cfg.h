/* A minimal QEMU firmware configuration device (fw_cfg), traditional I/O
 * interface only: port 0x510 selects an item (16-bit write), port 0x511
 * reads it byte by byte (reads past the end give 0, as do unknown items).
 * The ABI is QEMU's docs/specs/fw_cfg.rst: items 0x00 signature "QEMU",
 * 0x01 feature bits (bit 0: traditional interface; no DMA), 0x19 the file
 * directory (big-endian count, then 64-byte entries: big-endian size and
 * select, 56-byte name), files from 0x20.
 *
 * What we offer: the CPU counts (0x05, 0x0f), the RAM size (0x03) and
 * named files.  Every machine has "etc/boot-fail-wait" (little-endian u32,
 * ms): how long SeaBIOS waits after "No bootable device" before it resets
 * the machine.  Devices add their own files at set-up with
 * fw_cfg_add_file() ("bootorder", "etc/acpi/tables", "etc/table-loader",
 * ...).  Memory size still comes from CMOS (no "etc/e820"), which SeaBIOS
 * falls back to.
 *
 * Files are read-only and come from the configuration, never from the
 * guest, so save/restore carries only the selector and read position.
 */
#ifndef STUBVISOR_DM_HW_FW_CFG_H
#define STUBVISOR_DM_HW_FW_CFG_H

#include <stdint.h>

#include "dm/dm.h"
#include "dm/state_rec.h"

#define FW_CFG_PORT            0x510
#define FW_CFG_BOOT_FAIL_WAIT  5000 /* ms */
#define FW_CFG_MAX_FILES       32
#define FW_CFG_FILE_NAME_SIZE  56
#define FW_CFG_FILE_ENTRY_SIZE 64

enum {
    FW_CFG_SIGNATURE = 0x00,
    FW_CFG_ID = 0x01,
    FW_CFG_RAM_SIZE = 0x03,
    FW_CFG_NB_CPUS = 0x05,
    FW_CFG_MAX_CPUS = 0x0f,
    FW_CFG_FILE_DIR = 0x19,
    FW_CFG_FILE_FIRST = 0x20,
};

/* One named file: its bytes belong to whoever added it. */
struct fw_cfg_file {
    const uint8_t *data;
    uint32_t size;
};

struct fw_cfg {
    uint16_t select;
    uint32_t offset;
    uint8_t id[4];
    uint8_t ram_size[8];
    uint8_t nb_cpus[2];
    uint8_t boot_fail_wait[4];
    uint8_t dir[4 + FW_CFG_MAX_FILES * FW_CFG_FILE_ENTRY_SIZE];
    uint32_t dir_size;
    struct fw_cfg_file files[FW_CFG_MAX_FILES]; /* select FW_CFG_FILE_FIRST + i */
    unsigned nr_files;
};

/* Register fw_cfg on dm with ram_size bytes of RAM and nr_cpus vCPUs.
 * Returns 0 or a negative errno. */
int fw_cfg_setup(struct fw_cfg *f, struct dm *dm, uint64_t ram_size, unsigned nr_cpus);

/* Add a file the guest finds by name in the directory (at most
 * FW_CFG_FILE_NAME_SIZE - 1 bytes of name, unique).  data is not copied:
 * it must stay valid and unchanged for as long as f is in use.  Returns
 * the file's selector, -EINVAL (bad name), -EEXIST or -ENOSPC. */
int fw_cfg_add_file(struct fw_cfg *f, const char *name, const void *data, uint32_t size);

/* Change the CPU count it reports. */
void fw_cfg_set_nr_cpus(struct fw_cfg *f, unsigned nr_cpus);

/* Save/restore (dm/state.h): the selected item and the read position
 * (the items themselves come from the configuration). */
void fw_cfg_state_save(const struct fw_cfg *f, struct srec_w *w);
void fw_cfg_state_parse(struct fw_cfg *stage, struct srec_r *r);
void fw_cfg_state_apply(struct fw_cfg *f, const struct fw_cfg *stage);

#endif
