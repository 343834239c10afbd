/* Stage two of the config parser: settings -> struct domain_config.
 *
 * The settings are read in the order they were written (so the first bad
 * line is the one reported), each by the handler its key names in
 * key_handlers[].  Checks that involve several keys (kernel or firmware, the
 * two placement keys, cmdline with root and extra) and the defaults come
 * after.  The result is built in a fresh struct and handed over only when
 * everything passed, so a failure never leaves a half-built config.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl/config_internal.h"

struct build {
    const struct config_settings *s;
    struct domain_config *cfg;
    struct config_error *err;
    /* The settings that cross-key checks need to point at. */
    const struct cfg_setting *name, *kernel, *firmware, *bios, *type, *override, *placement,
        *cmdline, *root, *extra, *ramdisk;
    enum dm_placement override_placement, named_placement;
    char *root_text, *extra_text;
};

static struct cfg_where where_of(const struct build *b, const struct cfg_setting *set,
                                 const struct cfg_atom *atom)
{
    unsigned origin = atom ? atom->origin : set->origin;
    return (struct cfg_where){
        .origin = b->s->origins[origin].name,
        .base_dir = b->s->origins[origin].base_dir,
        .line = atom ? atom->line : set->line,
        .key = set->key,
    };
}

/* "line 3", or "the command line" for an override, for messages that point
 * at a second setting. */
static const char *place_of(const struct cfg_setting *set, char *buf, size_t size)
{
    if (set->line == 0)
        return "the command line";
    snprintf(buf, size, "line %u", set->line);
    return buf;
}

