/*
 * The port-I/O round-trip benchmark: `iterations=N` (default 100000) write +
 * read pairs on the UART scratch register, each read checked against the
 * value written.  Runs at CPL0, where exits are cheapest on nested KVM and
 * the loop between them is a handful of instructions.
 */
#include "cmdline.h"
#include "guest.h"
#include "io.h"
#include "print.h"
#include "uart.h"

int guest_main(void)
{
    uint64_t n = cmdline_u64("iterations", 100000);

    for (uint64_t i = 0; i < n; i++) {
        uint8_t v = (uint8_t)(i * 167 + 13);
        outb(COM1 + UART_SCR, v);
        uint8_t r = inb(COM1 + UART_SCR);
        if (r != v) {
            gprintf("pio-bench: round trip %lu wrote %x read %x\n", i, v, r);
            return GUEST_EXIT_FAIL;
        }
    }
    gprintf("pio-bench: %lu round trips\n", n);
    return GUEST_EXIT_OK;
}
