/* The CMOS/RTC against a fake host and a fake clock: time registers in BCD
 * and binary, 12- and 24-hour forms, setting the time, UIP, register C's
 * periodic/update flags and IRQ 8, and the NVRAM memory-size fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dm/hw/rtc.h"
#include "dm/machine.h"
#include "tests/platform/fake_host.h"

#define NS 1000000000ll

/* 2026-11-21 15:04:05 UTC, a Saturday. */
#define T0 1795273445ll

static int64_t fake_now;

static int64_t fake_clock(void)
{
    return fake_now;
}

struct fixture {
    struct dm *dm;
    struct rtc rtc;
};

static int setup(void **state)
{
    static struct fixture f;
    struct rtc_memory mem = {.below_4g = 64u << 20, .nr_cpus = 2};

    memset(&f, 0, sizeof(f));
    fake_now = T0 * NS;
    f.dm = fake_dm_new(64u << 20);
    assert_int_equal(rtc_setup(&f.rtc, f.dm, &mem, fake_clock), 0);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    dm_free(f->dm);
    return 0;
}

/* Through the ports, as a guest does it. */
static uint8_t cmos_in(struct dm *dm, uint8_t reg)
{
    fake_out(dm, 0x70, 1, reg);
    return (uint8_t)fake_in(dm, 0x71, 1);
}

static void cmos_out(struct dm *dm, uint8_t reg, uint8_t v)
{
    fake_out(dm, 0x70, 1, reg);
    fake_out(dm, 0x71, 1, v);
}

static void test_time_bcd_24h(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(cmos_in(f->dm, RTC_SECONDS), 0x05);
    assert_int_equal(cmos_in(f->dm, RTC_MINUTES), 0x04);
    assert_int_equal(cmos_in(f->dm, RTC_HOURS), 0x15);
    assert_int_equal(cmos_in(f->dm, RTC_DAY_OF_WEEK), 7); /* Saturday */
    assert_int_equal(cmos_in(f->dm, RTC_DAY_OF_MONTH), 0x21);
    assert_int_equal(cmos_in(f->dm, RTC_MONTH), 0x11);
    assert_int_equal(cmos_in(f->dm, RTC_YEAR), 0x26);
    assert_int_equal(cmos_in(f->dm, RTC_CENTURY), 0x20);
    /* The NMI-mask bit of the index does not change the register. */
    assert_int_equal(cmos_in(f->dm, 0x80 | RTC_MINUTES), 0x04);
    fake_now += 61 * NS;
    assert_int_equal(cmos_in(f->dm, RTC_SECONDS), 0x06);
    assert_int_equal(cmos_in(f->dm, RTC_MINUTES), 0x05);
}

static void test_time_binary_12h(void **state)
{
    struct fixture *f = *state;

    cmos_out(f->dm, RTC_REG_B, RTC_B_DM_BINARY);           /* binary, 12-hour */
    assert_int_equal(cmos_in(f->dm, RTC_HOURS), 0x80 | 3); /* 3 PM */
    assert_int_equal(cmos_in(f->dm, RTC_DAY_OF_MONTH), 21);
    assert_int_equal(cmos_in(f->dm, RTC_YEAR), 26);
    cmos_out(f->dm, RTC_REG_B, RTC_B_DM_BINARY | RTC_B_24H);
    assert_int_equal(cmos_in(f->dm, RTC_HOURS), 15);
    cmos_out(f->dm, RTC_REG_B, 0); /* BCD 12-hour */
    assert_int_equal(cmos_in(f->dm, RTC_HOURS), 0x83);
    /* Midnight and noon are 12 in 12-hour form. */
    fake_now = (T0 - 15 * 3600) * NS;
    assert_int_equal(cmos_in(f->dm, RTC_HOURS), 0x12);
    fake_now = (T0 - 3 * 3600) * NS;
    assert_int_equal(cmos_in(f->dm, RTC_HOURS), 0x92);
}

