/* Convolution: any KHxKW, stride and padding per axis, channel groups (depthwise when
 * there are as many as channels: src/layers/depthwise.c computes those), optional bias,
 * fused ReLU.  x (N,C,H,W) -> y (N,K,OH,OW). */
#include "graph/graph.h"

#include <limits.h>
#include <stdio.h>

/* The kernels this file launches. */
static const fcl_kernel_def k_im2col = {"im2col.cl", "im2col"};
static const fcl_kernel_def k_col2im = {"im2col.cl", "col2im"};

fcl_status fcl_infer_window(fcl_node *nd, int out_channels, char *why, size_t why_size)
{
    if (nd->kh < 1 || nd->kw < 1 || nd->sh < 1 || nd->sw < 1 || nd->ph < 0 || nd->pw < 0) {
        snprintf(why, why_size, "kernel, stride must be >= 1 and padding >= 0");
        return FCL_ERR_SHAPE;
    }
    if (nd->ph >= nd->kh || nd->pw >= nd->kw) {
        snprintf(why, why_size, "padding %dx%d must be smaller than the kernel %dx%d", nd->ph, nd->pw, nd->kh, nd->kw);
        return FCL_ERR_SHAPE;
    }
    if (nd->kh > nd->in.h + 2 * nd->ph || nd->kw > nd->in.w + 2 * nd->pw) {
        snprintf(why, why_size, "kernel %dx%d is larger than its padded input %dx%d", nd->kh, nd->kw,
                 nd->in.h + 2 * nd->ph, nd->in.w + 2 * nd->pw);
        return FCL_ERR_SHAPE;
    }
    nd->out.c = out_channels;
    nd->out.h = (nd->in.h + 2 * nd->ph - nd->kh) / nd->sh + 1;
    nd->out.w = (nd->in.w + 2 * nd->pw - nd->kw) / nd->sw + 1;
    return FCL_SUCCESS;
}

static fcl_status conv_infer(fcl_node *nd, char *why, size_t why_size)
{
    if (nd->channels < 1) {
        snprintf(why, why_size, "conv needs c= (output channels) >= 1");
        return FCL_ERR_PARSE;
    }
    if (nd->groups < 1 || nd->in.c % nd->groups != 0 || nd->channels % nd->groups != 0) {
        snprintf(why, why_size, "groups=%d must divide both the %d input and the %d output channels", nd->groups,
                 nd->in.c, nd->channels);
        return FCL_ERR_SHAPE;
    }
    return fcl_infer_window(nd, nd->channels, why, why_size);
}

/* Per group: input channels Cg, output channels Kg; the weight is (K, Cg, KH, KW) as
 * PyTorch's and ONNX's grouped convolutions store it. */
static int group_in(const fcl_node *nd) { return nd->in.c / nd->groups; }
static int group_out(const fcl_node *nd) { return nd->channels / nd->groups; }
size_t fcl_conv_weight_count(const fcl_node *nd) { return (size_t)nd->channels * group_in(nd) * nd->kh * nd->kw; }

static int conv_params(const fcl_node *nd, fcl_param_desc out[FCL_MAX_PARAMS])
{
    out[0] = (fcl_param_desc){"weight", fcl_conv_weight_count(nd), {nd->channels, group_in(nd), nd->kh, nd->kw},
                              4, true, FCL_INIT_AUTO};
    out[1] = (fcl_param_desc){"bias", (size_t)nd->channels, {nd->channels}, 1, true, FCL_INIT_AUTO};
    return nd->bias ? 2 : 1;
}

static uint64_t conv_macs(const fcl_node *nd)
{
    return (uint64_t)nd->out.h * nd->out.w * nd->out.c * group_in(nd) * nd->kh * nd->kw;
}

/* Convolution as one GEMM over the batch's output positions: rows are the N*Q positions
 * (image after image, Q = OH*OW), columns the output channels, K = R = C*KH*KW:
 *   Y^T (NQ x out.c) = columns (NQ x R) * W^T (R x out.c),
 * stored transposed into Y's (out.c x Q) per image. One tall product keeps the register
 * tiles full where per-image products of Q columns left a ragged edge on every image
 * (bench/RESULTS.md). The columns are unfolded position-major (cl/im2col.cl); a 1x1
 * stride-1 unpadded convolution reads its input as the columns, transposed in place. */
