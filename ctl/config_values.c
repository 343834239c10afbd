/* Stage two of the config parser, its tools: reading a setting as a string,
 * a number, a path or a list, with messages that name the file, the line
 * and the key. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/config_build.h"

struct cfg_where cfg_where_of(const struct build *b, const struct cfg_setting *set,
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
const char *cfg_place_of(const struct cfg_setting *set, char *buf, size_t size)
{
    if (set->line == 0)
        return "the command line";
    snprintf(buf, size, "line %u", set->line);
    return buf;
}

int cfg_fail_at(struct build *b, const struct cfg_setting *set, const struct cfg_atom *atom,
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

/* ---- typed getters ---- */

int cfg_get_atom(struct build *b, const struct cfg_setting *set, const struct cfg_atom **atom)
{
    if (set->is_list)
        return cfg_fail_at(b, set, NULL, "expected a single value, not a list");
    *atom = &set->atom;
    return 0;
}

/* A string: quoted, or an unquoted number (xl accepts name = 123), but not
 * an unquoted word, which xl refuses and which is most often a mistake. */
int cfg_check_string(struct build *b, const struct cfg_setting *set, const struct cfg_atom *atom)
{
    char q[CFG_QUOTE_MAX];
    char c = atom->text[0];
    if (atom->quoted || (c >= '0' && c <= '9'))
        return 0;
    return cfg_fail_at(b, set, atom, "unquoted word %s: strings must be in quotes, as in %s = %s",
                       atom->text, set->key, cfg_quote(q, sizeof(q), atom->text));
}

int cfg_get_string(struct build *b, const struct cfg_setting *set, const char **out)
{
    const struct cfg_atom *atom = NULL;
    int rc = cfg_get_atom(b, set, &atom);
    if (rc)
        return rc;
    rc = cfg_check_string(b, set, atom);
    if (rc)
        return rc;
    *out = atom->text;
    return 0;
}

/* A copy of a string value. */
int cfg_dup_string(struct build *b, const struct cfg_setting *set, char **out)
{
    const char *text;
    int rc = cfg_get_string(b, set, &text);
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
int cfg_get_number(struct build *b, const struct cfg_setting *set, const char *what, uint64_t min,
                   uint64_t max, uint64_t *out)
{
    const struct cfg_atom *atom = NULL;
    char q[CFG_QUOTE_MAX];
    uint64_t v;
    int rc = cfg_get_atom(b, set, &atom);
    if (rc)
        return rc;
    if (parse_u64(atom->text, &v) == -EINVAL)
        return cfg_fail_at(b, set, atom, "expected a number of %s, got %s", what,
                           cfg_quote(q, sizeof(q), atom->text));
    if (parse_u64(atom->text, &v) == -ERANGE || v < min || v > max)
        return cfg_fail_at(b, set, atom, "%s is out of range: expected %llu to %llu %s",
                           cfg_quote(q, sizeof(q), atom->text), (unsigned long long)min,
                           (unsigned long long)max, what);
    *out = v;
    return 0;
}

/* The entries of a list key; a single string counts as a list of one. */
void cfg_get_items(const struct cfg_setting *set, const struct cfg_atom **items, size_t *n)
{
    if (set->is_list) {
        *items = set->items;
        *n = set->nitems;
    } else {
        *items = &set->atom;
        *n = 1;
    }
}

int cfg_get_path(struct build *b, const struct cfg_setting *set, char **out)
{
    const struct cfg_atom *atom = NULL;
    int rc = cfg_get_atom(b, set, &atom);
    if (rc)
        return rc;
    rc = cfg_check_string(b, set, atom);
    if (rc)
        return rc;
    struct cfg_where w = cfg_where_of(b, set, atom);
    char *path = NULL;
    rc = cfg_resolve_path(&w, atom->text, &path, b->err);
    if (rc)
        return rc;
    free(*out);
    *out = path;
    return 0;
}
