/* Minimal fw_cfg: see dm/hw/fw_cfg.h. */
#include "dm/hw/fw_cfg.h"

#include <string.h>

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
    case FW_CFG_FILE_FIRST:
        *len = sizeof(f->boot_fail_wait);
        return f->boot_fail_wait;
    default:
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

static void add_file(struct fw_cfg *f, const char *name, uint16_t select, uint32_t size)
{
    uint32_t n = (f->dir_size - 4) / FW_CFG_FILE_ENTRY_SIZE;
    uint8_t *e = f->dir + f->dir_size;

    put_be(e, size, 4);
    put_be(e + 4, select, 2);
    strncpy((char *)e + 8, name, FW_CFG_FILE_NAME_SIZE - 1);
    f->dir_size += FW_CFG_FILE_ENTRY_SIZE;
    put_be(f->dir, n + 1, 4);
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
    add_file(f, "etc/boot-fail-wait", FW_CFG_FILE_FIRST, sizeof(f->boot_fail_wait));
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
