/* Internals of the config parser, shared by its files and its tests.
 *
 * Stage one (config_syntax.c) turns text into settings: KEY -> atom or list
 * of atoms, each with the line it was written on.  A later assignment to the
 * same key replaces the earlier one in place ("last one wins", as in xl);
 * `KEY += VALUE` appends to it.  Stage two (config_build.h and its files)
 * reads the settings and builds a struct domain_config.
 */
#ifndef STUBVISOR_CTL_CONFIG_INTERNAL_H
#define STUBVISOR_CTL_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "ctl/config.h"

/* Limits of the syntax layer; a config that exceeds one is an error. */
#define CFG_MAX_LINE     8192 /* bytes in one line */
#define CFG_MAX_STRING   4096 /* bytes in one string or number, after escapes */
#define CFG_MAX_KEY      48   /* bytes in a key */
#define CFG_MAX_LIST     64   /* entries in one list */
#define CFG_MAX_SETTINGS 256  /* distinct keys */
#define CFG_MAX_ORIGINS  64   /* the file plus the command-line overrides */

/* A single value: a quoted string (escapes already decoded, never contains
 * a NUL byte) or an unquoted number-like word, kept as text. */
struct cfg_atom {
    char *text;
    unsigned origin; /* index into config_settings.origins: `+=` mixes origins */
    unsigned line;
    bool quoted;
};

/* Where settings came from: the file, or the command line. */
struct cfg_origin {
    char *name;     /* used in messages: "web.cfg", "command line" */
    char *base_dir; /* relative paths resolve against it; NULL keeps them relative */
};

struct cfg_setting {
    char *key;
    unsigned origin;   /* index into config_settings.origins */
    unsigned line;     /* line of the (last) assignment */
    unsigned long seq; /* order of the last assignment, for error and warning order */
    bool is_list;
    struct cfg_atom atom;   /* !is_list */
    struct cfg_atom *items; /* is_list */
    size_t nitems;
};

struct config_settings {
    struct cfg_origin origins[CFG_MAX_ORIGINS];
    size_t norigins;
    struct cfg_setting *v;
    size_t n, cap;
    unsigned long next_seq;
    /* Warnings of the syntax layer (a key set twice), kept so that every
     * build of a config reports them, not only the first. */
    char **warnings;
    size_t nwarnings;
};

/* ---- config_syntax.c ---- */

/* Parse `len` bytes of `text` and add its settings to *s under a new origin
 * (`name`, `base_dir`, both copied).  Text from the command line
 * (`command_line`) differs in two ways: messages and settings carry no line
 * numbers, and an unquoted word that is not a number is a string, since the
 * shell has eaten the quotes (name=web).  Returns 0, -EINVAL with err filled on a
 * syntax error, or -ENOMEM.  On failure *s may hold part of the text's
 * settings: parse into a copy when the old state must survive. */
int cfg_syntax_parse(struct config_settings *s, const char *name, const char *base_dir,
                     const char *text, size_t len, bool command_line, struct config_error *err);

/* Add one setting KEY = "value" (a quoted string, no syntax applied), or
 * KEY += "value" when `append`. For overrides the shell stripped quotes from. */
int cfg_syntax_add_string(struct config_settings *s, const char *name, const char *base_dir,
                          const char *key, const char *value, bool append,
                          struct config_error *err);

/* Deep copy; NULL on allocation failure. */
struct config_settings *cfg_settings_clone(const struct config_settings *s);
struct config_settings *cfg_settings_new(void);
void cfg_settings_free(struct config_settings *s);
const struct cfg_setting *cfg_settings_find(const struct config_settings *s, const char *key);

/* ---- config_diag.c ---- */

/* Record the error "ORIGIN:LINE: KEY: message" in err (line 0 and key NULL
 * are left out) and return -EINVAL. */
int cfg_fail(struct config_error *err, const char *origin, unsigned line, const char *key,
             const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Add a warning formatted the same way; 0 or -ENOMEM. */
int cfg_warn(struct config_error *err, const char *origin, unsigned line, const char *key,
             const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Add a warning that is already formatted. */
int cfg_warn_text(struct config_error *err, const char *text);
/* Write `s` into buf as a double-quoted, escaped, possibly shortened string
 * fit for a message; returns buf. */
const char *cfg_quote(char *buf, size_t size, const char *s);
#define CFG_QUOTE_MAX 80

/* ---- config_devices.c ---- */

/* Context the typed layer hands to the device-spec parsers: where the value
 * came from, for messages and for resolving relative paths. */
struct cfg_where {
    const char *origin;
    const char *base_dir;
    unsigned line;
    const char *key;
};

/* Resolve a path from the config: non-empty, absolute or made absolute
 * against w->base_dir.  *out is a new string. */
int cfg_resolve_path(const struct cfg_where *w, const char *path, char **out,
                     struct config_error *err);

int cfg_parse_disk(const struct cfg_where *w, const char *spec, struct disk_spec *disk,
                   struct config_error *err);
int cfg_parse_vif(const struct cfg_where *w, const char *spec, struct vif_spec *vif,
                  struct config_error *err);
int cfg_parse_serial(const struct cfg_where *w, const char *spec, struct serial_spec *serial,
                     struct config_error *err);
/* "xvda" -> 0, "hdb" -> 1, "sdaa" -> 26 ...; -EINVAL with err filled. */
int cfg_vdev_index(const struct cfg_where *w, const char *vdev, unsigned *index,
                   struct config_error *err);

void cfg_disk_dispose(struct disk_spec *disk);
void cfg_vif_dispose(struct vif_spec *vif);
void cfg_serial_dispose(struct serial_spec *serial);

#endif
