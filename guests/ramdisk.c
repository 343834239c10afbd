/*
 * The ramdisk through the PVH path: hvm_start_info's module 0 must be
 * ram.size bytes whose CRC32 is ram.crc (both on the command line), inside
 * RAM as the memory map has it.  Prints "ramdisk: verdict OK" (status 0) or
 * "ramdisk: verdict FAIL: why" (status 1).  Without ram.size, no module
 * may be there.
 */
#include "cmdline.h"
#include "crc32.h"
#include "guest.h"
#include "print.h"

struct hvm_modlist_entry {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
};

static int verdict(const char *why)
{
    if (why) {
        gprintf("ramdisk: verdict FAIL: %s\n", why);
        return GUEST_EXIT_FAIL;
    }
    gprintf("ramdisk: verdict OK\n");
    return GUEST_EXIT_OK;
}

int guest_main(void)
{
    const struct hvm_start_info *si = guest_start_info;
    uint64_t want = cmdline_u64("ram.size", 0), want_crc = cmdline_u64("ram.crc", 1ull << 40);

    if (!si)
        return verdict("no hvm_start_info");
    gprintf("ramdisk: %u modules\n", si->nr_modules);
    if (!want)
        return verdict(si->nr_modules ? "a module nobody asked for" : NULL);
    if (si->nr_modules < 1 || !si->modlist_paddr || si->modlist_paddr >= (1ull << 32))
        return verdict("no module 0");
    const struct hvm_modlist_entry *m =
        (const struct hvm_modlist_entry *)(uintptr_t)si->modlist_paddr;
    gprintf("ramdisk: module 0: %lu bytes at %lx\n", (unsigned long)m->size,
            (unsigned long)m->paddr);
    if (m->size != want)
        return verdict("module 0 is not ram.size bytes");
    if (m->paddr + m->size > guest_ram_top_below_4g() || m->paddr < 0x100000)
        return verdict("module 0 is not in RAM above 1 MiB");
    uint32_t got = crc32((const void *)(uintptr_t)m->paddr, m->size);
    gprintf("ramdisk: crc32 %x\n", got);
    return verdict(got == want_crc ? NULL : "the CRC32 does not match ram.crc");
}
