/* One hex digit's value: 0-15, or -1 for anything that is not one. */
#ifndef STUBVISOR_HEX_H
#define STUBVISOR_HEX_H

static inline int hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
