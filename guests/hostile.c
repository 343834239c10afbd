/*
 * A guest that behaves like an attacker and checks that the monitor and its
 * device model survive: port storms over the whole I/O space, garbage PCI
 * configuration cycles, random UART register writes, huge string-I/O
 * counts, MMIO to unclaimed addresses, binary garbage on the debug port.
 * Every phase ends with a scratch-register round trip to prove the machine
 * still answers; the run ends with `hostile: done` and exit status 0.
 *
 * Command line: seed=N (PRNG seed, default 1), rounds=N (default 1),
 * phases=LIST (comma-separated subset of ports,pci,uart,mmio,rep,debug;
 * default all).  Same seed, same sequence of accesses, on any VMM.
 *
 * What we do not do: write the exit port (0xf4) except to finish, or write
 * the ports that legitimately reset, power off or wedge the machine (PIC,
 * PIT, CMOS/NMI, port 0x92, i8042 commands, 0xcf9, ACPI PM, APM/SMI,
 * QEMU's fw_cfg DMA).  The point is to attack the device model, not to
 * reboot.  Everything runs at CPL0, where exits are cheapest.
 */
#include <stdbool.h>

#include "cmdline.h"
#include "guest.h"
#include "io.h"
#include "print.h"
#include "rand.h"
#include "uart.h"

#define PCI_ADDR 0xcf8
#define PCI_DATA 0xcfc

#define DEBUG_PORT   0x402
#define UNCLAIMED    0xe0 /* nothing sits here on PC or microvm */
#define SCRATCH_SIZE (4u << 20)

/* Ports a hostile write must leave alone (inclusive ranges). */
static const struct {
    uint16_t first, last;
} write_excluded[] = {
    {0x0020, 0x0021}, /* master PIC */
    {0x0040, 0x0043}, /* PIT */
    {0x0060, 0x0060}, /* i8042 data (output-port writes follow a command) */
    {0x0061, 0x0061}, /* PIT gate / NMI status */
    {0x0064, 0x0064}, /* i8042 command: 0xfe pulses reset */
    {0x0070, 0x0071}, /* CMOS index/NMI mask, data */
    {0x0092, 0x0092}, /* fast A20 and reset */
    {0x00a0, 0x00a1}, /* slave PIC */
    {0x00b2, 0x00b3}, /* APM control: raises SMI */
    {0x00f4, 0x00f7}, /* the exit port */
    {0x03f8, 0x03ff}, /* COM1: the uart phase attacks it, then restores it */
    {0x04d0, 0x04d1}, /* ELCR */
    {0x0510, 0x051b}, /* QEMU fw_cfg, incl. the DMA address register */
    {0x0600, 0x063f}, /* ACPI PM block (PIIX4/ICH9 on QEMU): SLP_EN powers off */
    {0x0cf9, 0x0cf9}, /* reset control */
    {0x8900, 0x8900}, /* Bochs shutdown port */
};

static struct rng rng;
static uint8_t scratch[SCRATCH_SIZE] __attribute__((section(".bss.scratch"), aligned(4096)));

/*
 * One byte per port, non-zero where writes are excluded (plus 3 for accesses
 * that run past 0xffff).  A table, because CPL0 code is emulated one
 * instruction at a time here and the storm checks every access.
 */
static uint8_t write_denied[0x10000 + 3] __attribute__((section(".bss.denied")));

static void write_denied_init(void)
{
    for (unsigned i = 0; i < sizeof(write_excluded) / sizeof(write_excluded[0]); i++)
        for (uint32_t p = write_excluded[i].first; p <= write_excluded[i].last; p++)
            write_denied[p] = 1;
}

static bool write_allowed(uint32_t port, unsigned size)
{
    const uint8_t *d = &write_denied[port];

    switch (size) {
    case 1:
        return !d[0];
    case 2:
        return !(d[0] | d[1]);
    default:
        return !(d[0] | d[1] | d[2] | d[3]);
    }
}

static uint32_t port_read(uint16_t port, unsigned size)
{
    switch (size) {
    case 1:
        return inb(port);
    case 2:
        return inw(port);
    default:
        return inl(port);
    }
}

static void port_write(uint16_t port, unsigned size, uint32_t v)
{
    switch (size) {
    case 1:
        outb(port, (uint8_t)v);
        break;
    case 2:
        outw(port, (uint16_t)v);
        break;
    default:
        outl(port, v);
        break;
    }
}

static unsigned random_size(uint64_t bits)
{
    static const unsigned sizes[4] = {1, 2, 4, 1};
    return sizes[bits & 3];
}

