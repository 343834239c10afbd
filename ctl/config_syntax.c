/* Stage one of the config parser: xl.cfg text -> settings.
 *
 * The grammar, as xl's (tools/libs/util/libxlu_cfg_y.y) less nested lists:
 *
 *   file      := { statement }
 *   statement := [ KEY ( "=" | "+=" ) value ] ( NEWLINE | ";" | end of text )
 *   value     := atom | "[" { atom "," } [ atom ] "]"     newlines allowed inside [ ]
 *   atom      := 'string' | "string" | number
 *
 * KEY is [A-Za-z_][A-Za-z0-9_]*.  Strings do not span lines and decode the
 * escapes \" \' \\ \a \b \f \n \r \t \v \xHH and \OOO (octal) in both quote
 * styles, as xl does.  A number is kept as the text of an unquoted word that
 * starts with a digit or a sign; the typed layer checks it.  `#` starts a
 * comment that runs to the end of the line, except inside a string.
 *
 * The parser is a loop over the text with no recursion (lists do not nest),
 * it stops at the first error, and every size it keeps is bounded by the
 * limits in config_internal.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/config_internal.h"
#include "lib/hex.h"

struct lexer {
    const char *p, *end;
    unsigned line;
    unsigned origin; /* index of the origin being parsed */
    const char *name;
    bool command_line; /* an override: no line numbers, bare words are strings */
    struct config_error *err;
};

/* The line number to report: none for text that has no lines to speak of. */
static unsigned at(const struct lexer *lx, unsigned line)
{
    return lx->command_line ? 0 : line;
}

/* A growable byte buffer for one string, bounded by CFG_MAX_STRING. */
struct strbuf {
    char *s;
    size_t len, cap;
};

static int strbuf_put(struct strbuf *b, char c)
{
    if (b->len + 1 >= b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 32;
        char *s = realloc(b->s, cap);
        if (!s)
            return -ENOMEM;
        b->s = s;
        b->cap = cap;
    }
    b->s[b->len++] = c;
    b->s[b->len] = '\0';
    return 0;
}

static int at_end(const struct lexer *lx)
{
    return lx->p >= lx->end;
}

static int is_ident_start(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_ident(int c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9');
}

static int is_word(int c)
{
    return is_ident(c) || c == '.' || c == '+' || c == '-';
}

/* Describe what is at the cursor for a message: 'memory', '=', the end of
 * the line. */
static const char *describe_here(const struct lexer *lx, char *buf, size_t size)
{
    if (at_end(lx))
        return "the end of the file";
    unsigned char c = (unsigned char)*lx->p;
    if (c == '\n')
        return "the end of the line";
    if (is_word(c)) {
        size_t n = 0;
        while (lx->p + n < lx->end && is_word((unsigned char)lx->p[n]) && n + 4 < size)
            n++;
        snprintf(buf, size, "'%.*s'", (int)n, lx->p);
    } else if (c >= 0x21 && c < 0x7f && c != '\'') {
        snprintf(buf, size, "'%c'", c);
    } else {
        snprintf(buf, size, "byte 0x%02x", c);
    }
    return buf;
}

/* Skip blanks and comments; newlines too when `newlines` (inside lists). */
static void skip_space(struct lexer *lx, bool newlines)
{
    while (!at_end(lx)) {
        char c = *lx->p;
        if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            lx->p++;
        } else if (c == '#') {
            while (!at_end(lx) && *lx->p != '\n')
                lx->p++;
        } else if (c == '\n' && newlines) {
            lx->p++;
            lx->line++;
        } else {
            break;
        }
    }
}

/* Decode the escape after a backslash; the cursor is on the character after
 * the backslash. */
