/* The smallest useful guest: one line on COM1, exit status 0. */
#include "guest.h"
#include "uart.h"

int guest_main(void)
{
    uart_puts("hello from guest\n");
    return GUEST_EXIT_OK;
}