/* The UART must still work after each phase: restore it and check SCR. */
static bool machine_answers(const char *phase)
{
    uart_init();
    for (unsigned v = 0; v < 256; v += 85) {
        outb(COM1 + UART_SCR, (uint8_t)v);
        if (inb(COM1 + UART_SCR) != v) {
            gprintf("hostile: scratch register broken after phase %s\n", phase);
            return false;
        }
    }
    return true;
}

/* Every port, a read and (where allowed) a write of a random size. */
static void phase_ports(void)
{
    for (uint32_t port = 0; port <= 0xffff; port++) {
        uint64_t r = rng_next(&rng);
        unsigned rsize = random_size(r);
        unsigned wsize = random_size(r >> 2);
        (void)port_read((uint16_t)port, rsize);
        if (write_allowed(port, wsize))
            port_write((uint16_t)port, wsize, (uint32_t)(r >> 32));
    }
}

/*
 * Configuration-address writes of every kind (enable bit or not, reserved
 * bits, odd register offsets), then data cycles of every size at every
 * offset of 0xcfc, mostly reads.  Narrow writes to the address port avoid
 * 0xcf9, which is the reset control register on PC chipsets.
 */
static void phase_pci(unsigned count)
{
    for (unsigned i = 0; i < count; i++) {
        uint64_t r = rng_next(&rng);
        uint32_t addr = (uint32_t)(r >> 32);
        switch (r & 7) {
        case 0:
            outb(PCI_ADDR, (uint8_t)addr);
            break;
        case 1:
            outb(PCI_ADDR + 2 + ((r >> 3) & 1), (uint8_t)addr);
            break;
        case 2:
            outw(PCI_ADDR + 2, (uint16_t)addr);
            break;
        default:
            /* Mostly bus 0, where the real devices are. */
            if (r & 8)
                addr &= 0x8000ffff;
            outl(PCI_ADDR, addr);
            break;
        }
        uint64_t d = rng_next(&rng);
        unsigned size = random_size(d);
        uint16_t port = PCI_DATA + ((d >> 2) & 3);
        (void)port_read(port, size);
        if ((d >> 4) % 4 == 0)
            port_write(port, size, (uint32_t)(d >> 32));
        (void)inl(PCI_ADDR);
    }
}

/* Random values in every UART register, DLAB, FIFO and loopback games included. */
static void phase_uart(unsigned count)
{
    for (unsigned i = 0; i < count; i++) {
        uint64_t r = rng_next(&rng);
        uint16_t reg = r & 7;
        uint8_t v = (uint8_t)(r >> 8);
        switch ((r >> 3) & 7) {
        case 0:
            outb(COM1 + UART_LCR, v | UART_LCR_DLAB);
            break;
        case 1:
            outb(COM1 + UART_FCR, v);
            break;
        case 2:
            outb(COM1 + UART_MCR, v | UART_MCR_LOOP);
            break;
        case 3:
        case 4:
            (void)inb(COM1 + reg);
            break;
        default:
            outb(COM1 + reg, v);
            break;
        }
    }
}

/*
 * MMIO where nothing is: between the end of RAM and 4 GiB, half of it just
 * below 4 GiB, avoiding the in-kernel IOAPIC and LAPIC pages.  Random widths
 * (1, 2, 4, 8 bytes) and alignments, reads and writes.
 */
static bool mmio_allowed(uint64_t addr, unsigned size)
{
    uint64_t last = addr + size - 1;

    if (last >= (1ull << 32))
        return false;
    if (addr <= 0xfecfffff && last >= 0xfec00000) /* IOAPIC */
        return false;
    if (addr <= 0xfeefffff && last >= 0xfee00000) /* LAPIC */
        return false;
    return true;
}

static void phase_mmio(unsigned count, uint64_t low)
{
    for (unsigned i = 0; i < count; i++) {
        uint64_t r = rng_next(&rng);
        uint64_t base = (r & 1) ? 0xfe000000 : low;
        uint64_t addr = base + (r >> 32) % ((1ull << 32) - base);
        unsigned size = 1u << ((r >> 1) & 3);
        uint64_t v = rng_next(&rng);
        if (!mmio_allowed(addr, size))
            continue;
        bool write = (r >> 3) & 1;
        switch (size) {
        case 1:
            if (write)
                mmio_write8(addr, (uint8_t)v);
            else
                (void)mmio_read8(addr);
            break;
        case 2:
            if (write)
                mmio_write16(addr, (uint16_t)v);
            else
                (void)mmio_read16(addr);
            break;
        case 4:
            if (write)
                mmio_write32(addr, (uint32_t)v);
            else
                (void)mmio_read32(addr);
            break;
        default:
            if (write)
                mmio_write64(addr, v);
            else
                (void)mmio_read64(addr);
            break;
        }
    }
}