static int parse_escape(struct lexer *lx, const char *key, struct strbuf *b)
{
    unsigned value;
    char c = *lx->p++;
    switch (c) {
    case '"':
    case '\'':
    case '\\':
        value = (unsigned char)c;
        break;
    case 'a':
        value = '\a';
        break;
    case 'b':
        value = '\b';
        break;
    case 'f':
        value = '\f';
        break;
    case 'n':
        value = '\n';
        break;
    case 'r':
        value = '\r';
        break;
    case 't':
        value = '\t';
        break;
    case 'v':
        value = '\v';
        break;
    case 'x': {
        int hi = at_end(lx) ? -1 : hex_digit((unsigned char)lx->p[0]);
        int lo = lx->end - lx->p < 2 ? -1 : hex_digit((unsigned char)lx->p[1]);
        if (hi < 0 || lo < 0)
            return cfg_fail(lx->err, lx->name, at(lx, lx->line), key,
                            "\\x in a string needs two hex digits");
        value = (unsigned)(hi * 16 + lo);
        lx->p += 2;
        break;
    }
    default:
        if (c >= '0' && c <= '7') {
            value = (unsigned)(c - '0');
            for (int i = 0; i < 2 && !at_end(lx) && *lx->p >= '0' && *lx->p <= '7'; i++)
                value = value * 8 + (unsigned)(*lx->p++ - '0');
            if (value > 0xff)
                return cfg_fail(lx->err, lx->name, at(lx, lx->line), key,
                                "octal escape in a string is over \\377");
            break;
        }
        if ((unsigned char)c >= 0x21 && (unsigned char)c < 0x7f)
            return cfg_fail(lx->err, lx->name, at(lx, lx->line), key,
                            "unknown escape \\%c in a string", c);
        return cfg_fail(lx->err, lx->name, at(lx, lx->line), key, "unknown escape in a string");
    }
    if (value == 0)
        return cfg_fail(lx->err, lx->name, at(lx, lx->line), key,
                        "a NUL byte (\\0) is not allowed in a string");
    return strbuf_put(b, (char)value);
}

/* A quoted string; the cursor is on the opening quote. */
static int parse_string(struct lexer *lx, const char *key, struct cfg_atom *atom)
{
    struct strbuf b = {0};
    char quote = *lx->p++;
    unsigned line = lx->line;
    int rc;

    for (;;) {
        if (at_end(lx) || *lx->p == '\n') {
            rc = cfg_fail(lx->err, lx->name, at(lx, line), key,
                          "unterminated string: no closing %c", quote);
            goto out;
        }
        char c = *lx->p++;
        if (c == quote)
            break;
        if (c == '\\') {
            if (at_end(lx) || *lx->p == '\n') {
                rc = cfg_fail(lx->err, lx->name, at(lx, line), key,
                              "unterminated string: no closing %c", quote);
                goto out;
            }
            rc = parse_escape(lx, key, &b);
        } else if (c == '\0') {
            rc = cfg_fail(lx->err, lx->name, at(lx, line), key,
                          "a NUL byte is not allowed in a string");
        } else {
            rc = strbuf_put(&b, c);
        }
        if (rc)
            goto out;
        if (b.len > CFG_MAX_STRING) {
            rc = cfg_fail(lx->err, lx->name, at(lx, line), key, "string longer than %d bytes",
                          CFG_MAX_STRING);
            goto out;
        }
    }
    if (!b.s) {
        b.s = strdup("");
        if (!b.s) {
            rc = -ENOMEM;
            goto out;
        }
    }
    atom->text = b.s;
    atom->line = at(lx, line);
    atom->origin = lx->origin;
    atom->quoted = true;
    return 0;

out:
    free(b.s);
    return rc;
}

/* An unquoted atom: a number, or a word the typed layer rejects with a
 * message that names the key ("256M", "-1", "lots", destroy without quotes). */
static int parse_word(struct lexer *lx, const char *key, struct cfg_atom *atom)
{
    const char *start = lx->p;
    while (!at_end(lx) && is_word((unsigned char)*lx->p))
        lx->p++;
    size_t len = (size_t)(lx->p - start);
    if (len > CFG_MAX_STRING)
        return cfg_fail(lx->err, lx->name, at(lx, lx->line), key, "number longer than %d bytes",
                        CFG_MAX_STRING);
    atom->text = strndup(start, len);
    if (!atom->text)
        return -ENOMEM;
    atom->line = at(lx, lx->line);
    atom->origin = lx->origin;
    atom->quoted = lx->command_line && is_ident_start((unsigned char)start[0]);
    return 0;
}

