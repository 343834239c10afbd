/* Logging and exit conventions shared by every stubvisor program.
 *
 * Exit codes follow the s6 convention so that callers and tests can tell a
 * usage mistake from a system failure without parsing messages:
 *   0   success
 *   100 usage error (bad command line or config)
 *   111 system error (a resource the program needs is not available)
 */
#ifndef STUBVISOR_LOG_H
#define STUBVISOR_LOG_H

#include <stdnoreturn.h>

enum { EXIT_USAGE = 100, EXIT_SYSTEM = 111 };

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Name printed in front of every message; set once at start-up (argv[0]'s
 * basename by convention).  The string must outlive the program. */
void log_set_program(const char *name);

/* Messages above this level are dropped.  Defaults to LOG_INFO, or to
 * LOG_DEBUG when STUBVISOR_DEBUG is set in the environment. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Write every message to this descriptor instead of stderr (a device model's
 * console 0, for instance).  The caller keeps ownership of fd. */
void log_set_fd(int fd);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* Print "program: message" and exit with `code`.  Only for start-up paths
 * that cannot go on; everything else returns an error. */
noreturn void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
