/* i8042 keyboard controller and port 0x92: see dm/hw/i8042.h. */
#include "dm/hw/i8042.h"

#include <string.h>

#include "dm/device.h"
#include "dm/state.h"
#include "lib/dmop.h"
#include "lib/log.h"

enum {
    ST_OBF = 0x01,
    ST_SYS = 0x04,
    ST_CMD = 0x08, /* last write went to 0x64 */
    ST_UNLOCKED = 0x10,
    CTR_KBD_INT = 0x01,
    CTR_SYS = 0x04,
    CTR_KBD_DISABLE = 0x10,
    CTR_AUX_DISABLE = 0x20,
    CTR_XLATE = 0x40,
    OUT_RESET = 0x01, /* active low */
    OUT_A20 = 0x02,
    KBD_ACK = 0xfa,
};

static void update_irq(struct i8042 *k)
{
    bool level = k->count > 0 && (k->ctr & CTR_KBD_INT);

    if (k->count)
        k->status |= ST_OBF;
    else
        k->status &= (uint8_t)~ST_OBF;
    if (level != k->irq_level) {
        k->irq_level = level;
        dm_set_isa_irq(k->dm, I8042_IRQ, level);
    }
}

static void push(struct i8042 *k, uint8_t v)
{
    if (k->count == I8042_QUEUE_SIZE)
        return; /* a real controller has one byte: dropping is fine */
    k->queue[(k->head + k->count) % I8042_QUEUE_SIZE] = v;
    k->count++;
}

static uint8_t pop(struct i8042 *k)
{
    if (k->count) {
        k->last = k->queue[k->head];
        k->head = (k->head + 1) % I8042_QUEUE_SIZE;
        k->count--;
    }
    return k->last;
}

static void reset_guest(struct i8042 *k, const char *how)
{
    log_info("guest reset through %s", how);
    dm_shutdown(k->dm, DMOP_SHUTDOWN_REBOOT, 0);
}

static void controller_command(struct i8042 *k, uint8_t cmd)
{
    switch (cmd) {
    case 0x20:
        push(k, k->ctr);
        break;
    case 0x60:
    case 0xd1:
    case 0xd2:
    case 0xd3:
    case 0xd4:
        k->pending = cmd;
        break;
    case 0xa7:
        k->ctr |= CTR_AUX_DISABLE;
        break;
    case 0xa8:
        k->ctr &= (uint8_t)~CTR_AUX_DISABLE;
        break;
    case 0xa9: /* aux interface test: ok */
    case 0xab: /* keyboard interface test: ok */
        push(k, 0x00);
        break;
    case 0xaa: /* controller self test */
        k->status |= ST_SYS;
        push(k, 0x55);
        break;
    case 0xad:
        k->ctr |= CTR_KBD_DISABLE;
        break;
    case 0xae:
        k->ctr &= (uint8_t)~CTR_KBD_DISABLE;
        break;
    case 0xc0: /* input port */
        push(k, 0x00);
        break;
    case 0xd0:
        push(k, k->outport);
        break;
    case 0xdd:
        k->outport &= (uint8_t)~OUT_A20;
        break;
    case 0xdf:
        k->outport |= OUT_A20;
        break;
    default:
        /* 0xf0-0xff pulse output lines low for 6 us: bit 0 is reset. */
        if (cmd >= 0xf0 && !(cmd & 1))
            reset_guest(k, "the keyboard controller");
        break;
    }
}

static void keyboard_command(struct i8042 *k, uint8_t v)
{
    if (k->kbd_pending) { /* the argument of LEDs, typematic, scan set */
        k->kbd_pending = 0;
        push(k, KBD_ACK);
        return;
    }
    switch (v) {
    case 0xff: /* reset: ack, then basic assurance test passed */
        push(k, KBD_ACK);
        push(k, 0xaa);
        break;
    case 0xf2: /* identify: an MF2 keyboard */
        push(k, KBD_ACK);
        push(k, 0xab);
        push(k, 0x83);
        break;
    case 0xee:
        push(k, 0xee);
        break;
    case 0xed:
    case 0xf3:
    case 0xf0:
        k->kbd_pending = v;
        push(k, KBD_ACK);
        break;
    default:
        push(k, KBD_ACK);
        break;
    }
}

static void data_write(struct i8042 *k, uint8_t v)
{
    uint8_t cmd = k->pending;

    k->pending = 0;
    switch (cmd) {
    case 0x60:
        k->ctr = v;
        k->status = (uint8_t)((k->status & ~ST_SYS) | (v & CTR_SYS));
        break;
    case 0xd1:
        k->outport = v;
        if (!(v & OUT_RESET))
            reset_guest(k, "the keyboard controller's output port");
        break;
    case 0xd2: /* as if the keyboard sent it */
    case 0xd3: /* as if the mouse sent it */
        push(k, v);
        break;
    case 0xd4:
        break; /* no mouse: it does not answer */
    default:
        keyboard_command(k, v);
        break;
    }
}

