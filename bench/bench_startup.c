/* Start-up cost: open the default device and build every embedded kernel file.
 * One measurement per process (the in-memory cache would hide the rest); the
 * scenarios (cold/warm, disk cache on/off) are set up by bench/startup.sh. */
#include "runtime/clock.h"
#include "runtime/runtime.h"

#include <stdio.h>

int main(void)
{
    double t0 = fcl_seconds() * 1e3;
    fcl_runtime *rt;
    fcl_status st = fcl_runtime_create(NULL, NULL, &rt);
    if (st != FCL_SUCCESS) {
        fprintf(stderr, "bench_startup: %s\n", fcl_status_str(st));
        return 1;
    }
    double t1 = fcl_seconds() * 1e3;
    st = fcl_runtime_build_all(rt);
    double t2 = fcl_seconds() * 1e3;
    if (st != FCL_SUCCESS) {
        fprintf(stderr, "bench_startup: %s\n", fcl_status_str(st));
        fcl_runtime_destroy(rt);
        return 1;
    }
    printf("open_ms %.1f build_ms %.1f source_builds %u disk_hits %u disk_writes %u\n", t1 - t0, t2 - t1,
           rt->stats.source_builds, rt->stats.disk_hits, rt->stats.disk_writes);
    fcl_runtime_destroy(rt);
    return 0;
}
