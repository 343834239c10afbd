/* Domain configuration files in xl.cfg syntax.
 *
 * A config is parsed in two stages (config_syntax.h, then config.c): the
 * syntax layer turns text into KEY -> value settings (a string, a number, or
 * a list of strings, each with the line it came from), and the typed layer
 * turns those settings into a struct domain_config, applies the defaults and
 * validates everything.  Overrides from the command line ("memory=256") are
 * more settings in the same syntax, stored after the file's, so that the last
 * one wins exactly as with `xl create CFG KEY=VALUE`.
 *
 * Every input is treated as hostile: no call crashes, allocates without
 * bound, or leaves a half-built config behind.  docs/config.md describes
 * every key, its default and how it differs from xl.cfg.
 */
#ifndef STUBVISOR_CTL_CONFIG_H
#define STUBVISOR_CTL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/dmfds.h"
#include "lib/stubvisor_config.h"

/* Defaults and limits, in MiB where they are memory sizes. */
#define CONFIG_DEFAULT_MEMORY_MIB  128
#define CONFIG_DEFAULT_VCPUS       1
#define CONFIG_DEFAULT_STUBDOM_MIB 64
#define CONFIG_MIN_MEMORY_MIB      16
#define CONFIG_MAX_MEMORY_MIB      (1024 * 1024) /* 1 TiB */
#define CONFIG_MIN_STUBDOM_MIB     16
#define CONFIG_MAX_STUBDOM_MIB     4096
#define CONFIG_MAX_VCPUS           128
#define CONFIG_MAX_NAME            64
/* As many as a device model takes (lib/dmfds.h): a config with more is
 * refused here, naming the key, rather than by stubvmm at start-up. */
#define CONFIG_MAX_DISKS      DMFD_MAX_DISKS
#define CONFIG_MAX_VIFS       DMFD_MAX_NICS
#define CONFIG_MAX_SERIALS    4
#define CONFIG_MAX_CMDLINE    2047 /* Linux's x86 COMMAND_LINE_SIZE less the NUL */
#define CONFIG_MAX_FILE_SIZE  (1024 * 1024)
#define CONFIG_SEABIOS_PATH   "/usr/share/seabios/bios.bin"
#define CONFIG_DEFAULT_BRIDGE "xenbr0" /* xl's */
/* Where `script=NAME` (no '/') is looked for, like Xen's XEN_SCRIPT_DIR. */
#define CONFIG_SCRIPT_DIR STUBVISOR_SYSCONFDIR "/stubvisor/scripts"

enum lifecycle_action {
    ACTION_DESTROY, /* tear the domain down */
    ACTION_RESTART, /* destroy, then create it again from the same config */
    ACTION_PRESERVE /* keep it (paused, resources held) for inspection */
};

/* Where the device model runs; docs/design.md §2. */
enum dm_placement {
    PLACEMENT_STUBDOM, /* sandboxed process, its own domain "<name>-dm" */
    PLACEMENT_PROCESS, /* unsandboxed process, like a dom0 qemu-dm */
    PLACEMENT_INLINE   /* on the vCPU thread inside stubvmm */
};

struct disk_spec {
    char *target;   /* raw image or block device; absolute when the config had a base */
    char *vdev;     /* as written: "xvda", "hdb", "sdc", "vdd" ... */
    unsigned index; /* disk number the vdev stands for: xvda = hda = sda = vda = 0 */
    bool readonly;
};

enum vif_backend {
    VIF_BACKEND_NONE,   /* a NIC with no cable: frames the guest sends are dropped */
    VIF_BACKEND_TAP,    /* a tap device: with a bridge, made and plugged in by the toolstack */
    VIF_BACKEND_SOCKET, /* a Unix socket carrying Ethernet frames */
};

struct vif_spec {
    uint8_t mac[6];
    bool mac_set; /* false: the toolstack picks a random 00:16:3e:xx:xx:xx */
    enum vif_backend backend;
    char *tap_name;    /* VIF_BACKEND_TAP: interface name, NULL to let the kernel pick */
    char *bridge;      /* VIF_BACKEND_TAP: bridge to enslave the tap to, or NULL */
    char *socket_path; /* VIF_BACKEND_SOCKET */
    char *script;      /* hotplug script run online/offline (absolute), or NULL */
    unsigned mtu;      /* 0: the back end's default */
};

enum serial_kind {
    SERIAL_PTY,  /* served by stubvmm on the console socket; `stubctl console` attaches */
    SERIAL_FILE, /* output appended to a file, no input */
    SERIAL_NULL, /* the port exists, output is discarded */
};

struct serial_spec {
    enum serial_kind kind;
    char *path; /* SERIAL_FILE only */
};

struct config_settings; /* the parsed settings, private to the parser */

struct domain_config {
    char *name;
    uint8_t uuid[16];
    bool uuid_set; /* false: uuid was generated (random, version 4) */
    uint64_t memory_mib;
    unsigned vcpus;