static bool pointwise(const fcl_node *nd)
{
    return nd->kh == 1 && nd->kw == 1 && nd->sh == 1 && nd->sw == 1 && nd->ph == 0 && nd->pw == 0;
}
static int rows(const fcl_node *nd) { return group_in(nd) * nd->kh * nd->kw; }
static int positions(const fcl_node *nd) { return nd->out.h * nd->out.w; }

/* Winograd where chosen and its workspace stays within the kernels' int offsets (a
 * larger batch runs the layer by im2col instead). */
static bool winograd(const fcl_net *net, const fcl_node *nd)
{
    return net->conv_way == FCL_CONV_WINOGRAD && fcl_winograd_fits(nd) &&
           fcl_winograd_workspace(nd, net->batch) <= (size_t)INT_MAX;
}

static size_t conv_workspace(const fcl_net *net, const fcl_node *nd, int batch, bool training)
{
    /* a pointwise convolution's columns are its input, in backward too */
    const size_t columns = pointwise(nd) || fcl_depthwise_fits(nd) ? 0 : (size_t)batch * rows(nd) * positions(nd);
    if (!winograd(net, nd))
        return columns;
    const size_t tiles = fcl_winograd_workspace(nd, batch); /* backward unfolds columns */
    return training && columns > tiles ? columns : tiles;
}

/* A convolution's geometry after the channel counts, as cl/im2col.cl takes it. */
#define WINDOW_ARGS(nd)                                                                                  \
    FCL_I((nd)->in.h), FCL_I((nd)->in.w), FCL_I((nd)->out.h), FCL_I((nd)->out.w), FCL_I((nd)->kh),       \
        FCL_I((nd)->kw), FCL_I((nd)->sh), FCL_I((nd)->sw), FCL_I((nd)->ph), FCL_I((nd)->pw)

/* Unfolds every image of x (one group's channels) into net->work: columns (N*Q x R, a
 * work-item per position). */
static fcl_status unfold(fcl_net *net, const fcl_node *nd, fcl_view x)
{
    return FCL_LAUNCH(net, &k_im2col, (size_t)net->batch * positions(nd), FCL_M(net->work), FCL_M(net->acts),
                      FCL_I(x.off), FCL_I(x.ns), FCL_I(net->batch), FCL_I(group_in(nd)), WINDOW_ARGS(nd));
}

/* Group g's slice of a view of the input (x) or output (y) channels. */
static fcl_view input_group(const fcl_node *nd, fcl_view x, int g)
{
    return (fcl_view){x.off + g * group_in(nd) * nd->in.h * nd->in.w, x.ns};
}
static fcl_view output_group(const fcl_node *nd, fcl_view y, int g)
{
    return (fcl_view){y.off + g * group_out(nd) * positions(nd), y.ns};
}

/* The columns as the product's A (rows the batch's positions, K = R): the unfolded ones
 * in net->work, or a pointwise convolution's input (channel planes of Q, one per image). */
static void columns_as_a(fcl_net *net, const fcl_node *nd, fcl_view x, fcl_gemm *g)
{
    if (pointwise(nd))
        g->a = net->acts, g->a_off = x.off, g->lda = positions(nd), g->a_seg = x.ns, g->trans_a = true;
    else
        g->a = net->work, g->a_off = 0, g->lda = rows(nd), g->a_seg = positions(nd) * rows(nd);
}

/* The same as B of a weight gradient (K = an image's Q positions, chunk by chunk). */
static void columns_as_b(fcl_net *net, const fcl_node *nd, fcl_view x, fcl_gemm *g)
{
    if (pointwise(nd))
        g->b = net->acts, g->b_off = x.off, g->ldb = positions(nd), g->b_chunk = x.ns, g->trans_b = true;
    else
        g->b = net->work, g->b_off = 0, g->ldb = rows(nd), g->b_chunk = positions(nd) * rows(nd);
}

