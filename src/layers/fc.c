/* Fully connected over the flattened input: (N, C*H*W) -> (N, units, 1, 1), fused ReLU. */
#include "graph/graph.h"

#include <stdio.h>

static fcl_status fc_infer(fcl_node *nd, char *why, size_t why_size)
{
    if (nd->channels < 1) {
        snprintf(why, why_size, "fc needs c= (units) >= 1");
        return FCL_ERR_PARSE;
    }
    nd->out = (fcl_shape){nd->channels, 1, 1};
    return FCL_SUCCESS;
}

static int fc_params(const fcl_node *nd, fcl_param_desc out[FCL_MAX_PARAMS])
{
    int in = fcl_shape_size(nd->in);
    out[0] = (fcl_param_desc){"weight", (size_t)nd->channels * in, {nd->channels, in}, 2, true};
    out[1] = (fcl_param_desc){"bias", (size_t)nd->channels, {nd->channels}, 1, true};
    return 2;
}

static uint64_t fc_macs(const fcl_node *nd) { return (uint64_t)nd->channels * fcl_shape_size(nd->in); }

static fcl_status fc_forward(fcl_net *net, const fcl_node *nd)
{
    fcl_view x = fcl_net_input_view(net, nd, 0), y = fcl_net_output_view(net, nd - net->model->nodes);
    int in = fcl_shape_size(nd->in);
    return FCL_LAUNCH(net, FCL_K_FC_FORWARD, (size_t)net->batch * nd->channels, FCL_M(net->acts), FCL_I(y.off),
                      FCL_I(y.ns), FCL_M(net->acts), FCL_I(x.off), FCL_I(x.ns), FCL_M(net->params),
                      FCL_I(nd->param_off), FCL_I(nd->param_off + fc_macs(nd)), FCL_I(net->batch), FCL_I(in),
                      FCL_I(nd->channels), FCL_I(nd->relu));
}

static fcl_status fc_backward(fcl_net *net, const fcl_node *nd)
{
    fcl_view x = fcl_net_input_view(net, nd, 0), y = fcl_net_output_view(net, nd - net->model->nodes);
    int in = fcl_shape_size(nd->in);
    fcl_status st = FCL_LAUNCH(net, FCL_K_FC_BACKWARD_DATA, (size_t)net->batch * in, FCL_M(net->dacts),
                               FCL_I(x.off), FCL_I(x.ns), FCL_M(net->dacts), FCL_I(y.off), FCL_I(y.ns),
                               FCL_M(net->params), FCL_I(nd->param_off), FCL_I(net->batch), FCL_I(in),
                               FCL_I(nd->channels));
    if (st != FCL_SUCCESS)
        return st;
    return FCL_LAUNCH(net, FCL_K_FC_BACKWARD_WEIGHTS, fc_macs(nd) + nd->channels, FCL_M(net->grads),
                      FCL_I(nd->param_off), FCL_I(nd->param_off + fc_macs(nd)), FCL_M(net->dacts), FCL_I(y.off),
                      FCL_I(y.ns), FCL_M(net->acts), FCL_I(x.off), FCL_I(x.ns), FCL_I(net->batch), FCL_I(in),
                      FCL_I(nd->channels));
}

static void fc_reference(const fcl_node *nd, int n, const double *x, const double *p, double *y)
{
    const int in = fcl_shape_size(nd->in), O = nd->channels;
    const double *b = p + (size_t)O * in;
    for (int i = 0; i < n; i++)
        for (int o = 0; o < O; o++) {
            double acc = b[o];
            for (int j = 0; j < in; j++)
                acc += x[(size_t)i * in + j] * p[(size_t)o * in + j];
            y[(size_t)i * O + o] = nd->relu && acc < 0 ? 0 : acc;
        }
}

const fcl_op_def fcl_op_fc = {
    .name = "fc",
    .infer = fc_infer,
    .params = fc_params,
    .macs = fc_macs,
    .forward = fc_forward,
    .backward = fc_backward,
    .reference = fc_reference,
};
