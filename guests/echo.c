/*
 * Echoes every byte that arrives on COM1 back to COM1, the final 'q'
 * included, then exits 0.  Polls LSR: one exit per poll, one per byte moved.
 *
 * With `virtio=1` it also drives the first virtio console (receive queue 0,
 * transmit queue 1) and echoes what arrives there back on it; the 'q' that
 * ends the guest must then come on the virtio console, and COM1 keeps
 * echoing alongside.
 */
#include <linux/virtio_ids.h>

#include "cmdline.h"
#include "guest.h"
#include "io.h"
#include "uart.h"
#include "virtio.h"

enum { RXQ = 0, TXQ = 1 };

static uint8_t rxbuf[256], txbuf[256];

/* One receive buffer in the ring at a time: descriptor 0 of queue 0. */
static void post_rx(struct vdev *d)
{
    vdev_desc(d, RXQ, 0, (uintptr_t)rxbuf, sizeof(rxbuf), VRING_DESC_F_WRITE, 0);
    vdev_submit(d, RXQ, 0);
}

/* Send what came in back out; true if it held the final 'q'. */
static int echo_virtio(struct vdev *d, uint32_t len)
{
    int quit = 0;

    if (len > sizeof(rxbuf))
        return -1;
    for (uint32_t i = 0; i < len; i++) {
        txbuf[i] = rxbuf[i];
        quit |= rxbuf[i] == 'q';
    }
    post_rx(d);
    if (len == 0)
        return quit;
    vdev_desc(d, TXQ, 0, (uintptr_t)txbuf, len, 0, 0);
    vdev_submit(d, TXQ, 0);
    return vdev_wait(d, TXQ, NULL, NULL) ? quit : -1;
}

int guest_main(void)
{
    int virtio = cmdline_u64("virtio", 0) != 0;
    struct vdev d;
    uint32_t len;

    if (virtio) {
        if (vdev_open(&d, VIRTIO_ID_CONSOLE, 0, 0, 2) < 0)
            return GUEST_EXIT_FAIL;
        post_rx(&d);
    }
    for (;;) {
        if (virtio && vdev_poll(&d, RXQ, NULL, &len)) {
            int r = echo_virtio(&d, len);
            if (r < 0)
                return GUEST_EXIT_FAIL;
            if (r > 0)
                return GUEST_EXIT_OK;
        }
        if (inb(COM1 + UART_LSR) & UART_LSR_DR) {
            uint8_t c = inb(COM1 + UART_RBR);
            uart_putc((char)c);
            if (c == 'q' && !virtio)
                return GUEST_EXIT_OK;
        }
    }
}
