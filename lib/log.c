#include "lib/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *program = "stubvisor";
static int log_fd = STDERR_FILENO;
static int level = -1; /* -1: not decided yet, read STUBVISOR_DEBUG on first use */

static const char *const level_names[] = {
    [LOG_ERROR] = "error",
    [LOG_WARN] = "warning",
    [LOG_INFO] = "info",
    [LOG_DEBUG] = "debug",
};

void log_set_program(const char *name)
{
    const char *slash = strrchr(name, '/');
    program = slash ? slash + 1 : name;
}

void log_set_level(enum log_level l)
{
    level = (int)l;
}

enum log_level log_get_level(void)
{
    if (level < 0)
        level = getenv("STUBVISOR_DEBUG") ? LOG_DEBUG : LOG_INFO;
    return (enum log_level)level;
}

void log_set_fd(int fd)
{
    log_fd = fd;
}

/* One write() per message so that lines from several processes sharing a log
 * descriptor do not interleave mid-line. */
__attribute__((format(printf, 2, 0))) static void log_vmsg(enum log_level l, const char *fmt,
                                                           va_list ap)
{
    char buf[1024];
    int saved_errno = errno;
    int n = snprintf(buf, sizeof(buf), "%s: %s%s", program, l == LOG_INFO ? "" : level_names[l],
                     l == LOG_INFO ? "" : ": ");
    if (n < 0)
        n = 0;
    if ((size_t)n < sizeof(buf)) {
        int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
        if (m > 0)
            n += m;
    }
    if ((size_t)n >= sizeof(buf) - 1)
        n = (int)sizeof(buf) - 2;
    buf[n++] = '\n';
    ssize_t r = write(log_fd, buf, (size_t)n);
    (void)r;
    errno = saved_errno;
}

void log_msg(enum log_level l, const char *fmt, ...)
{
    if (l > log_get_level())
        return;
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(l, fmt, ap);
    va_end(ap);
}

void die(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(LOG_ERROR, fmt, ap);
    va_end(ap);
    exit(code);
}
