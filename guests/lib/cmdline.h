/*
 * The command line from hvm_start_info: space-separated `key=value` words.
 * Later words win over earlier ones with the same key.
 */
#ifndef GUEST_CMDLINE_H
#define GUEST_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Copies the loader's string (bounded) so later writes to RAM cannot change it. */
void cmdline_init(uint64_t paddr);
const char *cmdline_get(void);

/*
 * Finds `key` and copies its value (NUL-terminated, truncated to fit) into
 * `buf`.  Returns false when the key is absent.
 */
bool cmdline_value(const char *key, char *buf, size_t len);

/* Decimal or 0x-hex value of `key`, or `def` when absent or malformed. */
uint64_t cmdline_u64(const char *key, uint64_t def);

#endif
