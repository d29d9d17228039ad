/* Dropout (Srivastava et al., 2014): in training, each activation is zeroed with
 * probability `rate` and the rest scaled by 1 / (1 - rate); when the network is used,
 * the identity. A regulariser for fully connected layers that fit their training
 * images (bench/RESULTS.md: fmnist-bn512 scores 98% on training pairs, 95% on test).
 * The mask is a hash of the net's dropout_key, the node and the element (cl/dropout.cl),
 * so backward redraws it, a run is reproducible and a resumed one draws what the
 * uninterrupted run drew. */
#include "graph/graph.h"

#include <math.h>

/* The kernels this file launches. */
static const fcl_kernel_def k_dropout_forward = {"dropout.cl", "dropout_forward"};
static const fcl_kernel_def k_dropout_backward = {"dropout.cl", "dropout_backward"};

static uint32_t keep_above(const fcl_node *nd) { return (uint32_t)fmin((double)nd->rate * 4294967296.0, 4294967295.0); }

static fcl_status dropout_forward(fcl_net *net, const fcl_node *nd)
{
    const int node = (int)(nd - net->model->nodes);
    fcl_view x = fcl_net_input_view(net, nd, 0), y = fcl_net_output_view(net, node);
    return FCL_LAUNCH(net, &k_dropout_forward, (size_t)net->batch * fcl_shape_size(nd->in), FCL_M(net->acts),
                      FCL_I(y.off), FCL_I(y.ns), FCL_M(net->acts), FCL_I(x.off), FCL_I(x.ns), FCL_I(net->batch),
                      FCL_I(fcl_shape_size(nd->in)), FCL_U(net->dropout_key), FCL_U(node), FCL_U(keep_above(nd)),
                      FCL_F(1.0 / (1.0 - nd->rate)), FCL_I(net->training), FCL_U(net->first_image));
}

static fcl_status dropout_backward(fcl_net *net, const fcl_node *nd)
{
    if (!fcl_net_needs_input_gradient(net, nd, 0))
        return FCL_SUCCESS;
    const int node = (int)(nd - net->model->nodes);
    fcl_view x = fcl_net_input_view(net, nd, 0), y = fcl_net_output_view(net, node);
    return FCL_LAUNCH(net, &k_dropout_backward, (size_t)net->batch * fcl_shape_size(nd->in), FCL_M(net->dacts),
                      FCL_I(x.off), FCL_I(x.ns), FCL_M(net->dacts), FCL_I(y.off), FCL_I(y.ns), FCL_I(net->batch),
                      FCL_I(fcl_shape_size(nd->in)), FCL_U(net->dropout_key), FCL_U(node), FCL_U(keep_above(nd)),
                      FCL_F(1.0 / (1.0 - nd->rate)), FCL_U(net->first_image));
}

/* The network in use: the identity. (Training's masks are checked directly by
 * test_layers' dropout_masks: kept values scaled, the rate, backward's same mask.) */
static void dropout_reference(const fcl_node *nd, int n, const double *const *in, const double *p, double *y)
{
    const double *x = in[0];
    (void)p;
    const size_t count = (size_t)n * fcl_shape_size(nd->in);
    for (size_t i = 0; i < count; i++)
        y[i] = x[i];
}

const fcl_op_def fcl_op_dropout = {
    .name = "dropout",
    .infer = fcl_infer_same,
    .params = fcl_no_params,
    .macs = fcl_no_macs,
    .forward = dropout_forward,
    .backward = dropout_backward,
    .reference = dropout_reference,
};
