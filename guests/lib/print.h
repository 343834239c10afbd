/* printf-lite on COM1: %s %c %d %u %x %lu %ld %lx %%, optional 0 and width. */
#ifndef GUEST_PRINT_H
#define GUEST_PRINT_H

#include <stdarg.h>

__attribute__((format(printf, 1, 2))) void gprintf(const char *fmt, ...);
void gvprintf(const char *fmt, va_list ap);

#endif
