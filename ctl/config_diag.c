/* Error and warning messages of the config parser: one format everywhere,
 * "FILE:LINE: KEY: what is wrong", so that a user can jump to the spot. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/config_internal.h"

void config_error_init(struct config_error *err)
{
    memset(err, 0, sizeof(*err));
}

void config_error_dispose(struct config_error *err)
{
    for (size_t i = 0; i < err->nwarnings; i++)
        free(err->warnings[i]);
    free(err->warnings);
    config_error_init(err);
}

/* Copy at most size-1 bytes and always terminate. */
static void copy_truncated(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void format_message(char *buf, size_t size, const char *origin, unsigned line,
                           const char *key, const char *fmt, va_list ap)
    __attribute__((format(printf, 6, 0)));
static void format_message(char *buf, size_t size, const char *origin, unsigned line,
                           const char *key, const char *fmt, va_list ap)
{
    int n;
    if (line)
        n = snprintf(buf, size, "%s:%u: ", origin, line);
    else
        n = snprintf(buf, size, "%s: ", origin);
    if (n < 0 || (size_t)n >= size)
        return;
    if (key) {
        int k = snprintf(buf + n, size - n, "%s: ", key);
        if (k < 0 || (size_t)k >= size - n)
            return;
        n += k;
    }
    vsnprintf(buf + n, size - n, fmt, ap);
}

int cfg_fail(struct config_error *err, const char *origin, unsigned line, const char *key,
             const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    format_message(err->message, sizeof(err->message), origin, line, key, fmt, ap);
    va_end(ap);
    copy_truncated(err->file, sizeof(err->file), origin);
    err->line = line;
    copy_truncated(err->key, sizeof(err->key), key ? key : "");
    return -EINVAL;
}

int cfg_warn_text(struct config_error *err, const char *text)
{
    /* Bounded: a hostile file could set one key a hundred thousand times. */
    if (err->nwarnings > CONFIG_MAX_WARNINGS)
        return 0;
    if (err->nwarnings == CONFIG_MAX_WARNINGS)
        text = "(more warnings not shown)";
    char **grown = realloc(err->warnings, (err->nwarnings + 1) * sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    err->warnings = grown;
    char *copy = strdup(text);
    if (!copy)
        return -ENOMEM;
    err->warnings[err->nwarnings++] = copy;
    return 0;
}

int cfg_warn(struct config_error *err, const char *origin, unsigned line, const char *key,
             const char *fmt, ...)
{
    char buf[CONFIG_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    format_message(buf, sizeof(buf), origin, line, key, fmt, ap);
    va_end(ap);
    return cfg_warn_text(err, buf);
}

const char *cfg_quote(char *buf, size_t size, const char *s)
{
    /* Room for the closing quote, "..." and the NUL. */
    size_t limit = size > 6 ? size - 6 : 0;
    size_t n = 0;
    if (size < 8) {
        if (size)
            buf[0] = '\0';
        return buf;
    }
    buf[n++] = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[5];
        size_t k;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            k = 2;
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof(esc), "\\x%02x", c);
            k = 4;
        } else {
            esc[0] = (char)c;
            k = 1;
        }
        if (n + k > limit) {
            memcpy(buf + n, "...", 3);
            n += 3;
            break;
        }
        memcpy(buf + n, esc, k);
        n += k;
    }
    buf[n++] = '"';
    buf[n] = '\0';
    return buf;
}
