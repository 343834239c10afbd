/* Polled 16550 driver for COM1 (0x3f8). */
#ifndef GUEST_UART_H
#define GUEST_UART_H

#include <stdint.h>

#define COM1 0x3f8

/* Register offsets from the base port. */
#define UART_RBR 0 /* read, DLAB 0 */
#define UART_THR 0 /* write, DLAB 0 */
#define UART_DLL 0 /* DLAB 1 */
#define UART_IER 1
#define UART_DLM 1 /* DLAB 1 */
#define UART_IIR 2 /* read */
#define UART_FCR 2 /* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define UART_LCR_DLAB 0x80
#define UART_LCR_8N1  0x03
#define UART_LSR_DR   0x01
#define UART_LSR_THRE 0x20
#define UART_MCR_LOOP 0x10

/* 115200 8N1, FIFOs off, interrupts off, loopback off; keeps pending input. */
void uart_init(void);
void uart_putc(char c);
void uart_puts(const char *s);
/* Waits for a byte. */
uint8_t uart_getc(void);

#endif