static int parse_atom(struct lexer *lx, const char *key, struct cfg_atom *atom, const char *where)
{
    char here[32];
    int c = at_end(lx) ? -1 : (unsigned char)*lx->p;
    if (c == '"' || c == '\'')
        return parse_string(lx, key, atom);
    if (c >= 0 && is_word(c))
        return parse_word(lx, key, atom);
    if (c == -1 || c == '\n' || c == ';')
        return cfg_fail(lx->err, lx->name, at(lx, lx->line), key, "missing value after '='");
    return cfg_fail(lx->err, lx->name, at(lx, lx->line), key, "expected a value%s, got %s", where,
                    describe_here(lx, here, sizeof(here)));
}

static void free_items(struct cfg_atom *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(items[i].text);
    free(items);
}

/* A list; the cursor is on '['. */
static int parse_list(struct lexer *lx, const char *key, struct cfg_atom **items_out, size_t *n_out)
{
    struct cfg_atom *items = NULL;
    size_t n = 0;
    unsigned open_line = lx->line;
    char where[48], here[32];
    int rc;

    if (!lx->command_line)
        snprintf(where, sizeof(where), " in the list opened on line %u", open_line);
    else
        snprintf(where, sizeof(where), " in the list");
    lx->p++;
    for (;;) {
        skip_space(lx, true);
        if (at_end(lx)) {
            rc = cfg_fail(lx->err, lx->name, at(lx, open_line), key, "unterminated list: no ']'");
            goto out;
        }
        if (*lx->p == ']') {
            lx->p++;
            break;
        }
        if (*lx->p == '[') {
            rc = cfg_fail(lx->err, lx->name, at(lx, lx->line), key,
                          "lists inside lists are not supported");
            goto out;
        }
        if (n == CFG_MAX_LIST) {
            rc = cfg_fail(lx->err, lx->name, at(lx, lx->line), key, "list has more than %d entries",
                          CFG_MAX_LIST);
            goto out;
        }
        if (n % 8 == 0) {
            struct cfg_atom *grown = realloc(items, (n + 8) * sizeof(*items));
            if (!grown) {
                rc = -ENOMEM;
                goto out;
            }
            items = grown;
        }
        rc = parse_atom(lx, key, &items[n], where);
        if (rc)
            goto out;
        n++;
        skip_space(lx, true);
        if (at_end(lx)) {
            rc = cfg_fail(lx->err, lx->name, at(lx, open_line), key, "unterminated list: no ']'");
            goto out;
        }
        if (*lx->p == ',') {
            lx->p++;
            continue;
        }
        if (*lx->p == ']') {
            lx->p++;
            break;
        }
        rc = cfg_fail(lx->err, lx->name, at(lx, lx->line), key, "expected ',' or ']'%s, got %s",
                      where, describe_here(lx, here, sizeof(here)));
        goto out;
    }
    *items_out = items;
    *n_out = n;
    return 0;

out:
    free_items(items, n);
    return rc;
}

/* ---- settings ---- */

static void setting_clear_value(struct cfg_setting *set)
{
    free(set->atom.text);
    set->atom.text = NULL;
    free_items(set->items, set->nitems);
    set->items = NULL;
    set->nitems = 0;
}

struct config_settings *cfg_settings_new(void)
{
    return calloc(1, sizeof(struct config_settings));
}

void cfg_settings_free(struct config_settings *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].key);
        setting_clear_value(&s->v[i]);
    }
    free(s->v);
    for (size_t i = 0; i < s->norigins; i++) {
        free(s->origins[i].name);
        free(s->origins[i].base_dir);
    }
    for (size_t i = 0; i < s->nwarnings; i++)
        free(s->warnings[i]);
    free(s->warnings);
    free(s);
}

