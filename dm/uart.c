/* 16550A UART.  Registers by offset from the base port:
 *   0  RBR (read) / THR (write)      DLL when LCR.DLAB
 *   1  IER                           DLM when LCR.DLAB
 *   2  IIR (read) / FCR (write)
 *   3  LCR   4 MCR   5 LSR   6 MSR   7 SCR (scratch)
 * Transmission is instant (THR and the shift register are always empty
 * again by the next access); MCR loopback feeds the receiver instead of the
 * console, and mirrors MCR's outputs on MSR's inputs. */
#include "dm/uart.h"

#include <string.h>

#include "dm/device.h"
#include "dm/state.h"

enum {
    IER_RDI = 0x01,  /* received data available */
    IER_THRI = 0x02, /* THR empty */
    IER_RLSI = 0x04, /* receiver line status */
    IER_MSI = 0x08,  /* modem status */
    IIR_NO_INT = 0x01,
    IIR_MSI = 0x00,
    IIR_THRI = 0x02,
    IIR_RDI = 0x04,
    IIR_RLSI = 0x06,
    IIR_FIFO = 0xc0,
    FCR_ENABLE = 0x01,
    FCR_CLEAR_RX = 0x02,
    FCR_CLEAR_TX = 0x04,
    LCR_DLAB = 0x80,
    MCR_DTR = 0x01,
    MCR_RTS = 0x02,
    MCR_OUT1 = 0x04,
    MCR_OUT2 = 0x08,
    MCR_LOOP = 0x10,
    LSR_DR = 0x01,
    LSR_OE = 0x02,
    LSR_BI = 0x10,
    LSR_THRE = 0x20,
    LSR_TEMT = 0x40,
    LSR_ERRORS = 0x1e,
    MSR_DELTAS = 0x0f,
    MSR_CTS = 0x10,
    MSR_DSR = 0x20,
    MSR_RI = 0x40,
    MSR_DCD = 0x80,
};

static void uart_update_irq(struct uart *u)
{
    uint8_t iir = IIR_NO_INT;

    /* Priority order of the 16550: line status, data, THR empty, modem. */
    if ((u->ier & IER_RLSI) && (u->lsr & LSR_ERRORS))
        iir = IIR_RLSI;
    else if ((u->ier & IER_RDI) && (u->lsr & LSR_DR))
        iir = IIR_RDI;
    else if ((u->ier & IER_THRI) && u->thr_ipending)
        iir = IIR_THRI;
    else if ((u->ier & IER_MSI) && (u->msr & MSR_DELTAS))
        iir = IIR_MSI;

    u->iir = iir | ((u->fcr & FCR_ENABLE) ? IIR_FIFO : 0);
    bool level = !(iir & IIR_NO_INT);
    if (level != u->irq_level) {
        u->irq_level = level;
        dm_set_isa_irq(u->dm, u->irq, level);
    }
}

