/* Stage two of the config parser: one handler per key, the table that maps
 * keys to handlers, and the checks that involve several keys.
 *
 * Handlers run in the order the settings were written, so the first bad line
 * is the one reported; they fill b->cfg and note in *b what cfg_finish()
 * needs to look at afterwards.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/config_build.h"
#include "lib/cpuid.h"

/* ---- handlers, one per key ---- */

static int key_name(struct build *b, const struct cfg_setting *set)
{
    const char *name;
    char q[CFG_QUOTE_MAX];
    int rc = cfg_get_string(b, set, &name);
    if (rc)
        return rc;
    size_t len = strlen(name);
    if (len == 0)
        return cfg_fail_at(b, set, &set->atom, "empty name");
    if (len > CONFIG_MAX_NAME)
        return cfg_fail_at(b, set, &set->atom, "name longer than %d characters", CONFIG_MAX_NAME);
    bool digits_only = true;
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return cfg_fail_at(b, set, &set->atom,
                               "%s has a character other than A-Z a-z 0-9 _ . -",
                               cfg_quote(q, sizeof(q), name));
        digits_only &= c >= '0' && c <= '9';
    }
    if (digits_only)
        return cfg_fail_at(b, set, &set->atom, "%s is a number, which would read as a domain id",
                           cfg_quote(q, sizeof(q), name));
    if (name[0] == '.')
        return cfg_fail_at(b, set, &set->atom, "a name may not start with '.'");
    if (strcmp(name, "Domain-0") == 0)
        return cfg_fail_at(b, set, &set->atom, "Domain-0 is the name of the control domain");
    if (len >= 3 && strcmp(name + len - 3, "-dm") == 0)
        return cfg_fail_at(b, set, &set->atom,
                           "names ending in -dm are reserved for device-model stub domains");
    b->name = set;
    return cfg_dup_string(b, set, &b->cfg->name);
}

int config_uuid_parse(const char *text, uint8_t uuid[16])
{
    /* 8-4-4-4-12 hex digits */
    static const int dash_at[] = {8, 13, 18, 23};
    if (strlen(text) != 36)
        return -EINVAL;
    for (int i = 0, k = 0, n = 0; i < 36; i++) {
        if (k < 4 && i == dash_at[k]) {
            if (text[i] != '-')
                return -EINVAL;
            k++;
            continue;
        }
        int hi = text[i];
        int d = (hi >= '0' && hi <= '9')   ? hi - '0'
                : (hi >= 'a' && hi <= 'f') ? hi - 'a' + 10
                : (hi >= 'A' && hi <= 'F') ? hi - 'A' + 10
                                           : -1;
        if (d < 0)
            return -EINVAL;
        if (n % 2 == 0)
            uuid[n / 2] = (uint8_t)(d << 4);
        else
            uuid[n / 2] |= (uint8_t)d;
        n++;
    }
    return 0;
}

static int key_uuid(struct build *b, const struct cfg_setting *set)
{
    const char *text;
    char q[CFG_QUOTE_MAX];
    int rc = cfg_get_string(b, set, &text);
    if (rc)
        return rc;
    uint8_t uuid[16];
    static const uint8_t nil[16];
    if (config_uuid_parse(text, uuid))
        return cfg_fail_at(b, set, &set->atom,
                           "bad UUID %s: expected 8-4-4-4-12 hex digits, as in "
                           "6f8c1e0a-5b2d-4c7e-9a10-3d2f4b5c6e7f",
                           cfg_quote(q, sizeof(q), text));
    if (memcmp(uuid, nil, sizeof(nil)) == 0)
        return cfg_fail_at(b, set, &set->atom, "the nil UUID is not a domain's UUID");
    memcpy(b->cfg->uuid, uuid, sizeof(uuid));
    b->cfg->uuid_set = true;
    return 0;
}

static int key_memory(struct build *b, const struct cfg_setting *set)
{
    return cfg_get_number(b, set, "MiB", CONFIG_MIN_MEMORY_MIB, CONFIG_MAX_MEMORY_MIB,
                          &b->cfg->memory_mib);
}

static int key_stubdomain_memory(struct build *b, const struct cfg_setting *set)
{
    return cfg_get_number(b, set, "MiB", CONFIG_MIN_STUBDOM_MIB, CONFIG_MAX_STUBDOM_MIB,
                          &b->cfg->stubdomain_memory_mib);
}

