/* The i8042 and port 0x92 against a fake host: status, self tests, the
 * command byte, keyboard reset and identify, IRQ 1, and every reset path
 * reaching the host's shutdown op with the reboot reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dm/hw/i8042.h"
#include "lib/dmop.h"
#include "tests/platform/fake_host.h"

struct fixture {
    struct dm *dm;
    struct i8042 kbc;
};

static int setup(void **state)
{
    static struct fixture f;

    memset(&f, 0, sizeof(f));
    f.dm = fake_dm_new(64u << 20);
    assert_int_equal(i8042_setup(&f.kbc, f.dm), 0);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    dm_free(f->dm);
    return 0;
}

static uint8_t status(struct fixture *f)
{
    return (uint8_t)fake_in(f->dm, I8042_CMD_PORT, 1);
}

static void command(struct fixture *f, uint8_t cmd)
{
    fake_out(f->dm, I8042_CMD_PORT, 1, cmd);
}

static uint8_t data(struct fixture *f)
{
    return (uint8_t)fake_in(f->dm, I8042_DATA_PORT, 1);
}

static void test_self_tests(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(status(f) & 0x03, 0); /* nothing to read, ready to take */
    command(f, 0xaa);
    assert_int_equal(status(f) & 0x01, 1);
    assert_int_equal(data(f), 0x55);
    assert_int_equal(status(f) & 0x01, 0);
    command(f, 0xab);
    assert_int_equal(data(f), 0x00);
    assert_int_equal(fake.shutdowns, 0);
}

static void test_command_byte_and_irq(void **state)
{
    struct fixture *f = *state;

    command(f, 0x60);
    fake_out(f->dm, I8042_DATA_PORT, 1, 0x00); /* interrupts off */
    command(f, 0x20);
    assert_int_equal(fake.irq_level[I8042_IRQ], 0);
    assert_int_equal(data(f), 0x00);
    command(f, 0x60);
    fake_out(f->dm, I8042_DATA_PORT, 1, 0x01); /* keyboard interrupt on */
    /* Keyboard reset: ACK and BAT passed, with IRQ 1 while data waits. */
    fake_out(f->dm, I8042_DATA_PORT, 1, 0xff);
    assert_int_equal(fake.irq_level[I8042_IRQ], 1);
    assert_int_equal(data(f), 0xfa);
    assert_int_equal(data(f), 0xaa);
    assert_int_equal(fake.irq_level[I8042_IRQ], 0);
    /* Identify, and a command with an argument. */
    fake_out(f->dm, I8042_DATA_PORT, 1, 0xf2);
    assert_int_equal(data(f), 0xfa);
    assert_int_equal(data(f), 0xab);
    assert_int_equal(data(f), 0x83);
    fake_out(f->dm, I8042_DATA_PORT, 1, 0xed);
    fake_out(f->dm, I8042_DATA_PORT, 1, 0x07);
    assert_int_equal(data(f), 0xfa);
    assert_int_equal(data(f), 0xfa);
    /* A flood of commands does not overflow anything. */
    for (int i = 0; i < 100; i++)
        fake_out(f->dm, I8042_DATA_PORT, 1, 0xf2);
    /* Wide accesses are not the controller's. */
    assert_int_equal(fake_in(f->dm, I8042_CMD_PORT, 2), 0xffff);
    assert_int_equal(fake.shutdowns, 0);
}

static void test_reset_pulse(void **state)
{
    struct fixture *f = *state;

    command(f, 0xfe);
    assert_int_equal(fake.shutdowns, 1);
    assert_int_equal(fake.shutdown_reason, DMOP_SHUTDOWN_REBOOT);
    /* Pulsing other lines (bit 0 high) does not reset. */
    command(f, 0xff);
    assert_int_equal(fake.shutdowns, 1);
}

static void test_reset_output_port(void **state)
{
    struct fixture *f = *state;

    command(f, 0xd0);
    assert_int_equal(data(f) & 0x03, 0x03); /* not in reset, A20 on */
    command(f, 0xd1);
    fake_out(f->dm, I8042_DATA_PORT, 1, 0x01); /* A20 off */
    assert_int_equal(fake.shutdowns, 0);
    command(f, 0xd1);
    fake_out(f->dm, I8042_DATA_PORT, 1, 0x02);
    assert_int_equal(fake.shutdowns, 1);
    assert_int_equal(fake.shutdown_reason, DMOP_SHUTDOWN_REBOOT);
}

static void test_port92(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(fake_in(f->dm, SYSCTL_PORT_A, 1), 0x02);
    fake_out(f->dm, SYSCTL_PORT_A, 1, 0x00); /* A20 off */
    assert_int_equal(fake_in(f->dm, SYSCTL_PORT_A, 1), 0x00);
    assert_int_equal(fake.shutdowns, 0);
    fake_out(f->dm, SYSCTL_PORT_A, 1, 0x03); /* fast reset */
    assert_int_equal(fake.shutdowns, 1);
    assert_int_equal(fake.shutdown_reason, DMOP_SHUTDOWN_REBOOT);
    assert_int_equal(fake_in(f->dm, SYSCTL_PORT_A, 1), 0x02); /* bit 0 self-clears */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_self_tests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_command_byte_and_irq, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_pulse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_output_port, setup, teardown),
        cmocka_unit_test_setup_teardown(test_port92, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