/* Backwards string input (direction flag set): a path VMMs often forget. */
static void insb_backwards(uint16_t port, uint8_t *last, size_t count)
{
    __asm__ volatile("std\n\trep insb\n\tcld"
                     : "+D"(last), "+c"(count)
                     : "d"(port)
                     : "memory", "cc");
}

/*
 * String I/O with counts far larger than one exit can carry: 1 Mi elements
 * of each width on a port nobody claims (the VMM must split, bound and
 * complete them), smaller ones on the UART scratch register (a claimed
 * register, so every element reaches the device model), a backwards one,
 * and one whose memory side is unclaimed MMIO.
 */
static void phase_rep(size_t n)
{
    for (size_t i = 0; i < 4096; i++)
        scratch[i] = (uint8_t)rng_next(&rng);
    insb(UNCLAIMED, scratch, n);
    insw(UNCLAIMED, scratch, n);
    insl(UNCLAIMED, scratch, n);
    outsb(UNCLAIMED, scratch, n);
    outsw(UNCLAIMED, scratch, n);
    outsl(UNCLAIMED, scratch, n);
    outsb(COM1 + UART_SCR, scratch, 4096);
    insb(COM1 + UART_SCR, scratch, 4096);
    insw(COM1 + UART_SCR - 1, scratch, 1024); /* straddles LSR/MSR and SCR */
    insb_backwards(UNCLAIMED, scratch + 4095, 4096);
    insb(UNCLAIMED, (void *)(uintptr_t)0xfd000000, 16);
    outsb(UNCLAIMED, (const void *)(uintptr_t)0xfd000000, 16);
    insb(UNCLAIMED, scratch, 0);
}

/* Binary garbage on the debug console port, byte by byte and in bulk. */
static void phase_debug(void)
{
    for (unsigned i = 0; i < 512; i++) {
        uint64_t r = rng_next(&rng);
        port_write(DEBUG_PORT, random_size(r), (uint32_t)(r >> 32));
    }
    for (size_t i = 0; i < 4096; i++)
        scratch[i] = (uint8_t)rng_next(&rng);
    outsb(DEBUG_PORT, scratch, 4096);
    (void)inb(DEBUG_PORT);
}

static bool phase_enabled(const char *list, const char *name)
{
    const char *p = list;

    for (;;) {
        const char *n = name;
        while (*n && *p == *n) {
            p++;
            n++;
        }
        if (!*n && (*p == ',' || !*p))
            return true;
        while (*p && *p != ',')
            p++;
        if (!*p)
            return false;
        p++;
    }
}

int guest_main(void)
{
    char phases[64] = "ports,pci,uart,mmio,rep,debug";
    uint64_t seed = cmdline_u64("seed", 1);
    uint64_t rounds = cmdline_u64("rounds", 1);
    uint64_t low = guest_ram_top_below_4g();
    size_t rep_count = cmdline_u64("rep", 1u << 16);

    (void)cmdline_value("phases", phases, sizeof(phases));
    /* Stay well clear of our own image whatever the memory map says. */
    if (low < 0x10000000)
        low = 0x10000000;
    if (rep_count > SCRATCH_SIZE / 4)
        rep_count = SCRATCH_SIZE / 4;
    if (low > 0xfe000000)
        low = 0xfe000000;
    rng_seed(&rng, seed);
    write_denied_init();
    gprintf("hostile: seed %lu rounds %lu phases %s\n", seed, rounds, phases);

    for (uint64_t round = 1; round <= rounds; round++) {
        static const char *const names[] = {"ports", "pci", "uart", "mmio", "rep", "debug"};
        for (unsigned p = 0; p < sizeof(names) / sizeof(names[0]); p++) {
            if (!phase_enabled(phases, names[p]))
                continue;
            gprintf("hostile: phase %s (round %lu/%lu)\n", names[p], round, rounds);
            switch (p) {
            case 0:
                phase_ports();
                break;
            case 1:
                phase_pci(4096);
                break;
            case 2:
                phase_uart(4096);
                /* Garbage may have reached the console: start a new line. */
                uart_putc('\n');
                break;
            case 3:
                phase_mmio(4096, low);
                break;
            case 4:
                phase_rep(rep_count);
                break;
            default:
                phase_debug();
                break;
            }
            if (!machine_answers(names[p]))
                return GUEST_EXIT_FAIL;
        }
    }
    gprintf("hostile: done\n");
    return GUEST_EXIT_OK;
}