/* The implicit GEMM (FACECL_CONV=implicit): per image, Y (out.c x Q) = W * columns read
 * from x in place. Its kernel takes one stride and padding and no groups. */
bool fcl_conv_implicit_fits(const fcl_node *nd)
{
    return nd->op == FCL_OP_CONV && nd->sh == nd->sw && nd->ph == nd->pw && nd->groups == 1;
}

static fcl_status forward_implicit(fcl_net *net, const fcl_node *nd, fcl_view x, fcl_view y)
{
    const int R = rows(nd), Q = positions(nd);
    const fcl_gemm g = {.M = nd->out.c, .N = Q, .K = R, .chunks = 1, .batch = net->batch,
                        .a = net->params, .a_off = (int)nd->param_off, .lda = R,
                        .b = net->acts, .b_off = x.off, .b_batch = x.ns,
                        .c = net->acts, .c_off = y.off, .ldc = Q, .c_batch = y.ns,
                        .relu = nd->relu, .bias_mode = nd->bias ? 1 : 0, .bias = net->params,
                        .bias_off = (int)(nd->param_off + fcl_conv_weight_count(nd))};
    const fcl_conv_geometry cv = {nd->in.h, nd->in.w, nd->out.w, nd->kh, nd->kw, nd->sh, nd->ph};
    return fcl_gemm_conv_run(net->gemm, &g, &cv);
}

/* Each group is its own product: Kg output channels from Cg input channels. */
static fcl_status conv_forward(fcl_net *net, const fcl_node *nd)
{
    fcl_view x = fcl_net_input_view(net, nd, 0), y = fcl_net_output_view(net, nd - net->model->nodes);
    const int R = rows(nd), Q = positions(nd), Kg = group_out(nd);
    if (fcl_depthwise_fits(nd))
        return fcl_depthwise_forward(net, nd, x, y);
    if (winograd(net, nd))
        return fcl_winograd_forward(net, nd, x, y);
    if (!pointwise(nd) && net->conv_way == FCL_CONV_IMPLICIT && fcl_conv_implicit_fits(nd))
        return forward_implicit(net, nd, x, y);
    fcl_status st = FCL_SUCCESS;
    for (int grp = 0; grp < nd->groups && st == FCL_SUCCESS; grp++) {
        const fcl_view xg = input_group(nd, x, grp), yg = output_group(nd, y, grp);
        fcl_gemm g = {.M = net->batch * Q, .N = Kg, .K = R, .chunks = 1, .batch = 1, .m_seg = Q,
                      .b = net->params, .b_off = (int)nd->param_off + grp * Kg * R, .ldb = R, .trans_b = true,
                      .c = net->acts, .c_off = yg.off, .ldc = Q, .c_seg = yg.ns, .trans_c = true,
                      .relu = nd->relu, .bias_mode = nd->bias ? 2 : 0, .bias = net->params,
                      .bias_off = (int)(nd->param_off + fcl_conv_weight_count(nd)) + grp * Kg};
        columns_as_a(net, nd, xg, &g);
        st = pointwise(nd) ? FCL_SUCCESS : unfold(net, nd, xg);
        if (st == FCL_SUCCESS)
            st = fcl_net_gemm(net, &g);
    }
    return st;
}

/* Group grp's input gradient: the columns' gradient (NQ x R) = dY^T W, folded back onto
 * the input; a pointwise convolution's is dx^T itself, added in place. */
static fcl_status input_gradient(fcl_net *net, const fcl_node *nd, fcl_view xg, fcl_view yg, int grp)
{
    const int R = rows(nd), Q = positions(nd), Kg = group_out(nd);
    fcl_gemm g = {.M = net->batch * Q, .N = R, .K = Kg, .chunks = 1, .batch = 1, .m_seg = Q,
                  .a = net->dacts, .a_off = yg.off, .lda = Q, .a_seg = yg.ns, .trans_a = true,
                  .b = net->params, .b_off = (int)nd->param_off + grp * Kg * R, .ldb = R,
                  .c = net->work, .c_off = 0, .ldc = R, .c_seg = Q * R};
    if (pointwise(nd))
        g.c = net->dacts, g.c_off = xg.off, g.ldc = Q, g.c_seg = xg.ns, g.trans_c = true, g.accumulate = true;
    fcl_status st = fcl_net_gemm(net, &g);
    if (st == FCL_SUCCESS && !pointwise(nd))
        st = FCL_LAUNCH(net, &k_col2im, (size_t)net->batch * nd->in.h * nd->in.w, FCL_M(net->dacts),
                        FCL_I(xg.off), FCL_I(xg.ns), FCL_M(net->work), FCL_I(net->batch), FCL_I(group_in(nd)),
                        WINDOW_ARGS(nd));
    return st;
}

