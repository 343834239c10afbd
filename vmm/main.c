/* stubvmm: run one KVM guest and route its I/O to its device model.
 *
 * Two command lines, one monitor (monitor.h): this file turns either into
 * struct monitor_options and hands over.  docs/stubvmm.md describes both.
 *
 * Direct mode:
 *   stubvmm --kernel FILE | --firmware seabios|FILE [--memory MiB] [--vcpus N]
 *           [--cmdline STRING] [--ramdisk FILE] [--cpuid STRING]
 *           [--dm stubdom|process|inline] [--serial stdio|file:PATH]
 *           [--disk PATH[,ro]]... [--nic udp:LPORT:RPORT|unix:PATH|tap:IFNAME]...
 *           [--rng] [--virtio-console none|unix:PATH]
 * COM1 on stdin/stdout; the exit status is the guest's (the byte it wrote
 * to port 0xf4), or 100 for a usage error, 111 for a system error, 101
 * when the guest crashed, 102 when its device model died or misbehaved,
 * 103 when the guest reset itself, 128 + N when stopped by signal N.
 *
 * Toolstack mode (started by stubctl):
 *   stubvmm --managed --dir DIR --kernel FILE|--firmware seabios|FILE --status-fd N
 *           [--disk PATH[,ro] | --nic SPEC | --virtio-console]...
 *           [--memory MiB] [--vcpus N] [--cmdline S] [--dm stubdom|process|inline]
 *           [--ramdisk FILE] [--cpuid STRING] [--store-fd N] [--serial-file PATH]
 *           [--preserve poweroff,reboot,crash] [--restore-fd N] [-- stubdm WORD...]
 * The devices are the device model's description (dm-argv): in the store
 * for a device model of its own (--store-fd), the words after "--"
 * otherwise (inline); stubvmm only opens the descriptors they take, in the
 * order given (vmm/dm_words.c).  The guest starts paused (the toolstack's
 * pause); COM1 and the virtio console are served on sockets in DIR, the
 * toolstack's commands come on DIR/control.sock; a device model that dies
 * pauses the guest; the end is reported on the status descriptor as "exit
 * poweroff|reboot|crash|destroy STATUS [WHY]" (unless preserved), and the
 * exit status is 0.
 *
 * --restore-fd N starts the guest from a save file (lib/savefile.h) instead
 * of its boot state: checked whole first (nothing starts from a bad file),
 * --memory and --vcpus must be the file's, the firmware or kernel is loaded
 * as usual (the firmware's ROM is not in the file) and then guest RAM, the
 * vCPUs and the in-kernel devices are the file's; the device model's state
 * goes to DIR/dm-state (its console 2) or, inline, straight to the devices.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/log.h"
#include "lib/version.h"
#include "vmm/monitor.h"
#include "vmm/options.h"

#define DM_READY_TIMEOUT_MS 20000

static noreturn void direct_usage(const char *why)
{
    if (why)
        fprintf(stderr, "stubvmm: %s\n", why);
    fprintf(stderr,
            "usage: stubvmm --kernel FILE | --firmware seabios|FILE\n"
            "               [--memory MiB] [--vcpus N] [--cmdline STRING]\n"
            "               [--ramdisk FILE] [--cpuid STRING]\n"
            "               [--dm stubdom|process|inline] [--serial stdio|file:PATH]\n"
            "               [--disk PATH[,ro]]... [--nic udp:LPORT:RPORT|unix:PATH|tap:IFNAME]...\n"
            "               [--rng] [--virtio-console none|unix:PATH]\n");
    exit(EXIT_USAGE);
}

static noreturn void managed_usage(const char *why)
{
    if (why)
        fprintf(stderr, "stubvmm: %s\n", why);
    fprintf(
        stderr,
        "usage: stubvmm --managed --dir DIR --kernel FILE|--firmware seabios|FILE\n"
        "               --status-fd N [--disk PATH[,ro] | --nic SPEC | --virtio-console]...\n"
        "               [--memory MiB] [--vcpus N] [--cmdline S] [--dm stubdom|process|inline]\n"
        "               [--ramdisk FILE] [--cpuid STRING] [--store-fd N] [--serial-file PATH]\n"
        "               [--preserve LIST] [--restore-fd N] [-- stubdm WORD...]\n");
    exit(EXIT_USAGE);
}

/* Direct mode: the monitor's defaults, COM1 on stdio, and the device model
 * must be ready within DM_READY_TIMEOUT_MS. */
