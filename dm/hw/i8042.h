/* The i8042 keyboard controller (ports 0x60 data, 0x64 status/command,
 * IRQ 1) with a keyboard that answers but never types, and port 0x92
 * (System Control Port A: bit 0 fast reset, bit 1 A20).
 *
 * Enough for firmware: self tests, the command byte, the output port,
 * keyboard reset/identify/LED commands.  Resets - command 0xFE (pulse the
 * reset line), a write of the output port with bit 0 clear, a rising bit 0
 * at port 0x92 - ask the host to shut the guest down with
 * DMOP_SHUTDOWN_REBOOT.  A20 is stored and read back; guest memory is
 * never wrapped at 1 MiB (KVM does not model the A20 gate).
 */
#ifndef STUBVISOR_DM_HW_I8042_H
#define STUBVISOR_DM_HW_I8042_H

#include <stdbool.h>
#include <stdint.h>

#include "dm/dm.h"
#include "dm/state_rec.h"

#define I8042_DATA_PORT  0x60
#define I8042_CMD_PORT   0x64
#define I8042_IRQ        1
#define SYSCTL_PORT_A    0x92
#define I8042_QUEUE_SIZE 16

struct i8042 {
    struct dm *dm;
    uint8_t status;
    uint8_t ctr;         /* the command byte */
    uint8_t outport;     /* bit 0 reset (active low), bit 1 A20 */
    uint8_t pending;     /* controller command waiting for its data byte */
    uint8_t kbd_pending; /* keyboard command waiting for its argument */
    uint8_t queue[I8042_QUEUE_SIZE];
    unsigned head, count;
    uint8_t last; /* what 0x60 reads when nothing is queued */
    uint8_t port92;
    bool irq_level;
};

/* Register 0x60, 0x64 and 0x92 on dm.  Returns 0 or a negative errno. */
int i8042_setup(struct i8042 *k, struct dm *dm);

/* The trap of all three ports (for tests and fuzzers). */
void i8042_io(struct dm *dm, uint64_t addr, uint8_t *data, uint32_t size, bool is_write,
              void *opaque);

/* Save/restore (dm/state.h): controller, queue and port 0x92; apply
 * re-drives IRQ 1. */
void i8042_state_save(const struct i8042 *k, struct srec_w *w);
void i8042_state_parse(struct i8042 *stage, struct srec_r *r);
void i8042_state_apply(struct i8042 *k, const struct i8042 *stage);

#endif
