/*
 * blk-bench: read `mib=N` MiB (default 16) sequentially from the first
 * virtio-blk disk, `chunk=KiB` (default 64) per request, polling the used
 * ring.  With `verify=1` every sector must start with its own number (the
 * pattern blk-write.elf writes).  Exits 0 when every request succeeded.
 *
 * With `intx=1` (and no msix=1) the device interrupts on INTx: every PIRQ
 * link goes to IRQ 10 (level-triggered), the 8259s deliver it, and the
 * guest waits for each completion (and its interrupt) in `hlt`; the
 * handler reads the ISR (which lowers the line) and sends EOI.  With
 * `intx=2` every other interrupt is only EOIed, the ISR left alone: the
 * device still holds the line, so the interrupt must come again (with
 * irqfds, through the resample eventfd).  The counts of completions
 * acknowledged and of interrupts taken are printed at the end.
 */
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>

#include "cmdline.h"
#include "cpu.h"
#include "guest.h"
#include "io.h"
#include "print.h"
#include "virtio.h"

#define PIC1        0x20
#define PIC2        0xa0
#define ELCR2       0x4d1
#define INTX_IRQ    10
#define INTX_VECTOR (0x28 + INTX_IRQ - 8)

#define MAX_CHUNK (256u * 1024)

static uint8_t buf[MAX_CHUNK] __attribute__((aligned(4096)));
static struct virtio_blk_outhdr hdr;
static volatile uint8_t status;
static volatile uintptr_t isr_addr;
static volatile uint64_t nr_intx, nr_taken;
static bool intx_lazy;

__attribute__((interrupt)) static void intx_handler(struct cpu_interrupt_frame *frame)
{
    (void)frame;
    nr_taken++;
    /* Lazy: every other time leave the ISR (and so the line) alone. */
    if (!(intx_lazy && (nr_taken & 1)) && (mmio_read8(isr_addr) & 1))
        nr_intx++;    /* reading acknowledges: the line drops */
    outb(PIC2, 0x20); /* EOI to both 8259s */
    outb(PIC1, 0x20);
}

/* PCI INTx to IRQ 10 through the PIIX3 and the 8259s (firmware's job on a
 * real boot; PVH guests start without any). */
static void intx_setup(void)
{
    outl(0xcf8, 0x80000000u | (0x08u << 8) | 0x60); /* 00:01.0 PIRQA-D */
    outl(0xcfc, 0x0a0a0a0au);
    outb(ELCR2, (uint8_t)(inb(ELCR2) | (1u << (INTX_IRQ - 8))));
    outb(PIC1, 0x11); /* ICW1: edge (the ELCR decides), cascade, ICW4 */
    outb(PIC2, 0x11);
    outb(PIC1 + 1, 0x20); /* ICW2: vectors */
    outb(PIC2 + 1, 0x28);
    outb(PIC1 + 1, 0x04); /* ICW3: slave on IRQ 2 */
    outb(PIC2 + 1, 0x02);
    outb(PIC1 + 1, 0x01); /* ICW4: 8086 mode */
    outb(PIC2 + 1, 0x01);
    outb(PIC1 + 1, 0xfb);                              /* only the cascade ... */
    outb(PIC2 + 1, (uint8_t) ~(1u << (INTX_IRQ - 8))); /* ... and IRQ 10 */
    cpu_set_interrupt(INTX_VECTOR, (uintptr_t)intx_handler);
}

int guest_main(void)
{
    uint64_t mib = cmdline_u64("mib", 16), chunk = cmdline_u64("chunk", 64) * 1024;
    bool verify = cmdline_u64("verify", 0) != 0;
    uint64_t capacity, sectors, done = 0;
    struct vdev d;
    uint32_t len;

    if (chunk == 0 || chunk > MAX_CHUNK || chunk % 512) {
        gprintf("blk-bench: chunk must be 1..%u KiB\n", MAX_CHUNK / 1024);
        return GUEST_EXIT_FAIL;
    }
    vdev_use_msix = cmdline_u64("msix", 0) != 0;
    vdev_use_intx = !vdev_use_msix && cmdline_u64("intx", 0) != 0;
    intx_lazy = cmdline_u64("intx", 0) == 2;
    if (vdev_use_intx)
        intx_setup();
    if (vdev_open(&d, VIRTIO_ID_BLOCK, 0, 0, 1) < 0)
        return GUEST_EXIT_FAIL;
    isr_addr = d.isr;
    capacity = vdev_config32(&d, 0) | (uint64_t)vdev_config32(&d, 4) << 32;
    sectors = mib * 2048;
    if (sectors > capacity) {
        gprintf("blk-bench: disk has %lu sectors, %lu asked\n", capacity, sectors);
        return GUEST_EXIT_FAIL;
    }
    vdev_desc(&d, 0, 0, (uintptr_t)&hdr, sizeof(hdr), VRING_DESC_F_NEXT, 1);
    vdev_desc(&d, 0, 1, (uintptr_t)buf, (uint32_t)chunk, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
    vdev_desc(&d, 0, 2, (uintptr_t)&status, 1, VRING_DESC_F_WRITE, 0);
    while (done < sectors) {
        uint64_t n = chunk / 512;
        if (n > sectors - done)
            n = sectors - done;
        hdr.type = VIRTIO_BLK_T_IN;
        hdr.sector = done;
        vdev_desc(&d, 0, 1, (uintptr_t)buf, (uint32_t)(n * 512),
                  VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
        status = 0xff;
        vdev_submit(&d, 0, 0);
        if (vdev_use_intx) {
            /* The completion and its interrupt (which may come first, or
             * after: inline answers within the kick).  sti's shadow covers
             * hlt, so no interrupt slips in between. */
            uint64_t before = nr_intx;
            bool used = false;
            for (;;) {
                used = used || vdev_poll(&d, 0, NULL, &len);
                if (used && nr_intx != before)
                    break;
                __asm__ volatile("sti; hlt; cli" ::: "memory");
            }
        } else if (!vdev_wait(&d, 0, NULL, &len)) {
            gprintf("blk-bench: no answer at sector %lu\n", done);
            return GUEST_EXIT_FAIL;
        }
        if (status != VIRTIO_BLK_S_OK || len != n * 512 + 1) {
            gprintf("blk-bench: sector %lu: status %u, %u bytes\n", done, status, len);
            return GUEST_EXIT_FAIL;
        }
        for (uint64_t s = 0; verify && s < n; s++) {
            uint64_t got = *(const uint64_t *)(buf + s * 512);
            if (got != done + s) {
                gprintf("blk-bench: sector %lu holds %lx\n", done + s, got);
                return GUEST_EXIT_FAIL;
            }
        }
        done += n;
    }
    gprintf("blk-bench: read %lu MiB in %lu-KiB requests%s\n", mib, chunk / 1024,
            verify ? ", pattern verified" : "");
    if (vdev_use_intx)
        gprintf("blk-bench: INTx: %lu completions acknowledged, %lu interrupts taken\n",
                (uint64_t)nr_intx, (uint64_t)nr_taken);
    return GUEST_EXIT_OK;
}
