/* The 16550 against a fake host: registers, DLAB, IIR/LSR and interrupt
 * logic, FIFO, loopback, scratch, console in and out; and the ioreq
 * handler's checks on malformed requests. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dm/machine.h"
#include "dm/server.h"
#include "dm/uart.h"
#include "lib/dmop.h"

struct fake_host {
    int irq_level[16];
    unsigned irq_changes;
    char out[256];
    size_t out_len;
    char in[256];
    size_t in_len, in_off;
    int shutdown_status;
    unsigned maps;
};

static struct fake_host host;

static int f_map(void *h, int type, uint64_t s, uint64_t e, uint32_t flags)
{
    (void)h, (void)type, (void)s, (void)e, (void)flags;
    host.maps++;
    return 0;
}

static int f_unmap(void *h, int type, uint64_t s, uint64_t e)
{
    (void)h, (void)type, (void)s, (void)e;
    return 0;
}

static int f_irq(void *h, unsigned irq, int level)
{
    (void)h;
    assert_true(irq < 16);
    host.irq_level[irq] = level;
    host.irq_changes++;
    return 0;
}

static int f_msi(void *h, uint64_t a, uint32_t d)
{
    (void)h, (void)a, (void)d;
    return 0;
}

static int f_ioeventfd(void *h, int t, uint64_t a, uint32_t l, int fd, bool d)
{
    (void)h, (void)t, (void)a, (void)l, (void)fd, (void)d;
    return 0;
}

static int f_irqfd(void *h, unsigned g, int fd, bool d)
{
    (void)h, (void)g, (void)fd, (void)d;
    return 0;
}

static int f_shutdown(void *h, unsigned reason, unsigned status)
{
    (void)h, (void)reason;
    host.shutdown_status = (int)status;
    return 0;
}

static int f_write(void *h, unsigned idx, const void *buf, size_t len)
{
    (void)h;
    assert_int_equal(idx, 3);
    assert_true(host.out_len + len <= sizeof(host.out));
    memcpy(host.out + host.out_len, buf, len);
    host.out_len += len;
    return 0;
}

static ssize_t f_read(void *h, unsigned idx, void *buf, size_t len)
{
    size_t n = host.in_len - host.in_off;

    (void)h;
    if (idx != 3)
        return 0;
    if (n > len)
        n = len;
    memcpy(buf, host.in + host.in_off, n);
    host.in_off += n;
    return (ssize_t)n;
}

static const struct dm_host_ops fake_ops = {
    f_map,      f_unmap, f_irq,  f_msi, f_ioeventfd, f_irqfd,
    f_shutdown, f_write, f_read, NULL,  NULL,        NULL,
};

struct fixture {
    struct dm *dm;
    struct dm_machine *m;
};

static int setup(void **state)
{
    static struct fixture f;

    memset(&host, 0, sizeof(host));
    host.shutdown_status = -1;
    f.dm = dm_new(&fake_ops, &host, NULL, 0);
    assert_non_null(f.dm);
    f.m = dm_machine_new(f.dm, NULL, &(struct dm_machine_params){.nr_vcpus = 1});
    assert_non_null(f.m);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    dm_machine_free(f->m);
    dm_free(f->dm);
    return 0;
}

static uint8_t inb(void **state, uint16_t port)
{
    struct fixture *f = *state;
    uint8_t data[8];

    dm_dispatch(f->dm, DM_TRAP_PIO, port, data, 1, false);
    return data[0];
}

static void outb(void **state, uint16_t port, uint8_t v)
{
    struct fixture *f = *state;
    uint8_t data[8] = {v};

    dm_dispatch(f->dm, DM_TRAP_PIO, port, data, 1, true);
}

#define COM1 0x3f8
#define RBR  0
#define IER  1
#define IIR  2
#define LCR  3
#define MCR  4
#define LSR  5
#define MSR  6
#define SCR  7

static void test_reset_state(void **state)
{
    /* At least COM1, debug console, debug exit; PCI bus, RTC, i8042 (2),
     * port 0x92, fw_cfg: the PC machine's devices map their ranges. */
    assert_true(host.maps >= 9);
    assert_int_equal(inb(state, COM1 + IIR), 0x01);
    assert_int_equal(inb(state, COM1 + LSR), 0x60); /* THRE | TEMT */
    assert_int_equal(inb(state, COM1 + IER), 0);
    assert_int_equal(host.irq_level[4], 0);
}

