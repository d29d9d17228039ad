/* The GEMM shapes a model runs, recorded from a dry run of its network, and first-use
 * tuning of the classes they fall in (the tuner itself, src/gemm/gemm_tune.c, needs no
 * network). */
#include "graph/graph.h"

#include <stdlib.h>

fcl_status fcl_gemm_record(fcl_runtime *rt, const fcl_model *model, int batch, bool training, fcl_gemm_recorder *rec)
{
    fcl_net *net;
    fcl_status st = fcl_net_create(rt, model, batch, training, &net);
    if (st != FCL_SUCCESS)
        return st;
    const size_t in_n = (size_t)batch * fcl_shape_size(model->nodes[0].out);
    const size_t out_n = (size_t)batch * fcl_shape_size(fcl_model_output(model)->out);
    float *zeros = calloc(in_n > out_n ? in_n : out_n, sizeof *zeros);
    net->gemm->recorder = rec;
    net->launch.dry_run = true; /* a train command records on every start: it must cost no compute */
    st = zeros ? fcl_net_forward(net, zeros, NULL) : FCL_ERR_OUT_OF_HOST_MEMORY;
    if (st == FCL_SUCCESS && training)
        st = fcl_net_backward(net, zeros);
    if (st == FCL_SUCCESS)
        st = fcl_runtime_finish(rt);
    net->gemm->recorder = NULL;
    net->launch.dry_run = false;
    free(zeros);
    fcl_net_destroy(net);
    return st;
}

fcl_status fcl_gemm_tune_first_use(fcl_runtime *rt, const fcl_model *model, int batch, bool training, double seconds,
                                   const fcl_reporter *report)
{
    if (!fcl_gemm_tune_wanted(rt, seconds))
        return FCL_SUCCESS; /* turned off, overridden, or nowhere to keep the result */
    fcl_gemm_recorder rec = {0};
    fcl_status st = fcl_gemm_record(rt, model, batch, training, &rec);
    if (st == FCL_SUCCESS)
        st = fcl_gemm_tune_missing(rt, rec.shapes, rec.n, seconds, report);
    free(rec.shapes);
    return st;
}