/* Keep a copy of the warnings err gained since `from`. */
static int keep_warnings(struct config_settings *s, const struct config_error *err, size_t from)
{
    if (err->nwarnings <= from)
        return 0;
    size_t add = err->nwarnings - from;
    char **grown = realloc(s->warnings, (s->nwarnings + add) * sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    s->warnings = grown;
    for (size_t i = from; i < err->nwarnings; i++) {
        char *copy = strdup(err->warnings[i]);
        if (!copy)
            return -ENOMEM;
        s->warnings[s->nwarnings++] = copy;
    }
    return 0;
}

static int copy_atom(struct cfg_atom *dst, const struct cfg_atom *src)
{
    *dst = *src;
    dst->text = strdup(src->text);
    return dst->text ? 0 : -ENOMEM;
}

struct config_settings *cfg_settings_clone(const struct config_settings *s)
{
    struct config_settings *c = cfg_settings_new();
    if (!c)
        return NULL;
    for (size_t i = 0; i < s->norigins; i++) {
        c->origins[i].name = strdup(s->origins[i].name);
        if (!c->origins[i].name)
            goto fail;
        c->norigins = i + 1;
        if (s->origins[i].base_dir) {
            c->origins[i].base_dir = strdup(s->origins[i].base_dir);
            if (!c->origins[i].base_dir)
                goto fail;
        }
    }
    c->next_seq = s->next_seq;
    if (s->nwarnings) {
        c->warnings = calloc(s->nwarnings, sizeof(*c->warnings));
        if (!c->warnings)
            goto fail;
        for (size_t i = 0; i < s->nwarnings; i++) {
            c->warnings[i] = strdup(s->warnings[i]);
            if (!c->warnings[i])
                goto fail;
            c->nwarnings = i + 1;
        }
    }
    if (s->n) {
        c->v = calloc(s->n, sizeof(*c->v));
        if (!c->v)
            goto fail;
        c->cap = s->n;
    }
    for (size_t i = 0; i < s->n; i++) {
        const struct cfg_setting *src = &s->v[i];
        struct cfg_setting *dst = &c->v[i];
        *dst = *src;
        dst->key = NULL;
        dst->atom.text = NULL;
        dst->items = NULL;
        dst->nitems = 0;
        c->n = i + 1;
        dst->key = strdup(src->key);
        if (!dst->key)
            goto fail;
        if (!src->is_list) {
            if (copy_atom(&dst->atom, &src->atom))
                goto fail;
            continue;
        }
        if (src->nitems) {
            dst->items = calloc(src->nitems, sizeof(*dst->items));
            if (!dst->items)
                goto fail;
        }
        for (size_t j = 0; j < src->nitems; j++) {
            if (copy_atom(&dst->items[j], &src->items[j]))
                goto fail;
            dst->nitems = j + 1;
        }
    }
    return c;

fail:
    cfg_settings_free(c);
    return NULL;
}

const struct cfg_setting *cfg_settings_find(const struct config_settings *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].key, key) == 0)
            return &s->v[i];
    return NULL;
}

/* The value of one statement, before it is stored. */
struct parsed_value {
    bool is_list;
    struct cfg_atom atom;
    struct cfg_atom *items;
    size_t nitems;
};

static void parsed_value_free(struct parsed_value *v)
{
    free(v->atom.text);
    free_items(v->items, v->nitems);
    memset(v, 0, sizeof(*v));
}

/* `KEY += VALUE` onto an existing setting, as xl does it: lists are
 * concatenated, strings too; numbers cannot be added to. */