/* xl's booleans: 1 or 0. */
static int get_flag(struct build *b, const struct cfg_setting *set, bool *out)
{
    const struct cfg_atom *atom = NULL;
    char q[CFG_QUOTE_MAX];
    int rc = cfg_get_atom(b, set, &atom);
    if (rc)
        return rc;
    if (strcmp(atom->text, "0") != 0 && strcmp(atom->text, "1") != 0)
        return cfg_fail_at(b, set, atom, "expected 1 or 0, got %s",
                           cfg_quote(q, sizeof(q), atom->text));
    *out = atom->text[0] == '1';
    return 0;
}

static int key_virtio_console(struct build *b, const struct cfg_setting *set)
{
    return get_flag(b, set, &b->cfg->virtio_console);
}

static int key_virtio_rng(struct build *b, const struct cfg_setting *set)
{
    return get_flag(b, set, &b->cfg->virtio_rng);
}

static int key_vcpus(struct build *b, const struct cfg_setting *set)
{
    uint64_t v;
    int rc = cfg_get_number(b, set, "vCPUs", 1, CONFIG_MAX_VCPUS, &v);
    if (rc)
        return rc;
    b->cfg->vcpus = (unsigned)v;
    return 0;
}

/* "FILE:LINE" of a setting, or "command line" for an override, in *out. */
static int set_origin(struct build *b, const struct cfg_setting *set, char **out)
{
    const char *name = b->s->origins[set->origin].name;
    size_t len = strlen(name) + 16;
    char *o = malloc(len);

    if (!o)
        return -ENOMEM;
    if (set->line)
        snprintf(o, len, "%s:%u", name, set->line);
    else
        snprintf(o, len, "%s", name);
    free(*out);
    *out = o;
    return 0;
}

static int key_kernel(struct build *b, const struct cfg_setting *set)
{
    b->kernel = set;
    return cfg_get_path(b, set, &b->cfg->kernel) ?: set_origin(b, set, &b->cfg->kernel_origin);
}

static int key_ramdisk(struct build *b, const struct cfg_setting *set)
{
    b->ramdisk = set;
    return cfg_get_path(b, set, &b->cfg->ramdisk) ?: set_origin(b, set, &b->cfg->ramdisk_origin);
}

/* libxl's string form; the xend list form is refused. */
static int key_cpuid(struct build *b, const struct cfg_setting *set)
{
    struct cpuid_settings cs;
    const char *text;
    char why[160];
    int rc;

    if (set->is_list)
        return cfg_fail_at(b, set, NULL,
                           "the xend list form is not supported; give libxl's string form, "
                           "e.g. cpuid = \"host,tm=0,sse3=0\"");
    rc = cfg_get_string(b, set, &text);
    if (rc)
        return rc;
    if (cpuid_settings_parse(text, &cs, why, sizeof(why)) < 0)
        return cfg_fail_at(b, set, &set->atom, "%s", why + strlen("cpuid: "));
    return cfg_dup_string(b, set, &b->cfg->cpuid);
}

static int set_firmware(struct build *b, const struct cfg_setting *set)
{
    const char *text;
    int rc = cfg_get_string(b, set, &text);
    if (rc)
        return rc;
    if (strcmp(text, "seabios") == 0) {
        char *path = strdup(CONFIG_SEABIOS_PATH);
        if (!path)
            return -ENOMEM;
        free(b->cfg->firmware);
        b->cfg->firmware = path;
        return 0;
    }
    return cfg_get_path(b, set, &b->cfg->firmware);
}

static int key_firmware(struct build *b, const struct cfg_setting *set)
{
    char place[32];
    if (b->bios)
        return cfg_fail_at(b, set, NULL, "give firmware or bios, not both (bios is on %s)",
                           cfg_place_of(b->bios, place, sizeof(place)));
    b->firmware = set;
    return set_firmware(b, set);
}

/* xl's HVM spelling: bios = "seabios". */
static int key_bios(struct build *b, const struct cfg_setting *set)
{
    const char *text;
    char q[CFG_QUOTE_MAX], place[32];
    int rc = cfg_get_string(b, set, &text);
    if (rc)
        return rc;
    if (strcmp(text, "seabios") != 0)
        return cfg_fail_at(b, set, &set->atom, "bios %s is not supported: only seabios is",
                           cfg_quote(q, sizeof(q), text));
    if (b->firmware)
        return cfg_fail_at(b, set, NULL, "give firmware or bios, not both (firmware is on %s)",
                           cfg_place_of(b->firmware, place, sizeof(place)));
    b->bios = set;
    return set_firmware(b, set);
}

