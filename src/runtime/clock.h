/* A monotonic clock in seconds, for throughput, ETAs and benchmarks. */
#ifndef FCL_RUNTIME_CLOCK_H
#define FCL_RUNTIME_CLOCK_H
#include <time.h>

static inline double fcl_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
#endif
