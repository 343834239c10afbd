/* Ethernet MAC addresses as text: six two-digit hex bytes separated by
 * colons ("00:16:3e:0a:1b:2c").  The one spelling every program uses: the
 * config's vif mac=, dm-argv's -device virtio-net,mac=, and the log. */
#ifndef STUBVISOR_MAC_H
#define STUBVISOR_MAC_H

#include <stdint.h>

#define MAC_STRLEN 18 /* "xx:xx:xx:xx:xx:xx" and its NUL */

/* Parse all of text (either case); anything else, including a trailing
 * character, is -EINVAL and leaves mac unchanged.  Returns 0 or -EINVAL. */
int mac_parse(const char *text, uint8_t mac[6]);

/* Write mac in lower case into out. */
void mac_format(const uint8_t mac[6], char out[MAC_STRLEN]);

#endif
