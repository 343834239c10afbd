/*
 * The bzImage test guest: whichever entry the loader used (head.S), check
 * what it handed over and print one verdict line on COM1:
 *
 *   - the e820 map: 1 to 128 entries, each non-empty, of a known type, in
 *     ascending order without overlaps; RAM covering the kernel, the zero
 *     page, the command line and the initrd; RAM in total close to
 *     bzk.mem_mib (the size the test gave the guest);
 *   - the command line: the CRC32 of everything from the first "bzk." word
 *     up to " bzk.cmdline_crc=" equals that word's value (so a loader may
 *     put words of its own first, as GRUB puts BOOT_IMAGE=);
 *   - the initrd: ramdisk_size equals bzk.initrd_size and the CRC32 of its
 *     bytes equals bzk.initrd_crc (no bzk.initrd_size: no initrd expected).
 *
 * "bzguest: verdict OK" and exit status 0, or "bzguest: verdict FAIL: why"
 * and 1, through the isa-debug-exit port.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmdline.h"
#include "cpu.h"
#include "crc32.h"
#include "guest.h"
#include "print.h"
#include "uart.h"

#define ZP_EXT_RAMDISK_IMAGE 0x0c0
#define ZP_EXT_RAMDISK_SIZE  0x0c4
#define ZP_E820_COUNT        0x1e8
#define ZP_HEADER            0x202
#define ZP_TYPE_OF_LOADER    0x210
#define ZP_RAMDISK_IMAGE     0x218
#define ZP_RAMDISK_SIZE      0x21c
#define ZP_CMD_LINE_PTR      0x228
#define ZP_E820_TABLE        0x2d0
#define E820_MAX             128
#define E820_RAM             1

extern char __kernel_start[];

static const uint8_t *zp;
static unsigned entry;
static const char *failure;

static uint32_t zp32(unsigned off)
{
    return (uint32_t)zp[off] | (uint32_t)zp[off + 1] << 8 | (uint32_t)zp[off + 2] << 16 |
           (uint32_t)zp[off + 3] << 24;
}

static uint64_t zp64(unsigned off)
{
    return zp32(off) | (uint64_t)zp32(off + 4) << 32;
}

static void check(bool ok, const char *why)
{
    if (!ok && !failure)
        failure = why;
}

/* Whether [start, end) lies in one RAM entry of the map. */
static bool in_ram(uint64_t start, uint64_t end)
{
    for (unsigned i = 0; i < zp[ZP_E820_COUNT] && i < E820_MAX; i++) {
        const unsigned e = ZP_E820_TABLE + 20 * i;
        uint64_t a = zp64(e), s = zp64(e + 8);
        if (zp32(e + 16) == E820_RAM && start >= a && end <= a + s)
            return true;
    }
    return false;
}

static void check_e820(uint64_t initrd, uint64_t initrd_size, uint64_t cmdline, size_t cmd_len)
{
    unsigned n = zp[ZP_E820_COUNT];
    uint64_t prev_end = 0, ram = 0, top = 0, mem = cmdline_u64("bzk.mem_mib", 0) << 20;

    check(n >= 1 && n <= E820_MAX, "e820: no entries, or more than 128");
    for (unsigned i = 0; i < n && i < E820_MAX; i++) {
        const unsigned e = ZP_E820_TABLE + 20 * i;
        uint64_t a = zp64(e), s = zp64(e + 8);
        uint32_t type = zp32(e + 16);
        gprintf("bzguest: e820 %lx-%lx type %u\n", (unsigned long)a, (unsigned long)(a + s - 1),
                type);
        check(s > 0 && a + s > a, "e820: an empty or wrapping entry");
        check(type >= 1 && type <= 20, "e820: an entry of an unknown type");
        check(i == 0 || a >= prev_end, "e820: entries out of order or overlapping");
        prev_end = a + s;
        if (type == E820_RAM) {
            ram += s;
            if (a + s > top && a < (1ull << 32))
                top = a + s;
        }
    }
    check(in_ram((uintptr_t)__kernel_start, (uintptr_t)__image_end),
          "e820: the kernel is not in RAM");
    check(in_ram((uintptr_t)zp, (uintptr_t)zp + 4096), "e820: the zero page is not in RAM");
    check(in_ram(cmdline, cmdline + cmd_len + 1), "e820: the command line is not in RAM");
    check(!initrd_size || in_ram(initrd, initrd + initrd_size), "e820: the initrd is not in RAM");
    gprintf("bzguest: e820 %u entries, %lu KiB of RAM\n", n, (unsigned long)(ram >> 10));
    check(!mem || (ram >= mem / 16 * 15 && top <= mem), "e820: RAM does not add up to bzk.mem_mib");
}

