/*
 * Counts upward forever in memory and prints `count N` on COM1 every
 * `every=N` increments (default 250000000).  The counting runs at CPL3 with
 * IOPL 3: under nested KVM that code runs natively (CPL0 code is emulated
 * instruction by instruction), so the rate depends on the CPU, not on the
 * monitor, and a save/restore test sees the count carry on where it was.
 * With the default a line comes out about every 0.2 s here (1.4e9/s at
 * CPL3); `cpl=0` keeps the loop at CPL0 (about 150000/s when emulated).
 *
 * `fill=N` first fills N MiB of RAM (from the first 2 MiB boundary above
 * the image) with a pattern that depends on each word's address, so no page
 * is zero and no two are alike: a snapshot must carry every page, in its
 * place.  Then, before each `count` line, `fillcheck=N` pages of it
 * (default 1, rotating through the region) are checked; a wrong word
 * prints `fill: mismatch at 0xADDR (read 0xV, want 0xW)` and exits 1.  Each
 * time the rotation has gone over the whole region it prints `fill: pass K
 * ok`.  The position in the rotation is in memory too, so it carries on
 * across a save and restore.  The fill runs at CPL3 like the count (unless
 * `cpl=0`), where it takes about as long as the host takes to fault the
 * pages in.
 */
#include "cmdline.h"
#include "cpu.h"
#include "guest.h"
#include "print.h"

#define PAGE       4096ul
#define FILL_ALIGN (2ul << 20)

/* In memory on purpose: what a snapshot must carry over. */
static volatile uint64_t count;
static uint64_t every;
static char user_stack[16384] __attribute__((aligned(16)));

static uint64_t fill_start, fill_pages, fill_check, fill_next, fill_passes;

/* Odd multiplier: distinct addresses give distinct words; | 1: none is 0. */
static inline uint64_t fill_word(uint64_t addr)
{
    return (addr >> 3) * 0x9e3779b97f4a7c15ull | 1;
}

static void fill(void)
{
    uint64_t end = fill_start + fill_pages * PAGE;

    for (uint64_t a = fill_start; a < end; a += 8)
        *(volatile uint64_t *)(uintptr_t)a = fill_word(a);
    gprintf("fill: %lu MiB at 0x%lx done\n", fill_pages * PAGE >> 20, fill_start);
}

/* The next fillcheck pages of the rotation. */
static void fill_verify(void)
{
    for (uint64_t n = 0; n < fill_check; n++) {
        uint64_t page = fill_start + fill_next * PAGE;
        for (uint64_t a = page; a < page + PAGE; a += 8) {
            uint64_t v = *(volatile uint64_t *)(uintptr_t)a;
            if (v != fill_word(a)) {
                gprintf("fill: mismatch at 0x%lx (read 0x%lx, want 0x%lx)\n", a, v, fill_word(a));
                guest_exit(GUEST_EXIT_FAIL);
            }
        }
        if (++fill_next == fill_pages) {
            fill_next = 0;
            gprintf("fill: pass %lu ok\n", ++fill_passes);
        }
    }
}

static _Noreturn void count_forever(void)
{
    if (fill_pages)
        fill();
    for (;;) {
        uint64_t next = count + every;
        while (count != next)
            count = count + 1;
        if (fill_pages)
            fill_verify();
        gprintf("count %lu\n", next);
    }
}

/* fill=N: where the region goes, checked against the memory map. */
static void fill_setup(void)
{
    uint64_t mib = cmdline_u64("fill", 0);
    uint64_t top = guest_ram_top_below_4g();

    if (!mib)
        return;
    fill_start = ((uint64_t)(uintptr_t)__image_end + FILL_ALIGN - 1) & ~(FILL_ALIGN - 1);
    if (mib > (1ull << 12) || fill_start + (mib << 20) > top) {
        gprintf("fill: %lu MiB do not fit between 0x%lx and the end of RAM at 0x%lx\n", mib,
                fill_start, top);
        guest_exit(GUEST_EXIT_FAIL);
    }
    fill_pages = (mib << 20) / PAGE;
    fill_check = cmdline_u64("fillcheck", 1);
    if (fill_check > fill_pages)
        fill_check = fill_pages;
}

int guest_main(void)
{
    every = cmdline_u64("every", 250000000);
    if (!every)
        every = 1;
    fill_setup();
    if (cmdline_u64("cpl", 3) == 0)
        count_forever();
    cpu_enter_user(count_forever, user_stack + sizeof(user_stack));
}