static int append_value(struct config_settings *s, struct cfg_setting *set, struct parsed_value *v,
                        const char *name, unsigned line, struct config_error *err)
{
    if (set->is_list != v->is_list)
        return cfg_fail(err, name, line, set->key,
                        "+= needs a value of the same kind as before: a list to a list, a "
                        "string to a string");
    if (v->is_list) {
        if (set->nitems + v->nitems > CFG_MAX_LIST)
            return cfg_fail(err, name, line, set->key, "list has more than %d entries",
                            CFG_MAX_LIST);
        struct cfg_atom *grown =
            realloc(set->items, (set->nitems + v->nitems + 1) * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        set->items = grown;
        memcpy(set->items + set->nitems, v->items, v->nitems * sizeof(*v->items));
        set->nitems += v->nitems;
        free(v->items);
        v->items = NULL;
        v->nitems = 0;
        return 0;
    }
    if (!set->atom.quoted || !v->atom.quoted)
        return cfg_fail(err, name, line, set->key, "can't use += with numbers");
    size_t a = strlen(set->atom.text), b = strlen(v->atom.text);
    if (a + b > CFG_MAX_STRING)
        return cfg_fail(err, name, line, set->key, "string longer than %d bytes", CFG_MAX_STRING);
    char *joined = malloc(a + b + 1);
    if (!joined)
        return -ENOMEM;
    memcpy(joined, set->atom.text, a);
    memcpy(joined + a, v->atom.text, b + 1);
    free(set->atom.text);
    set->atom.text = joined;
    set->atom.line = v->atom.line;
    set->atom.origin = v->atom.origin;
    return 0;
}

/* Store one statement.  Takes ownership of v's contents on success. */
static int store(struct config_settings *s, unsigned origin, const char *key, bool append,
                 struct parsed_value *v, unsigned line, struct config_error *err)
{
    const char *name = s->origins[origin].name;
    struct cfg_setting *set = (struct cfg_setting *)cfg_settings_find(s, key);
    int rc;

    if (!set) {
        if (s->n == CFG_MAX_SETTINGS)
            return cfg_fail(err, name, line, key, "more than %d different keys", CFG_MAX_SETTINGS);
        if (s->n == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 16;
            struct cfg_setting *grown = realloc(s->v, cap * sizeof(*grown));
            if (!grown)
                return -ENOMEM;
            s->v = grown;
            s->cap = cap;
        }
        set = &s->v[s->n];
        memset(set, 0, sizeof(*set));
        set->key = strdup(key);
        if (!set->key)
            return -ENOMEM;
        s->n++;
        append = false; /* xl: += with nothing before is a plain assignment */
    }

    if (append) {
        rc = append_value(s, set, v, name, line, err);
        if (rc)
            return rc;
    } else {
        /* Within one file a second assignment is most likely a mistake; from
         * the command line it is the point of the override. */
        if (set->is_list || set->atom.text) {
            if (set->origin == origin && line) {
                rc = cfg_warn(err, name, line, key,
                              "set again; the value on line %u is ignored (the last one wins)",
                              set->line);
                if (rc)
                    return rc;
            }
        }
        setting_clear_value(set);
        set->is_list = v->is_list;
        set->atom = v->atom;
        set->items = v->items;
        set->nitems = v->nitems;
        memset(v, 0, sizeof(*v));
    }
    set->origin = origin;
    set->line = line;
    set->seq = s->next_seq++;
    return 0;
}

static int add_origin(struct config_settings *s, const char *name, const char *base_dir,
                      struct config_error *err, unsigned *index)
{
    if (s->norigins == CFG_MAX_ORIGINS)
        return cfg_fail(err, name, 0, NULL, "more than %d overrides", CFG_MAX_ORIGINS - 1);
    struct cfg_origin *o = &s->origins[s->norigins];
    o->name = strdup(name);
    o->base_dir = base_dir ? strdup(base_dir) : NULL;
    if (!o->name || (base_dir && !o->base_dir)) {
        free(o->name);
        free(o->base_dir);
        o->name = o->base_dir = NULL;
        return -ENOMEM;
    }
    *index = (unsigned)s->norigins++;
    return 0;
}

/* Lines longer than CFG_MAX_LINE are refused before anything else. */
static int check_line_lengths(const char *name, const char *text, size_t len, bool command_line,
                              struct config_error *err)
{
    unsigned line = 1;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || text[i] == '\n') {
            if (i - start > CFG_MAX_LINE)
                return cfg_fail(err, name, command_line ? 0 : line, NULL,
                                "line longer than %d bytes", CFG_MAX_LINE);
            line++;
            start = i + 1;
        }
    }
    return 0;
}

