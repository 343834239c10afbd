/* Small PC devices: QEMU's debug console and isa-debug-exit, plus the list
 * of what a stubdm guest gets. */
#include "dm/devices.h"

#include <string.h>

#include "lib/dmop.h"
#include "lib/log.h"

static void debugcon_flush(struct dm_devices *d)
{
    if (d->debugcon_len == 0)
        return;
    if (d->debugcon_lines < DM_DEBUGCON_MAX_LINES)
        log_info("guest debug: %.*s", (int)d->debugcon_len, d->debugcon_line);
    else if (d->debugcon_lines == DM_DEBUGCON_MAX_LINES)
        log_info("guest debug: (more output suppressed)");
    if (d->debugcon_lines <= DM_DEBUGCON_MAX_LINES)
        d->debugcon_lines++;
    d->debugcon_len = 0;
}

static void debugcon_io(struct dm *dm, uint64_t addr, uint8_t *data, uint32_t size, bool is_write,
                        void *opaque)
{
    struct dm_devices *d = opaque;

    (void)dm;
    (void)addr;
    if (!is_write) {
        memset(data, 0, size);
        data[0] = 0xe9; /* QEMU's "is the debug console there" answer */
        return;
    }
    for (uint32_t i = 0; i < size; i++) {
        char c = (char)data[i];
        if (c == '\n') {
            debugcon_flush(d);
            continue;
        }
        /* Guests are hostile: only printable bytes reach the log. */
        d->debugcon_line[d->debugcon_len++] = (c >= 0x20 && c < 0x7f) ? c : '?';
        if (d->debugcon_len == sizeof(d->debugcon_line))
            debugcon_flush(d);
    }
}

static void debug_exit_io(struct dm *dm, uint64_t addr, uint8_t *data, uint32_t size, bool is_write,
                          void *opaque)
{
    struct dm_devices *d = opaque;

    (void)addr;
    if (!is_write) {
        memset(data, 0, size);
        return;
    }
    debugcon_flush(d);
    dm_shutdown(dm, DMOP_SHUTDOWN_POWEROFF, data[0]);
}

static void platform_memory(struct dm *dm, unsigned nr_vcpus, struct rtc_memory *mem)
{
    uint64_t ram = dm_guest_ram_size(dm);

    mem->below_4g = ram < DM_RAM_BELOW_4G_MAX ? ram : DM_RAM_BELOW_4G_MAX;
    mem->above_4g = ram - mem->below_4g;
    mem->nr_cpus = nr_vcpus;
}

void dm_devices_set_nr_vcpus(struct dm_devices *devs, unsigned nr_vcpus)
{
    struct rtc_memory mem;

    platform_memory(devs->rtc.dm, nr_vcpus, &mem);
    rtc_set_memory(&devs->rtc, &mem);
    fw_cfg_set_nr_cpus(&devs->fw_cfg, nr_vcpus);
}

static int platform_setup(struct dm *dm, struct dm_devices *devs)
{
    struct rtc_memory mem;
    int rc;

    platform_memory(dm, 1, &mem);
    if ((rc = pci_bus_setup(&devs->pci, dm)) < 0 ||
        (rc = piix_setup(&devs->piix, &devs->pci)) < 0 ||
        (rc = rtc_setup(&devs->rtc, dm, &mem, NULL)) < 0 ||
        (rc = i8042_setup(&devs->i8042, dm)) < 0 ||
        (rc = fw_cfg_setup(&devs->fw_cfg, dm, dm_guest_ram_size(dm), 1)) < 0)
        return rc;
    return 0;
}

int dm_devices_setup(struct dm *dm, struct dm_devices *devs)
{
    int rc;

    memset(devs, 0, sizeof(*devs));
    rc = platform_setup(dm, devs);
    if (rc < 0) {
        log_error("PC platform: %s", strerror(-rc));
        return rc;
    }
    rc = uart_setup(&devs->com1, dm, DM_COM1_PORT, DM_COM1_IRQ, DM_COM1_CONSOLE);
    if (rc < 0) {
        log_error("COM1: %s", strerror(-rc));
        return rc;
    }
    rc = dm_register(dm, DM_TRAP_PIO, DM_DEBUGCON_PORT, 1, DM_TRAP_POSTED, debugcon_io, devs);
    if (rc < 0) {
        log_error("debug console: %s", strerror(-rc));
        return rc;
    }
    /* Synchronous on purpose: the guest must not run on after asking to stop. */
    rc = dm_register(dm, DM_TRAP_PIO, DM_DEBUG_EXIT_PORT, 4, 0, debug_exit_io, devs);
    if (rc < 0) {
        log_error("debug exit: %s", strerror(-rc));
        return rc;
    }
    return 0;
}
