/* MAC addresses as text (mac.h). */
#include "lib/mac.h"

#include <errno.h>
#include <stdio.h>

#include "lib/hex.h"

int mac_parse(const char *text, uint8_t mac[6])
{
    uint8_t out[6];

    for (int i = 0; i < 6; i++) {
        const char *p = text + 3 * i;
        int hi = hex_digit((unsigned char)p[0]), lo = hi < 0 ? -1 : hex_digit((unsigned char)p[1]);
        if (hi < 0 || lo < 0 || p[2] != (i == 5 ? '\0' : ':'))
            return -EINVAL;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    for (int i = 0; i < 6; i++)
        mac[i] = out[i];
    return 0;
}

void mac_format(const uint8_t mac[6], char out[MAC_STRLEN])
{
    snprintf(out, MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
             mac[4], mac[5]);
}