/* Fail at a setting, or at one entry of it when `atom` is given. */
static int fail_at(struct build *b, const struct cfg_setting *set, const struct cfg_atom *atom,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail_at(struct build *b, const struct cfg_setting *set, const struct cfg_atom *atom,
                   const char *fmt, ...)
{
    char buf[CONFIG_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    unsigned origin = atom ? atom->origin : set->origin;
    return cfg_fail(b->err, b->s->origins[origin].name, atom ? atom->line : set->line, set->key,
                    "%s", buf);
}

#define FAIL_AT fail_at
#define WARN_AT(b, set, ...)                                                                       \
    cfg_warn((b)->err, (b)->s->origins[(set)->origin].name, (set)->line, (set)->key, __VA_ARGS__)

/* ---- typed getters ---- */

static int get_atom(struct build *b, const struct cfg_setting *set, const struct cfg_atom **atom)
{
    if (set->is_list)
        return FAIL_AT(b, set, NULL, "expected a single value, not a list");
    *atom = &set->atom;
    return 0;
}

/* A string: quoted, or an unquoted number (xl accepts name = 123), but not
 * an unquoted word, which xl refuses and which is most often a mistake. */
static int check_string_atom(struct build *b, const struct cfg_setting *set,
                             const struct cfg_atom *atom)
{
    char q[CFG_QUOTE_MAX];
    char c = atom->text[0];
    if (atom->quoted || (c >= '0' && c <= '9'))
        return 0;
    return FAIL_AT(b, set, atom, "unquoted word %s: strings must be in quotes, as in %s = %s",
                   atom->text, set->key, cfg_quote(q, sizeof(q), atom->text));
}

static int get_string(struct build *b, const struct cfg_setting *set, const char **out)
{
    const struct cfg_atom *atom = NULL;
    int rc = get_atom(b, set, &atom);
    if (rc)
        return rc;
    rc = check_string_atom(b, set, atom);
    if (rc)
        return rc;
    *out = atom->text;
    return 0;
}

/* A copy of a string value. */
static int dup_string(struct build *b, const struct cfg_setting *set, char **out)
{
    const char *text;
    int rc = get_string(b, set, &text);
    if (rc)
        return rc;
    char *copy = strdup(text);
    if (!copy)
        return -ENOMEM;
    free(*out);
    *out = copy;
    return 0;
}

/* Decimal, or hex with 0x.  xl reads numbers with strtol(base 0), which makes
 * "010" octal; a leading zero is refused here rather than read either way. */
static int parse_u64(const char *text, uint64_t *out)
{
    uint64_t v = 0;
    unsigned base = 10;
    const char *p = text;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    } else if (p[0] == '0' && p[1] != '\0') {
        return -EINVAL;
    }
    if (*p == '\0')
        return -EINVAL;
    for (; *p; p++) {
        unsigned d;
        if (*p >= '0' && *p <= '9')
            d = (unsigned)(*p - '0');
        else if (base == 16 && *p >= 'a' && *p <= 'f')
            d = (unsigned)(*p - 'a' + 10);
        else if (base == 16 && *p >= 'A' && *p <= 'F')
            d = (unsigned)(*p - 'A' + 10);
        else
            return -EINVAL;
        if (v > (UINT64_MAX - d) / base)
            return -ERANGE;
        v = v * base + d;
    }
    *out = v;
    return 0;
}

/* A number in [min, max]; `what` completes "expected a number of ...". */
static int get_number(struct build *b, const struct cfg_setting *set, const char *what,
                      uint64_t min, uint64_t max, uint64_t *out)
{
    const struct cfg_atom *atom = NULL;
    char q[CFG_QUOTE_MAX];
    uint64_t v;
    int rc = get_atom(b, set, &atom);
    if (rc)
        return rc;
    if (parse_u64(atom->text, &v) == -EINVAL)
        return FAIL_AT(b, set, atom, "expected a number of %s, got %s", what,
                       cfg_quote(q, sizeof(q), atom->text));
    if (parse_u64(atom->text, &v) == -ERANGE || v < min || v > max)
        return FAIL_AT(b, set, atom, "%s is out of range: expected %llu to %llu %s",
                       cfg_quote(q, sizeof(q), atom->text), (unsigned long long)min,
                       (unsigned long long)max, what);
    *out = v;
    return 0;
}

/* The entries of a list key; a single string counts as a list of one. */
static void get_items(const struct cfg_setting *set, const struct cfg_atom **items, size_t *n)
{
    if (set->is_list) {
        *items = set->items;
        *n = set->nitems;
    } else {
        *items = &set->atom;
        *n = 1;
    }
}

static int resolve_path(struct build *b, const struct cfg_setting *set, char **out)
{
    const struct cfg_atom *atom = NULL;
    int rc = get_atom(b, set, &atom);
    if (rc)
        return rc;
    rc = check_string_atom(b, set, atom);
    if (rc)
        return rc;
    struct cfg_where w = where_of(b, set, atom);
    char *path = NULL;
    rc = cfg_resolve_path(&w, atom->text, &path, b->err);
    if (rc)
        return rc;
    free(*out);
    *out = path;
    return 0;
}

/* ---- handlers, one per key ---- */

static int key_name(struct build *b, const struct cfg_setting *set)
{
    const char *name;
    char q[CFG_QUOTE_MAX];
    int rc = get_string(b, set, &name);
    if (rc)
        return rc;
    size_t len = strlen(name);
    if (len == 0)
        return FAIL_AT(b, set, &set->atom, "empty name");
    if (len > CONFIG_MAX_NAME)
        return FAIL_AT(b, set, &set->atom, "name longer than %d characters", CONFIG_MAX_NAME);
    bool digits_only = true;
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return FAIL_AT(b, set, &set->atom, "%s has a character other than A-Z a-z 0-9 _ . -",
                           cfg_quote(q, sizeof(q), name));
        digits_only &= c >= '0' && c <= '9';
    }
    if (digits_only)
        return FAIL_AT(b, set, &set->atom, "%s is a number, which would read as a domain id",
                       cfg_quote(q, sizeof(q), name));
    if (name[0] == '.')
        return FAIL_AT(b, set, &set->atom, "a name may not start with '.'");
    if (strcmp(name, "Domain-0") == 0)
        return FAIL_AT(b, set, &set->atom, "Domain-0 is the name of the control domain");
    if (len >= 3 && strcmp(name + len - 3, "-dm") == 0)
        return FAIL_AT(b, set, &set->atom,
                       "names ending in -dm are reserved for device-model stub domains");
    b->name = set;
    return dup_string(b, set, &b->cfg->name);
}

