/* MC146818 CMOS real-time clock and NVRAM at ports 0x70 (index, bit 7 =
 * NMI mask) and 0x71 (data), IRQ 8.
 *
 * Time is the host's clock plus an offset the guest sets (register B's SET
 * bit freezes the registers while it writes them); registers come in BCD
 * or binary and 12- or 24-hour form as register B says.  Everything time
 * dependent is computed when the guest reads: UIP is set in the last
 * 244 us of each second, and register C's flags (PF periodic at register
 * A's rate, AF alarm, UF update ended) say what happened since the guest
 * last read C.  IRQ 8 is raised when such a flag meets its enable bit in
 * B, and lowered when C is read.  While an interrupt is enabled and none
 * is pending, a device-model timer (dm_timer_*) is set for the next
 * periodic tick or second boundary, so the interrupt comes without the
 * guest touching the RTC.
 *
 * NVRAM carries what firmware reads (QEMU's layout): base and extended
 * memory, memory above 16 MiB and above 4 GiB, CPU count, boot order.
 */
#ifndef STUBVISOR_DM_HW_RTC_H
#define STUBVISOR_DM_HW_RTC_H

#include <stdbool.h>
#include <stdint.h>

#include "dm/dm.h"
#include "dm/state_rec.h"

#define RTC_PORT 0x70
#define RTC_IRQ  8

enum {
    RTC_SECONDS = 0x00,
    RTC_SECONDS_ALARM = 0x01,
    RTC_MINUTES = 0x02,
    RTC_MINUTES_ALARM = 0x03,
    RTC_HOURS = 0x04,
    RTC_HOURS_ALARM = 0x05,
    RTC_DAY_OF_WEEK = 0x06,
    RTC_DAY_OF_MONTH = 0x07,
    RTC_MONTH = 0x08,
    RTC_YEAR = 0x09,
    RTC_REG_A = 0x0a,
    RTC_REG_B = 0x0b,
    RTC_REG_C = 0x0c,
    RTC_REG_D = 0x0d,
    RTC_CENTURY = 0x32,

    RTC_A_UIP = 0x80,
    RTC_B_SET = 0x80,
    RTC_B_PIE = 0x40,
    RTC_B_AIE = 0x20,
    RTC_B_UIE = 0x10,
    RTC_B_DM_BINARY = 0x04,
    RTC_B_24H = 0x02,
    RTC_C_IRQF = 0x80,
    RTC_C_PF = 0x40,
    RTC_C_AF = 0x20,
    RTC_C_UF = 0x10,
    RTC_D_VRT = 0x80,
};

struct rtc {
    struct dm *dm;
    uint8_t cmos[128];
    uint8_t index;
    int64_t offset_ns; /* guest time = host realtime + offset */
    int64_t frozen_s;  /* guest seconds while SET is on */
    int64_t last_c_ns; /* guest time when C was last read */
    bool irq_level;
    int timer;                 /* dm timer id, -1 if none */
    int64_t (*clock_ns)(void); /* host realtime in ns; tests replace it */
};

/* Memory the firmware is told about: below is RAM from 0 up to the PCI
 * hole, above is RAM from 4 GiB. */
struct rtc_memory {
    uint64_t below_4g;
    uint64_t above_4g;
    unsigned nr_cpus;
};

/* Register the RTC on dm and fill its NVRAM from mem.  clock_ns NULL: the
 * host's CLOCK_REALTIME.  Returns 0 or a negative errno. */
int rtc_setup(struct rtc *r, struct dm *dm, const struct rtc_memory *mem,
              int64_t (*clock_ns)(void));

/* Only the NVRAM part (also used by rtc_setup). */
void rtc_set_memory(struct rtc *r, const struct rtc_memory *mem);

/* Direct register access, as ports 0x70/0x71 do it (for tests). */
uint8_t rtc_read(struct rtc *r, unsigned reg);
void rtc_write(struct rtc *r, unsigned reg, uint8_t v);

/* Save/restore (dm/state.h).  The clock is saved as its offset from the
 * host's realtime clock, so after a restore guest time has moved on by as
 * long as the guest was saved (as a real machine's battery clock would);
 * apply re-drives IRQ 8 and re-arms the timer. */
void rtc_state_save(const struct rtc *r, struct srec_w *w);
void rtc_state_parse(struct rtc *stage, struct srec_r *rd);
void rtc_state_apply(struct rtc *r, const struct rtc *stage);

#endif
