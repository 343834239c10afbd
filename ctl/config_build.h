/* Stage two of the config parser (settings -> struct domain_config), shared
 * by its files: config_values.c reads values, config_keys.c has a handler
 * per key, config.c drives them. */
#ifndef STUBVISOR_CTL_CONFIG_BUILD_H
#define STUBVISOR_CTL_CONFIG_BUILD_H

#include <stdint.h>

#include "ctl/config_internal.h"

/* One build of a config from settings. */
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

/* ---- config_values.c ---- */

/* Where a setting, or one entry of it, came from. */
struct cfg_where cfg_where_of(const struct build *b, const struct cfg_setting *set,
                              const struct cfg_atom *atom);
/* "line 3", or "the command line" for an override; buf holds the text. */
const char *cfg_place_of(const struct cfg_setting *set, char *buf, size_t size);
/* Fail at a setting, or at one entry of it when `atom` is given: -EINVAL. */
int cfg_fail_at(struct build *b, const struct cfg_setting *set, const struct cfg_atom *atom,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));
#define WARN_AT(b, set, ...)                                                                       \
    cfg_warn((b)->err, (b)->s->origins[(set)->origin].name, (set)->line, (set)->key, __VA_ARGS__)

/* The single value of a setting; a list is an error. */
int cfg_get_atom(struct build *b, const struct cfg_setting *set, const struct cfg_atom **atom);
/* A string: quoted, or an unquoted number; an unquoted word is an error. */
int cfg_check_string(struct build *b, const struct cfg_setting *set, const struct cfg_atom *atom);
/* The text of a string setting; it stays owned by the settings. */
int cfg_get_string(struct build *b, const struct cfg_setting *set, const char **out);
/* A copy of a string setting into *out, freeing what *out held. */
int cfg_dup_string(struct build *b, const struct cfg_setting *set, char **out);
/* A number from min to max; `what` names the unit in messages ("MiB"). */
int cfg_get_number(struct build *b, const struct cfg_setting *set, const char *what, uint64_t min,
                   uint64_t max, uint64_t *out);
/* The entries of a list setting; a single value is a list of one. */
void cfg_get_items(const struct cfg_setting *set, const struct cfg_atom **items, size_t *n);
/* A path setting, resolved (config_devices.c), into *out. */
int cfg_get_path(struct build *b, const struct cfg_setting *set, char **out);

/* ---- config_keys.c ---- */

/* Apply one setting to b->cfg: its handler, or a warning for a key that has
 * none. */
int cfg_apply_setting(struct build *b, const struct cfg_setting *set);
/* The checks between keys and the defaults that depend on other keys. */
int cfg_finish(struct build *b);

#endif
