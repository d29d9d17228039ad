/* PReLU (He et al. 2015): y = x for x > 0, a_c x otherwise, one learned slope per
 * channel (PyTorch's nn.PReLU(C), MTCNN's activation). Parameter: weight (C), 0.25 at
 * initialisation as in PyTorch. */
#include "graph/graph.h"

/* The kernels this file launches. */
static const fcl_kernel_def k_prelu_forward = {"activation.cl", "prelu_forward"};
static const fcl_kernel_def k_prelu_backward = {"activation.cl", "prelu_backward"};
static const fcl_kernel_def k_prelu_backward_slope = {"activation.cl", "prelu_backward_slope"};

static int prelu_params(const fcl_node *nd, fcl_param_desc out[FCL_MAX_PARAMS])
{
    out[0] = (fcl_param_desc){"weight", (size_t)nd->in.c, {nd->in.c}, 1, true, FCL_INIT_PRELU};
    return 1;
}

#define PRELU_SIZES(nd) FCL_I(net->batch), FCL_I((nd)->in.c), FCL_I((nd)->in.h * (nd)->in.w)

static fcl_status prelu_forward(fcl_net *net, const fcl_node *nd)
{
    fcl_view x = fcl_net_input_view(net, nd, 0), y = fcl_net_output_view(net, (int)(nd - net->model->nodes));
    /* 64 work-items a group: along the plane, or over several channels when the plane is
     * smaller (a dense layer's 1 x 1), so few of them idle. */
    enum { GROUP = 64 };
    const size_t hw = (size_t)nd->in.h * nd->in.w, rows = (size_t)net->batch * nd->in.c;
    size_t lx = 1;
    while (lx < hw && lx < GROUP)
        lx *= 2;
    const size_t ly = GROUP / lx;
    const size_t global[2] = {(hw + lx - 1) / lx * lx, (rows + ly - 1) / ly * ly}, local[2] = {lx, ly};
    return fcl_enqueue(&net->launch, &k_prelu_forward, NULL, 2, global, local,
                       FCL_ARGS(FCL_M(net->acts), FCL_I(y.off), FCL_I(y.ns), FCL_M(net->acts), FCL_I(x.off),
                                FCL_I(x.ns), FCL_M(net->params), FCL_I(nd->param_off), PRELU_SIZES(nd)));
}

static fcl_status prelu_backward(fcl_net *net, const fcl_node *nd)
{
    fcl_view x = fcl_net_input_view(net, nd, 0), y = fcl_net_output_view(net, (int)(nd - net->model->nodes));
    fcl_status st = FCL_LAUNCH(net, &k_prelu_backward_slope, (size_t)nd->in.c, FCL_M(net->grads),
                               FCL_I(nd->param_off), FCL_M(net->dacts), FCL_I(y.off), FCL_I(y.ns), FCL_M(net->acts),
                               FCL_I(x.off), FCL_I(x.ns), PRELU_SIZES(nd));
    if (st == FCL_SUCCESS && fcl_net_needs_input_gradient(net, nd, 0))
        st = FCL_LAUNCH(net, &k_prelu_backward, (size_t)net->batch * fcl_shape_size(nd->in), FCL_M(net->dacts),
                        FCL_I(x.off), FCL_I(x.ns), FCL_M(net->dacts), FCL_I(y.off), FCL_I(y.ns), FCL_M(net->acts),
                        FCL_I(x.off), FCL_I(x.ns), FCL_M(net->params), FCL_I(nd->param_off), PRELU_SIZES(nd));
    return st;
}

static void prelu_reference(const fcl_node *nd, int n, const double *const *in, const double *p, double *y)
{
    const double *x = in[0];
    const int C = nd->in.c, HW = nd->in.h * nd->in.w;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < C; c++)
            for (int q = 0; q < HW; q++) {
                const size_t at = ((size_t)i * C + c) * HW + q;
                y[at] = x[at] > 0 ? x[at] : p[c] * x[at];
            }
}

const fcl_op_def fcl_op_prelu = {
    .name = "prelu",
    .infer = fcl_infer_same,
    .params = prelu_params,
    .macs = fcl_no_macs,
    .forward = prelu_forward,
    .backward = prelu_backward,
    .reference = prelu_reference,
};
