/* CRC32, table-driven (crc32.h).  The table is built on first use. */
#include "crc32.h"

uint32_t crc32(const void *buf, size_t n)
{
    static uint32_t table[256];
    const uint8_t *p = buf;
    uint32_t c = 0xffffffffu;

    if (!table[1])
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t v = i;
            for (int k = 0; k < 8; k++)
                v = v & 1 ? 0xedb88320u ^ (v >> 1) : v >> 1;
            table[i] = v;
        }
    for (size_t i = 0; i < n; i++)
        c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}
