/*
 * Panics on purpose through QEMU's pvpanic device (port 0x505): prints the
 * events the device says it supports (`panic: pvpanic events 0xN`; 0xff
 * where there is no device), with `loaded=1` first announces a loaded
 * crash kernel (the guest goes on: `panic: crash kernel announced`), then
 * prints `panic: panicking` and writes PANICKED.  A host that acts on it
 * stops the guest there; one that does not lets it print `panic: still
 * running` and exit 1.
 */
#include "cmdline.h"
#include "guest.h"
#include "io.h"
#include "print.h"

#define PVPANIC_PORT         0x505
#define PVPANIC_PANICKED     0x1
#define PVPANIC_CRASH_LOADED 0x2

int guest_main(void)
{
    char loaded[4] = "0";

    (void)cmdline_value("loaded", loaded, sizeof(loaded));
    gprintf("panic: pvpanic events 0x%x\n", inb(PVPANIC_PORT));
    if (loaded[0] == '1') {
        outb(PVPANIC_PORT, PVPANIC_CRASH_LOADED);
        gprintf("panic: crash kernel announced\n");
    }
    gprintf("panic: panicking\n");
    outb(PVPANIC_PORT, PVPANIC_PANICKED);
    gprintf("panic: still running\n");
    return GUEST_EXIT_FAIL;
}