static void check_cmdline(void)
{
    const char *c = cmdline_get(), *start = NULL, *mark = NULL;
    uint64_t want;

    for (const char *p = c; *p && !start; p++)
        if ((p == c || p[-1] == ' ') && p[0] == 'b' && p[1] == 'z' && p[2] == 'k' && p[3] == '.')
            start = p;
    for (const char *p = c; *p && !mark; p++) {
        const char *k = " bzk.cmdline_crc=";
        size_t i = 0;
        while (k[i] && p[i] == k[i])
            i++;
        if (!k[i])
            mark = p;
    }
    want = cmdline_u64("bzk.cmdline_crc", 1ull << 40);
    check(start && mark && mark > start, "cmdline: no bzk. words or no bzk.cmdline_crc");
    if (!start || !mark || mark <= start)
        return;
    uint32_t got = crc32(start, (size_t)(mark - start));
    gprintf("bzguest: cmdline %u bytes checked, crc32 %x\n", (unsigned)(mark - start), got);
    check(got == want, "cmdline: the CRC32 does not match bzk.cmdline_crc");
}

static void check_initrd(uint64_t image, uint64_t size)
{
    uint64_t want_size = cmdline_u64("bzk.initrd_size", 0);
    uint64_t want_crc = cmdline_u64("bzk.initrd_crc", 1ull << 40);

    gprintf("bzguest: initrd %lu bytes at %lx\n", (unsigned long)size, (unsigned long)image);
    check(size == want_size, "initrd: ramdisk_size is not bzk.initrd_size");
    if (!size || size != want_size)
        return;
    check(image + size <= (1ull << 32), "initrd: above 4 GiB");
    if (image + size > (1ull << 32))
        return;
    uint32_t got = crc32((const uint8_t *)(uintptr_t)image, (size_t)size);
    gprintf("bzguest: initrd crc32 %x\n", got);
    check(got == want_crc, "initrd: the CRC32 does not match bzk.initrd_crc");
}

int guest_main(void)
{
    uint64_t initrd = zp32(ZP_RAMDISK_IMAGE) | (uint64_t)zp32(ZP_EXT_RAMDISK_IMAGE) << 32;
    uint64_t initrd_size = zp32(ZP_RAMDISK_SIZE) | (uint64_t)zp32(ZP_EXT_RAMDISK_SIZE) << 32;

    gprintf("bzguest: entered at the %u-bit entry, loader 0x%x\n", entry, zp[ZP_TYPE_OF_LOADER]);
    check(zp32(ZP_HEADER) == 0x53726448u, "the zero page has no setup header");
    check_cmdline();
    check_initrd(initrd, initrd_size);
    size_t cmd_len = 0;
    while (cmdline_get()[cmd_len])
        cmd_len++;
    check_e820(initrd, initrd_size, zp32(ZP_CMD_LINE_PTR), cmd_len);
    if (failure) {
        gprintf("bzguest: verdict FAIL: %s\n", failure);
        return GUEST_EXIT_FAIL;
    }
    gprintf("bzguest: verdict OK\n");
    return GUEST_EXIT_OK;
}

/* From head.S, on the kit's GDT and our identity map. */
void bz_start(uint32_t boot_params, uint32_t entered);
void bz_start(uint32_t boot_params, uint32_t entered)
{
    zp = (const uint8_t *)(uintptr_t)boot_params;
    entry = entered;
    uart_init();
    cpu_init();
    cmdline_init(zp32(ZP_CMD_LINE_PTR));
    guest_exit((uint8_t)guest_main());
}