static int parse_uuid(const char *text, uint8_t uuid[16])
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
    int rc = get_string(b, set, &text);
    if (rc)
        return rc;
    uint8_t uuid[16];
    static const uint8_t nil[16];
    if (parse_uuid(text, uuid))
        return FAIL_AT(b, set, &set->atom,
                       "bad UUID %s: expected 8-4-4-4-12 hex digits, as in "
                       "6f8c1e0a-5b2d-4c7e-9a10-3d2f4b5c6e7f",
                       cfg_quote(q, sizeof(q), text));
    if (memcmp(uuid, nil, sizeof(nil)) == 0)
        return FAIL_AT(b, set, &set->atom, "the nil UUID is not a domain's UUID");
    memcpy(b->cfg->uuid, uuid, sizeof(uuid));
    b->cfg->uuid_set = true;
    return 0;
}

static int key_memory(struct build *b, const struct cfg_setting *set)
{
    return get_number(b, set, "MiB", CONFIG_MIN_MEMORY_MIB, CONFIG_MAX_MEMORY_MIB,
                      &b->cfg->memory_mib);
}

static int key_stubdomain_memory(struct build *b, const struct cfg_setting *set)
{
    return get_number(b, set, "MiB", CONFIG_MIN_STUBDOM_MIB, CONFIG_MAX_STUBDOM_MIB,
                      &b->cfg->stubdomain_memory_mib);
}

static int key_vcpus(struct build *b, const struct cfg_setting *set)
{
    uint64_t v;
    int rc = get_number(b, set, "vCPUs", 1, CONFIG_MAX_VCPUS, &v);
    if (rc)
        return rc;
    b->cfg->vcpus = (unsigned)v;
    return 0;
}

static int key_kernel(struct build *b, const struct cfg_setting *set)
{
    b->kernel = set;
    return resolve_path(b, set, &b->cfg->kernel);
}

static int key_ramdisk(struct build *b, const struct cfg_setting *set)
{
    b->ramdisk = set;
    return resolve_path(b, set, &b->cfg->ramdisk);
}

static int set_firmware(struct build *b, const struct cfg_setting *set)
{
    const char *text;
    int rc = get_string(b, set, &text);
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
    return resolve_path(b, set, &b->cfg->firmware);
}

static int key_firmware(struct build *b, const struct cfg_setting *set)
{
    char place[32];
    if (b->bios)
        return FAIL_AT(b, set, NULL, "give firmware or bios, not both (bios is on %s)",
                       place_of(b->bios, place, sizeof(place)));
    b->firmware = set;
    return set_firmware(b, set);
}

/* xl's HVM spelling: bios = "seabios". */
static int key_bios(struct build *b, const struct cfg_setting *set)
{
    const char *text;
    char q[CFG_QUOTE_MAX], place[32];
    int rc = get_string(b, set, &text);
    if (rc)
        return rc;
    if (strcmp(text, "seabios") != 0)
        return FAIL_AT(b, set, &set->atom, "bios %s is not supported: only seabios is",
                       cfg_quote(q, sizeof(q), text));
    if (b->firmware)
        return FAIL_AT(b, set, NULL, "give firmware or bios, not both (firmware is on %s)",
                       place_of(b->firmware, place, sizeof(place)));
    b->bios = set;
    return set_firmware(b, set);
}

static int key_cmdline(struct build *b, const struct cfg_setting *set)
{
    b->cmdline = set;
    return dup_string(b, set, &b->cfg->cmdline);
}

static int key_root(struct build *b, const struct cfg_setting *set)
{
    b->root = set;
    return dup_string(b, set, &b->root_text);
}

