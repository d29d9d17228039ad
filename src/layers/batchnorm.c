/* Batch normalisation per channel; batch statistics in training, running ones in
 * inference. Parameters: weight (gamma), bias (beta), running_mean, running_var. */
#include "graph/graph.h"

#include <math.h>
#include <stdlib.h>

/* The kernels this file launches. */
static const fcl_kernel_def k_batchnorm_sums = {"batchnorm.cl", "batchnorm_sums"};
static const fcl_kernel_def k_batchnorm_normalize = {"batchnorm.cl", "batchnorm_normalize"};
static const fcl_kernel_def k_batchnorm_backward_sums = {"batchnorm.cl", "batchnorm_backward_sums"};
static const fcl_kernel_def k_batchnorm_backward_input = {"batchnorm.cl", "batchnorm_backward_input"};

/* The node's state: mean and inv_std (or forward's sums), then backward's two sums. */
enum { BN_STATE_ROWS = 4 };

static int bn_params(const fcl_node *nd, fcl_param_desc out[FCL_MAX_PARAMS])
{
    size_t c = (size_t)nd->in.c;
    out[0] = (fcl_param_desc){"weight", c, {nd->in.c}, 1, true, FCL_INIT_ONE};
    out[1] = (fcl_param_desc){"bias", c, {nd->in.c}, 1, true, FCL_INIT_ZERO};
    out[2] = (fcl_param_desc){"running_mean", c, {nd->in.c}, 1, false, FCL_INIT_ZERO};
    out[3] = (fcl_param_desc){"running_var", c, {nd->in.c}, 1, false, FCL_INIT_ONE};
    return 4;
}

/* The 2 C sums at row `row` of the node's state, added over the replicas (net->sync). A
 * failure (st, or here) still goes to the meeting, so that no replica waits for this one. */
static fcl_status bn_share(fcl_net *net, const fcl_node *nd, int row, fcl_status st)
{
    const size_t n = 2 * (size_t)nd->in.c, at = nd->state_off + (size_t)row * nd->in.c;
    float *v = st == FCL_SUCCESS ? malloc(n * sizeof *v) : NULL;
    if (st == FCL_SUCCESS)
        st = v ? fcl_net_read(net, net->state, at, n, v) : FCL_ERR_OUT_OF_HOST_MEMORY;
    st = net->sync->sum(net->sync->ctx, st, st == FCL_SUCCESS ? v : NULL, n);
    if (st == FCL_SUCCESS)
        st = fcl_net_write(net, net->state, at, n, v);
    free(v);
    return st;
}

/* The images the batch statistics are over. */
static int bn_images(const fcl_net *net) { return net->sync ? net->sync->images : net->batch; }

static fcl_status bn_forward(fcl_net *net, const fcl_node *nd)
{
    fcl_view x = fcl_net_input_view(net, nd, 0), y = fcl_net_output_view(net, nd - net->model->nodes);
    const size_t C = (size_t)nd->in.c;
    const int HW = nd->in.h * nd->in.w;
    fcl_status st = FCL_SUCCESS;
    if (net->training)
        st = FCL_LAUNCH(net, &k_batchnorm_sums, C, FCL_M(net->acts), FCL_I(x.off), FCL_I(x.ns), FCL_M(net->state),
                        FCL_I(nd->state_off), FCL_I(net->batch), FCL_I(nd->in.c), FCL_I(HW));
    if (net->training && net->sync)
        st = bn_share(net, nd, 0, st); /* reached by every replica, failed or not */
    if (st == FCL_SUCCESS)
        st = FCL_LAUNCH(net, &k_batchnorm_normalize, C, FCL_M(net->acts), FCL_I(y.off), FCL_I(y.ns), FCL_M(net->acts),
                        FCL_I(x.off), FCL_I(x.ns), FCL_M(net->params), FCL_I(nd->param_off), FCL_M(net->state),
                        FCL_I(nd->state_off), FCL_I(net->batch), FCL_I(nd->in.c), FCL_I(HW), FCL_I(bn_images(net)),
                        FCL_F(nd->eps), FCL_F(nd->momentum), FCL_I(net->training), FCL_I(nd->relu));
    return st;
}

static fcl_status bn_backward(fcl_net *net, const fcl_node *nd)
{
    fcl_view x = fcl_net_input_view(net, nd, 0), y = fcl_net_output_view(net, nd - net->model->nodes);
    const size_t C = (size_t)nd->in.c;
    const int HW = nd->in.h * nd->in.w;
    fcl_status st = FCL_LAUNCH(net, &k_batchnorm_backward_sums, C, FCL_M(net->dacts), FCL_I(y.off), FCL_I(y.ns),
                               FCL_M(net->acts), FCL_I(y.off), FCL_I(y.ns), FCL_M(net->acts), FCL_I(x.off),
                               FCL_I(x.ns), FCL_M(net->grads), FCL_I(nd->param_off), FCL_M(net->state),
                               FCL_I(nd->state_off), FCL_I(net->batch), FCL_I(nd->in.c), FCL_I(HW), FCL_I(nd->relu));
    if (net->sync)
        st = bn_share(net, nd, 2, st);
    if (st == FCL_SUCCESS)
        st = FCL_LAUNCH(net, &k_batchnorm_backward_input, C, FCL_M(net->dacts), FCL_I(x.off), FCL_I(x.ns),
                        FCL_M(net->dacts), FCL_I(y.off), FCL_I(y.ns), FCL_M(net->acts), FCL_I(y.off), FCL_I(y.ns),
                        FCL_M(net->acts), FCL_I(x.off), FCL_I(x.ns), FCL_M(net->params), FCL_I(nd->param_off),
                        FCL_M(net->state), FCL_I(nd->state_off), FCL_I(net->batch), FCL_I(nd->in.c), FCL_I(HW),
                        FCL_I(bn_images(net)), FCL_I(nd->relu));
    return st;
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
    .state_floats = BN_STATE_ROWS,
    .forward = bn_forward,
    .backward = bn_backward,
    .backward_masks_relu = true,
    .reference = bn_reference,
};