static void port92_write(struct i8042 *k, uint8_t v)
{
    bool rising = (v & 1) && !(k->port92 & 1);

    k->port92 = v & OUT_A20;
    k->outport = (uint8_t)((k->outport & ~OUT_A20) | (v & OUT_A20));
    if (rising)
        reset_guest(k, "port 0x92");
}

void i8042_io(struct dm *dm, uint64_t addr, uint8_t *data, uint32_t size, bool is_write,
              void *opaque)
{
    struct i8042 *k = opaque;

    (void)dm;
    if (size != 1) { /* byte registers: wider accesses are not for us */
        if (!is_write)
            memset(data, 0xff, size);
        return;
    }
    switch (addr) {
    case I8042_DATA_PORT:
        if (is_write) {
            k->status &= (uint8_t)~ST_CMD;
            data_write(k, data[0]);
        } else {
            data[0] = pop(k);
        }
        break;
    case I8042_CMD_PORT:
        if (is_write) {
            k->status |= ST_CMD;
            controller_command(k, data[0]);
        } else {
            data[0] = k->status;
        }
        break;
    default: /* SYSCTL_PORT_A */
        if (is_write)
            port92_write(k, data[0]);
        else
            data[0] = k->port92;
        break;
    }
    update_irq(k);
}

int i8042_setup(struct i8042 *k, struct dm *dm)
{
    int rc;

    memset(k, 0, sizeof(*k));
    k->dm = dm;
    k->status = ST_SYS | ST_UNLOCKED;
    k->ctr = CTR_KBD_INT | CTR_SYS | CTR_XLATE;
    k->outport = OUT_RESET | OUT_A20;
    k->port92 = OUT_A20;
    if ((rc = dm_register(dm, DM_TRAP_PIO, I8042_DATA_PORT, 1, 0, i8042_io, k)) < 0 ||
        (rc = dm_register(dm, DM_TRAP_PIO, I8042_CMD_PORT, 1, 0, i8042_io, k)) < 0)
        return rc;
    return dm_register(dm, DM_TRAP_PIO, SYSCTL_PORT_A, 1, 0, i8042_io, k);
}

void i8042_state_save(const struct i8042 *k, struct srec_w *w)
{
    const uint8_t regs[] = {k->status,      k->ctr,  k->outport, k->pending,
                            k->kbd_pending, k->last, k->port92};

    srec_put_bytes(w, regs, sizeof(regs));
    srec_put_bytes(w, k->queue, sizeof(k->queue));
    srec_put_u8(w, (uint8_t)k->head);
    srec_put_u8(w, (uint8_t)k->count);
    srec_put_u8(w, k->irq_level);
}

void i8042_state_parse(struct i8042 *s, struct srec_r *r)
{
    uint8_t regs[7];

    srec_get_bytes(r, regs, sizeof(regs));
    s->status = regs[0], s->ctr = regs[1], s->outport = regs[2], s->pending = regs[3];
    s->kbd_pending = regs[4], s->last = regs[5], s->port92 = regs[6];
    srec_get_bytes(r, s->queue, sizeof(s->queue));
    s->head = srec_get_u8(r);
    s->count = srec_get_u8(r);
    s->irq_level = srec_get_bool(r);
    srec_check(r, s->head < I8042_QUEUE_SIZE && s->count <= I8042_QUEUE_SIZE,
               "i8042 queue position out of range");
}

void i8042_state_apply(struct i8042 *k, const struct i8042 *s)
{
    *k = *s;
    k->irq_level = !k->irq_level; /* update_irq() tells the host the level */
    update_irq(k);
}

/* ---- the device table entry: keyboard controller and port 0x92 ---- */

static int i8042_create(struct dm_dev *dev)
{
    return i8042_setup(dev->state, dev->dm);
}

static void i8042_save(struct dm_dev *dev, struct srec_w *w)
{
    i8042_state_save(dev->state, w);
}

static void i8042_parse(struct dm_dev *dev, void *stage, struct srec_r *r)
{
    *(struct i8042 *)stage = *(struct i8042 *)dev->state;
    i8042_state_parse(stage, r);
}

static void i8042_apply(struct dm_dev *dev, const void *stage)
{
    i8042_state_apply(dev->state, stage);
}

static const struct dm_device_type i8042_type = {
    .name = "i8042",
    .bus = DM_BUS_ISA,
    .pc_default = true,
    .order = 10,
    .state_size = sizeof(struct i8042),
    .create = i8042_create,
    .state_tag = STATE_TAG_I8042,
    .stage_size = sizeof(struct i8042),
    .save = i8042_save,
    .parse = i8042_parse,
    .apply = i8042_apply,
};
DM_DEVICE(i8042_type);
