/* L2 normalisation of each sample's embedding: ||f(x)||_2 = 1 (FaceNet section 3). */
#include "graph/graph.h"

#include <math.h>

/* The kernels this file launches. */
static const fcl_kernel_def k_l2norm_forward = {"l2norm.cl", "l2norm_forward"};
static const fcl_kernel_def k_l2norm_backward = {"l2norm.cl", "l2norm_backward"};

static fcl_status l2norm_forward(fcl_net *net, const fcl_node *nd)
{
    fcl_view x = fcl_net_input_view(net, nd, 0), y = fcl_net_output_view(net, nd - net->model->nodes);
    return FCL_LAUNCH(net, &k_l2norm_forward, (size_t)net->batch, FCL_M(net->acts), FCL_I(y.off), FCL_I(y.ns),
                      FCL_M(net->acts), FCL_I(x.off), FCL_I(x.ns), FCL_I(net->batch), FCL_I(fcl_shape_size(nd->in)));
}

static fcl_status l2norm_backward(fcl_net *net, const fcl_node *nd)
{
    fcl_view x = fcl_net_input_view(net, nd, 0), y = fcl_net_output_view(net, nd - net->model->nodes);
    return FCL_LAUNCH(net, &k_l2norm_backward, (size_t)net->batch, FCL_M(net->dacts), FCL_I(x.off),
                      FCL_I(x.ns), FCL_M(net->dacts), FCL_I(y.off), FCL_I(y.ns), FCL_M(net->acts), FCL_I(x.off),
                      FCL_I(x.ns), FCL_I(net->batch), FCL_I(fcl_shape_size(nd->in)));
}

static void l2norm_reference(const fcl_node *nd, int n, const double *const *in, const double *p, double *y)
{
    const double *x = in[0];
    (void)p;
    const int D = fcl_shape_size(nd->in);
    for (int i = 0; i < n; i++) {
        double ss = 0;
        for (int j = 0; j < D; j++)
            ss += x[(size_t)i * D + j] * x[(size_t)i * D + j];
        double inv = 1.0 / sqrt(ss + 1e-12);
        for (int j = 0; j < D; j++)
            y[(size_t)i * D + j] = x[(size_t)i * D + j] * inv;
    }
}

const fcl_op_def fcl_op_l2norm = {
    .name = "l2norm",
    .infer = fcl_infer_same,
    .params = fcl_no_params,
    .macs = fcl_no_macs,
    .forward = l2norm_forward,
    .backward = l2norm_backward,
    .reference = l2norm_reference,
};
