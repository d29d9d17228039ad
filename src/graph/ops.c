/* The op table: one entry per fcl_op, each defined in its layer's file. */
#include "graph/graph.h"

#include <string.h>

extern const fcl_op_def fcl_op_input, fcl_op_conv, fcl_op_maxpool, fcl_op_l2pool, fcl_op_avgpool, fcl_op_lrn,
    fcl_op_fc, fcl_op_maxout, fcl_op_l2norm, fcl_op_batchnorm, fcl_op_concat, fcl_op_dropout, fcl_op_add, fcl_op_prelu,
    fcl_op_cosine, fcl_op_softmax;

const fcl_op_def *const fcl_ops[FCL_OP_COUNT] = {
    [FCL_OP_INPUT] = &fcl_op_input,
    [FCL_OP_CONV] = &fcl_op_conv,
    [FCL_OP_MAXPOOL] = &fcl_op_maxpool,
    [FCL_OP_L2POOL] = &fcl_op_l2pool,
    [FCL_OP_AVGPOOL] = &fcl_op_avgpool,
    [FCL_OP_LRN] = &fcl_op_lrn,
    [FCL_OP_FC] = &fcl_op_fc,
    [FCL_OP_MAXOUT] = &fcl_op_maxout,
    [FCL_OP_L2NORM] = &fcl_op_l2norm,
    [FCL_OP_BATCHNORM] = &fcl_op_batchnorm,
    [FCL_OP_CONCAT] = &fcl_op_concat,
    [FCL_OP_DROPOUT] = &fcl_op_dropout,
    [FCL_OP_ADD] = &fcl_op_add,
    [FCL_OP_PRELU] = &fcl_op_prelu,
    [FCL_OP_COSINE] = &fcl_op_cosine,
    [FCL_OP_SOFTMAX] = &fcl_op_softmax,
};
_Static_assert(sizeof fcl_ops / sizeof fcl_ops[0] == FCL_OP_COUNT, "one entry per op");

const fcl_op_def *fcl_op_lookup(const char *name, fcl_op *op)
{
    for (int i = 0; i < FCL_OP_COUNT; i++)
        if (fcl_ops[i] && strcmp(fcl_ops[i]->name, name) == 0) {
            *op = (fcl_op)i;
            return fcl_ops[i];
        }
    return NULL;
}

int fcl_no_params(const fcl_node *node, fcl_param_desc out[FCL_MAX_PARAMS])
{
    (void)node, (void)out;
    return 0;
}

uint64_t fcl_no_macs(const fcl_node *node)
{
    (void)node;
    return 0;
}

fcl_status fcl_infer_same(fcl_node *node, char *why, size_t why_size)
{
    (void)why, (void)why_size;
    node->out = node->in;
    return FCL_SUCCESS;
}