static fcl_status conv_backward(fcl_net *net, const fcl_node *nd)
{
    fcl_view x = fcl_net_input_view(net, nd, 0), y = fcl_net_output_view(net, nd - net->model->nodes);
    const int R = rows(nd), Q = positions(nd), Kg = group_out(nd), w_off = (int)nd->param_off;
    const bool dx = fcl_net_needs_input_gradient(net, nd, 0);
    if (fcl_depthwise_fits(nd))
        return fcl_depthwise_backward(net, nd, x, y, dx);
    fcl_status st = FCL_SUCCESS;
    for (int grp = 0; grp < nd->groups && st == FCL_SUCCESS; grp++) {
        const fcl_view xg = input_group(nd, x, grp), yg = output_group(nd, y, grp);
        if (dx)
            st = input_gradient(net, nd, xg, yg, grp);
        /* dW += sum over images of dY (Kg x Q) * columns (Q x R): the batch is the
         * reduction's chunks; the columns are unfolded again (work held dx's meanwhile). */
        fcl_gemm gw = {.M = Kg, .N = R, .K = Q, .chunks = net->batch, .batch = 1,
                       .a = net->dacts, .a_off = yg.off, .lda = Q, .a_chunk = yg.ns,
                       .c = net->grads, .c_off = w_off + grp * Kg * R, .ldc = R, .accumulate = true};
        columns_as_b(net, nd, xg, &gw);
        if (st == FCL_SUCCESS && !pointwise(nd))
            st = unfold(net, nd, xg);
        if (st == FCL_SUCCESS)
            st = fcl_net_gemm(net, &gw);
    }
    if (st == FCL_SUCCESS && nd->bias)
        st = fcl_net_bias_backward(net, w_off + (int)fcl_conv_weight_count(nd), y, nd->out.c, Q);
    return st;
}

static void conv_reference(const fcl_node *nd, int n, const double *const *in, const double *p, double *y)
{
    const double *x = in[0];
    const int C = nd->in.c, H = nd->in.h, W = nd->in.w, K = nd->out.c, OH = nd->out.h, OW = nd->out.w;
    const int Cg = group_in(nd), Kg = group_out(nd);
    const double *w = p, *b = p + fcl_conv_weight_count(nd);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < K; k++)
            for (int oy = 0; oy < OH; oy++)
                for (int ox = 0; ox < OW; ox++) {
                    double acc = nd->bias ? b[k] : 0.0;
                    for (int cg = 0; cg < Cg; cg++)
                        for (int ky = 0; ky < nd->kh; ky++)
                            for (int kx = 0; kx < nd->kw; kx++) {
                                int c = k / Kg * Cg + cg;
                                int iy = oy * nd->sh - nd->ph + ky, ix = ox * nd->sw - nd->pw + kx;
                                if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                                    acc += x[((size_t)(i * C + c) * H + iy) * W + ix] *
                                           w[((size_t)(k * Cg + cg) * nd->kh + ky) * nd->kw + kx];
                            }
                    y[((size_t)(i * K + k) * OH + oy) * OW + ox] = nd->relu && acc < 0 ? 0 : acc;
                }
}

const fcl_op_def fcl_op_conv = {
    .name = "conv",
    .infer = conv_infer,
    .params = conv_params,
    .macs = conv_macs,
    .forward = conv_forward,
    .backward = conv_backward,
    .reference = conv_reference,
    .workspace = conv_workspace,
};
