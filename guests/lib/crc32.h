/* CRC32 (IEEE 802.3, as zlib.crc32 computes it): how the tests tell the
 * guests what the bytes they were handed must add up to. */
#ifndef GUEST_CRC32_H
#define GUEST_CRC32_H

#include <stddef.h>
#include <stdint.h>

uint32_t crc32(const void *buf, size_t n);

#endif