int cfg_syntax_parse(struct config_settings *s, const char *name, const char *base_dir,
                     const char *text, size_t len, bool command_line, struct config_error *err)
{
    struct lexer lx = {.p = text,
                       .end = text + len,
                       .line = 1,
                       .name = name,
                       .command_line = command_line,
                       .err = err};
    struct parsed_value v = {0};
    char key[CFG_MAX_KEY + 1], here[32];
    size_t first_warning = err->nwarnings;
    int rc;

    rc = check_line_lengths(name, text, len, command_line, err);
    if (rc)
        return rc;
    rc = add_origin(s, name, base_dir, err, &lx.origin);
    if (rc)
        return rc;

    for (;;) {
        parsed_value_free(&v); /* what a += left behind */
        skip_space(&lx, false);
        if (at_end(&lx))
            break;
        if (*lx.p == '\n') {
            lx.p++;
            lx.line++;
            continue;
        }
        if (*lx.p == ';') {
            lx.p++;
            continue;
        }
        if (!is_ident_start((unsigned char)*lx.p)) {
            rc = cfg_fail(err, name, at(&lx, lx.line), NULL, "expected a key, got %s",
                          describe_here(&lx, here, sizeof(here)));
            goto out;
        }

        const char *start = lx.p;
        while (!at_end(&lx) && is_ident((unsigned char)*lx.p))
            lx.p++;
        size_t klen = (size_t)(lx.p - start);
        if (klen > CFG_MAX_KEY) {
            rc = cfg_fail(err, name, at(&lx, lx.line), NULL, "key longer than %d bytes",
                          CFG_MAX_KEY);
            goto out;
        }
        memcpy(key, start, klen);
        key[klen] = '\0';
        unsigned line = lx.line;

        skip_space(&lx, false);
        bool append = false;
        if (!at_end(&lx) && *lx.p == '=') {
            lx.p++;
        } else if (lx.end - lx.p >= 2 && lx.p[0] == '+' && lx.p[1] == '=') {
            lx.p += 2;
            append = true;
        } else {
            rc = cfg_fail(err, name, at(&lx, line), key, "expected '=' after the key, got %s",
                          describe_here(&lx, here, sizeof(here)));
            goto out;
        }

        skip_space(&lx, false);
        if (!at_end(&lx) && *lx.p == '[') {
            v.is_list = true;
            rc = parse_list(&lx, key, &v.items, &v.nitems);
        } else {
            rc = parse_atom(&lx, key, &v.atom, "");
        }
        if (rc)
            goto out;

        skip_space(&lx, false);
        if (!at_end(&lx) && *lx.p != '\n' && *lx.p != ';') {
            rc = cfg_fail(err, name, at(&lx, lx.line), key,
                          "expected the end of the line or ';' after the value, got %s",
                          describe_here(&lx, here, sizeof(here)));
            goto out;
        }
        rc = store(s, lx.origin, key, append, &v, at(&lx, line), err);
        if (rc)
            goto out;
    }
    rc = keep_warnings(s, err, first_warning);

out:
    parsed_value_free(&v);
    return rc;
}

int cfg_syntax_add_string(struct config_settings *s, const char *name, const char *base_dir,
                          const char *key, const char *value, bool append, struct config_error *err)
{
    struct parsed_value v = {0};
    unsigned origin;
    int rc;

    if (strlen(value) > CFG_MAX_STRING)
        return cfg_fail(err, name, 0, key, "string longer than %d bytes", CFG_MAX_STRING);
    rc = add_origin(s, name, base_dir, err, &origin);
    if (rc)
        return rc;
    v.atom.text = strdup(value);
    if (!v.atom.text)
        return -ENOMEM;
    v.atom.quoted = true;
    v.atom.origin = origin;
    v.atom.line = 0;
    rc = store(s, origin, key, append, &v, 0, err);
    parsed_value_free(&v);
    return rc;
}
