/* Descriptor numbers a device model (stubdm) finds at start-up.
 *
 * stubvmm (through the sandbox's spawn) hands stubdm exactly these, in this
 * order, and nothing else.  Consoles follow Xen's stub domain numbering:
 * console 0 is the log, 1 and 2 carry save and restore streams, 3 and up
 * are the guest's serial ports.
 */
#ifndef STUBVISOR_DMFDS_H
#define STUBVISOR_DMFDS_H

enum {
    DMFD_DMOP = 3,      /* SOCK_SEQPACKET to the monitor (lib/dmop.h) */
    DMFD_GUEST_RAM = 4, /* memfd of guest RAM, from guest-physical 0 */
    DMFD_CONSOLE0 = 5,  /* log */
    DMFD_CONSOLE1 = 6,  /* save stream: the device state, on "save" */
    DMFD_CONSOLE2 = 7,  /* restore stream: read on "continue" (-incoming) */
    DMFD_CONSOLE3 = 8,  /* COM1: a stream socket the monitor relays */
    /* Reserved for the store connection once the DM reads its arguments
     * from the store: */
    DMFD_STORE = 9,
    /* Under the toolstack: QMP, SOCK_SEQPACKET to the monitor, which relays
     * one client at a time (each packet: 'C' new client, or 'D' + data). */
    DMFD_QMP = 10,
    /* The devices' descriptors (disk images, NIC back ends, console
     * sockets: opened by stubvmm or the toolstack; the device model never
     * opens files or sockets): from DMFD_DISK0 on, in the order of the
     * -device words that take them (docs/devices.md).  Without a store
     * connection, DMFD_STORE and DMFD_QMP are /dev/null when these
     * follow. */
    DMFD_DISK0 = 11,
};

#define DMFD_MAX_DISKS 8
#define DMFD_MAX_NICS  4

/* How many descriptors stubvmm passes today (3 .. DMFD_CONSOLE3). */
#define DMFD_COUNT 6

#endif