static void test_set_time(void **state)
{
    struct fixture *f = *state;

    cmos_out(f->dm, RTC_REG_B, RTC_B_SET | RTC_B_24H);
    cmos_out(f->dm, RTC_HOURS, 0x08);
    cmos_out(f->dm, RTC_YEAR, 0x30);
    fake_now += 10 * NS; /* frozen while SET */
    assert_int_equal(cmos_in(f->dm, RTC_SECONDS), 0x05);
    assert_int_equal(cmos_in(f->dm, RTC_HOURS), 0x08);
    cmos_out(f->dm, RTC_REG_B, RTC_B_24H);
    fake_now += 3 * NS;
    assert_int_equal(cmos_in(f->dm, RTC_SECONDS), 0x08);
    assert_int_equal(cmos_in(f->dm, RTC_HOURS), 0x08);
    assert_int_equal(cmos_in(f->dm, RTC_YEAR), 0x30);
    assert_int_equal(cmos_in(f->dm, RTC_MONTH), 0x11);
    /* Garbage values do not break it. */
    cmos_out(f->dm, RTC_MONTH, 0xff);
    cmos_out(f->dm, RTC_DAY_OF_MONTH, 0x00);
    (void)cmos_in(f->dm, RTC_MONTH);
}

static void test_uip_and_d(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(cmos_in(f->dm, RTC_REG_A), 0x26);
    fake_now = T0 * NS + NS - 100000; /* 100 us before the update */
    assert_int_equal(cmos_in(f->dm, RTC_REG_A), 0x80 | 0x26);
    fake_now = T0 * NS + NS + 1000;
    assert_int_equal(cmos_in(f->dm, RTC_REG_A), 0x26);
    cmos_out(f->dm, RTC_REG_A, 0xff); /* UIP is read-only */
    assert_int_equal(cmos_in(f->dm, RTC_REG_A) & 0x80, 0);
    assert_int_equal(cmos_in(f->dm, RTC_REG_D), RTC_D_VRT);
}

static void test_periodic_flag_and_irq(void **state)
{
    struct fixture *f = *state;

    (void)cmos_in(f->dm, RTC_REG_C);
    assert_int_equal(cmos_in(f->dm, RTC_REG_C), 0); /* nothing happened */
    fake_now += 2 * NS / 1024;                      /* two 1024 Hz periods */
    assert_int_equal(cmos_in(f->dm, RTC_REG_C), RTC_C_PF);
    assert_int_equal(cmos_in(f->dm, RTC_REG_C), 0); /* cleared by the read */
    assert_int_equal(fake.irq_changes[RTC_IRQ], 0); /* PIE off: no IRQ */

    cmos_out(f->dm, RTC_REG_B, RTC_B_24H | RTC_B_PIE);
    fake_now += NS / 512;
    (void)cmos_in(f->dm, RTC_SECONDS); /* any access notices */
    assert_int_equal(fake.irq_level[RTC_IRQ], 1);
    assert_int_equal(cmos_in(f->dm, RTC_REG_C), RTC_C_IRQF | RTC_C_PF);
    assert_int_equal(fake.irq_level[RTC_IRQ], 0);

    /* Rate 0: no periodic flag; a second boundary gives UF. */
    cmos_out(f->dm, RTC_REG_A, 0x20);
    fake_now += NS;
    assert_int_equal(cmos_in(f->dm, RTC_REG_C), RTC_C_UF);
}

/* With PIE on, a timer brings IRQ 8 without any access by the guest. */
static void test_periodic_timer(void **state)
{
    struct fixture *f = *state;
    uint64_t deadline, mono;

    (void)cmos_in(f->dm, RTC_REG_C);
    assert_int_equal(dm_timer_deadline(f->dm, f->rtc.timer), 0); /* nothing enabled */
    mono = dm_now_ns();
    cmos_out(f->dm, RTC_REG_B, RTC_B_24H | RTC_B_PIE);
    deadline = dm_timer_deadline(f->dm, f->rtc.timer);
    assert_true(deadline > mono);
    assert_true(deadline <= dm_now_ns() + NS / 1024 + 1000);
    assert_int_equal(dm_timer_fd(f->dm) >= 0, 1);

    fake_now += NS / 1024;
    dm_timer_run(f->dm, deadline);
    assert_int_equal(fake.irq_level[RTC_IRQ], 1);
    /* Pending: no timer until C is read; the read re-arms it. */
    assert_int_equal(dm_timer_deadline(f->dm, f->rtc.timer), 0);
    assert_int_equal(cmos_in(f->dm, RTC_REG_C), RTC_C_IRQF | RTC_C_PF);
    assert_int_equal(fake.irq_level[RTC_IRQ], 0);
    assert_true(dm_timer_deadline(f->dm, f->rtc.timer) != 0);
    /* PIE off: stopped. */
    cmos_out(f->dm, RTC_REG_B, RTC_B_24H);
    assert_int_equal(dm_timer_deadline(f->dm, f->rtc.timer), 0);
    /* UIE: next second boundary, within a second. */
    cmos_out(f->dm, RTC_REG_B, RTC_B_24H | RTC_B_UIE);
    deadline = dm_timer_deadline(f->dm, f->rtc.timer);
    assert_true(deadline != 0 && deadline <= dm_now_ns() + NS);
}