static void test_scratch_and_dlab(void **state)
{
    outb(state, COM1 + SCR, 0xa5);
    assert_int_equal(inb(state, COM1 + SCR), 0xa5);
    outb(state, COM1 + LCR, 0x83); /* DLAB, 8N1 */
    outb(state, COM1 + 0, 0x0c);   /* 9600 baud */
    outb(state, COM1 + 1, 0x00);
    assert_int_equal(inb(state, COM1 + 0), 0x0c);
    assert_int_equal(inb(state, COM1 + 1), 0x00);
    assert_int_equal(host.out_len, 0); /* DLL is not THR */
    outb(state, COM1 + LCR, 0x03);
    assert_int_equal(inb(state, COM1 + LCR), 0x03);
    assert_int_equal(inb(state, COM1 + IER), 0x00); /* IER untouched by DLM */
}

static void test_transmit(void **state)
{
    outb(state, COM1, 'h');
    outb(state, COM1, 'i');
    assert_int_equal(host.out_len, 2);
    assert_memory_equal(host.out, "hi", 2);
    assert_int_equal(inb(state, COM1 + LSR) & 0x60, 0x60);
}

static void test_thr_interrupt(void **state)
{
    /* Enabling THRI with THR empty raises it; reading IIR acknowledges. */
    outb(state, COM1 + IER, 0x02);
    assert_int_equal(host.irq_level[4], 1);
    assert_int_equal(inb(state, COM1 + IIR), 0x02);
    assert_int_equal(host.irq_level[4], 0);
    assert_int_equal(inb(state, COM1 + IIR), 0x01);
    /* A transmitted byte empties THR again: raised once more. */
    outb(state, COM1, 'x');
    assert_int_equal(host.irq_level[4], 1);
    outb(state, COM1 + IER, 0);
    assert_int_equal(host.irq_level[4], 0);
}

static void test_receive_interrupt(void **state)
{
    struct fixture *f = *state;

    outb(state, COM1 + IER, 0x01);
    memcpy(host.in, "ab", 2);
    host.in_len = 2;
    assert_false(dm_console_poll(f->dm));
    assert_int_equal(host.irq_level[4], 1);
    assert_int_equal(inb(state, COM1 + IIR), 0x04);
    assert_int_equal(inb(state, COM1 + LSR) & 0x01, 0x01);
    assert_int_equal(inb(state, COM1 + RBR), 'a');
    assert_int_equal(host.irq_level[4], 1);
    assert_int_equal(inb(state, COM1 + RBR), 'b');
    assert_int_equal(host.irq_level[4], 0);
    assert_int_equal(inb(state, COM1 + LSR) & 0x01, 0);
    assert_int_equal(inb(state, COM1 + IIR), 0x01);
}

static void test_fifo_flow_control(void **state)
{
    struct fixture *f = *state;

    memset(host.in, 'z', 40);
    host.in_len = 40;
    assert_true(dm_console_poll(f->dm)); /* 16 taken, the rest waits */
    assert_int_equal(host.in_off, UART_FIFO_SIZE);
    for (int i = 0; i < UART_FIFO_SIZE; i++)
        assert_int_equal(inb(state, COM1 + RBR), 'z');
    assert_int_equal(inb(state, COM1 + LSR) & 0x03, 0); /* no overrun */
    dm_console_poll(f->dm);
    assert_int_equal(host.in_off, 2 * UART_FIFO_SIZE);
}

static void test_fifo_control(void **state)
{
    struct fixture *f = *state;

    outb(state, COM1 + 2, 0x01); /* FIFO on */
    assert_int_equal(inb(state, COM1 + IIR), 0xc1);
    host.in[0] = 'q';
    host.in_len = 1;
    dm_console_poll(f->dm);
    outb(state, COM1 + 2, 0x03); /* clear RX */
    assert_int_equal(inb(state, COM1 + LSR) & 0x01, 0);
}

