/* Local response normalisation across channels ("norm" in NN2, "rnorm" in NN1). */
#include "graph/graph.h"

#include <math.h>

/* The kernels this file launches. */
static const fcl_kernel_def k_lrn_forward = {"lrn.cl", "lrn_forward"};
static const fcl_kernel_def k_lrn_backward_prepare = {"lrn.cl", "lrn_backward_prepare"};
static const fcl_kernel_def k_lrn_backward = {"lrn.cl", "lrn_backward"};

/* cl/lrn.cl: a work-item per eight positions of an image. */
static size_t lrn_items(const fcl_net *net, const fcl_node *nd)
{
    return (size_t)net->batch * (size_t)((nd->in.h * nd->in.w + 7) / 8);
}

#define LRN_ARGS(nd)                                                                                    \
    FCL_I(net->batch), FCL_I((nd)->in.c), FCL_I((nd)->in.h * (nd)->in.w), FCL_I((nd)->size),          \
        FCL_F((nd)->alpha), FCL_F((nd)->beta), FCL_F((nd)->k)

static fcl_status lrn_forward(fcl_net *net, const fcl_node *nd)
{
    fcl_view x = fcl_net_input_view(net, nd, 0), y = fcl_net_output_view(net, nd - net->model->nodes);
    return FCL_LAUNCH(net, &k_lrn_forward, lrn_items(net, nd), FCL_M(net->acts),
                      FCL_I(y.off), FCL_I(y.ns), FCL_M(net->acts), FCL_I(x.off), FCL_I(x.ns), LRN_ARGS(nd));
}

/* Backward needs u and t (cl/lrn.cl), two activation-sized halves of net->work. */
static size_t lrn_workspace(const fcl_net *net, const fcl_node *nd, int batch, bool training)
{
    (void)net;
    return training ? 2 * (size_t)batch * fcl_shape_size(nd->in) : 0;
}

static fcl_status lrn_backward(fcl_net *net, const fcl_node *nd)
{
    fcl_view x = fcl_net_input_view(net, nd, 0), y = fcl_net_output_view(net, nd - net->model->nodes);
    const size_t n = (size_t)net->batch * fcl_shape_size(nd->in), items = lrn_items(net, nd);
    fcl_status st = FCL_LAUNCH(net, &k_lrn_backward_prepare, items, FCL_M(net->work), FCL_I(n), FCL_M(net->dacts),
                               FCL_I(y.off), FCL_I(y.ns), FCL_M(net->acts), FCL_I(x.off), FCL_I(x.ns), LRN_ARGS(nd));
    if (st == FCL_SUCCESS)
        st = FCL_LAUNCH(net, &k_lrn_backward, items, FCL_M(net->dacts), FCL_I(x.off), FCL_I(x.ns), FCL_M(net->dacts),
                        FCL_I(y.off), FCL_I(y.ns), FCL_M(net->acts), FCL_I(x.off), FCL_I(x.ns), FCL_M(net->work),
                        FCL_I(n), FCL_I(net->batch), FCL_I(nd->in.c), FCL_I(nd->in.h * nd->in.w), FCL_I(nd->size),
                        FCL_F(nd->alpha), FCL_F(nd->beta));
    return st;
}

static void lrn_reference(const fcl_node *nd, int n, const double *const *in, const double *p, double *y)
{
    const double *x = in[0];
    (void)p;
    const int C = nd->in.c, HW = nd->in.h * nd->in.w;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < C; c++)
            for (int q = 0; q < HW; q++) {
                double sum = 0;
                for (int j = c - nd->size / 2; j <= c + nd->size / 2; j++)
                    if (j >= 0 && j < C) {
                        double v = x[((size_t)i * C + j) * HW + q];
                        sum += v * v;
                    }
                size_t at = ((size_t)i * C + c) * HW + q;
                y[at] = x[at] * pow(nd->k + nd->alpha / nd->size * sum, -nd->beta);
            }
}

const fcl_op_def fcl_op_lrn = {
    .name = "lrn",
    .infer = fcl_infer_same,
    .params = fcl_no_params,
    .macs = fcl_no_macs,
    .forward = lrn_forward,
    .backward = lrn_backward,
    .workspace = lrn_workspace,
    .reference = lrn_reference,
};
