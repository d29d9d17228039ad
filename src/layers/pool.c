/* Pooling: max, L2 (sqrt of the sum of squares) and average, over KxK windows with
 * stride and padding; `global` pooling is a window the size of the input. Padding is
 * never counted (average divides by the window's elements inside the input). With
 * ceil=1 the output size rounds up (PyTorch's ceil_mode, which MTCNN pools with): the
 * last window hangs over the edge and pools what lies inside, as the kernels clip
 * every window. */
#include "graph/graph.h"

#include <math.h>
#include <stdio.h>

/* The kernels this file launches. */
static const fcl_kernel_def k_pool_forward = {"pool.cl", "pool_forward"};
static const fcl_kernel_def k_pool_backward = {"pool.cl", "pool_backward"};

static int mode_of(fcl_op op) { return op == FCL_OP_MAXPOOL ? 0 : op == FCL_OP_L2POOL ? 1 : 2; }

static fcl_status pool_infer(fcl_node *nd, char *why, size_t why_size)
{
    if (nd->kh == 0 && nd->kw == 0) { /* global */
        nd->kh = nd->in.h;
        nd->kw = nd->in.w;
    }
    if (nd->sh != nd->sw || nd->ph != nd->pw) { /* cl/pool.cl takes one of each */
        snprintf(why, why_size, "pooling takes one stride and one padding for both axes (s=N, p=N)");
        return FCL_ERR_SHAPE;
    }
    /* A window wider than a (longer than one) input axis makes every output that
     * axis's global pool: a wrong k or a mistaken resolution, not a network. A 1-wide
     * axis is exempt: "same"-padded pools late in a network meet it legitimately. */
    if ((nd->in.h > 1 && nd->kh > nd->in.h) || (nd->in.w > 1 && nd->kw > nd->in.w)) {
        snprintf(why, why_size, "pooling window %dx%d is larger than its %dx%d input: use a smaller k, or global=1 for one value per channel",
                 nd->kh, nd->kw, nd->in.h, nd->in.w);
        return FCL_ERR_SHAPE;
    }
    fcl_status st = fcl_infer_window(nd, nd->in.c, why, why_size);
    if (st == FCL_SUCCESS && nd->ceil_mode) { /* PyTorch's rule: the last window starts inside the input */
        const int in[2] = {nd->in.h, nd->in.w}, k[2] = {nd->kh, nd->kw}, s[2] = {nd->sh, nd->sw}, p[2] = {nd->ph, nd->pw};
        int *out[2] = {&nd->out.h, &nd->out.w};
        for (int a = 0; a < 2; a++) {
            *out[a] = (in[a] + 2 * p[a] - k[a] + s[a] - 1) / s[a] + 1;
            if ((*out[a] - 1) * s[a] >= in[a] + p[a])
                (*out[a])--;
        }
    }
    return st;
}

#define POOL_SIZES(nd)                                                                                  \
    FCL_I(net->batch), FCL_I((nd)->in.c), FCL_I((nd)->in.h), FCL_I((nd)->in.w), FCL_I((nd)->out.h),   \
        FCL_I((nd)->out.w), FCL_I((nd)->kh), FCL_I((nd)->kw), FCL_I((nd)->sh), FCL_I((nd)->ph),  \
        FCL_I(mode_of((nd)->op))

static fcl_status pool_forward(fcl_net *net, const fcl_node *nd)
{
    fcl_view x = fcl_net_input_view(net, nd, 0), y = fcl_net_output_view(net, nd - net->model->nodes);
    return FCL_LAUNCH(net, &k_pool_forward, (size_t)net->batch * nd->out.c * nd->out.h, FCL_M(net->acts),
                      FCL_I(y.off), FCL_I(y.ns), FCL_M(net->acts), FCL_I(x.off), FCL_I(x.ns), POOL_SIZES(nd));
}

static fcl_status pool_backward(fcl_net *net, const fcl_node *nd)
{
    fcl_view x = fcl_net_input_view(net, nd, 0), y = fcl_net_output_view(net, nd - net->model->nodes);
    const int row_step = (nd->kh + nd->sh - 1) / nd->sh; /* cl/pool.cl: phases that never overlap */
    fcl_status st = FCL_SUCCESS;
    for (int phase = 0; phase < row_step && phase < nd->out.h && st == FCL_SUCCESS; phase++) {
        size_t rows = (size_t)(nd->out.h - phase + row_step - 1) / row_step;
        st = FCL_LAUNCH(net, &k_pool_backward, (size_t)net->batch * nd->in.c * rows, FCL_M(net->dacts),
                        FCL_I(x.off), FCL_I(x.ns), FCL_M(net->dacts), FCL_I(y.off), FCL_I(y.ns), FCL_M(net->acts),
                        FCL_I(x.off), FCL_I(x.ns), FCL_M(net->acts), FCL_I(y.off), FCL_I(y.ns), POOL_SIZES(nd),
                        FCL_I(phase));
    }
    return st;
}

static void pool_reference(const fcl_node *nd, int n, const double *const *in, const double *p, double *y)
{
    (void)p;
    const double *x = in[0];
    const int C = nd->in.c, H = nd->in.h, W = nd->in.w, OH = nd->out.h, OW = nd->out.w, mode = mode_of(nd->op);
    for (int i = 0; i < n * C; i++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                int y0 = oy * nd->sh - nd->ph, x0 = ox * nd->sw - nd->pw;
                double acc = mode == 0 ? -INFINITY : 0;
                int count = 0;
                for (int iy = y0; iy < y0 + nd->kh; iy++)
                    for (int ix = x0; ix < x0 + nd->kw; ix++) {
                        if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                            continue;
                        double v = x[((size_t)i * H + iy) * W + ix];
                        acc = mode == 0 ? (isnan(acc) || v <= acc ? acc : v) : mode == 1 ? acc + v * v : acc + v;
                        count++;
                    }
                y[((size_t)i * OH + oy) * OW + ox] = mode == 1 ? sqrt(acc) : mode == 2 ? acc / count : acc;
            }
}

#define POOL_OP(op_name)                                                                                 \
    {                                                                                                    \
        .name = op_name, .infer = pool_infer, .params = fcl_no_params, .macs = fcl_no_macs,                      \
        .forward = pool_forward, .backward = pool_backward, .reference = pool_reference,                 \
    }
const fcl_op_def fcl_op_maxpool = POOL_OP("maxpool");
const fcl_op_def fcl_op_l2pool = POOL_OP("l2pool");
const fcl_op_def fcl_op_avgpool = POOL_OP("avgpool");
