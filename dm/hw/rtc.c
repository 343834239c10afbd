/* MC146818 RTC and CMOS NVRAM: see dm/hw/rtc.h. */
#include "dm/hw/rtc.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dm/device.h"
#include "dm/state.h"
#include "lib/log.h"

#define NS_PER_S 1000000000ll
#define UIP_NS   244000ll /* UIP is set this long before each update */

enum {
    CMOS_FLOPPY = 0x10,
    CMOS_EQUIPMENT = 0x14,
    CMOS_BASE_LO = 0x15,
    CMOS_EXT_LO = 0x17,
    CMOS_CHECKSUM_HI = 0x2e,
    CMOS_EXT2_LO = 0x30,
    CMOS_MEM16M_LO = 0x34,
    CMOS_BOOT_FLAG1 = 0x38,
    CMOS_BOOT_FLAG2 = 0x3d,
    CMOS_MEM4G = 0x5b,
    CMOS_SMP_COUNT = 0x5f,
    A_DIVIDER_NORMAL = 0x20,
    BOOT_HD = 2,
};

static int64_t host_realtime_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static int64_t guest_ns(const struct rtc *r)
{
    return r->clock_ns() + r->offset_ns;
}

static int64_t guest_seconds(const struct rtc *r)
{
    if (r->cmos[RTC_REG_B] & RTC_B_SET)
        return r->frozen_s;
    return floor_div(guest_ns(r), NS_PER_S);
}

static void set_guest_seconds(struct rtc *r, int64_t s)
{
    if (r->cmos[RTC_REG_B] & RTC_B_SET)
        r->frozen_s = s;
    else
        r->offset_ns = s * NS_PER_S - r->clock_ns();
}