static int key_cmdline(struct build *b, const struct cfg_setting *set)
{
    b->cmdline = set;
    return cfg_dup_string(b, set, &b->cfg->cmdline);
}

static int key_root(struct build *b, const struct cfg_setting *set)
{
    b->root = set;
    return cfg_dup_string(b, set, &b->root_text);
}

static int key_extra(struct build *b, const struct cfg_setting *set)
{
    b->extra = set;
    return cfg_dup_string(b, set, &b->extra_text);
}

static int parse_action(struct build *b, const struct cfg_setting *set,
                        enum lifecycle_action *action)
{
    static const char *const unsupported[] = {"rename-restart", "coredump-destroy",
                                              "coredump-restart", "soft-reset"};
    const char *text;
    char q[CFG_QUOTE_MAX];
    int rc = cfg_get_string(b, set, &text);
    if (rc)
        return rc;
    for (enum lifecycle_action a = ACTION_DESTROY; a <= ACTION_PRESERVE; a++) {
        if (strcmp(text, config_action_name(a)) == 0) {
            *action = a;
            return 0;
        }
    }
    for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
        if (strcmp(text, unsupported[i]) == 0)
            return cfg_fail_at(b, set, &set->atom,
                               "%s is not supported: expected destroy, restart or preserve",
                               unsupported[i]);
    return cfg_fail_at(b, set, &set->atom,
                       "unknown action %s: expected destroy, restart or preserve",
                       cfg_quote(q, sizeof(q), text));
}

static int key_on_poweroff(struct build *b, const struct cfg_setting *set)
{
    return parse_action(b, set, &b->cfg->on_poweroff);
}

static int key_on_reboot(struct build *b, const struct cfg_setting *set)
{
    return parse_action(b, set, &b->cfg->on_reboot);
}

static int key_on_crash(struct build *b, const struct cfg_setting *set)
{
    return parse_action(b, set, &b->cfg->on_crash);
}

static int key_stubdomain_override(struct build *b, const struct cfg_setting *set)
{
    const struct cfg_atom *atom = NULL;
    char q[CFG_QUOTE_MAX];
    int rc = cfg_get_atom(b, set, &atom);
    if (rc)
        return rc;
    if (strcmp(atom->text, "1") == 0)
        b->override_placement = PLACEMENT_STUBDOM;
    else if (strcmp(atom->text, "0") == 0)
        b->override_placement = PLACEMENT_PROCESS;
    else
        return cfg_fail_at(b, set, atom, "expected 1 (stub domain) or 0 (process), got %s",
                           cfg_quote(q, sizeof(q), atom->text));
    b->override = set;
    return 0;
}

static int key_placement(struct build *b, const struct cfg_setting *set)
{
    const char *text;
    char q[CFG_QUOTE_MAX];
    int rc = cfg_get_string(b, set, &text);
    if (rc)
        return rc;
    for (enum dm_placement p = PLACEMENT_STUBDOM; p <= PLACEMENT_INLINE; p++) {
        if (strcmp(text, config_placement_name(p)) == 0) {
            b->named_placement = p;
            b->placement = set;
            return 0;
        }
    }
    return cfg_fail_at(b, set, &set->atom,
                       "unknown placement %s: expected stubdom, process or inline",
                       cfg_quote(q, sizeof(q), text));
}

static int key_type(struct build *b, const struct cfg_setting *set)
{
    const char *text;
    char q[CFG_QUOTE_MAX];
    int rc = cfg_get_string(b, set, &text);
    if (rc)
        return rc;
    bool builder = strcmp(set->key, "builder") == 0;
    if (strcmp(text, "hvm") == 0 || (!builder && strcmp(text, "pvh") == 0)) {
        b->type = set;
        return 0;
    }
    if (strcmp(text, "pv") == 0 || strcmp(text, "generic") == 0 || strcmp(text, "linux") == 0)
        return cfg_fail_at(b, set, &set->atom, "PV guests are not supported: use hvm or pvh");
    return cfg_fail_at(b, set, &set->atom, "unknown %s %s: expected %s", set->key,
                       cfg_quote(q, sizeof(q), text), builder ? "hvm" : "hvm or pvh");
}

