/* Softmax over the channels at each position: MTCNN's face / no-face heads (P-Net's
 * over its whole map, R-Net's and O-Net's over two units). No parameters. */
#include "graph/graph.h"

#include <math.h>

/* The kernels this file launches. */
static const fcl_kernel_def k_softmax_forward = {"activation.cl", "softmax_forward"};
static const fcl_kernel_def k_softmax_backward = {"activation.cl", "softmax_backward"};

#define SOFTMAX_SIZES(nd) FCL_I(net->batch), FCL_I((nd)->in.c), FCL_I((nd)->in.h * (nd)->in.w)

static fcl_status softmax_forward(fcl_net *net, const fcl_node *nd)
{
    fcl_view x = fcl_net_input_view(net, nd, 0), y = fcl_net_output_view(net, (int)(nd - net->model->nodes));
    return FCL_LAUNCH(net, &k_softmax_forward, (size_t)net->batch * nd->in.h * nd->in.w, FCL_M(net->acts),
                      FCL_I(y.off), FCL_I(y.ns), FCL_M(net->acts), FCL_I(x.off), FCL_I(x.ns), SOFTMAX_SIZES(nd));
}

static fcl_status softmax_backward(fcl_net *net, const fcl_node *nd)
{
    if (!fcl_net_needs_input_gradient(net, nd, 0))
        return FCL_SUCCESS;
    fcl_view x = fcl_net_input_view(net, nd, 0), y = fcl_net_output_view(net, (int)(nd - net->model->nodes));
    return FCL_LAUNCH(net, &k_softmax_backward, (size_t)net->batch * nd->in.h * nd->in.w, FCL_M(net->dacts),
                      FCL_I(x.off), FCL_I(x.ns), FCL_M(net->dacts), FCL_I(y.off), FCL_I(y.ns), FCL_M(net->acts),
                      FCL_I(y.off), FCL_I(y.ns), SOFTMAX_SIZES(nd));
}

static void softmax_reference(const fcl_node *nd, int n, const double *const *in, const double *p, double *y)
{
    const double *x = in[0];
    (void)p;
    const int C = nd->in.c, HW = nd->in.h * nd->in.w;
    for (int i = 0; i < n; i++)
        for (int q = 0; q < HW; q++) {
            const double *xp = x + (size_t)i * C * HW + q;
            double m = xp[0], sum = 0;
            for (int c = 1; c < C; c++)
                m = fmax(m, xp[(size_t)c * HW]);
            for (int c = 0; c < C; c++)
                sum += exp(xp[(size_t)c * HW] - m);
            for (int c = 0; c < C; c++)
                y[(size_t)i * C * HW + (size_t)c * HW + q] = exp(xp[(size_t)c * HW] - m) / sum;
        }
}

const fcl_op_def fcl_op_softmax = {
    .name = "softmax",
    .infer = fcl_infer_same,
    .params = fcl_no_params,
    .macs = fcl_no_macs,
    .forward = softmax_forward,
    .backward = softmax_backward,
    .reference = softmax_reference,
};