static void parse_direct(int argc, char **argv, struct monitor_options *o)
{
    o->serial_stdio = true;
    o->dm_ready_timeout_ms = DM_READY_TIMEOUT_MS;
    for (int i = 1; i < argc;) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int used = vmm_guest_option(&o->g, a, v, direct_usage);
        if (used) {
            i += used;
            continue;
        }
        if (!v)
            direct_usage(strncmp(a, "--", 2) == 0 ? "option needs a value" : "unexpected argument");
        if (strcmp(a, "--serial") == 0) {
            o->serial_stdio = strcmp(v, "stdio") == 0;
            o->serial_file = NULL;
            if (strncmp(v, "file:", 5) == 0 && v[5])
                o->serial_file = v + 5;
            else if (!o->serial_stdio)
                direct_usage("--serial must be stdio or file:PATH");
        } else if (strcmp(a, "--virtio-console") == 0) {
            if (strcmp(v, "none") != 0 && (strncmp(v, "unix:", 5) != 0 || !v[5]))
                direct_usage("--virtio-console must be none or unix:PATH");
            o->virtio_console = v;
        } else {
            direct_usage("unknown option");
        }
        i += 2;
    }
    if (!o->g.kernel == !o->g.firmware)
        direct_usage("give either --kernel or --firmware");
}

static int open_fd_arg(const char *s, const char *what)
{
    int fd = (int)vmm_option_uint(s, 0, 1 << 20, what, managed_usage);

    if (fcntl(fd, F_GETFD) < 0)
        managed_usage("descriptor argument is not open");
    fd_set_cloexec(fd, 1);
    return fd;
}

/* Toolstack mode: a run directory, a status descriptor, the guest created
 * paused, and a device model failure that pauses rather than ends it.  The
 * devices' descriptors in the order given (--disk, --nic,
 * --virtio-console), as the -device words that take them. */
static void parse_managed(int argc, char **argv, struct monitor_options *o)
{
    o->start_paused = true;
    o->dm_failure_pauses = true;
    for (int i = 2; i < argc;) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int used = vmm_guest_option(&o->g, a, v, managed_usage);
        if (used) {
            i += used;
            continue;
        }
        if (strcmp(a, "--virtio-console") == 0) {
            /* A flag: a descriptor for the device model, ours served on
             * DIR/console-pv.sock. */
            vmm_guest_add_backend(&o->g, VMM_BACKEND_CONSOLE, NULL, managed_usage);
            i++;
            continue;
        }
        if (strcmp(a, "--") == 0) { /* the rest is the device model's */
            o->dm_words = (const char *const *)argv + i + 1;
            o->nr_dm_words = (unsigned)(argc - i - 1);
            break;
        }
        if (!v)
            managed_usage("option needs a value");
        if (strcmp(a, "--dir") == 0) {
            o->dir = v;
        } else if (strcmp(a, "--status-fd") == 0) {
            o->status_fd = open_fd_arg(v, "--status-fd");
        } else if (strcmp(a, "--store-fd") == 0) {
            o->store_fd = open_fd_arg(v, "--store-fd");
        } else if (strcmp(a, "--restore-fd") == 0) {
            o->restore_fd = open_fd_arg(v, "--restore-fd");
        } else if (strcmp(a, "--serial-file") == 0) {
            o->serial_file = v;
        } else if (strcmp(a, "--preserve") == 0) {
            o->preserve_poweroff = strstr(v, "poweroff") != NULL;
            o->preserve_reboot = strstr(v, "reboot") != NULL;
            o->preserve_crash = strstr(v, "crash") != NULL;
        } else {
            managed_usage("unknown option");
        }
        i += 2;
    }
    if (!o->dir || !o->g.kernel == !o->g.firmware || o->status_fd < 0)
        managed_usage("--dir, --kernel or --firmware, and --status-fd are required");
    if (o->g.rng)
        managed_usage("--rng: under the toolstack the devices are dm-argv's");
}

int main(int argc, char **argv)
{
    struct monitor_options o;

    version_option(argc, argv, "stubvmm");
    log_set_program("stubvmm");
    /* Descriptors 0-2 are stdio whatever we open later (COM1 on stdio,
     * messages on stderr): a closed one is /dev/null. */
    for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++)
        if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", fd ? O_WRONLY : O_RDONLY) != fd)
            return EXIT_SYSTEM;
    monitor_options_init(&o);
    if (argc > 1 && strcmp(argv[1], "--managed") == 0)
        parse_managed(argc, argv, &o);
    else
        parse_direct(argc, argv, &o);
#ifdef STUBVISOR_TEST_HOOKS
    o.dm_fault = getenv("STUBVISOR_DM_FAULT");
    if (o.dm_fault && !*o.dm_fault)
        o.dm_fault = NULL;
#endif
    return monitor_main(&o);
}
