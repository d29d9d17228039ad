/* Channel concatenation (inception outputs, `concat NAME in=a,b,...`). Where it can, the
 * planner places an input's output at its channel offset inside this node's tensor, so
 * forward and backward cost nothing (src/graph/net.c, assign_tensors); an input it
 * cannot place so (the model's input, another concat, an output that is already a
 * slice elsewhere) is copied in forward and its gradient added back in backward. */
#include "graph/graph.h"

#include <stdio.h>
#include <string.h>

static fcl_status concat_infer(fcl_node *nd, char *why, size_t why_size)
{
    int channels = 0;
    for (int j = 0; j < nd->n_inputs; j++) {
        if (nd->ins[j].h != nd->in.h || nd->ins[j].w != nd->in.w) {
            snprintf(why, why_size, "cannot concatenate input %d (%dx%d) with input 1 (%dx%d): sizes differ", j + 1,
                     nd->ins[j].h, nd->ins[j].w, nd->in.h, nd->in.w);
            return FCL_ERR_SHAPE;
        }
        channels += nd->ins[j].c;
    }
    nd->channels = channels;
    nd->out = (fcl_shape){channels, nd->in.h, nd->in.w};
    return FCL_SUCCESS;
}

/* Input b's channel slice of the output, and whether the input already is that slice. */
static bool in_place(const fcl_net *net, const fcl_node *nd, int b, fcl_view *slice)
{
    const fcl_node *nodes = net->model->nodes, *src = &nodes[nd->inputs[b]];
    int c = 0;
    for (int j = 0; j < b; j++)
        c += nodes[nd->inputs[j]].out.c;
    const fcl_view y = fcl_net_output_view(net, (int)(nd - nodes));
    *slice = (fcl_view){y.off + c * nd->out.h * nd->out.w, y.ns};
    return src->tensor == nd->tensor && src->c_start == nd->c_start + c;
}

static fcl_status concat_forward(fcl_net *net, const fcl_node *nd)
{
    fcl_status st = FCL_SUCCESS;
    for (int b = 0; b < nd->n_inputs && st == FCL_SUCCESS; b++) {
        fcl_view slice;
        if (!in_place(net, nd, b, &slice))
            st = fcl_net_add_views(net, slice, fcl_net_input_view(net, nd, b), NULL, 1.0f, false,
                                   fcl_shape_size(nd->ins[b]));
    }
    return st;
}

static fcl_status concat_backward(fcl_net *net, const fcl_node *nd)
{
    fcl_status st = FCL_SUCCESS;
    for (int b = 0; b < nd->n_inputs && st == FCL_SUCCESS; b++) {
        fcl_view slice;
        if (!in_place(net, nd, b, &slice) && fcl_net_needs_input_gradient(net, nd, b))
            st = fcl_net_accumulate_view(net, fcl_net_input_view(net, nd, b), slice, 1.0f,
                                         fcl_shape_size(nd->ins[b]));
    }
    return st;
}

static void concat_reference(const fcl_node *nd, int n, const double *const *in, const double *p, double *y)
{
    (void)p;
    const size_t plane = (size_t)nd->out.h * nd->out.w;
    for (int s = 0; s < n; s++)
        for (int b = 0, c = 0; b < nd->n_inputs; c += nd->ins[b].c, b++) {
            const size_t count = (size_t)nd->ins[b].c * plane;
            memcpy(y + (size_t)s * nd->out.c * plane + (size_t)c * plane, in[b] + (size_t)s * count,
                   count * sizeof(double));
        }
}

const fcl_op_def fcl_op_concat = {
    .name = "concat",
    .min_inputs = 1,
    .max_inputs = FCL_MAX_INPUTS,
    .infer = concat_infer,
    .params = fcl_no_params,
    .macs = fcl_no_macs,
    .forward = concat_forward,
    .backward = concat_backward,
    .reference = concat_reference,
};

static fcl_status nothing(fcl_net *net, const fcl_node *nd)
{
    (void)net, (void)nd;
    return FCL_SUCCESS;
}

/* The network input: the host writes it, nothing runs. */
const fcl_op_def fcl_op_input = {
    .name = "input",
    .infer = fcl_infer_same,
    .params = fcl_no_params,
    .macs = fcl_no_macs,
    .forward = nothing,
    .backward = nothing,
};
