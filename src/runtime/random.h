/* splitmix64: a small seeded generator whose whole state is one word, so a checkpoint
 * can store it and every platform draws the same numbers. */
#ifndef FCL_RUNTIME_RANDOM_H
#define FCL_RUNTIME_RANDOM_H
#include <stdint.h>

static inline uint64_t fcl_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0 (the modulo bias is below 2^-32 for the n used here). */
static inline int fcl_random_below(uint64_t *state, int n) { return (int)(fcl_splitmix64(state) % (uint64_t)n); }
#endif
