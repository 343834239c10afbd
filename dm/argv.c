/* dm-argv: the one parser of the device model's description (argv.h). */
#include "dm/argv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/hex.h"
#include "lib/ioreq.h"
#include "lib/mac.h"

#define MAX_MEMORY_MIB (1u << 20)

static int failf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int failf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static bool printable(const char *s)
{
    for (; *s; s++)
        if (*s < 0x20 || *s > 0x7e)
            return false;
    return true;
}

/* A decimal number, or hex after "0x", in [0, max]. */
static int parse_uint(const char *s, unsigned long max, unsigned long *out, int base)
{
    unsigned long v = 0;
    int digits = 0;

    if (base == 0) {
        base = 10;
        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
            base = 16;
            s += 2;
        }
    }
    for (; *s; s++, digits++) {
        int d = hex_digit((unsigned char)*s);
        if (d < 0 || d >= base || digits >= 10)
            return -EINVAL;
        v = v * (unsigned long)base + (unsigned long)d;
    }
    if (digits == 0 || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

/* addr=SLOT[.FN], hex as QEMU spells it. */
static int parse_addr(const char *v, int *devfn)
{
    char slot[8];
    const char *dot = strchr(v, '.');
    size_t n = dot ? (size_t)(dot - v) : strlen(v);
    unsigned long s, f = 0;

    if (n == 0 || n >= sizeof(slot))
        return -EINVAL;
    memcpy(slot, v, n);
    slot[n] = '\0';
    if (parse_uint(slot, 31, &s, slot[0] == '0' && slot[1] == 'x' ? 0 : 16) < 0 ||
        (dot && parse_uint(dot + 1, 7, &f, 16) < 0))
        return -EINVAL;
    *devfn = (int)(s << 3 | f);
    return 0;
}

static const struct dm_dev_opt *find_opt(const struct dm_device_type *t, const char *key)
{
    for (unsigned i = 0; i < t->nr_opts; i++)
        if (strcmp(t->opts[i].key, key) == 0)
            return &t->opts[i];
    return NULL;
}

/* "readonly, addr": what a type takes, for messages. */
static void list_opts(const struct dm_device_type *t, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (unsigned i = 0; i <= t->nr_opts; i++) {
        const char *k = i < t->nr_opts ? t->opts[i].key : t->bus == DM_BUS_PCI ? "addr" : NULL;
        if (!k)
            break;
        int r = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", k);
        if (r < 0 || (size_t)r >= len - used)
            break;
        used += (size_t)r;
    }
    if (!used)
        snprintf(buf, len, "no options");
}

static int set_opt(const struct dm_dev_opt *o, void *config, const char *v)
{
    uint8_t *field = (uint8_t *)config + o->offset;
    unsigned long n;

    switch (o->type) {
    case DM_OPT_BOOL:
        if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0)
            return -EINVAL;
        *(bool *)(void *)field = strcmp(v, "on") == 0;
        return 0;
    case DM_OPT_UINT:
        if (parse_uint(v, o->max, &n, 0) < 0)
            return -EINVAL;
        *(unsigned *)(void *)field = (unsigned)n;
        return 0;
    case DM_OPT_MAC:
        return mac_parse(v, field);
    case DM_OPT_STRING:
        if (strlen(v) >= o->max || !printable(v))
            return -EINVAL;
        memcpy(field, v, strlen(v) + 1);
        return 0;
    }
    return -EINVAL;
}

static const char *opt_expects(const struct dm_dev_opt *o)
{
    switch (o->type) {
    case DM_OPT_BOOL:
        return "on or off";
    case DM_OPT_UINT:
        return "a number in range";
    case DM_OPT_MAC:
        return "a MAC address xx:xx:xx:xx:xx:xx";
    default:
        return "printable text, not too long";
    }
}

void dm_dev_spec_dispose(struct dm_dev_spec *spec)
{
    free(spec->config);
    *spec = (struct dm_dev_spec){.devfn = DM_DEVFN_AUTO};
}