static void test_loopback(void **state)
{
    outb(state, COM1 + IER, 0x09); /* RDI | MSI */
    outb(state, COM1 + MCR, 0x10); /* loop */
    outb(state, COM1, 'L');
    assert_int_equal(host.out_len, 0); /* not on the console */
    assert_int_equal(inb(state, COM1 + IIR), 0x04);
    assert_int_equal(inb(state, COM1 + RBR), 'L');
    /* Modem outputs appear on the modem inputs. */
    outb(state, COM1 + MCR, 0x10 | 0x01 | 0x02); /* DTR, RTS */
    uint8_t msr = inb(state, COM1 + MSR);
    assert_int_equal(msr & 0xf0, 0x30);                 /* CTS, DSR */
    assert_int_not_equal(msr & 0x03, 0);                /* deltas */
    assert_int_equal(inb(state, COM1 + MSR) & 0x0f, 0); /* cleared on read */
    /* Overrun: more than the FIFO holds. */
    for (int i = 0; i < UART_FIFO_SIZE + 1; i++)
        outb(state, COM1, (uint8_t)i);
    assert_int_equal(inb(state, COM1 + LSR) & 0x02, 0x02);
    assert_int_equal(inb(state, COM1 + LSR) & 0x02, 0); /* cleared on read */
}

static void test_line_status_priority(void **state)
{
    outb(state, COM1 + IER, 0x05); /* RLSI | RDI */
    outb(state, COM1 + MCR, 0x10);
    for (int i = 0; i < UART_FIFO_SIZE + 1; i++)
        outb(state, COM1, 'o');
    assert_int_equal(inb(state, COM1 + IIR), 0x06); /* line status first */
    (void)inb(state, COM1 + LSR);
    assert_int_equal(inb(state, COM1 + IIR), 0x04);
}

static void test_wide_and_odd_accesses(void **state)
{
    struct fixture *f = *state;
    uint8_t data[8];

    /* A word at SCR covers SCR and the byte past COM1: that one is not the
     * UART's, so the access is not claimed at all. */
    assert_false(dm_dispatch(f->dm, DM_TRAP_PIO, COM1 + 7, data, 2, false));
    assert_int_equal(data[0], 0xff);
    assert_false(dm_dispatch(f->dm, DM_TRAP_PIO, COM1, data, 3, false));
    assert_true(dm_dispatch(f->dm, DM_TRAP_PIO, COM1 + 6, data, 2, false));
}

static void test_debug_ports(void **state)
{
    assert_int_equal(inb(state, 0x402), 0xe9);
    outb(state, 0x402, 'x');
    outb(state, 0x402, '\n');
    outb(state, 0xf4, 7);
    assert_int_equal(host.shutdown_status, 7);
}

static void test_ioreq_handle(void **state)
{
    struct fixture *f = *state;
    uint8_t bounce[IOREQ_PAGE_SIZE];
    struct ioreq r;

    /* A scratch write and read through string I/O in the bounce page. */
    memset(&r, 0, sizeof(r));
    r = (struct ioreq){.addr = COM1 + SCR,
                       .count = 3,
                       .size = 1,
                       .dir = IOREQ_WRITE,
                       .type = IOREQ_TYPE_PIO,
                       .flags = IOREQ_F_DATA_IS_PTR,
                       .data = 100};
    memcpy(bounce + 100, "\x01\x02\x03", 3);
    assert_int_equal(ioreq_handle(f->dm, &r, bounce), 0);
    assert_int_equal(inb(state, COM1 + SCR), 3);

    /* Malformed: bad size, bad type, zero count, past the bounce page. */
    struct ioreq bad[] = {
        {.addr = COM1, .count = 1, .size = 3, .dir = IOREQ_READ},
        {.addr = COM1, .count = 1, .size = 1, .dir = IOREQ_READ, .type = 9},
        {.addr = COM1, .count = 0, .size = 1, .dir = IOREQ_READ},
        {.addr = COM1, .count = 2, .size = 1, .dir = IOREQ_READ},
        {.addr = COM1,
         .count = 2,
         .size = 4,
         .dir = IOREQ_READ,
         .flags = IOREQ_F_DATA_IS_PTR,
         .data = IOREQ_PAGE_SIZE - 4},
        {.addr = COM1,
         .count = 0x80000000u,
         .size = 8,
         .dir = IOREQ_READ,
         .flags = IOREQ_F_DATA_IS_PTR},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(ioreq_handle(f->dm, &bad[i], bounce), -EINVAL);
        if (!(bad[i].flags & IOREQ_F_DATA_IS_PTR))
            assert_true(bad[i].data == ~0ull);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reset_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scratch_and_dlab, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transmit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thr_interrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_receive_interrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fifo_flow_control, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fifo_control, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loopback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_status_priority, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wide_and_odd_accesses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_debug_ports, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ioreq_handle, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
