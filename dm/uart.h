/* A 16550A UART (PC COM port), after kvmtool's hw/serial.c: one
 * uart_update_irq() recomputes IIR, LSR-derived interrupts and the IRQ line
 * from the register state, instead of patching flags at every access. */
#ifndef STUBVISOR_DM_UART_H
#define STUBVISOR_DM_UART_H

#include <stdbool.h>
#include <stdint.h>

#include "dm/dm.h"
#include "dm/state_rec.h"

#define UART_FIFO_SIZE 16

/* COM1, as the PC machine has it (the "isa-serial" device): its ports,
 * IRQ, and the device-model console its bytes go to and come from. */
#define DM_COM1_PORT    0x3f8
#define DM_COM1_IRQ     4
#define DM_COM1_CONSOLE 3

struct uart {
    struct dm *dm;
    uint16_t base;
    uint8_t irq;
    uint8_t console; /* console index output goes to and input comes from */
    uint8_t dll, dlm, ier, iir, fcr, lcr, mcr, lsr, msr, scr;
    bool thr_ipending; /* THR-empty interrupt latched until IIR read or THR write */
    bool irq_level;    /* last level given to the host */
    uint8_t rx[UART_FIFO_SIZE];
    unsigned rx_head, rx_count;
};

/* Reset *u, register its 8 ports at base (posted writes) and its console
 * receiver.  Returns 0 or a negative errno. */
int uart_setup(struct uart *u, struct dm *dm, uint16_t base, uint8_t irq, uint8_t console);

/* The trap handler (exposed for tests; dm_dispatch() is the normal way). */
void uart_io(struct dm *dm, uint64_t addr, uint8_t *data, uint32_t size, bool is_write,
             void *opaque);

/* Save/restore (dm/state.h): save writes the registers and FIFO; parse
 * checks a record into *stage (a copy of the live UART); apply makes the
 * staged state live and gives the host the IRQ level again. */
void uart_state_save(const struct uart *u, struct srec_w *w);
void uart_state_parse(struct uart *stage, struct srec_r *r);
void uart_state_apply(struct uart *u, const struct uart *stage);

#endif
