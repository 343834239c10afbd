/* Deterministic PRNG (xorshift64*): same seed, same run, on any VMM. */
#ifndef GUEST_RAND_H
#define GUEST_RAND_H

#include <stdint.h>

struct rng {
    uint64_t state;
};

static inline void rng_seed(struct rng *r, uint64_t seed)
{
    /* xorshift must never hold zero. */
    r->state = seed ^ 0x9e3779b97f4a7c15ull;
    if (!r->state)
        r->state = 1;
}

static inline uint64_t rng_next(struct rng *r)
{
    uint64_t x = r->state;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->state = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* Uniform enough in [0, n) for n much smaller than 2^64. */
static inline uint64_t rng_below(struct rng *r, uint64_t n)
{
    return rng_next(r) % n;
}

#endif
