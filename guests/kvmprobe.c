/*
 * Can this host's KVM run the kernel-mode code real kernels run early?
 * On hosts whose KVM is nested in software, CPL0 code goes through an
 * instruction emulator that fails on some of it (stubvmm then stops with
 * an emulation failure, status 101).  In order, at CPL0: x87 (fninit, fld1,
 * faddp, fistp), cmpxchg16b, xsave/xrstor (when CPUID has XSAVE), and last
 * int3, which the guest kit's exception handler reports as
 * "guest: exception 3" with status 3: that ending means every step ran.
 * Each step prints "kvmprobe: STEP" first, so the last line says which
 * one a failing host could not run.
 */
#include "guest.h"
#include "print.h"

#define CR4_OSFXSR  (1u << 9)
#define CR4_OSXSAVE (1u << 18)

static uint8_t xsave_area[4096] __attribute__((aligned(64)));

int guest_main(void)
{
    static volatile __int128 pair; /* 16-byte aligned */
    uint64_t lo = 0, hi = 0;
    uint32_t a, b, c, d;
    int32_t sum = 0;

    gprintf("kvmprobe: x87\n");
    __asm__ volatile("fninit\n\tfld1\n\tfld1\n\tfaddp\n\tfistpl %0" : "=m"(sum));
    if (sum != 2) {
        gprintf("kvmprobe: x87 gave %d, not 2\n", sum);
        return GUEST_EXIT_FAIL;
    }
    gprintf("kvmprobe: cmpxchg16b\n");
    __asm__ volatile("lock cmpxchg16b %0"
                     : "+m"(pair), "+a"(lo), "+d"(hi)
                     : "b"(1ull), "c"(2ull)
                     : "memory", "cc");
    if (pair != ((__int128)2 << 64 | 1)) {
        gprintf("kvmprobe: cmpxchg16b did not store\n");
        return GUEST_EXIT_FAIL;
    }
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1u), "c"(0u));
    if (c & (1u << 26)) {
        uint64_t cr4;
        gprintf("kvmprobe: xsave/xrstor\n");
        __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
        cr4 |= CR4_OSFXSR | CR4_OSXSAVE;
        __asm__ volatile("mov %0, %%cr4" : : "r"(cr4));
        __asm__ volatile("xsetbv" : : "a"(3u), "d"(0u), "c"(0u)); /* x87 | SSE */
        __asm__ volatile("xsave %0" : "+m"(xsave_area) : "a"(3u), "d"(0u) : "memory");
        __asm__ volatile("xrstor %0" : : "m"(xsave_area), "a"(3u), "d"(0u) : "memory");
    }
    gprintf("kvmprobe: int3 (a good host ends at exception 3)\n");
    __asm__ volatile("int3");
    gprintf("kvmprobe: int3 returned\n");
    return GUEST_EXIT_FAIL;
}
