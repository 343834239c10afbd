/* The PC devices stubdm offers today, set up in one call. */
#ifndef STUBVISOR_DM_DEVICES_H
#define STUBVISOR_DM_DEVICES_H

#include "dm/dm.h"
#include "dm/hw/fw_cfg.h"
#include "dm/hw/i8042.h"
#include "dm/hw/piix.h"
#include "dm/hw/rtc.h"
#include "dm/pci.h"
#include "dm/uart.h"

#define DM_COM1_PORT       0x3f8
#define DM_COM1_IRQ        4
#define DM_COM1_CONSOLE    3
#define DM_VIRTIO_CONSOLE  4 /* the virtio-console port (lib/dmfds.h: its descriptor) */
#define DM_DEBUGCON_PORT   0x402
#define DM_DEBUG_EXIT_PORT 0xf4

struct dm_devices {
    struct uart com1;
    char debugcon_line[128]; /* QEMU's debug console, logged line by line */
    unsigned debugcon_len;
    unsigned debugcon_lines; /* logged so far: a guest must not flood the log */
    /* The PC platform (docs/platform.md). */
    struct pci_bus pci;
    struct piix piix;
    struct rtc rtc;
    struct i8042 i8042;
    struct fw_cfg fw_cfg;
};

/* Enough for firmware's boot log (SeaBIOS prints ~60 lines). */
#define DM_DEBUGCON_MAX_LINES 256

/* RAM below the 32-bit PCI hole; the rest is above 4 GiB. */
#define DM_RAM_BELOW_4G_MAX (3ull << 30)

/* The PC platform (PCI bus with the i440FX and PIIX3, CMOS/RTC, i8042 and
 * port 0x92, fw_cfg; docs/platform.md), COM1 (16550 at 0x3f8, IRQ 4, console 3),
 * the debug console on port 0x402
 * (written to the log, reads 0xe9 as in QEMU) and isa-debug-exit at 0xf4
 * (a write stops the guest with that byte as its exit status).  devs is
 * owned by the caller and must outlive dm.  Returns 0 or a negative errno. */
int dm_devices_setup(struct dm *dm, struct dm_devices *devs);

/* Tell the platform how many vCPUs the guest has (CMOS for firmware);
 * 1 until called. */
void dm_devices_set_nr_vcpus(struct dm_devices *devs, unsigned nr_vcpus);

#endif