int dm_dev_spec_parse(struct dm_dev_spec *spec, const char *text, char *err, size_t errlen)
{
    char *copy = NULL, *save = NULL, *tok, known[256];
    const struct dm_device_type *t;
    bool seen[DM_DEV_MAX_OPTS + 1] = {false};
    int rc = -EINVAL;

    *spec = (struct dm_dev_spec){.devfn = DM_DEVFN_AUTO};
    if (strlen(text) >= DM_WORD_MAX)
        return failf(err, errlen, "too long");
    copy = strdup(text);
    if (!copy)
        return -ENOMEM;
    tok = strtok_r(copy, ",", &save);
    t = tok && text[0] != ',' ? dm_device_type_find(tok) : NULL;
    if (!t) {
        rc = failf(err, errlen, "unknown device \"%.40s\"", tok ? tok : "");
        goto out;
    }
    if (t->pc_default) {
        rc = failf(err, errlen, "%s is part of the PC machine, not a -device", t->name);
        goto out;
    }
    if (t->nr_opts > DM_DEV_MAX_OPTS) { /* a type's own mistake */
        rc = failf(err, errlen, "%s has too many options", t->name);
        goto out;
    }
    spec->type = t;
    spec->config = calloc(1, t->config_size ? t->config_size : 1);
    if (!spec->config) {
        rc = -ENOMEM;
        goto out;
    }
    if (t->config_init)
        t->config_init(spec->config);
    list_opts(t, known, sizeof(known));
    while ((tok = strtok_r(NULL, ",", &save))) {
        char *eq = strchr(tok, '=');
        const struct dm_dev_opt *o;
        if (!eq) {
            rc = failf(err, errlen, "%.40s: expected KEY=VALUE", tok);
            goto out;
        }
        *eq = '\0';
        const char *v = eq + 1;
        if (t->bus == DM_BUS_PCI && strcmp(tok, "addr") == 0) {
            if (seen[DM_DEV_MAX_OPTS]) {
                rc = failf(err, errlen, "addr given twice");
                goto out;
            }
            seen[DM_DEV_MAX_OPTS] = true;
            if (parse_addr(v, &spec->devfn) < 0) {
                rc = failf(err, errlen, "addr=%.20s: expected SLOT[.FUNCTION] in hex", v);
                goto out;
            }
            continue;
        }
        o = find_opt(t, tok);
        if (!o) {
            rc = failf(err, errlen, "unknown option %.40s; %s takes %s", tok, t->name, known);
            goto out;
        }
        if (seen[o - t->opts]) {
            rc = failf(err, errlen, "%s given twice", o->key);
            goto out;
        }
        seen[o - t->opts] = true;
        if (set_opt(o, spec->config, v) < 0) {
            rc = failf(err, errlen, "%s=%.40s: expected %s", o->key, v, opt_expects(o));
            goto out;
        }
    }
    if (text[strlen(text) - 1] == ',' || strstr(text, ",,")) {
        rc = failf(err, errlen, "empty option");
        goto out;
    }
    rc = t->config_check ? t->config_check(spec->config, err, errlen) : 0;
out:
    free(copy);
    if (rc < 0)
        dm_dev_spec_dispose(spec);
    return rc;
}

void dm_config_init(struct dm_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->serial = DM_SERIAL_CONSOLE;
}

void dm_config_dispose(struct dm_config *cfg)
{
    for (unsigned i = 0; i < cfg->nr_devs; i++)
        dm_dev_spec_dispose(&cfg->devs[i]);
    dm_config_init(cfg);
}

unsigned dm_config_nr_fds(const struct dm_config *cfg)
{
    unsigned n = 0;

    for (unsigned i = 0; i < cfg->nr_devs; i++)
        n += cfg->devs[i].type->nr_fds;
    return n;
}