static uint8_t to_reg(const struct rtc *r, unsigned v)
{
    if (r->cmos[RTC_REG_B] & RTC_B_DM_BINARY)
        return (uint8_t)v;
    return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static unsigned from_reg(const struct rtc *r, uint8_t v)
{
    if (r->cmos[RTC_REG_B] & RTC_B_DM_BINARY)
        return v;
    return (unsigned)(v >> 4) * 10 + (v & 0xf);
}

static uint8_t hours_to_reg(const struct rtc *r, unsigned h)
{
    if (r->cmos[RTC_REG_B] & RTC_B_24H)
        return to_reg(r, h);
    return (uint8_t)(to_reg(r, h % 12 ? h % 12 : 12) | (h >= 12 ? 0x80 : 0));
}

static unsigned hours_from_reg(const struct rtc *r, uint8_t v)
{
    if (r->cmos[RTC_REG_B] & RTC_B_24H)
        return from_reg(r, v);
    return from_reg(r, v & 0x7f) % 12 + ((v & 0x80) ? 12 : 0);
}

static void broken_down(int64_t s, struct tm *tm)
{
    time_t t = (time_t)s;

    if (!gmtime_r(&t, tm))
        memset(tm, 0, sizeof(*tm));
}

static uint8_t time_reg(const struct rtc *r, unsigned reg)
{
    struct tm tm;

    broken_down(guest_seconds(r), &tm);
    switch (reg) {
    case RTC_SECONDS:
        return to_reg(r, (unsigned)tm.tm_sec);
    case RTC_MINUTES:
        return to_reg(r, (unsigned)tm.tm_min);
    case RTC_HOURS:
        return hours_to_reg(r, (unsigned)tm.tm_hour);
    case RTC_DAY_OF_WEEK:
        return to_reg(r, (unsigned)tm.tm_wday + 1);
    case RTC_DAY_OF_MONTH:
        return to_reg(r, (unsigned)tm.tm_mday);
    case RTC_MONTH:
        return to_reg(r, (unsigned)tm.tm_mon + 1);
    case RTC_YEAR:
        return to_reg(r, (unsigned)((tm.tm_year + 1900) % 100));
    default: /* RTC_CENTURY */
        return to_reg(r, (unsigned)((tm.tm_year + 1900) / 100) % 100);
    }
}

/* The guest sets one field of the date or time; the others stay. */
static void set_time_reg(struct rtc *r, unsigned reg, uint8_t v)
{
    struct tm tm;
    unsigned n = from_reg(r, v);

    broken_down(guest_seconds(r), &tm);
    switch (reg) {
    case RTC_SECONDS:
        tm.tm_sec = (int)(n % 60);
        break;
    case RTC_MINUTES:
        tm.tm_min = (int)(n % 60);
        break;
    case RTC_HOURS:
        tm.tm_hour = (int)(hours_from_reg(r, v) % 24);
        break;
    case RTC_DAY_OF_WEEK:
        return; /* derived from the date */
    case RTC_DAY_OF_MONTH:
        tm.tm_mday = (int)(n % 32 ? n % 32 : 1);
        break;
    case RTC_MONTH:
        tm.tm_mon = (int)((n ? n - 1 : 0) % 12);
        break;
    case RTC_YEAR:
        tm.tm_year = (tm.tm_year + 1900) / 100 * 100 + (int)(n % 100) - 1900;
        break;
    default: /* RTC_CENTURY */
        tm.tm_year = (int)(n % 100) * 100 + (tm.tm_year + 1900) % 100 - 1900;
        break;
    }
    set_guest_seconds(r, (int64_t)timegm(&tm));
}

static int64_t periodic_ns(const struct rtc *r)
{
    unsigned rate = r->cmos[RTC_REG_A] & 0xf;

    if (rate == 0)
        return 0;
    if (rate < 3)
        rate += 7; /* rates 1 and 2 repeat 8 and 9 on a 32 kHz time base */
    return ((int64_t)1 << (rate - 1)) * NS_PER_S / 32768;
}

static bool alarm_matches(const struct rtc *r)
{
    static const unsigned pairs[3][2] = {
        {RTC_SECONDS_ALARM, RTC_SECONDS},
        {RTC_MINUTES_ALARM, RTC_MINUTES},
        {RTC_HOURS_ALARM, RTC_HOURS},
    };

    for (unsigned i = 0; i < 3; i++) {
        uint8_t a = r->cmos[pairs[i][0]];
        if ((a & 0xc0) != 0xc0 && a != time_reg(r, pairs[i][1])) /* 0xc0+: don't care */
            return false;
    }
    return true;
}

/* Fold what happened since C was last read into C, and drive IRQ 8 from
 * C's IRQF. */
static void rtc_update(struct rtc *r)
{
    uint8_t *c = &r->cmos[RTC_REG_C];
    bool running =
        !(r->cmos[RTC_REG_B] & RTC_B_SET) && (r->cmos[RTC_REG_A] & 0x70) == A_DIVIDER_NORMAL;
    int64_t now = guest_ns(r), since = r->last_c_ns;
    int64_t period = periodic_ns(r);

    if (running) {
        if (period && floor_div(now, period) != floor_div(since, period))
            *c |= RTC_C_PF;
        if (floor_div(now, NS_PER_S) != floor_div(since, NS_PER_S)) {
            *c |= RTC_C_UF;
            if (alarm_matches(r))
                *c |= RTC_C_AF;
        }
    }
    if (*c & r->cmos[RTC_REG_B] & (RTC_C_PF | RTC_C_AF | RTC_C_UF))
        *c |= RTC_C_IRQF;
    bool level = (*c & RTC_C_IRQF) != 0;
    if (level != r->irq_level) {
        r->irq_level = level;
        dm_set_isa_irq(r->dm, RTC_IRQ, level);
    }
}

/* Set the timer for the next event that could raise IRQ 8, or stop it.
 * Guest time and CLOCK_MONOTONIC run at the same rate, so the distance
 * carries over; a deadline within 100 us of the armed one is left alone
 * (no syscall per access). */
static void rtc_rearm(struct rtc *r)
{
    uint8_t b = r->cmos[RTC_REG_B];
    bool running = !(b & RTC_B_SET) && (r->cmos[RTC_REG_A] & 0x70) == A_DIVIDER_NORMAL;
    int64_t now, next = 0, period = periodic_ns(r);
    uint64_t deadline, armed;

    if (r->timer < 0)
        return;
    if (!running || (r->cmos[RTC_REG_C] & RTC_C_IRQF)) {
        dm_timer_set(r->dm, r->timer, 0);
        return;
    }
    now = guest_ns(r);
    if ((b & RTC_B_PIE) && period)
        next = (floor_div(now, period) + 1) * period;
    if (b & (RTC_B_UIE | RTC_B_AIE)) {
        int64_t second = (floor_div(now, NS_PER_S) + 1) * NS_PER_S;
        if (!next || second < next)
            next = second;
    }
    if (!next) {
        dm_timer_set(r->dm, r->timer, 0);
        return;
    }
    deadline = dm_now_ns() + (uint64_t)(next - now);
    armed = dm_timer_deadline(r->dm, r->timer);
    if (armed && llabs((long long)(armed - deadline)) < 100000)
        return;
    dm_timer_set(r->dm, r->timer, deadline);
}

static void rtc_timer_fire(struct dm *dm, void *opaque)
{
    struct rtc *r = opaque;

    (void)dm;
    rtc_update(r);
    rtc_rearm(r);
}

uint8_t rtc_read(struct rtc *r, unsigned reg)
{
    uint8_t v;

    reg &= 0x7f;
    switch (reg) {
    case RTC_SECONDS:
    case RTC_MINUTES:
    case RTC_HOURS:
    case RTC_DAY_OF_WEEK:
    case RTC_DAY_OF_MONTH:
    case RTC_MONTH:
    case RTC_YEAR:
    case RTC_CENTURY:
        return time_reg(r, reg);
    case RTC_REG_A: {
        int64_t frac = guest_ns(r) - floor_div(guest_ns(r), NS_PER_S) * NS_PER_S;
        v = r->cmos[RTC_REG_A] & 0x7f;
        if (!(r->cmos[RTC_REG_B] & RTC_B_SET) && (v & 0x70) == A_DIVIDER_NORMAL &&
            frac >= NS_PER_S - UIP_NS)
            v |= RTC_A_UIP;
        return v;
    }
    case RTC_REG_C:
        rtc_update(r);
        v = r->cmos[RTC_REG_C];
        r->cmos[RTC_REG_C] = 0;
        r->last_c_ns = guest_ns(r);
        rtc_update(r); /* lowers IRQ 8 */
        return v;
    case RTC_REG_D:
        return RTC_D_VRT;
    default:
        return r->cmos[reg];
    }
}

void rtc_write(struct rtc *r, unsigned reg, uint8_t v)
{
    reg &= 0x7f;
    switch (reg) {
    case RTC_SECONDS:
    case RTC_MINUTES:
    case RTC_HOURS:
    case RTC_DAY_OF_WEEK:
    case RTC_DAY_OF_MONTH:
    case RTC_MONTH:
    case RTC_YEAR:
    case RTC_CENTURY:
        set_time_reg(r, reg, v);
        break;
    case RTC_REG_A:
        r->cmos[RTC_REG_A] = v & 0x7f; /* UIP is read-only */
        break;
    case RTC_REG_B:
        if ((v & RTC_B_SET) && !(r->cmos[RTC_REG_B] & RTC_B_SET)) {
            r->frozen_s = guest_seconds(r);
        } else if (!(v & RTC_B_SET) && (r->cmos[RTC_REG_B] & RTC_B_SET)) {
            r->cmos[RTC_REG_B] = 0;
            set_guest_seconds(r, r->frozen_s);
        }
        /* Setting SET stops updates, and with them UIE (as the part does). */
        r->cmos[RTC_REG_B] = (v & RTC_B_SET) ? (uint8_t)(v & ~RTC_B_UIE) : v;
        break;
    case RTC_REG_C:
    case RTC_REG_D:
        break; /* read-only */
    default:
        r->cmos[reg] = v;
        break;
    }
    rtc_update(r);
}

static void rtc_io(struct dm *dm, uint64_t addr, uint8_t *data, uint32_t size, bool is_write,
                   void *opaque)
{
    struct rtc *r = opaque;

    (void)dm;
    for (uint32_t i = 0; i < size; i++) {
        bool index_port = ((addr + i) & 1) == 0;
        if (is_write && index_port)
            r->index = data[i] & 0x7f; /* bit 7 masks NMI: nothing to mask */
        else if (is_write)
            rtc_write(r, r->index, data[i]);
        else
            data[i] = index_port ? 0xff : rtc_read(r, r->index);
    }
    rtc_update(r); /* any access notices what happened meanwhile */
    rtc_rearm(r);
}

static void put16(uint8_t *p, uint64_t v)
{
    if (v > 0xffff)
        v = 0xffff;
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

void rtc_set_memory(struct rtc *r, const struct rtc_memory *mem)
{
    uint8_t *c = r->cmos;
    uint64_t above_64k = mem->above_4g >> 16;
    unsigned sum = 0;

    put16(&c[CMOS_BASE_LO], 640);
    put16(&c[CMOS_EXT_LO], mem->below_4g > (1u << 20) ? (mem->below_4g - (1u << 20)) >> 10 : 0);
    put16(&c[CMOS_EXT2_LO], mem->below_4g > (1u << 20) ? (mem->below_4g - (1u << 20)) >> 10 : 0);
    put16(&c[CMOS_MEM16M_LO],
          mem->below_4g > (16u << 20) ? (mem->below_4g - (16u << 20)) >> 16 : 0);
    if (above_64k > 0xffffff)
        above_64k = 0xffffff;
    c[CMOS_MEM4G] = (uint8_t)above_64k;
    c[CMOS_MEM4G + 1] = (uint8_t)(above_64k >> 8);
    c[CMOS_MEM4G + 2] = (uint8_t)(above_64k >> 16);
    c[CMOS_SMP_COUNT] = (uint8_t)(mem->nr_cpus ? mem->nr_cpus - 1 : 0);
    c[CMOS_FLOPPY] = 0x00;        /* no floppy drives */
    c[CMOS_EQUIPMENT] = 0x02;     /* FPU, no floppy, EGA/VGA display */
    c[CMOS_BOOT_FLAG2] = BOOT_HD; /* boot from the hard disk first */
    c[CMOS_BOOT_FLAG1] = 0x00;
    for (unsigned i = CMOS_FLOPPY; i < CMOS_CHECKSUM_HI; i++)
        sum += c[i];
    c[CMOS_CHECKSUM_HI] = (uint8_t)(sum >> 8);
    c[CMOS_CHECKSUM_HI + 1] = (uint8_t)sum;
}

int rtc_setup(struct rtc *r, struct dm *dm, const struct rtc_memory *mem, int64_t (*clock_ns)(void))
{
    memset(r, 0, sizeof(*r));
    r->dm = dm;
    r->clock_ns = clock_ns ? clock_ns : host_realtime_ns;
    r->cmos[RTC_REG_A] = 0x26; /* 32 kHz time base, 1024 Hz periodic rate */
    r->cmos[RTC_REG_B] = RTC_B_24H;
    r->last_c_ns = guest_ns(r);
    rtc_set_memory(r, mem);
    r->timer = dm_timer_add(dm, rtc_timer_fire, r);
    if (r->timer < 0)
        log_error("RTC: no timer (%s): interrupts only when the guest looks", strerror(-r->timer));
    return dm_register(dm, DM_TRAP_PIO, RTC_PORT, 2, 0, rtc_io, r);
}

/* Beyond these a restored clock would overflow guest_ns() (and year 2262
 * is past what the registers can say anyway). */
#define STATE_MAX_OFFSET_NS (4000000000ll * NS_PER_S)
#define STATE_MAX_FROZEN_S  9000000000ll

void rtc_state_save(const struct rtc *r, struct srec_w *w)
{
    srec_put_bytes(w, r->cmos, sizeof(r->cmos));
    srec_put_u8(w, r->index);
    srec_put_u64(w, (uint64_t)r->offset_ns);
    srec_put_u64(w, (uint64_t)r->frozen_s);
    srec_put_u64(w, (uint64_t)r->last_c_ns);
    srec_put_u8(w, r->irq_level);
}

void rtc_state_parse(struct rtc *s, struct srec_r *rd)
{
    srec_get_bytes(rd, s->cmos, sizeof(s->cmos));
    s->index = srec_get_u8(rd);
    s->offset_ns = (int64_t)srec_get_u64(rd);
    s->frozen_s = (int64_t)srec_get_u64(rd);
    s->last_c_ns = (int64_t)srec_get_u64(rd);
    s->irq_level = srec_get_bool(rd);
    srec_check(rd, s->index < 0x80, "RTC index out of range");
    srec_check(rd, llabs((long long)s->offset_ns) <= STATE_MAX_OFFSET_NS,
               "RTC clock offset out of range");
    srec_check(rd, llabs((long long)s->frozen_s) <= STATE_MAX_FROZEN_S, "RTC time out of range");
    srec_check(rd, llabs((long long)s->last_c_ns) <= 2 * STATE_MAX_OFFSET_NS,
               "RTC register C time out of range");
    srec_check(rd, !(s->cmos[RTC_REG_A] & RTC_A_UIP), "RTC register A has UIP stored");
}

void rtc_state_apply(struct rtc *r, const struct rtc *s)
{
    *r = *s;
    r->irq_level = !r->irq_level; /* rtc_update() tells the host the level */
    rtc_update(r);
    rtc_rearm(r);
}

/* ---- the device table entry: the PC's CMOS clock ---- */

/* RAM below the 32-bit PCI hole; the rest is above 4 GiB. */
#define RAM_BELOW_4G_MAX (3ull << 30)

static int rtc_create(struct dm_dev *dev)
{
    const struct dm_machine *m = dev->machine;
    struct rtc_memory mem = {.nr_cpus = m->nr_vcpus};

    mem.below_4g = m->ram_size < RAM_BELOW_4G_MAX ? m->ram_size : RAM_BELOW_4G_MAX;
    mem.above_4g = m->ram_size - mem.below_4g;
    return rtc_setup(dev->state, dev->dm, &mem, NULL);
}

static void rtc_save(struct dm_dev *dev, struct srec_w *w)
{
    rtc_state_save(dev->state, w);
}

static void rtc_parse(struct dm_dev *dev, void *stage, struct srec_r *r)
{
    *(struct rtc *)stage = *(struct rtc *)dev->state;
    rtc_state_parse(stage, r);
}

static void rtc_apply(struct dm_dev *dev, const void *stage)
{
    rtc_state_apply(dev->state, stage);
}

static const struct dm_device_type rtc_type = {
    .name = "mc146818rtc",
    .bus = DM_BUS_ISA,
    .pc_default = true,
    .order = 10,
    .state_size = sizeof(struct rtc),
    .create = rtc_create,
    .state_tag = STATE_TAG_RTC,
    .stage_size = sizeof(struct rtc),
    .save = rtc_save,
    .parse = rtc_parse,
    .apply = rtc_apply,
};
DM_DEVICE(rtc_type);
