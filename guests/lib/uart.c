/*
 * COM1 by polling.  Each call costs one exit per register access, so the
 * loops are kept to "read LSR, then move one byte".
 */
#include "uart.h"

#include "io.h"

void uart_init(void)
{
    outb(COM1 + UART_IER, 0);
    outb(COM1 + UART_LCR, UART_LCR_DLAB);
    outb(COM1 + UART_DLL, 1); /* 115200 baud */
    outb(COM1 + UART_DLM, 0);
    outb(COM1 + UART_LCR, UART_LCR_8N1);
    /*
     * FIFOs stay off: switching them on resets the receive side, which
     * would drop input that arrived before we got here (a test feeding the
     * echo guest races with boot).  Polled byte-at-a-time I/O needs no FIFO.
     */
    outb(COM1 + UART_FCR, 0);
    outb(COM1 + UART_MCR, 0x03); /* DTR | RTS, no loopback */
}

void uart_putc(char c)
{
    while (!(inb(COM1 + UART_LSR) & UART_LSR_THRE)) {
    }
    outb(COM1 + UART_THR, (uint8_t)c);
}

void uart_puts(const char *s)
{
    while (*s)
        uart_putc(*s++);
}

uint8_t uart_getc(void)
{
    while (!(inb(COM1 + UART_LSR) & UART_LSR_DR)) {
    }
    return inb(COM1 + UART_RBR);
}
