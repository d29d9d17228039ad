/* Start-up cost: open the default device and build every embedded kernel file; with a
 * MODEL argument, instead every kernel a training step of that model needs (its GEMM
 * configurations included): one forward and backward at batch 1 twice, the first
 * building, the second only computing. One measurement per process (the in-memory
 * cache would hide the rest); the scenarios (cold/warm, disk cache on/off) are set up
 * by bench/startup.sh.
 *   bench_startup [MODEL] */
#include "graph/graph.h"
#include "runtime/clock.h"
#include "runtime/runtime.h"

#include <stdio.h>
#include <stdlib.h>

/* Milliseconds of the first and the second training pass of model at batch 1 (zero
 * data, forward and backward). */
static fcl_status model_passes(fcl_runtime *rt, const char *path, double *first, double *second)
{
    fcl_model *m = NULL;
    fcl_net *net = NULL;
    float *zeros = NULL;
    fcl_status st = fcl_model_load(path, &m);
    if (st == FCL_SUCCESS)
        st = fcl_net_create(rt, m, 1, true, &net);
    if (st == FCL_SUCCESS) {
        const size_t in = fcl_shape_size(m->nodes[0].out), out = fcl_shape_size(fcl_model_output(m)->out);
        zeros = calloc(in > out ? in : out, sizeof *zeros);
        st = zeros ? FCL_SUCCESS : FCL_ERR_OUT_OF_HOST_MEMORY;
    }
    for (int pass = 0; pass < 2 && st == FCL_SUCCESS; pass++) {
        const double t0 = fcl_seconds() * 1e3;
        st = fcl_net_forward(net, zeros, NULL);
        if (st == FCL_SUCCESS)
            st = fcl_net_backward(net, zeros);
        if (st == FCL_SUCCESS)
            st = fcl_runtime_finish(rt);
        *(pass ? second : first) = fcl_seconds() * 1e3 - t0;
    }
    free(zeros);
    fcl_net_destroy(net);
    fcl_model_destroy(m);
    return st;
}

int main(int argc, char **argv)
{
    double t0 = fcl_seconds() * 1e3;
    fcl_runtime *rt;
    fcl_status st = fcl_runtime_create(NULL, NULL, &rt);
    if (st != FCL_SUCCESS) {
        fprintf(stderr, "bench_startup: %s\n", fcl_status_str(st));
        return 1;
    }
    double t1 = fcl_seconds() * 1e3, first = 0, second = 0;
    st = argc > 1 ? model_passes(rt, argv[1], &first, &second) : fcl_runtime_build_all(rt);
    double t2 = fcl_seconds() * 1e3;
    if (st != FCL_SUCCESS) {
        fprintf(stderr, "bench_startup: %s\n", fcl_status_str(st));
        fcl_runtime_destroy(rt);
        return 1;
    }
    if (argc > 1) /* build_ms: the first pass less the second, the compute both share */
        t2 = t1 + first - second;
    printf("open_ms %.1f build_ms %.1f source_builds %u disk_hits %u disk_writes %u\n", t1 - t0, t2 - t1,
           rt->stats.source_builds, rt->stats.disk_hits, rt->stats.disk_writes);
    fcl_runtime_destroy(rt);
    return 0;
}
