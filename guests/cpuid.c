/*
 * Prints the CPUID leaves a guest sees, one line each:
 *   cpuid LEAF.SUBLEAF: eax=... ebx=... ecx=... edx=...
 * for the basic and extended leaves up to their maxima (at most 0x20 and
 * 0x80000020), subleaves 0 and 1 of 7 and 0xd, and ends with "cpuid: done".
 */
#include "guest.h"
#include "print.h"

static void leaf(uint32_t l, uint32_t s, uint32_t *r)
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(l), "c"(s));
}

static void show(uint32_t l, uint32_t s)
{
    uint32_t r[4];

    leaf(l, s, r);
    gprintf("cpuid %08x.%u: eax=%08x ebx=%08x ecx=%08x edx=%08x\n", l, s, r[0], r[1], r[2], r[3]);
}

int guest_main(void)
{
    uint32_t r[4];

    leaf(0, 0, r);
    for (uint32_t l = 0; l <= r[0] && l <= 0x20; l++) {
        show(l, 0);
        if (l == 7 || l == 0xd)
            show(l, 1);
    }
    leaf(0x80000000u, 0, r);
    for (uint32_t l = 0x80000000u; l <= r[0] && l <= 0x80000020u; l++)
        show(l, 0);
    gprintf("cpuid: done\n");
    return GUEST_EXIT_OK;
}
