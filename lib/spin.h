/* Adaptive spinning, used on both sides of the ioreq path.
 *
 * Before sleeping on an eventfd a waiter may spin on shared memory for a
 * budget of nanoseconds.  Spinning pays when the answer comes sooner than a
 * sleep-and-wake would take, and costs a core otherwise (on a 2-core host,
 * the core the other side needs).  So the budget follows what the last wait
 * took: an answer that came while spinning, or soon after going to sleep,
 * sets it to twice that wait (capped at max); a wait longer than max halves
 * it, down to no spinning at all. */
#ifndef STUBVISOR_SPIN_H
#define STUBVISOR_SPIN_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Maximum budgets (docs/ioreq.md has the measurements).  A device model
 * spins long: waking a sleeping process costs 100 µs and more on a nested
 * host (an IPI to a halted CPU), while a vCPU's answer comes within a few
 * µs when the device model is awake. */
#define SPIN_VCPU_DEFAULT_US 10
#define SPIN_DM_DEFAULT_US   200

struct spin_budget {
    uint64_t max_ns;
    uint64_t cur_ns;
};

static inline void spin_budget_init(struct spin_budget *b, uint64_t max_ns)
{
    b->max_ns = max_ns;
    b->cur_ns = max_ns;
}

/* The last wait took waited_ns in all (spinning and sleeping). */
static inline void spin_budget_update(struct spin_budget *b, uint64_t waited_ns)
{
    if (waited_ns <= b->max_ns)
        b->cur_ns = waited_ns * 2 < b->max_ns ? waited_ns * 2 : b->max_ns;
    else
        b->cur_ns /= 2;
}

static inline uint64_t spin_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
