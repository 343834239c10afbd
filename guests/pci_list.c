/*
 * Lists PCI bus 0 through configuration mechanism #1 (0xcf8/0xcfc): one
 * line per function with its vendor, device and class, then one line per
 * implemented BAR with its kind and size, found by writing all ones and
 * reading back (with decoding off meanwhile, then the BAR restored).
 *
 *   pci 00:03.0 1af4:1001 class 018000
 *   pci 00:03.0 bar0 io size 0x40
 *
 * With `map=1` it then does what firmware does: gives every BAR an address
 * (I/O from 0xc000, memory from 0xe0000000, each aligned to its size),
 * turns decoding on, and reads the first dword of each; a BAR the device
 * model did not map reads all ones:
 *
 *   pci 00:03.0 bar0 at 0xc000 mapped|unmapped
 */
#include <stdbool.h>
#include <stdint.h>

#include "cmdline.h"
#include "guest.h"
#include "io.h"
#include "print.h"

#define IO_WINDOW  0xc000u
#define MEM_WINDOW 0xe0000000u
#define MAX_BARS   128

static struct bar {
    unsigned devfn, bar;
    bool io, mem64;
    uint64_t size;
} bars[MAX_BARS];
static unsigned nr_bars;

static void remember(unsigned devfn, unsigned bar, bool io, bool mem64, uint64_t size)
{
    if (nr_bars < MAX_BARS && size)
        bars[nr_bars++] = (struct bar){devfn, bar, io, mem64, size};
}

#define PCI_ADDR 0xcf8
#define PCI_DATA 0xcfc

static uint32_t cfg_read(unsigned devfn, unsigned reg)
{
    outl(PCI_ADDR, 0x80000000u | devfn << 8 | (reg & 0xfc));
    return inl(PCI_DATA);
}

static void cfg_write(unsigned devfn, unsigned reg, uint32_t v)
{
    outl(PCI_ADDR, 0x80000000u | devfn << 8 | (reg & 0xfc));
    outl(PCI_DATA, v);
}

/* Writes all ones to BAR register reg, returns what reads back, restores. */
static uint32_t probe(unsigned devfn, unsigned reg)
{
    uint32_t old = cfg_read(devfn, reg), v;

    cfg_write(devfn, reg, 0xffffffffu);
    v = cfg_read(devfn, reg);
    cfg_write(devfn, reg, old);
    return v;
}

static void list_bars(unsigned devfn)
{
    uint32_t cmd = cfg_read(devfn, 0x04);

    /* No decoding while a BAR holds all ones. */
    cfg_write(devfn, 0x04, cmd & 0xfffcu);
    for (unsigned bar = 0; bar < 6; bar++) {
        unsigned reg = 0x10 + 4 * bar;
        uint32_t v = probe(devfn, reg);
        uint64_t size;

        if (v == 0)
            continue;
        if (v & 1) {
            size = (uint32_t)(~(v & ~0x3u) + 1) & 0xffffu;
            gprintf("pci %02x:%02x.%x bar%u io size 0x%lx\n", 0, devfn >> 3, devfn & 7, bar,
                    (unsigned long)size);
            remember(devfn, bar, true, false, size);
        } else if ((v & 0x6) == 0x4 && bar < 5) {
            uint64_t mask = (uint64_t)probe(devfn, reg + 4) << 32 | (v & ~0xfu);
            size = ~mask + 1;
            gprintf("pci %02x:%02x.%x bar%u mem64%s size 0x%lx\n", 0, devfn >> 3, devfn & 7, bar,
                    v & 8 ? " pref" : "", (unsigned long)size);
            remember(devfn, bar, false, true, size);
            bar++;
        } else {
            size = (uint32_t)(~(v & ~0xfu) + 1);
            gprintf("pci %02x:%02x.%x bar%u mem32%s size 0x%lx\n", 0, devfn >> 3, devfn & 7, bar,
                    v & 8 ? " pref" : "", (unsigned long)size);
            remember(devfn, bar, false, false, size);
        }
    }
    cfg_write(devfn, 0x04, cmd & 0xffffu);
}

/* Place every BAR, decode on, and see whether something answers there. */
static void map_bars(void)
{
    uint64_t io = IO_WINDOW, mem = MEM_WINDOW;

    for (unsigned i = 0; i < nr_bars; i++) {
        struct bar *b = &bars[i];
        uint64_t *next = b->io ? &io : &mem;
        uint64_t addr = (*next + b->size - 1) & ~(b->size - 1);
        unsigned reg = 0x10 + 4 * b->bar;
        *next = addr + b->size;
        cfg_write(b->devfn, reg, (uint32_t)addr);
        if (b->mem64)
            cfg_write(b->devfn, reg + 4, 0);
        /* I/O and memory decode on (a write per BAR: the DM maps as we go). */
        cfg_write(b->devfn, 0x04, (cfg_read(b->devfn, 0x04) & 0xffffu) | 0x3);
        uint32_t v = b->io ? inl((uint16_t)addr) : mmio_read32((uintptr_t)addr);
        gprintf("pci %02x:%02x.%x bar%u at 0x%lx %s\n", 0, b->devfn >> 3, b->devfn & 7, b->bar,
                (unsigned long)addr, v == 0xffffffffu ? "unmapped" : "mapped");
    }
}

int guest_main(void)
{
    unsigned found = 0;

    for (unsigned devfn = 0; devfn < 256; devfn++) {
        uint32_t ids = cfg_read(devfn, 0x00);
        if ((ids & 0xffff) == 0xffff || (ids & 0xffff) == 0)
            continue;
        uint32_t class = cfg_read(devfn, 0x08) >> 8;
        uint8_t type = (uint8_t)(cfg_read(devfn, 0x0c) >> 16);
        gprintf("pci %02x:%02x.%x %04x:%04x class %06x header %02x\n", 0, devfn >> 3, devfn & 7,
                ids & 0xffff, ids >> 16, class, type);
        found++;
        if ((type & 0x7f) == 0)
            list_bars(devfn);
        /* Functions 1-7 exist only behind a multi-function function 0. */
        if ((devfn & 7) == 0 && !(type & 0x80))
            devfn += 7;
    }
    if (cmdline_u64("map", 0))
        map_bars();
    gprintf("pci-list: %u functions\n", found);
    return found ? GUEST_EXIT_OK : GUEST_EXIT_FAIL;
}
