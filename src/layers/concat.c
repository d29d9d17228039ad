/* Channel concatenation (inception outputs). No kernel: the planner places every
 * branch's output at its channel offset inside this node's tensor, so forward and
 * backward are free. The parser checks that the inputs agree in height and width. */
#include "graph/graph.h"

#include <string.h>

static fcl_status concat_infer(fcl_node *nd, char *why, size_t why_size)
{
    (void)why, (void)why_size;
    nd->out = (fcl_shape){nd->channels, nd->in.h, nd->in.w};
    return FCL_SUCCESS;
}

static fcl_status nothing(fcl_net *net, const fcl_node *nd)
{
    (void)net, (void)nd;
    return FCL_SUCCESS;
}

/* The reference executor gathers the inputs itself (see fcl_model_reference_forward). */
const fcl_op_def fcl_op_concat = {
    .name = "concat",
    .infer = concat_infer,
    .params = fcl_no_params,
    .macs = fcl_no_macs,
    .forward = nothing,
    .backward = nothing,
};

/* The network input: the host writes it, nothing runs. */
const fcl_op_def fcl_op_input = {
    .name = "input",
    .infer = fcl_infer_same,
    .params = fcl_no_params,
    .macs = fcl_no_macs,
    .forward = nothing,
    .backward = nothing,
};
