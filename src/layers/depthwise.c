/* Depthwise convolutions (conv with groups = its input channels: one input channel a
 * group, M = out.c / in.c output channels each), computed directly by cl/depthwise.cl.
 * As GEMMs they were one product per group with K = KH*KW and M columns (src/layers/
 * conv.c's general path), a launch and an im2col per channel; here a pass is one launch
 * for the forward, one for the input gradient (no col2im) and one for the weights'. */
#include "graph/graph.h"

static const fcl_kernel_def k_forward = {"depthwise.cl", "depthwise_forward"};
static const fcl_kernel_def k_backward_input = {"depthwise.cl", "depthwise_backward_input"};
static const fcl_kernel_def k_backward_weight = {"grad_reduce.cl", "depthwise_backward_weight"};

bool fcl_depthwise_fits(const fcl_node *nd)
{
    return nd->op == FCL_OP_CONV && nd->groups > 1 && nd->groups == nd->in.c;
}

/* The geometry after the channel counts, as every kernel of cl/depthwise.cl takes it. */
#define DEPTHWISE_GEOMETRY(net, nd)                                                                            \
    FCL_I((net)->batch), FCL_I((nd)->in.c), FCL_I((nd)->channels / (nd)->in.c), FCL_I((nd)->in.h),             \
        FCL_I((nd)->in.w), FCL_I((nd)->out.h), FCL_I((nd)->out.w), FCL_I((nd)->kh), FCL_I((nd)->kw),          \
        FCL_I((nd)->sh), FCL_I((nd)->sw), FCL_I((nd)->ph), FCL_I((nd)->pw)

fcl_status fcl_depthwise_forward(fcl_net *net, const fcl_node *nd, fcl_view x, fcl_view y)
{
    const size_t outputs = (size_t)net->batch * nd->out.c * nd->out.h * nd->out.w;
    return FCL_LAUNCH(net, &k_forward, outputs, FCL_M(net->acts), FCL_I(y.off), FCL_I(y.ns), FCL_M(net->acts),
                      FCL_I(x.off), FCL_I(x.ns), FCL_M(net->params), FCL_I(nd->param_off), FCL_I(nd->bias),
                      FCL_I(nd->param_off + fcl_conv_weight_count(nd)), FCL_I(nd->relu), DEPTHWISE_GEOMETRY(net, nd));
}

fcl_status fcl_depthwise_backward(fcl_net *net, const fcl_node *nd, fcl_view x, fcl_view y, bool dx)
{
    const int w_off = (int)nd->param_off, Q = nd->out.h * nd->out.w;
    fcl_status st = FCL_SUCCESS;
    if (dx)
        st = FCL_LAUNCH(net, &k_backward_input, (size_t)net->batch * nd->in.c * nd->in.h * nd->in.w,
                        FCL_M(net->dacts), FCL_I(x.off), FCL_I(x.ns), FCL_M(net->dacts), FCL_I(y.off),
                        FCL_I(y.ns), FCL_M(net->params), FCL_I(w_off), DEPTHWISE_GEOMETRY(net, nd));
    /* A work-group per weight, reducing over the batch's positions. */
    const size_t weights = fcl_conv_weight_count(nd);
    const size_t local = fcl_net_reduction_local(net, weights, (size_t)net->batch * nd->out.h);
    const size_t global = weights * local;
    const fcl_arg args[] = {FCL_M(net->grads), FCL_I(w_off), FCL_M(net->dacts), FCL_I(y.off), FCL_I(y.ns),
                            FCL_M(net->acts), FCL_I(x.off), FCL_I(x.ns), DEPTHWISE_GEOMETRY(net, nd),
                            FCL_LOCAL(local * sizeof(cl_float))};
    if (st == FCL_SUCCESS)
        st = fcl_enqueue(&net->launch, &k_backward_weight, NULL, 1, &global, &local, args,
                         sizeof args / sizeof args[0]);
    if (st == FCL_SUCCESS && nd->bias)
        st = fcl_net_bias_backward(net, w_off + (int)weights, y, nd->out.c, Q);
    return st;
}