static int key_disk(struct build *b, const struct cfg_setting *set)
{
    struct domain_config *cfg = b->cfg;
    const struct cfg_atom *items;
    size_t n;
    int rc;

    cfg_get_items(set, &items, &n);
    for (size_t i = 0; i < cfg->ndisks; i++)
        cfg_disk_dispose(&cfg->disks[i]);
    free(cfg->disks);
    cfg->disks = NULL;
    cfg->ndisks = 0;
    if (n > CONFIG_MAX_DISKS)
        return cfg_fail_at(b, set, &items[CONFIG_MAX_DISKS], "more than %d disks",
                           CONFIG_MAX_DISKS);
    if (n == 0)
        return 0;
    cfg->disks = calloc(n, sizeof(*cfg->disks));
    if (!cfg->disks)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        struct cfg_where w = cfg_where_of(b, set, &items[i]);
        rc = cfg_check_string(b, set, &items[i]);
        if (rc)
            return rc;
        rc = cfg_parse_disk(&w, items[i].text, &cfg->disks[i], b->err);
        if (rc)
            return rc;
        cfg->ndisks = i + 1;
        for (size_t j = 0; j < i; j++) {
            if (cfg->disks[j].index != cfg->disks[i].index)
                continue;
            if (strcmp(cfg->disks[j].vdev, cfg->disks[i].vdev) == 0)
                return cfg_fail_at(b, set, &items[i], "vdev %s is given twice", cfg->disks[i].vdev);
            return cfg_fail_at(b, set, &items[i], "vdev %s is the same disk as %s (disk %u)",
                               cfg->disks[i].vdev, cfg->disks[j].vdev, cfg->disks[i].index);
        }
    }
    return 0;
}

static int key_vif(struct build *b, const struct cfg_setting *set)
{
    struct domain_config *cfg = b->cfg;
    const struct cfg_atom *items;
    size_t n;
    int rc;

    cfg_get_items(set, &items, &n);
    for (size_t i = 0; i < cfg->nvifs; i++)
        cfg_vif_dispose(&cfg->vifs[i]);
    free(cfg->vifs);
    cfg->vifs = NULL;
    cfg->nvifs = 0;
    if (n > CONFIG_MAX_VIFS)
        return cfg_fail_at(b, set, &items[CONFIG_MAX_VIFS], "more than %d network interfaces",
                           CONFIG_MAX_VIFS);
    if (n == 0)
        return 0;
    cfg->vifs = calloc(n, sizeof(*cfg->vifs));
    if (!cfg->vifs)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        struct cfg_where w = cfg_where_of(b, set, &items[i]);
        rc = cfg_check_string(b, set, &items[i]);
        if (rc)
            return rc;
        rc = cfg_parse_vif(&w, items[i].text, &cfg->vifs[i], b->err);
        if (rc)
            return rc;
        cfg->nvifs = i + 1;
        for (size_t j = 0; j < i; j++) {
            if (cfg->vifs[i].mac_set && cfg->vifs[j].mac_set &&
                memcmp(cfg->vifs[i].mac, cfg->vifs[j].mac, 6) == 0)
                return cfg_fail_at(b, set, &items[i], "two interfaces have the same MAC address");
            if (cfg->vifs[i].tap_name && cfg->vifs[j].tap_name &&
                strcmp(cfg->vifs[i].tap_name, cfg->vifs[j].tap_name) == 0)
                return cfg_fail_at(b, set, &items[i], "two interfaces use the tap %s",
                                   cfg->vifs[i].tap_name);
        }
    }
    return 0;
}

static int key_serial(struct build *b, const struct cfg_setting *set)
{
    struct domain_config *cfg = b->cfg;
    const struct cfg_atom *items;
    size_t n;
    int rc;

    cfg_get_items(set, &items, &n);
    for (size_t i = 0; i < cfg->nserials; i++)
        cfg_serial_dispose(&cfg->serials[i]);
    free(cfg->serials);
    cfg->serials = NULL;
    cfg->nserials = 0;
    if (n > CONFIG_MAX_SERIALS)
        return cfg_fail_at(b, set, &items[CONFIG_MAX_SERIALS], "more than %d serial ports",
                           CONFIG_MAX_SERIALS);
    /* An allocation even for an empty list: serials != NULL says "given". */
    cfg->serials = calloc(n ? n : 1, sizeof(*cfg->serials));
    if (!cfg->serials)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        struct cfg_where w = cfg_where_of(b, set, &items[i]);
        rc = cfg_check_string(b, set, &items[i]);
        if (rc)
            return rc;
        rc = cfg_parse_serial(&w, items[i].text, &cfg->serials[i], b->err);
        if (rc)
            return rc;
        cfg->nserials = i + 1;
    }
    return 0;
}