    /* Exactly one of kernel and firmware is set. */
    char *kernel;   /* direct boot: PVH ELF or bzImage */
    char *ramdisk;  /* optional, with kernel */
    char *cmdline;  /* optional, with kernel (cmdline, or root= and extra=) */
    char *firmware; /* path of a firmware image; "seabios" becomes CONFIG_SEABIOS_PATH */
    /* Where kernel and ramdisk were set ("FILE:LINE", or "command line"), for
     * the checks stubctl create makes of the files themselves. */
    char *kernel_origin, *ramdisk_origin;
    char *cpuid; /* libxl's cpuid= string form (lib/cpuid.h), checked; NULL: none */

    struct disk_spec *disks;
    size_t ndisks;
    struct vif_spec *vifs;
    size_t nvifs;
    struct serial_spec *serials; /* COM1 first; default: one SERIAL_PTY */
    size_t nserials;
    bool virtio_console; /* a virtio-console port (`stubctl console -t pv`) */
    bool virtio_rng;     /* a virtio-rng device */

    enum lifecycle_action on_poweroff, on_reboot, on_crash;
    enum dm_placement placement;
    uint64_t stubdomain_memory_mib; /* memory limit of the device model */

    /* Private: what the config was built from, kept so that overrides can be
     * applied with xl's last-one-wins semantics. */
    struct config_settings *settings;
};

/* Errors and warnings of one call.  Initialise with config_error_init (or
 * zero it); every parse call clears it first, so one can be reused.  On
 * failure, `message` reads "FILE:LINE: KEY: what is wrong" (the line is left
 * out when the problem is not on one line, the key when there is none), and
 * `file`, `line`, `key` hold the parts.  Warnings (unknown keys, ignored
 * values) are collected on success and failure alike, formatted the same
 * way; they belong to the config_error and are freed by
 * config_error_dispose. */
#define CONFIG_MESSAGE_MAX  512
#define CONFIG_MAX_WARNINGS 64 /* then one "more warnings not shown" */
struct config_error {
    char message[CONFIG_MESSAGE_MAX];
    char file[256];
    unsigned line; /* 0: not tied to a line */
    char key[64];
    char **warnings;
    size_t nwarnings;
};

void config_error_init(struct config_error *err);
void config_error_dispose(struct config_error *err);

/* Parse the file at `path` into *cfg.  Relative paths in the config resolve
 * against the directory the file is in.  Returns 0, or a negative errno:
 * -EINVAL for a bad config, -EFBIG for a file over CONFIG_MAX_FILE_SIZE,
 * -ENOMEM, or why the file could not be read; err says what and where.  *cfg
 * is overwritten (dispose an old one first); on failure it is left empty
 * (all zero), and config_dispose on it is harmless. */
int config_parse_file(const char *path, struct domain_config *cfg, struct config_error *err);

/* The same with command-line overrides ("KEY=VALUE", as for
 * config_apply_override) taken as if appended to the file, before any
 * check: an override can supply what the file lacks (a kernel, a
 * firmware), and the config is built once, from the whole. */
int config_parse_file_with(const char *path, char *const *overrides, size_t noverrides,
                           struct domain_config *cfg, struct config_error *err);

/* Parse `len` bytes of text (need not be NUL-terminated, may contain
 * anything).  `name` is what messages call the text.  Relative paths resolve
 * against `base_dir`, or are kept as written when it is NULL.  Same results
 * as config_parse_file. */
int config_parse_buffer(const char *name, const char *text, size_t len, const char *base_dir,
                        struct domain_config *cfg, struct config_error *err);

/* Apply one command-line override, "KEY=VALUE" or "KEY+=VALUE" in config
 * syntax (several separated by ';' are fine), to a parsed config: the result
 * is what parsing the file with the override appended would give.  A bare
 * value that is not valid config syntax (name=web, as the shell leaves
 * name="web") is taken as a string.  Relative paths resolve against the
 * current directory.  Errors name the key and "command line" instead of a
 * file.  On failure *cfg is unchanged. */
int config_apply_override(struct domain_config *cfg, const char *key_eq_value,
                          struct config_error *err);

/* Write *cfg back as config text (malloc'd, *len bytes, NUL-terminated)
 * that parses to the same domain: every value explicit, the UUID and MACs
 * included, paths as they are in *cfg.  Returns 0 or -ENOMEM. */
int config_format(const struct domain_config *cfg, char **text, size_t *len);

/* Free everything *cfg owns and zero it.  Safe on a zeroed config. */
void config_dispose(struct domain_config *cfg);

/* Write uuid as 36 lower-case characters and a NUL, as in the store's
 * /vm/<uuid> paths. */
#define CONFIG_UUID_STRLEN 37
void config_uuid_format(const uint8_t uuid[16], char out[CONFIG_UUID_STRLEN]);
/* The reverse: 8-4-4-4-12 hex digits (either case).  0 or -EINVAL. */
int config_uuid_parse(const char *text, uint8_t uuid[16]);

/* Names used in messages and by the toolstack when it prints a config. */
const char *config_action_name(enum lifecycle_action action);
const char *config_placement_name(enum dm_placement placement);

#endif
