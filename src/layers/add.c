/* Element-wise sum of two or more inputs of one shape, the last one times scale=, with
 * an optional fused ReLU: the residual connection, out = relu(x + s * f(x)), of
 * Inception-ResNet and ResNet. Forward folds the inputs pairwise into the output;
 * backward adds dy (times the scale, for the last input) into each input's gradient. */
#include "graph/graph.h"

#include <stdio.h>

static fcl_status add_infer(fcl_node *nd, char *why, size_t why_size)
{
    for (int j = 1; j < nd->n_inputs; j++)
        if (nd->ins[j].c != nd->in.c || nd->ins[j].h != nd->in.h || nd->ins[j].w != nd->in.w) {
            snprintf(why, why_size, "cannot add input %d (%dx%dx%d) to input 1 (%dx%dx%d): shapes differ", j + 1,
                     nd->ins[j].h, nd->ins[j].w, nd->ins[j].c, nd->in.h, nd->in.w, nd->in.c);
            return FCL_ERR_SHAPE;
        }
    nd->out = nd->in;
    return FCL_SUCCESS;
}

static float input_scale(const fcl_node *nd, int j) { return j == nd->n_inputs - 1 ? nd->scale : 1.0f; }

static fcl_status add_forward(fcl_net *net, const fcl_node *nd)
{
    const fcl_view y = fcl_net_output_view(net, (int)(nd - net->model->nodes));
    const int M = fcl_shape_size(nd->out), last = nd->n_inputs - 1;
    fcl_status st = FCL_SUCCESS;
    for (int j = 1; j <= last && st == FCL_SUCCESS; j++) {
        const fcl_view a = j == 1 ? fcl_net_input_view(net, nd, 0) : y, b = fcl_net_input_view(net, nd, j);
        st = fcl_net_add_views(net, y, a, &b, input_scale(nd, j), nd->relu && j == last, M);
    }
    return st;
}

static fcl_status add_backward(fcl_net *net, const fcl_node *nd)
{
    const fcl_view dy = fcl_net_output_view(net, (int)(nd - net->model->nodes));
    const int M = fcl_shape_size(nd->out);
    fcl_status st = FCL_SUCCESS;
    for (int j = 0; j < nd->n_inputs && st == FCL_SUCCESS; j++)
        if (fcl_net_needs_input_gradient(net, nd, j))
            st = fcl_net_accumulate_view(net, fcl_net_input_view(net, nd, j), dy, input_scale(nd, j), M);
    return st;
}

static void add_reference(const fcl_node *nd, int n, const double *const *in, const double *p, double *y)
{
    (void)p;
    const size_t count = (size_t)n * fcl_shape_size(nd->out);
    for (size_t i = 0; i < count; i++) {
        double v = 0;
        for (int j = 0; j < nd->n_inputs; j++)
            v += input_scale(nd, j) * in[j][i];
        y[i] = nd->relu && v < 0 ? 0 : v;
    }
}

const fcl_op_def fcl_op_add = {
    .name = "add",
    .min_inputs = 2,
    .max_inputs = FCL_MAX_INPUTS,
    .infer = add_infer,
    .params = fcl_no_params,
    .macs = fcl_no_macs,
    .forward = add_forward,
    .backward = add_backward,
    .reference = add_reference,
};