typedef int key_handler_fn(struct build *b, const struct cfg_setting *set);

static const struct {
    const char *key;
    key_handler_fn *fn;
} key_handlers[] = {
    {"name", key_name},
    {"uuid", key_uuid},
    {"memory", key_memory},
    {"vcpus", key_vcpus},
    {"kernel", key_kernel},
    {"ramdisk", key_ramdisk},
    {"cpuid", key_cpuid},
    {"cmdline", key_cmdline},
    {"root", key_root},
    {"extra", key_extra},
    {"firmware", key_firmware},
    {"bios", key_bios},
    {"type", key_type},
    {"builder", key_type},
    {"disk", key_disk},
    {"vif", key_vif},
    {"serial", key_serial},
    {"virtio_console", key_virtio_console},
    {"virtio_rng", key_virtio_rng},
    {"on_poweroff", key_on_poweroff},
    {"on_reboot", key_on_reboot},
    {"on_crash", key_on_crash},
    {"device_model_stubdomain_override", key_stubdomain_override},
    {"device_model_placement", key_placement},
    {"stubdomain_memory", key_stubdomain_memory},
};

/* xl.cfg keys with no meaning here.  Existing configs carry them, so they
 * load with a warning instead of the generic "unknown key". */
static const char *const xl_keys_ignored[] = {"acpi",
                                              "apic",
                                              "pae",
                                              "hap",
                                              "nx",
                                              "viridian",
                                              "hpet",
                                              "vpt_align",
                                              "timer_mode",
                                              "localtime",
                                              "rtc_timeoffset",
                                              "boot",
                                              "vnc",
                                              "vnclisten",
                                              "vncdisplay",
                                              "vncpasswd",
                                              "vncunused",
                                              "sdl",
                                              "opengl",
                                              "vga",
                                              "videoram",
                                              "stdvga",
                                              "usb",
                                              "usbdevice",
                                              "usbctrl",
                                              "usbdev",
                                              "soundhw",
                                              "keymap",
                                              "spice",
                                              "maxmem",
                                              "maxvcpus",
                                              "cpus",
                                              "cpus_soft",
                                              "cpu_weight",
                                              "cap",
                                              "pool",
                                              "pci",
                                              "vfb",
                                              "vkb",
                                              "vtpm",
                                              "channel",
                                              "p9",
                                              "rdm",
                                              "device_model_version",
                                              "device_model_override",
                                              "device_model_args",
                                              "nestedhvm",
                                              "shadow_memory",
                                              "on_watchdog",
                                              "on_soft_reset",
                                              "seclabel",
                                              "xen_platform_pci",
                                              "stubdomain_kernel",
                                              "stubdomain_ramdisk",
                                              "stubdomain_cmdline",
                                              "gfx_passthru",
                                              "tsc_mode",
                                              "vpmu",
                                              "altp2m",
                                              "max_grant_frames",
                                              "max_maptrack_frames",
                                              "driver_domain",
                                              "bootloader",
                                              "bootloader_args",
                                              "claim_mode",
                                              "passthrough",
                                              "e820_host",
                                              "iomem",
                                              "ioports",
                                              "irqs",
                                              "dtdev",
                                              "vuart",
                                              "max_event_channels",
                                              "smbios_firmware",
                                              "acpi_firmware",
                                              "acpi_s3",
                                              "acpi_s4",
                                              "serial_loopback",
                                              "vif2",
                                              "device_tree",
                                              "vcpu_hard_affinity",
                                              "vcpu_soft_affinity",
                                              "mmio_hole",
                                              "ms_vm_genid"};

int cfg_apply_setting(struct build *b, const struct cfg_setting *set)
{
    for (size_t i = 0; i < sizeof(key_handlers) / sizeof(key_handlers[0]); i++)
        if (strcmp(set->key, key_handlers[i].key) == 0)
            return key_handlers[i].fn(b, set);
    for (size_t i = 0; i < sizeof(xl_keys_ignored) / sizeof(xl_keys_ignored[0]); i++)
        if (strcmp(set->key, xl_keys_ignored[i]) == 0)
            return WARN_AT(b, set, "not supported by stubvisor, ignored");
    return WARN_AT(b, set, "unknown key, ignored");
}

