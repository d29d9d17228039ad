/* Batch normalisation per channel; batch statistics in training, running ones in
 * inference. Parameters: weight (gamma), bias (beta), running_mean, running_var. */
#include "graph/graph.h"

#include <math.h>

/* The kernels this file launches. */
static const fcl_kernel_def k_batchnorm_forward = {"batchnorm.cl", "batchnorm_forward"};
static const fcl_kernel_def k_batchnorm_backward = {"batchnorm.cl", "batchnorm_backward"};

static int bn_params(const fcl_node *nd, fcl_param_desc out[FCL_MAX_PARAMS])
{
    size_t c = (size_t)nd->in.c;
    out[0] = (fcl_param_desc){"weight", c, {nd->in.c}, 1, true, FCL_INIT_ONE};
    out[1] = (fcl_param_desc){"bias", c, {nd->in.c}, 1, true, FCL_INIT_ZERO};
    out[2] = (fcl_param_desc){"running_mean", c, {nd->in.c}, 1, false, FCL_INIT_ZERO};
    out[3] = (fcl_param_desc){"running_var", c, {nd->in.c}, 1, false, FCL_INIT_ONE};
    return 4;
}

static fcl_status bn_forward(fcl_net *net, const fcl_node *nd)
{
    fcl_view x = fcl_net_input_view(net, nd, 0), y = fcl_net_output_view(net, nd - net->model->nodes);
    return FCL_LAUNCH(net, &k_batchnorm_forward, (size_t)nd->in.c, FCL_M(net->acts), FCL_I(y.off), FCL_I(y.ns),
                      FCL_M(net->acts), FCL_I(x.off), FCL_I(x.ns), FCL_M(net->params), FCL_I(nd->param_off),
                      FCL_M(net->state), FCL_I(nd->state_off), FCL_I(net->batch), FCL_I(nd->in.c),
                      FCL_I(nd->in.h * nd->in.w), FCL_F(nd->eps), FCL_F(nd->momentum), FCL_I(net->training), FCL_I(nd->relu));
}

static fcl_status bn_backward(fcl_net *net, const fcl_node *nd)
{
    fcl_view x = fcl_net_input_view(net, nd, 0), y = fcl_net_output_view(net, nd - net->model->nodes);
    return FCL_LAUNCH(net, &k_batchnorm_backward, (size_t)nd->in.c, FCL_M(net->dacts), FCL_I(x.off),
                      FCL_I(x.ns), FCL_M(net->dacts), FCL_I(y.off), FCL_I(y.ns), FCL_M(net->acts), FCL_I(y.off),
                      FCL_I(y.ns), FCL_M(net->acts), FCL_I(x.off), FCL_I(x.ns), FCL_M(net->params),
                      FCL_I(nd->param_off), FCL_M(net->grads), FCL_I(nd->param_off), FCL_M(net->state),
                      FCL_I(nd->state_off), FCL_I(net->batch), FCL_I(nd->in.c), FCL_I(nd->in.h * nd->in.w),
                      FCL_I(nd->relu));
}

/* Training-mode reference (batch statistics), the mode whose gradient is tested. */
static void bn_reference(const fcl_node *nd, int n, const double *const *in, const double *p, double *y)
{
    const double *x = in[0];
    const int C = nd->in.c, HW = nd->in.h * nd->in.w;
    for (int c = 0; c < C; c++) {
        double sum = 0, sq = 0;
        for (int i = 0; i < n; i++)
            for (int q = 0; q < HW; q++) {
                double v = x[((size_t)i * C + c) * HW + q];
                sum += v;
                sq += v * v;
            }
        double mean = sum / (n * HW), var = sq / (n * HW) - mean * mean;
        double inv = 1.0 / sqrt((var > 0 ? var : 0) + nd->eps);
        for (int i = 0; i < n; i++)
            for (int q = 0; q < HW; q++) {
                size_t at = ((size_t)i * C + c) * HW + q;
                double v = (x[at] - mean) * inv * p[c] + p[C + c];
                y[at] = nd->relu && v < 0 ? 0 : v;
            }
    }
}

const fcl_op_def fcl_op_batchnorm = {
    .name = "batchnorm",
    .infer = fcl_infer_same,
    .params = bn_params,
    .macs = fcl_no_macs,
    .state_floats = 2,
    .forward = bn_forward,
    .backward = bn_backward,
    .backward_masks_relu = true,
    .reference = bn_reference,
};