static void rx_push(struct uart *u, uint8_t byte)
{
    if (u->rx_count == UART_FIFO_SIZE) {
        u->lsr |= LSR_OE;
        return;
    }
    u->rx[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = byte;
    u->rx_count++;
    u->lsr |= LSR_DR;
}

static uint8_t rx_pop(struct uart *u)
{
    uint8_t byte;

    if (u->rx_count == 0)
        return 0;
    byte = u->rx[u->rx_head];
    u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
    if (--u->rx_count == 0)
        u->lsr &= (uint8_t)~LSR_DR;
    return byte;
}

/* In loopback the modem inputs follow the modem outputs. */
static uint8_t loopback_msr(uint8_t mcr)
{
    return (uint8_t)(((mcr & MCR_RTS) ? MSR_CTS : 0) | ((mcr & MCR_DTR) ? MSR_DSR : 0) |
                     ((mcr & MCR_OUT1) ? MSR_RI : 0) | ((mcr & MCR_OUT2) ? MSR_DCD : 0));
}

static void uart_write_reg(struct uart *u, unsigned reg, uint8_t v)
{
    switch (reg) {
    case 0:
        if (u->lcr & LCR_DLAB) {
            u->dll = v;
            break;
        }
        if (u->mcr & MCR_LOOP)
            rx_push(u, v);
        else
            dm_console_write(u->dm, u->console, &v, 1);
        u->lsr |= LSR_THRE | LSR_TEMT;
        u->thr_ipending = true; /* sent at once: THR is empty again */
        break;
    case 1:
        if (u->lcr & LCR_DLAB) {
            u->dlm = v;
            break;
        }
        /* Enabling THRI while THR is empty raises it (as on real parts). */
        if (!(u->ier & IER_THRI) && (v & IER_THRI) && (u->lsr & LSR_THRE))
            u->thr_ipending = true;
        u->ier = v & 0x0f;
        break;
    case 2:
        if (v & FCR_CLEAR_RX) {
            u->rx_head = u->rx_count = 0;
            u->lsr &= (uint8_t)~LSR_DR;
        }
        u->fcr = v & 0xc9; /* enable, DMA mode, trigger level */
        break;
    case 3:
        u->lcr = v;
        break;
    case 4:
        u->mcr = v & 0x1f;
        if (u->mcr & MCR_LOOP) {
            uint8_t now = loopback_msr(u->mcr), before = u->msr & 0xf0;
            /* DCTS, DDSR, DDCD on any change; TERI on RI falling. */
            uint8_t delta = (uint8_t)(((now ^ before) >> 4) & 0x0b);
            if ((before & MSR_RI) && !(now & MSR_RI))
                delta |= 0x04;
            u->msr = (uint8_t)(now | (u->msr & MSR_DELTAS) | delta);
        } else {
            u->msr = (uint8_t)(MSR_DCD | MSR_DSR | MSR_CTS | (u->msr & MSR_DELTAS));
        }
        break;
    case 5: /* LSR is read-only */
    case 6: /* MSR is read-only */
        break;
    case 7:
        u->scr = v;
        break;
    }
    uart_update_irq(u);
}

static uint8_t uart_read_reg(struct uart *u, unsigned reg)
{
    uint8_t v = 0;

    switch (reg) {
    case 0:
        v = (u->lcr & LCR_DLAB) ? u->dll : rx_pop(u);
        break;
    case 1:
        v = (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
        break;
    case 2:
        uart_update_irq(u);
        v = u->iir;
        /* Reading IIR while it reports THR empty acknowledges that. */
        if ((v & 0x0f) == IIR_THRI)
            u->thr_ipending = false;
        break;
    case 3:
        v = u->lcr;
        break;
    case 4:
        v = u->mcr;
        break;
    case 5:
        v = u->lsr;
        u->lsr &= (uint8_t) ~(LSR_OE | LSR_BI | 0x0c); /* errors clear on read */
        break;
    case 6:
        v = u->msr;
        u->msr &= (uint8_t)~MSR_DELTAS;
        break;
    case 7:
        v = u->scr;
        break;
    }
    uart_update_irq(u);
    return v;
}

void uart_io(struct dm *dm, uint64_t addr, uint8_t *data, uint32_t size, bool is_write,
             void *opaque)
{
    struct uart *u = opaque;
    unsigned reg = (unsigned)(addr - u->base);

    (void)dm;
    /* Wider accesses touch consecutive registers, one byte each. */
    for (uint32_t i = 0; i < size; i++) {
        if (reg + i > 7) {
            if (!is_write)
                data[i] = 0xff;
            continue;
        }
        if (is_write)
            uart_write_reg(u, reg + i, data[i]);
        else
            data[i] = uart_read_reg(u, reg + i);
    }
}

static size_t uart_rx_room(void *opaque)
{
    const struct uart *u = opaque;

    /* In loopback the line is disconnected from the console. */
    if (u->mcr & MCR_LOOP)
        return 0;
    return UART_FIFO_SIZE - u->rx_count;
}

static void uart_rx(void *opaque, const uint8_t *buf, size_t len)
{
    struct uart *u = opaque;

    for (size_t i = 0; i < len; i++)
        rx_push(u, buf[i]);
    uart_update_irq(u);
}

int uart_setup(struct uart *u, struct dm *dm, uint16_t base, uint8_t irq, uint8_t console)
{
    struct dm_console_rx rx = {.room = uart_rx_room, .rx = uart_rx, .opaque = u};
    int rc;

    memset(u, 0, sizeof(*u));
    u->dm = dm;
    u->base = base;
    u->irq = irq;
    u->console = console;
    u->iir = IIR_NO_INT;
    u->lsr = LSR_THRE | LSR_TEMT;
    u->msr = MSR_DCD | MSR_DSR | MSR_CTS;
    u->mcr = MCR_OUT2;
    rc = dm_register(dm, DM_TRAP_PIO, base, 8, DM_TRAP_POSTED, uart_io, u);
    if (rc < 0)
        return rc;
    return dm_console_attach(dm, console, &rx);
}

void uart_state_save(const struct uart *u, struct srec_w *w)
{
    const uint8_t regs[] = {u->dll, u->dlm, u->ier, u->iir, u->fcr,
                            u->lcr, u->mcr, u->lsr, u->msr, u->scr};

    srec_put_bytes(w, regs, sizeof(regs));
    srec_put_u8(w, u->thr_ipending);
    srec_put_u8(w, u->irq_level);
    srec_put_bytes(w, u->rx, sizeof(u->rx));
    srec_put_u8(w, (uint8_t)u->rx_head);
    srec_put_u8(w, (uint8_t)u->rx_count);
}

void uart_state_parse(struct uart *s, struct srec_r *r)
{
    uint8_t regs[10];

    srec_get_bytes(r, regs, sizeof(regs));
    s->dll = regs[0], s->dlm = regs[1], s->ier = regs[2] & 0x0f, s->iir = regs[3];
    s->fcr = regs[4] & 0xc9, s->lcr = regs[5], s->mcr = regs[6] & 0x1f, s->lsr = regs[7];
    s->msr = regs[8], s->scr = regs[9];
    s->thr_ipending = srec_get_bool(r);
    s->irq_level = srec_get_bool(r);
    srec_get_bytes(r, s->rx, sizeof(s->rx));
    s->rx_head = srec_get_u8(r);
    s->rx_count = srec_get_u8(r);
    srec_check(r, s->rx_head < UART_FIFO_SIZE && s->rx_count <= UART_FIFO_SIZE,
               "UART FIFO position out of range");
    /* LSR.DR must agree with the FIFO, or reads would pop nothing forever. */
    srec_check(r, !!(s->lsr & LSR_DR) == (s->rx_count != 0), "UART data-ready bit disagrees");
}

void uart_state_apply(struct uart *u, const struct uart *s)
{
    *u = *s;
    /* Recompute IIR from the registers and tell the host the line level. */
    u->irq_level = !u->irq_level;
    uart_update_irq(u);
}

/* ---- the device table entry: COM1 ---- */

static int uart_create(struct dm_dev *dev)
{
    return uart_setup(dev->state, dev->dm, DM_COM1_PORT, DM_COM1_IRQ, DM_COM1_CONSOLE);
}

static void uart_save(struct dm_dev *dev, struct srec_w *w)
{
    uart_state_save(dev->state, w);
}

static void uart_parse(struct dm_dev *dev, void *stage, struct srec_r *r)
{
    *(struct uart *)stage = *(struct uart *)dev->state;
    uart_state_parse(stage, r);
}

static void uart_apply(struct dm_dev *dev, const void *stage)
{
    uart_state_apply(dev->state, stage);
}

static const struct dm_device_type uart_type = {
    .name = "isa-serial",
    .bus = DM_BUS_ISA,
    .pc_default = true,
    .order = 10,
    .state_size = sizeof(struct uart),
    .create = uart_create,
    .state_tag = STATE_TAG_UART,
    .stage_size = sizeof(struct uart),
    .save = uart_save,
    .parse = uart_parse,
    .apply = uart_apply,
};
DM_DEVICE(uart_type);