/* Of two settings, the one written last: where a conflict is reported. */
static const struct cfg_setting *later(const struct cfg_setting *a, const struct cfg_setting *b)
{
    return a->seq > b->seq ? a : b;
}

int cfg_finish(struct build *b)
{
    struct domain_config *cfg = b->cfg;
    const char *file = b->s->origins[0].name;
    char place[32];
    int rc;

    if (!cfg->name)
        return cfg_fail(b->err, file, 0, "name", "missing: every domain needs a name");

    if (cfg->kernel && cfg->firmware) {
        const struct cfg_setting *fw = b->firmware ? b->firmware : b->bios;
        const struct cfg_setting *last = later(b->kernel, fw);
        const struct cfg_setting *first = last == fw ? b->kernel : fw;
        return cfg_fail_at(b, last, NULL, "give kernel or firmware, not both (%s is on %s)",
                           first->key, cfg_place_of(first, place, sizeof(place)));
    }
    if (!cfg->kernel && !cfg->firmware)
        return cfg_fail(b->err, file, 0, "kernel",
                        "no kernel or firmware: give one, e.g. kernel = \"guest.elf\" or "
                        "firmware = \"seabios\"");
    if (b->type && strcmp(b->type->atom.text, "pvh") == 0 && !cfg->kernel)
        return cfg_fail_at(b, b->type, NULL, "a pvh guest needs a kernel");

    if (b->override && b->placement && b->override_placement != b->named_placement) {
        const struct cfg_setting *last = later(b->override, b->placement);
        const struct cfg_setting *first = last == b->placement ? b->override : b->placement;
        return cfg_fail_at(b, last, NULL,
                           "device_model_stubdomain_override = %s and device_model_placement = "
                           "\"%s\" disagree (the other is on %s)",
                           b->override->atom.text, config_placement_name(b->named_placement),
                           cfg_place_of(first, place, sizeof(place)));
    }
    cfg->placement = b->placement  ? b->named_placement
                     : b->override ? b->override_placement
                                   : PLACEMENT_STUBDOM;

    /* xl: cmdline wins over root and extra; without it they make one. */
    if (b->cmdline && (b->root || b->extra)) {
        rc = WARN_AT(b, b->cmdline, "root and extra are ignored in favour of cmdline");
        if (rc)
            return rc;
    } else if (b->root || b->extra) {
        size_t len = (b->root_text ? strlen(b->root_text) + 6 : 0) +
                     (b->extra_text ? strlen(b->extra_text) : 0) + 1;
        char *joined = malloc(len);
        if (!joined)
            return -ENOMEM;
        snprintf(joined, len, "%s%s%s%s", b->root_text ? "root=" : "",
                 b->root_text ? b->root_text : "", b->root_text && b->extra_text ? " " : "",
                 b->extra_text ? b->extra_text : "");
        cfg->cmdline = joined;
    }
    if (cfg->cmdline && strlen(cfg->cmdline) > CONFIG_MAX_CMDLINE) {
        const struct cfg_setting *set = b->cmdline ? b->cmdline : b->extra ? b->extra : b->root;
        return cfg_fail_at(b, set, NULL, "kernel command line longer than %d bytes",
                           CONFIG_MAX_CMDLINE);
    }
    if (!cfg->kernel) {
        const struct cfg_setting *sets[] = {b->ramdisk, b->cmdline, b->root, b->extra};
        for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
            if (!sets[i])
                continue;
            rc = WARN_AT(b, sets[i], "ignored without kernel");
            if (rc)
                return rc;
        }
        free(cfg->ramdisk);
        free(cfg->cmdline);
        free(cfg->ramdisk_origin);
        cfg->ramdisk = cfg->cmdline = cfg->ramdisk_origin = NULL;
    }

    /* Default: one serial port, the console `stubctl console` attaches to. */
    if (!cfg->serials) {
        cfg->serials = calloc(1, sizeof(*cfg->serials));
        if (!cfg->serials)
            return -ENOMEM;
        cfg->serials[0].kind = SERIAL_PTY;
        cfg->nserials = 1;
    } else if (cfg->nserials == 0) {
        free(cfg->serials);
        cfg->serials = NULL;
    }
    return 0;
}
