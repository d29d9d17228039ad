/* 3x3 stride-1 convolutions forward by Winograd's F(2x2, 3x3) (cl/winograd.cl has the
 * arithmetic and layouts): transform the weights and the input tiles into the
 * workspace, run the 16 products as one batched GEMM through the net's GEMM context
 * (tuned like any other), transform back. Backward stays conv.c's (the same
 * convolution; its gradients do not depend on how the forward was computed). */
#include "graph/graph.h"

static const fcl_kernel_def k_weights = {"winograd.cl", "winograd_weights"};
static const fcl_kernel_def k_input = {"winograd.cl", "winograd_input"};
static const fcl_kernel_def k_output = {"winograd.cl", "winograd_output"};

bool fcl_winograd_fits(const fcl_node *nd)
{
    return nd->op == FCL_OP_CONV && nd->kh == 3 && nd->kw == 3 && nd->sh == 1 && nd->sw == 1 && nd->groups == 1;
}

/* 2x2 output tiles per image, down and across. */
static int tiles_down(const fcl_node *nd) { return (nd->out.h + 1) / 2; }
static int tiles_across(const fcl_node *nd) { return (nd->out.w + 1) / 2; }

/* The transformed weights U, input tiles V and products Z, one after another. */
typedef struct winograd_layout {
    size_t u, v, z, floats;
    int tiles; /* P: the batch's */
} winograd_layout;

static winograd_layout layout(const fcl_node *nd, int batch)
{
    winograd_layout l;
    const size_t K = (size_t)nd->out.c, C = (size_t)nd->in.c;
    l.tiles = batch * tiles_down(nd) * tiles_across(nd);
    l.u = 0;
    l.v = l.u + 16 * K * C;
    l.z = l.v + 16 * C * (size_t)l.tiles;
    l.floats = l.z + 16 * K * (size_t)l.tiles;
    return l;
}

size_t fcl_winograd_workspace(const fcl_node *nd, int batch) { return layout(nd, batch).floats; }

fcl_status fcl_winograd_forward(fcl_net *net, const fcl_node *nd, fcl_view x, fcl_view y)
{
    const winograd_layout l = layout(nd, net->batch);
    const int K = nd->out.c, C = nd->in.c, P = l.tiles;
    fcl_status st = FCL_LAUNCH(net, &k_weights, (size_t)K * C, FCL_M(net->work), FCL_I(l.u), FCL_M(net->params),
                               FCL_I(nd->param_off), FCL_I(K), FCL_I(C));
    if (st == FCL_SUCCESS)
        st = FCL_LAUNCH(net, &k_input, (size_t)C * P, FCL_M(net->work), FCL_I(l.v), FCL_M(net->acts), FCL_I(x.off),
                        FCL_I(x.ns), FCL_I(net->batch), FCL_I(C), FCL_I(nd->in.h), FCL_I(nd->in.w),
                        FCL_I(tiles_down(nd)), FCL_I(tiles_across(nd)), FCL_I(nd->ph), FCL_I(nd->pw));
    /* Z[xi]^T (P x K) = V[xi]^T (P x C) U[xi]^T (C x K), xi = 0..15: the tiles as the
     * tall side, as conv.c's products have the positions (the CPU kernel's register
     * tiles and packed B want that shape), stored back as Z[xi] (K x P). */
    const fcl_gemm g = {.M = P, .N = K, .K = C, .chunks = 1, .batch = 16,
                        .a = net->work, .a_off = (int)l.v, .lda = P, .a_batch = C * P, .trans_a = true,
                        .b = net->work, .b_off = (int)l.u, .ldb = C, .b_batch = K * C, .trans_b = true,
                        .c = net->work, .c_off = (int)l.z, .ldc = P, .c_batch = K * P, .trans_c = true};
    if (st == FCL_SUCCESS)
        st = fcl_net_gemm(net, &g);
    if (st == FCL_SUCCESS)
        st = FCL_LAUNCH(net, &k_output, (size_t)K * P, FCL_M(net->acts), FCL_I(y.off), FCL_I(y.ns),
                        FCL_M(net->work), FCL_I(l.z), FCL_M(net->params),
                        FCL_I(nd->param_off + fcl_conv_weight_count(nd)), FCL_I(nd->bias), FCL_I(nd->relu),
                        FCL_I(net->batch), FCL_I(K), FCL_I(nd->out.h), FCL_I(nd->out.w), FCL_I(tiles_down(nd)),
                        FCL_I(tiles_across(nd)));
    return st;
}