static void test_alarm_flag(void **state)
{
    struct fixture *f = *state;

    cmos_out(f->dm, RTC_REG_A, 0x20);
    cmos_out(f->dm, RTC_SECONDS_ALARM, 0x07);
    cmos_out(f->dm, RTC_MINUTES_ALARM, 0xc0); /* don't care */
    cmos_out(f->dm, RTC_HOURS_ALARM, 0xff);
    (void)cmos_in(f->dm, RTC_REG_C);
    fake_now += NS; /* :06 */
    assert_int_equal(cmos_in(f->dm, RTC_REG_C), RTC_C_UF);
    fake_now += NS; /* :07 */
    assert_int_equal(cmos_in(f->dm, RTC_REG_C), RTC_C_UF | RTC_C_AF);
}

static unsigned word(const struct rtc *r, unsigned reg)
{
    return r->cmos[reg] | (unsigned)r->cmos[reg + 1] << 8;
}

static void test_memory_fields(void **state)
{
    struct fixture *f = *state;
    struct rtc *r = &f->rtc;
    const struct {
        uint64_t below, above;
        unsigned ext, mem16m, mem4g;
    } cases[] = {
        {16ull << 20, 0, 15 * 1024, 0, 0},
        {64ull << 20, 0, 63 * 1024, 48 * 16, 0},
        {3ull << 30, 512ull << 20, 0xffff, (3072 - 16) * 16, 512 * 16},
        {3ull << 30, 5ull << 30, 0xffff, (3072 - 16) * 16, 5 * 1024 * 16},
    };

    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rtc_memory mem = {
            .below_4g = cases[i].below, .above_4g = cases[i].above, .nr_cpus = 4};
        rtc_set_memory(r, &mem);
        assert_int_equal(word(r, 0x15), 640);
        assert_int_equal(word(r, 0x17), cases[i].ext);
        assert_int_equal(word(r, 0x30), cases[i].ext);
        assert_int_equal(word(r, 0x34), cases[i].mem16m);
        assert_int_equal(r->cmos[0x5b] | r->cmos[0x5c] << 8 | r->cmos[0x5d] << 16, cases[i].mem4g);
        assert_int_equal(r->cmos[0x5f], 3);
        assert_int_equal(r->cmos[0x10], 0);
        assert_int_equal(r->cmos[0x3d] & 0xf, 2); /* hard disk first */
    }
    /* Through the ports, too; and NVRAM is plain memory. */
    assert_int_equal(cmos_in(f->dm, 0x34), (uint8_t)((3072 - 16) * 16));
    cmos_out(f->dm, 0x7f, 0xab);
    assert_int_equal(cmos_in(f->dm, 0x7f), 0xab);
}

/* The platform splits guest RAM at 3 GiB: the rest is above 4 GiB. */
static void test_memory_split(void **state)
{
    const struct {
        uint64_t ram;
        unsigned mem16m, mem4g;
    } cases[] = {
        {16ull << 20, 0, 0},
        {64ull << 20, 48 * 16, 0},
        {3584ull << 20, (3072 - 16) * 16, 512 * 16},
        {8ull << 30, (3072 - 16) * 16, 5 * 1024 * 16},
    };

    (void)state;
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct dm *dm = fake_dm_new(cases[i].ram);
        struct dm_machine *m = fake_machine_new(dm, 2);
        assert_non_null(m);
        struct rtc *rtc = dm_machine_state(m, "mc146818rtc", 0);
        assert_int_equal(word(rtc, 0x34), cases[i].mem16m);
        assert_int_equal(rtc->cmos[0x5b] | rtc->cmos[0x5c] << 8 | rtc->cmos[0x5d] << 16,
                         cases[i].mem4g);
        assert_int_equal(rtc->cmos[0x5f], 1);
        dm_machine_free(m);
        dm_free(dm);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_time_bcd_24h, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_binary_12h, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uip_and_d, setup, teardown),
        cmocka_unit_test_setup_teardown(test_periodic_flag_and_irq, setup, teardown),
        cmocka_unit_test_setup_teardown(test_periodic_timer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alarm_flag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_fields, setup, teardown),
        cmocka_unit_test(test_memory_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
