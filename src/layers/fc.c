/* Fully connected over the flattened input: (N, C*H*W) -> (N, units, 1, 1), optional
 * bias, fused ReLU. */
#include "graph/graph.h"

#include <stdio.h>

/* The kernels this file launches. */
static const fcl_kernel_def k_transpose = {"im2col.cl", "transpose"};

fcl_status fcl_infer_units(fcl_node *nd, char *why, size_t why_size)
{
    if (nd->channels < 1) {
        snprintf(why, why_size, "%s needs c= (units) >= 1", fcl_ops[nd->op]->name);
        return FCL_ERR_PARSE;
    }
    nd->out = (fcl_shape){nd->channels, 1, 1};
    return FCL_SUCCESS;
}

static int fc_params(const fcl_node *nd, fcl_param_desc out[FCL_MAX_PARAMS])
{
    int in = fcl_shape_size(nd->in);
    out[0] = (fcl_param_desc){"weight", (size_t)nd->channels * in, {nd->channels, in}, 2, true, FCL_INIT_AUTO};
    out[1] = (fcl_param_desc){"bias", (size_t)nd->channels, {nd->channels}, 1, true, FCL_INIT_AUTO};
    return nd->bias ? 2 : 1;
}

static uint64_t fc_macs(const fcl_node *nd) { return (uint64_t)nd->channels * fcl_shape_size(nd->in); }

/* As GEMMs over the batch. Forward: Y^T (O x N) = W (O x I) X^T, so that the GEMM
 * reads the weights as they are stored (transposing them cost more than the product
 * at small batches); X^T and Y^T live in the workspace, and the bias and ReLU run in
 * the GEMM's epilogue. Backward: dX += dY W; dW += dY^T X. */
static size_t fc_workspace(const fcl_net *net, const fcl_node *nd, int batch, bool training)
{
    (void)net, (void)training;
    return (size_t)batch * ((size_t)fcl_shape_size(nd->in) + (size_t)nd->channels);
}

static fcl_status fc_forward(fcl_net *net, const fcl_node *nd)
{
    fcl_view x = fcl_net_input_view(net, nd, 0), y = fcl_net_output_view(net, nd - net->model->nodes);
    const int in = fcl_shape_size(nd->in), O = nd->channels, N = net->batch, yt_off = in * N;
    fcl_status st = FCL_LAUNCH(net, &k_transpose, (size_t)N * in, FCL_M(net->work), FCL_I(0), FCL_I(N),
                               FCL_M(net->acts), FCL_I(x.off), FCL_I(x.ns), FCL_I(N), FCL_I(in));
    fcl_gemm g = {.M = O, .N = N, .K = in, .chunks = 1, .batch = 1,
                  .a = net->params, .a_off = (int)nd->param_off, .lda = in,
                  .b = net->work, .ldb = N,
                  .c = net->work, .c_off = yt_off, .ldc = N,
                  .relu = nd->relu, .bias_mode = nd->bias ? 1 : 0, .bias = net->params, .bias_off = (int)(nd->param_off + fc_macs(nd))};
    if (st == FCL_SUCCESS)
        st = fcl_net_gemm(net, &g);
    if (st == FCL_SUCCESS)
        st = FCL_LAUNCH(net, &k_transpose, (size_t)O * N, FCL_M(net->acts), FCL_I(y.off), FCL_I(y.ns),
                        FCL_M(net->work), FCL_I(yt_off), FCL_I(N), FCL_I(O), FCL_I(N));
    return st;
}

static fcl_status fc_backward(fcl_net *net, const fcl_node *nd)
{
    fcl_view x = fcl_net_input_view(net, nd, 0), y = fcl_net_output_view(net, nd - net->model->nodes);
    const int in = fcl_shape_size(nd->in), O = nd->channels;
    fcl_gemm gx = {.M = net->batch, .N = in, .K = O, .chunks = 1, .batch = 1,
                   .a = net->dacts, .a_off = y.off, .lda = y.ns,
                   .b = net->params, .b_off = (int)nd->param_off, .ldb = in,
                   .c = net->dacts, .c_off = x.off, .ldc = x.ns, .accumulate = true};
    fcl_gemm gw = {.M = O, .N = in, .K = net->batch, .chunks = 1, .batch = 1, .trans_a = true,
                   .a = net->dacts, .a_off = y.off, .lda = y.ns,
                   .b = net->acts, .b_off = x.off, .ldb = x.ns,
                   .c = net->grads, .c_off = (int)nd->param_off, .ldc = in, .accumulate = true};
    fcl_status st = fcl_net_needs_input_gradient(net, nd, 0) ? fcl_net_gemm(net, &gx) : FCL_SUCCESS;
    if (st == FCL_SUCCESS)
        st = fcl_net_gemm(net, &gw);
    if (st == FCL_SUCCESS && nd->bias)
        st = fcl_net_bias_backward(net, (int)(nd->param_off + fc_macs(nd)), y, O, 1);
    return st;
}

static void fc_reference(const fcl_node *nd, int n, const double *const *inputs, const double *p, double *y)
{
    const double *x = inputs[0];
    const int in = fcl_shape_size(nd->in), O = nd->channels;
    const double *b = p + (size_t)O * in;
    for (int i = 0; i < n; i++)
        for (int o = 0; o < O; o++) {
            double acc = nd->bias ? b[o] : 0.0;
            for (int j = 0; j < in; j++)
                acc += x[(size_t)i * in + j] * p[(size_t)o * in + j];
            y[(size_t)i * O + o] = nd->relu && acc < 0 ? 0 : acc;
        }
}

const fcl_op_def fcl_op_fc = {
    .name = "fc",
    .infer = fcl_infer_units,
    .params = fc_params,
    .macs = fc_macs,
    .forward = fc_forward,
    .backward = fc_backward,
    .reference = fc_reference,
    .workspace = fc_workspace,
};