/* One global word and its value. */
static int parse_global(struct dm_config *cfg, const char *w, const char *v, char *err,
                        size_t errlen)
{
    unsigned long n;

    if (strcmp(w, "-name") == 0) {
        if (cfg->name[0] || !v[0] || strlen(v) > DM_NAME_MAX || !printable(v))
            return failf(err, errlen, "expected one printable name of 1 to %d bytes", DM_NAME_MAX);
        strcpy(cfg->name, v);
    } else if (strcmp(w, "-m") == 0) {
        if (cfg->memory_mib || parse_uint(v, MAX_MEMORY_MIB, &n, 10) < 0 || n == 0)
            return failf(err, errlen, "expected one memory size in MiB");
        cfg->memory_mib = (unsigned)n;
    } else if (strcmp(w, "-smp") == 0) {
        if (cfg->vcpus || parse_uint(v, IOREQ_MAX_VCPUS, &n, 10) < 0 || n == 0)
            return failf(err, errlen, "expected one vCPU count from 1 to %d", IOREQ_MAX_VCPUS);
        cfg->vcpus = (unsigned)n;
    } else if (strcmp(w, "-serial") == 0) {
        if (strcmp(v, "console") == 0)
            cfg->serial = DM_SERIAL_CONSOLE;
        else if (strcmp(v, "null") == 0)
            cfg->serial = DM_SERIAL_NULL;
        else
            return failf(err, errlen, "expected console or null");
    } else if (strcmp(w, "-bios") == 0) {
        if (cfg->firmware[0] || !v[0] || strlen(v) > DM_FIRMWARE_MAX || !printable(v))
            return failf(err, errlen, "expected one firmware name or path");
        strcpy(cfg->firmware, v);
    } else if (strcmp(w, "-incoming") == 0) {
        if (cfg->incoming || strcmp(v, "console2") != 0)
            return failf(err, errlen, "expected console2, once");
        cfg->incoming = true;
    } else {
        return failf(err, errlen, "unknown word");
    }
    return 0;
}

static int parse_device(struct dm_config *cfg, const char *v, char *err, size_t errlen)
{
    struct dm_dev_spec spec;
    unsigned same = 0;
    int rc;

    if (cfg->nr_devs == DM_MAX_DEVICES)
        return failf(err, errlen, "more than %d devices", DM_MAX_DEVICES);
    rc = dm_dev_spec_parse(&spec, v, err, errlen);
    if (rc < 0)
        return rc;
    for (unsigned i = 0; i < cfg->nr_devs; i++)
        same += cfg->devs[i].type == spec.type;
    if (spec.type->max_instances && same == spec.type->max_instances) {
        rc = failf(err, errlen, "more than %u %s devices", spec.type->max_instances,
                   spec.type->name);
        dm_dev_spec_dispose(&spec);
        return rc;
    }
    cfg->devs[cfg->nr_devs++] = spec;
    return 0;
}

int dm_config_parse(struct dm_config *cfg, const char *const *words, unsigned n, char *err,
                    size_t errlen)
{
    char why[384] = "";
    unsigned i = 1;
    int rc = 0;

    dm_config_init(cfg);
    if (n == 0 || strcmp(words[0], "stubdm") != 0) {
        snprintf(err, errlen, "dm-argv: word 0 must be \"stubdm\"");
        return -EINVAL;
    }
    if (n > DM_ARGV_MAX) {
        snprintf(err, errlen, "dm-argv: more than %d words", DM_ARGV_MAX);
        return -E2BIG;
    }
    for (; i < n; i += 2) {
        const char *w = words[i], *v = i + 1 < n ? words[i + 1] : NULL;
        if (strlen(w) >= DM_WORD_MAX || (v && strlen(v) >= DM_WORD_MAX)) {
            rc = failf(why, sizeof(why), "too long");
            break;
        }
        if (!v) {
            rc = failf(why, sizeof(why), "needs a value");
            break;
        }
        rc = strcmp(w, "-device") == 0 ? parse_device(cfg, v, why, sizeof(why))
                                       : parse_global(cfg, w, v, why, sizeof(why));
        if (rc < 0)
            break;
    }
    if (rc < 0) {
        /* The word is untrusted: only its printable start goes out. */
        char word[48] = "", value[48] = "";
        snprintf(word, sizeof(word), "%s", printable(words[i]) ? words[i] : "?");
        if (i + 1 < n)
            snprintf(value, sizeof(value), " %s", printable(words[i + 1]) ? words[i + 1] : "?");
        snprintf(err, errlen, "dm-argv: word %u (%s%s): %s", i, word, value,
                 rc == -ENOMEM ? "out of memory" : why);
        dm_config_dispose(cfg);
    }
    return rc;
}
