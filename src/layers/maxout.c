/* Maxout over groups of g consecutive channels (NN1's fc1/fc2 use g = 2). */
#include "graph/graph.h"

#include <math.h>

#include <stdio.h>

/* The kernels this file launches. */
static const fcl_kernel_def k_maxout_forward = {"maxout.cl", "maxout_forward"};
static const fcl_kernel_def k_maxout_backward = {"maxout.cl", "maxout_backward"};

static fcl_status maxout_infer(fcl_node *nd, char *why, size_t why_size)
{
    if (nd->group_size < 2 || nd->in.c % nd->group_size != 0) {
        snprintf(why, why_size, "maxout g=%d must be >= 2 and divide the %d input channels", nd->group_size, nd->in.c);
        return FCL_ERR_SHAPE;
    }
    nd->out = (fcl_shape){nd->in.c / nd->group_size, nd->in.h, nd->in.w};
    return FCL_SUCCESS;
}

#define MAXOUT_SIZES(nd) FCL_I(net->batch), FCL_I((nd)->out.c), FCL_I((nd)->in.h * (nd)->in.w), FCL_I((nd)->group_size)

static fcl_status maxout_forward(fcl_net *net, const fcl_node *nd)
{
    fcl_view x = fcl_net_input_view(net, nd, 0), y = fcl_net_output_view(net, nd - net->model->nodes);
    return FCL_LAUNCH(net, &k_maxout_forward, (size_t)net->batch * fcl_shape_size(nd->out), FCL_M(net->acts),
                      FCL_I(y.off), FCL_I(y.ns), FCL_M(net->acts), FCL_I(x.off), FCL_I(x.ns), MAXOUT_SIZES(nd));
}

static fcl_status maxout_backward(fcl_net *net, const fcl_node *nd)
{
    fcl_view x = fcl_net_input_view(net, nd, 0), y = fcl_net_output_view(net, nd - net->model->nodes);
    return FCL_LAUNCH(net, &k_maxout_backward, (size_t)net->batch * fcl_shape_size(nd->in), FCL_M(net->dacts),
                      FCL_I(x.off), FCL_I(x.ns), FCL_M(net->dacts), FCL_I(y.off), FCL_I(y.ns), FCL_M(net->acts),
                      FCL_I(x.off), FCL_I(x.ns), MAXOUT_SIZES(nd));
}

static void maxout_reference(const fcl_node *nd, int n, const double *const *in, const double *p, double *y)
{
    const double *x = in[0];
    (void)p;
    const int C = nd->out.c, HW = nd->in.h * nd->in.w, G = nd->group_size;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < C; j++)
            for (int q = 0; q < HW; q++) {
                const double *xp = x + ((size_t)i * C * G + (size_t)j * G) * HW + q;
                double m = xp[0];
                for (int t = 1; t < G; t++)
                    m = isnan(m) || xp[(size_t)t * HW] <= m ? m : xp[(size_t)t * HW];
                y[((size_t)i * C + j) * HW + q] = m;
            }
}

const fcl_op_def fcl_op_maxout = {
    .name = "maxout",
    .infer = maxout_infer,
    .params = fcl_no_params,
    .macs = fcl_no_macs,
    .forward = maxout_forward,
    .backward = maxout_backward,
    .reference = maxout_reference,
};
