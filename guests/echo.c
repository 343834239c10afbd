/*
 * Echoes every byte that arrives on COM1 back to COM1, the final 'q'
 * included, then exits 0.  Polls LSR: one exit per poll, one per byte moved.
 */
#include "guest.h"
#include "uart.h"

int guest_main(void)
{
    for (;;) {
        uint8_t c = uart_getc();
        uart_putc((char)c);
        if (c == 'q')
            return GUEST_EXIT_OK;
    }
}
