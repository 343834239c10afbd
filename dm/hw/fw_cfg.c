/* Minimal fw_cfg: see dm/hw/fw_cfg.h. */
#include "dm/hw/fw_cfg.h"

#include <errno.h>
#include <string.h>

#include "dm/device.h"
#include "dm/state.h"

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* The bytes of the selected item, or NULL for an unknown one. */
static const uint8_t *item(const struct fw_cfg *f, uint32_t *len)
{
    switch (f->select) {
    case FW_CFG_SIGNATURE:
        *len = 4;
        return (const uint8_t *)"QEMU";
    case FW_CFG_ID:
        *len = sizeof(f->id);
        return f->id;
    case FW_CFG_RAM_SIZE:
        *len = sizeof(f->ram_size);
        return f->ram_size;
    case FW_CFG_NB_CPUS:
    case FW_CFG_MAX_CPUS:
        *len = sizeof(f->nb_cpus);
        return f->nb_cpus;
    case FW_CFG_FILE_DIR:
        *len = f->dir_size;
        return f->dir;
    default:
        if (f->select >= FW_CFG_FILE_FIRST &&
            (unsigned)(f->select - FW_CFG_FILE_FIRST) < f->nr_files) {
            const struct fw_cfg_file *file = &f->files[f->select - FW_CFG_FILE_FIRST];
            *len = file->size;
            return file->data;
        }
        *len = 0;
        return NULL;
    }
}

static void fw_cfg_io(struct dm *dm, uint64_t addr, uint8_t *data, uint32_t size, bool is_write,
                      void *opaque)
{
    struct fw_cfg *f = opaque;

    (void)dm;
    if (addr == FW_CFG_PORT && size == 2) {
        if (is_write) {
            f->select = (uint16_t)(data[0] | data[1] << 8);
            f->offset = 0;
        } else {
            data[0] = (uint8_t)f->select;
            data[1] = (uint8_t)(f->select >> 8);
        }
        return;
    }
    if (addr == FW_CFG_PORT + 1 && size == 1 && !is_write) {
        uint32_t len;
        const uint8_t *p = item(f, &len);
        data[0] = p && f->offset < len ? p[f->offset] : 0;
        if (f->offset < UINT32_MAX)
            f->offset++;
        return;
    }
    if (!is_write) /* nothing else is defined on these ports */
        memset(data, 0, size);
}

int fw_cfg_add_file(struct fw_cfg *f, const char *name, const void *data, uint32_t size)
{
    size_t len = strlen(name);
    uint16_t select = (uint16_t)(FW_CFG_FILE_FIRST + f->nr_files);
    uint8_t *e = f->dir + f->dir_size;

    if (len == 0 || len >= FW_CFG_FILE_NAME_SIZE || (size && !data))
        return -EINVAL;
    for (unsigned i = 0; i < f->nr_files; i++)
        if (strcmp((const char *)f->dir + 4 + i * FW_CFG_FILE_ENTRY_SIZE + 8, name) == 0)
            return -EEXIST;
    if (f->nr_files == FW_CFG_MAX_FILES)
        return -ENOSPC;
    f->files[f->nr_files++] = (struct fw_cfg_file){data, size};
    put_be(e, size, 4);
    put_be(e + 4, select, 2);
    memset(e + 6, 0, FW_CFG_FILE_ENTRY_SIZE - 6);
    memcpy(e + 8, name, len);
    f->dir_size += FW_CFG_FILE_ENTRY_SIZE;
    put_be(f->dir, f->nr_files, 4);
    return select;
}

void fw_cfg_set_nr_cpus(struct fw_cfg *f, unsigned nr_cpus)
{
    put_le(f->nb_cpus, nr_cpus ? nr_cpus : 1, 2);
}

int fw_cfg_setup(struct fw_cfg *f, struct dm *dm, uint64_t ram_size, unsigned nr_cpus)
{
    memset(f, 0, sizeof(*f));
    put_le(f->id, 1, 4); /* traditional interface, no DMA */
    put_le(f->ram_size, ram_size, 8);
    fw_cfg_set_nr_cpus(f, nr_cpus);
    put_le(f->boot_fail_wait, FW_CFG_BOOT_FAIL_WAIT, 4);
    f->dir_size = 4;
    fw_cfg_add_file(f, "etc/boot-fail-wait", f->boot_fail_wait, sizeof(f->boot_fail_wait));
    return dm_register(dm, DM_TRAP_PIO, FW_CFG_PORT, 2, 0, fw_cfg_io, f);
}

void fw_cfg_state_save(const struct fw_cfg *f, struct srec_w *w)
{
    srec_put_u16(w, f->select);
    srec_put_u32(w, f->offset);
}

void fw_cfg_state_parse(struct fw_cfg *s, struct srec_r *r)
{
    s->select = srec_get_u16(r);
    s->offset = srec_get_u32(r);
    /* Any offset is what a guest can reach: reads past the end give 0. */
}

void fw_cfg_state_apply(struct fw_cfg *f, const struct fw_cfg *s)
{
    f->select = s->select;
    f->offset = s->offset;
}

/* ---- the device table entry ---- */

static int fw_cfg_create(struct dm_dev *dev)
{
    struct fw_cfg *f = dev->state;
    int rc = fw_cfg_setup(f, dev->dm, dev->machine->ram_size, dev->machine->nr_vcpus);

    if (rc == 0)
        dev->machine->fw_cfg = f;
    return rc;
}

static void fw_cfg_save(struct dm_dev *dev, struct srec_w *w)
{
    fw_cfg_state_save(dev->state, w);
}

static void fw_cfg_parse(struct dm_dev *dev, void *stage, struct srec_r *r)
{
    *(struct fw_cfg *)stage = *(struct fw_cfg *)dev->state;
    fw_cfg_state_parse(stage, r);
}

static void fw_cfg_apply(struct dm_dev *dev, const void *stage)
{
    fw_cfg_state_apply(dev->state, stage);
}

static const struct dm_device_type fw_cfg_type = {
    .name = "fw_cfg",
    .bus = DM_BUS_ISA,
    .pc_default = true,
    .order = 1, /* devices add their files to it */
    .state_size = sizeof(struct fw_cfg),
    .create = fw_cfg_create,
    .state_tag = STATE_TAG_FW_CFG,
    .stage_size = sizeof(struct fw_cfg),
    .save = fw_cfg_save,
    .parse = fw_cfg_parse,
    .apply = fw_cfg_apply,
};
DM_DEVICE(fw_cfg_type);