static int key_extra(struct build *b, const struct cfg_setting *set)
{
    b->extra = set;
    return dup_string(b, set, &b->extra_text);
}

static int parse_action(struct build *b, const struct cfg_setting *set,
                        enum lifecycle_action *action)
{
    static const char *const unsupported[] = {"rename-restart", "coredump-destroy",
                                              "coredump-restart", "soft-reset"};
    const char *text;
    char q[CFG_QUOTE_MAX];
    int rc = get_string(b, set, &text);
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
            return FAIL_AT(b, set, &set->atom,
                           "%s is not supported: expected destroy, restart or preserve",
                           unsupported[i]);
    return FAIL_AT(b, set, &set->atom, "unknown action %s: expected destroy, restart or preserve",
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
    int rc = get_atom(b, set, &atom);
    if (rc)
        return rc;
    if (strcmp(atom->text, "1") == 0)
        b->override_placement = PLACEMENT_STUBDOM;
    else if (strcmp(atom->text, "0") == 0)
        b->override_placement = PLACEMENT_PROCESS;
    else
        return FAIL_AT(b, set, atom, "expected 1 (stub domain) or 0 (process), got %s",
                       cfg_quote(q, sizeof(q), atom->text));
    b->override = set;
    return 0;
}

static int key_placement(struct build *b, const struct cfg_setting *set)
{
    const char *text;
    char q[CFG_QUOTE_MAX];
    int rc = get_string(b, set, &text);
    if (rc)
        return rc;
    for (enum dm_placement p = PLACEMENT_STUBDOM; p <= PLACEMENT_INLINE; p++) {
        if (strcmp(text, config_placement_name(p)) == 0) {
            b->named_placement = p;
            b->placement = set;
            return 0;
        }
    }
    return FAIL_AT(b, set, &set->atom, "unknown placement %s: expected stubdom, process or inline",
                   cfg_quote(q, sizeof(q), text));
}

static int key_type(struct build *b, const struct cfg_setting *set)
{
    const char *text;
    char q[CFG_QUOTE_MAX];
    int rc = get_string(b, set, &text);
    if (rc)
        return rc;
    bool builder = strcmp(set->key, "builder") == 0;
    if (strcmp(text, "hvm") == 0 || (!builder && strcmp(text, "pvh") == 0)) {
        b->type = set;
        return 0;
    }
    if (strcmp(text, "pv") == 0 || strcmp(text, "generic") == 0 || strcmp(text, "linux") == 0)
        return FAIL_AT(b, set, &set->atom, "PV guests are not supported: use hvm or pvh");
    return FAIL_AT(b, set, &set->atom, "unknown %s %s: expected %s", set->key,
                   cfg_quote(q, sizeof(q), text), builder ? "hvm" : "hvm or pvh");
}

static int key_disk(struct build *b, const struct cfg_setting *set)
{
    struct domain_config *cfg = b->cfg;
    const struct cfg_atom *items;
    size_t n;
    int rc;

    get_items(set, &items, &n);
    for (size_t i = 0; i < cfg->ndisks; i++)
        cfg_disk_dispose(&cfg->disks[i]);
    free(cfg->disks);
    cfg->disks = NULL;
    cfg->ndisks = 0;
    if (n > CONFIG_MAX_DISKS)
        return FAIL_AT(b, set, &items[CONFIG_MAX_DISKS], "more than %d disks", CONFIG_MAX_DISKS);
    if (n == 0)
        return 0;
    cfg->disks = calloc(n, sizeof(*cfg->disks));
    if (!cfg->disks)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        struct cfg_where w = where_of(b, set, &items[i]);
        rc = check_string_atom(b, set, &items[i]);
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
                return FAIL_AT(b, set, &items[i], "vdev %s is given twice", cfg->disks[i].vdev);
            return FAIL_AT(b, set, &items[i], "vdev %s is the same disk as %s (disk %u)",
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

    get_items(set, &items, &n);
    for (size_t i = 0; i < cfg->nvifs; i++)
        cfg_vif_dispose(&cfg->vifs[i]);
    free(cfg->vifs);
    cfg->vifs = NULL;
    cfg->nvifs = 0;
    if (n > CONFIG_MAX_VIFS)
        return FAIL_AT(b, set, &items[CONFIG_MAX_VIFS], "more than %d network interfaces",
                       CONFIG_MAX_VIFS);
    if (n == 0)
        return 0;
    cfg->vifs = calloc(n, sizeof(*cfg->vifs));
    if (!cfg->vifs)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        struct cfg_where w = where_of(b, set, &items[i]);
        rc = check_string_atom(b, set, &items[i]);
        if (rc)
            return rc;
        rc = cfg_parse_vif(&w, items[i].text, &cfg->vifs[i], b->err);
        if (rc)
            return rc;
        cfg->nvifs = i + 1;
        for (size_t j = 0; j < i; j++) {
            if (cfg->vifs[i].mac_set && cfg->vifs[j].mac_set &&
                memcmp(cfg->vifs[i].mac, cfg->vifs[j].mac, 6) == 0)
                return FAIL_AT(b, set, &items[i], "two interfaces have the same MAC address");
            if (cfg->vifs[i].tap_name && cfg->vifs[j].tap_name &&
                strcmp(cfg->vifs[i].tap_name, cfg->vifs[j].tap_name) == 0)
                return FAIL_AT(b, set, &items[i], "two interfaces use the tap %s",
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

    get_items(set, &items, &n);
    for (size_t i = 0; i < cfg->nserials; i++)
        cfg_serial_dispose(&cfg->serials[i]);
    free(cfg->serials);
    cfg->serials = NULL;
    cfg->nserials = 0;
    if (n > CONFIG_MAX_SERIALS)
        return FAIL_AT(b, set, &items[CONFIG_MAX_SERIALS], "more than %d serial ports",
                       CONFIG_MAX_SERIALS);
    /* An allocation even for an empty list: serials != NULL says "given". */
    cfg->serials = calloc(n ? n : 1, sizeof(*cfg->serials));
    if (!cfg->serials)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        struct cfg_where w = where_of(b, set, &items[i]);
        rc = check_string_atom(b, set, &items[i]);
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
                                              "cpuid",
                                              "mmio_hole",
                                              "ms_vm_genid"};

static int apply_setting(struct build *b, const struct cfg_setting *set)
{
    for (size_t i = 0; i < sizeof(key_handlers) / sizeof(key_handlers[0]); i++)
        if (strcmp(set->key, key_handlers[i].key) == 0)
            return key_handlers[i].fn(b, set);
    for (size_t i = 0; i < sizeof(xl_keys_ignored) / sizeof(xl_keys_ignored[0]); i++)
        if (strcmp(set->key, xl_keys_ignored[i]) == 0)
            return WARN_AT(b, set, "not supported by stubvisor, ignored");
    return WARN_AT(b, set, "unknown key, ignored");
}

static int compare_seq(const void *a, const void *b)
{
    const struct cfg_setting *x = *(const struct cfg_setting *const *)a;
    const struct cfg_setting *y = *(const struct cfg_setting *const *)b;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Of two settings, the one written last: where a conflict is reported. */
static const struct cfg_setting *later(const struct cfg_setting *a, const struct cfg_setting *b)
{
    return a->seq > b->seq ? a : b;
}

static int finish(struct build *b)
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
        return FAIL_AT(b, last, NULL, "give kernel or firmware, not both (%s is on %s)", first->key,
                       place_of(first, place, sizeof(place)));
    }
    if (!cfg->kernel && !cfg->firmware)
        return cfg_fail(b->err, file, 0, "kernel",
                        "no kernel or firmware: give one, e.g. kernel = \"guest.elf\" or "
                        "firmware = \"seabios\"");
    if (b->type && strcmp(b->type->atom.text, "pvh") == 0 && !cfg->kernel)
        return FAIL_AT(b, b->type, NULL, "a pvh guest needs a kernel");

    if (b->override && b->placement && b->override_placement != b->named_placement) {
        const struct cfg_setting *last = later(b->override, b->placement);
        const struct cfg_setting *first = last == b->placement ? b->override : b->placement;
        return FAIL_AT(b, last, NULL,
                       "device_model_stubdomain_override = %s and device_model_placement = "
                       "\"%s\" disagree (the other is on %s)",
                       b->override->atom.text, config_placement_name(b->named_placement),
                       place_of(first, place, sizeof(place)));
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
        return FAIL_AT(b, set, NULL, "kernel command line longer than %d bytes",
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
        cfg->ramdisk = cfg->cmdline = NULL;
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

static int random_uuid(uint8_t uuid[16])
{
    size_t got = 0;
    while (got < 16) {
        ssize_t r = getrandom(uuid + got, 16 - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        got += (size_t)r;
    }
    uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40); /* version 4 */
    uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    return 0;
}

/* Build *out from s.  `keep_uuid` is a generated UUID to reuse when the
 * settings give none (so that an override does not change it).  On success
 * *out owns s; on failure *out is zero and s is still the caller's. */
static int build_config(struct config_settings *s, const uint8_t *keep_uuid,
                        struct domain_config *out, struct config_error *err)
{
    struct domain_config cfg = {
        .memory_mib = CONFIG_DEFAULT_MEMORY_MIB,
        .vcpus = CONFIG_DEFAULT_VCPUS,
        .on_poweroff = ACTION_DESTROY,
        .on_reboot = ACTION_RESTART,
        .on_crash = ACTION_DESTROY,
        .placement = PLACEMENT_STUBDOM,
        .stubdomain_memory_mib = CONFIG_DEFAULT_STUBDOM_MIB,
    };
    struct build b = {.s = s, .cfg = &cfg, .err = err};
    const struct cfg_setting **order = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    /* The warnings are those of this build: the syntax layer's, kept in s,
     * then the ones found below. */
    for (size_t i = 0; i < err->nwarnings; i++)
        free(err->warnings[i]);
    err->nwarnings = 0;
    for (size_t i = 0; i < s->nwarnings; i++) {
        rc = cfg_warn_text(err, s->warnings[i]);
        if (rc)
            goto out;
    }

    if (s->n) {
        order = malloc(s->n * sizeof(*order));
        if (!order) {
            rc = -ENOMEM;
            goto out;
        }
    }
    for (size_t i = 0; i < s->n; i++)
        order[i] = &s->v[i];
    if (s->n)
        qsort(order, s->n, sizeof(*order), compare_seq);
    for (size_t i = 0; i < s->n; i++) {
        rc = apply_setting(&b, order[i]);
        if (rc)
            goto out;
    }
    rc = finish(&b);
    if (rc)
        goto out;

    if (!cfg.uuid_set) {
        if (keep_uuid) {
            memcpy(cfg.uuid, keep_uuid, sizeof(cfg.uuid));
        } else {
            rc = random_uuid(cfg.uuid);
            if (rc) {
                cfg_fail(err, s->origins[0].name, 0, "uuid", "cannot generate one: %s",
                         strerror(-rc));
                goto out;
            }
        }
    }
    cfg.settings = s;
    *out = cfg;
    rc = 0;

out:
    free(order);
    free(b.root_text);
    free(b.extra_text);
    if (rc)
        config_dispose(&cfg);
    return rc;
}

/* ---- public API ---- */

static void error_reset(struct config_error *err)
{
    config_error_dispose(err);
}

/* A failure with no message (out of memory) still gets one. */
static int finish_error(struct config_error *err, const char *name, int rc)
{
    if (rc && !err->message[0])
        cfg_fail(err, name, 0, NULL, "%s", strerror(-rc));
    return rc;
}

int config_parse_buffer(const char *name, const char *text, size_t len, const char *base_dir,
                        struct domain_config *cfg, struct config_error *err)
{
    struct config_settings *s = NULL;
    int rc;

    error_reset(err);
    memset(cfg, 0, sizeof(*cfg));
    if (len > CONFIG_MAX_FILE_SIZE) {
        cfg_fail(err, name, 0, NULL, "larger than %d bytes", CONFIG_MAX_FILE_SIZE);
        return -EFBIG;
    }
    s = cfg_settings_new();
    if (!s) {
        rc = -ENOMEM;
        goto out;
    }
    rc = cfg_syntax_parse(s, name, base_dir, text, len, false, err);
    if (rc)
        goto out;
    rc = build_config(s, NULL, cfg, err);
    if (rc)
        goto out;
    s = NULL; /* cfg owns it now */

out:
    cfg_settings_free(s);
    return finish_error(err, name, rc);
}

/* The directory a config file is in, made absolute, for relative paths. */
static char *file_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return NULL;
    char *slash = strrchr(copy, '/');
    const char *dir = ".";
    if (slash == copy)
        dir = "/";
    else if (slash) {
        *slash = '\0';
        dir = copy;
    }
    char *abs = realpath(dir, NULL);
    free(copy);
    return abs;
}

int config_parse_file(const char *path, struct domain_config *cfg, struct config_error *err)
{
    char *text = NULL, *dir = NULL;
    size_t len = 0;
    int fd = -1;
    int rc;

    error_reset(err);
    memset(cfg, 0, sizeof(*cfg));
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        rc = -errno;
        cfg_fail(err, path, 0, NULL, "cannot open: %s", strerror(errno));
        goto out;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        cfg_fail(err, path, 0, NULL, "cannot stat: %s", strerror(errno));
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = -EISDIR;
        cfg_fail(err, path, 0, NULL, "is a directory");
        goto out;
    }
    /* Read one byte past the limit to tell "at the limit" from "over it";
     * the size from fstat is not trusted (pipes, /proc files). */
    text = malloc(CONFIG_MAX_FILE_SIZE + 1);
    if (!text) {
        rc = -ENOMEM;
        goto out;
    }
    while (len <= CONFIG_MAX_FILE_SIZE) {
        ssize_t r = read(fd, text + len, CONFIG_MAX_FILE_SIZE + 1 - len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            cfg_fail(err, path, 0, NULL, "cannot read: %s", strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    if (len > CONFIG_MAX_FILE_SIZE) {
        rc = -EFBIG;
        cfg_fail(err, path, 0, NULL, "larger than %d bytes", CONFIG_MAX_FILE_SIZE);
        goto out;
    }
    dir = file_dir(path);
    if (!dir) {
        rc = -errno;
        cfg_fail(err, path, 0, NULL, "cannot resolve its directory: %s", strerror(errno));
        goto out;
    }
    rc = config_parse_buffer(path, text, len, dir, cfg, err);

out:
    if (fd >= 0)
        close(fd);
    free(text);
    free(dir);
    return finish_error(err, path, rc);
}

/* For "KEY=VALUE" whose VALUE is not config syntax (the shell took the
 * quotes off name="web"): the key, whether it is +=, and the raw value. */
static bool split_bare_override(const char *text, char *key, size_t key_size, bool *append,
                                const char **value)
{
    const char *p = text;
    while (*p == ' ' || *p == '\t')
        p++;
    const char *start = p;
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_'))
        return false;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
           *p == '_')
        p++;
    size_t klen = (size_t)(p - start);
    if (klen >= key_size)
        return false;
    while (*p == ' ' || *p == '\t')
        p++;
    *append = p[0] == '+' && p[1] == '=';
    if (*append)
        p += 2;
    else if (*p == '=')
        p++;
    else
        return false;
    while (*p == ' ' || *p == '\t')
        p++;
    /* Something that looks like config syntax failed as config syntax: the
     * real error is the better message. */
    if (*p == '"' || *p == '\'' || *p == '[' || *p == '\0' || strchr(p, '\n'))
        return false;
    memcpy(key, start, klen);
    key[klen] = '\0';
    *value = p;
    return true;
}

int config_apply_override(struct domain_config *cfg, const char *text, struct config_error *err)
{
    static const char origin[] = "command line";
    struct config_settings *s = NULL;
    struct domain_config fresh;
    char *cwd = NULL;
    int rc;

    error_reset(err);
    if (!cfg->settings) {
        cfg_fail(err, origin, 0, NULL, "no config to apply an override to");
        return -EINVAL;
    }
    size_t len = strlen(text);
    if (len > CFG_MAX_LINE) {
        cfg_fail(err, origin, 0, NULL, "override longer than %d bytes", CFG_MAX_LINE);
        return -EINVAL;
    }
    cwd = getcwd(NULL, 0); /* NULL: relative paths stay relative */
    s = cfg_settings_clone(cfg->settings);
    if (!s) {
        rc = -ENOMEM;
        goto out;
    }
    rc = cfg_syntax_parse(s, origin, cwd, text, len, true, err);
    if (rc == -EINVAL) {
        char key[CFG_MAX_KEY + 1];
        const char *value;
        bool append;
        if (split_bare_override(text, key, sizeof(key), &append, &value)) {
            cfg_settings_free(s);
            error_reset(err);
            s = cfg_settings_clone(cfg->settings);
            if (!s) {
                rc = -ENOMEM;
                goto out;
            }
            rc = cfg_syntax_add_string(s, origin, cwd, key, value, append, err);
        }
    }
    if (rc)
        goto out;

    /* Rebuild from everything, keeping a generated UUID as it was; the old
     * warnings are replaced by those of the new whole. */
    error_reset(err);
    rc = build_config(s, cfg->uuid_set ? NULL : cfg->uuid, &fresh, err);
    if (rc)
        goto out;
    s = NULL;
    config_dispose(cfg);
    *cfg = fresh;

out:
    cfg_settings_free(s);
    free(cwd);
    return finish_error(err, origin, rc);
}

void config_dispose(struct domain_config *cfg)
{
    free(cfg->name);
    free(cfg->kernel);
    free(cfg->ramdisk);
    free(cfg->cmdline);
    free(cfg->firmware);
    for (size_t i = 0; i < cfg->ndisks; i++)
        cfg_disk_dispose(&cfg->disks[i]);
    free(cfg->disks);
    for (size_t i = 0; i < cfg->nvifs; i++)
        cfg_vif_dispose(&cfg->vifs[i]);
    free(cfg->vifs);
    for (size_t i = 0; i < cfg->nserials; i++)
        cfg_serial_dispose(&cfg->serials[i]);
    free(cfg->serials);
    cfg_settings_free(cfg->settings);
    memset(cfg, 0, sizeof(*cfg));
}

void config_uuid_format(const uint8_t uuid[16], char out[CONFIG_UUID_STRLEN])
{
    snprintf(out, CONFIG_UUID_STRLEN,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", uuid[0],
             uuid[1], uuid[2], uuid[3], uuid[4], uuid[5], uuid[6], uuid[7], uuid[8], uuid[9],
             uuid[10], uuid[11], uuid[12], uuid[13], uuid[14], uuid[15]);
}

const char *config_action_name(enum lifecycle_action action)
{
    switch (action) {
    case ACTION_DESTROY:
        return "destroy";
    case ACTION_RESTART:
        return "restart";
    case ACTION_PRESERVE:
        return "preserve";
    }
    return "?";
}

const char *config_placement_name(enum dm_placement placement)
{
    switch (placement) {
    case PLACEMENT_STUBDOM:
        return "stubdom";
    case PLACEMENT_PROCESS:
        return "process";
    case PLACEMENT_INLINE:
        return "inline";
    }
    return "?";
}
