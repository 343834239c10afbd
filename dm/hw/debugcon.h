/* QEMU's debug console ("isa-debugcon") on port 0x402: what the guest
 * writes goes to the device model's log line by line (printable bytes
 * only, at most DEBUGCON_MAX_LINES lines: a guest must not flood the log);
 * reads give 0xe9, QEMU's "the debug console is there". */
#ifndef STUBVISOR_DM_HW_DEBUGCON_H
#define STUBVISOR_DM_HW_DEBUGCON_H

#define DEBUGCON_PORT      0x402
#define DEBUGCON_MAX_LINES 256 /* enough for firmware's boot log (SeaBIOS prints ~60) */

struct debugcon {
    char line[128];
    unsigned len;
    unsigned lines; /* logged so far */
};

/* Log the unfinished line (the guest is about to stop). */
void debugcon_flush(struct debugcon *d);

#endif
