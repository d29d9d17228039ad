/* Cosine similarity to learned class vectors: y_j = <x, w_j> / (|x| |w_j|), no bias.
 * The classifier head of the cosine-margin losses (NormFace, CosFace, ArcFace: their
 * logits are s times these cosines), and a layer of its own in model files
 * (`cosine NAME c=CLASSES`). Parameter: weight (C x D). Norms are max(|v|, 1e-6), so a
 * zero input gives zero cosines. */
#include "graph/graph.h"

#include <math.h>

/* The kernels this file launches. */
static const fcl_kernel_def k_row_norms = {"cosine.cl", "row_norms"};
static const fcl_kernel_def k_cosine_forward = {"cosine.cl", "cosine_forward"};
static const fcl_kernel_def k_cosine_backward_input = {"cosine.cl", "cosine_backward_input"};
static const fcl_kernel_def k_cosine_backward_weight = {"cosine.cl", "cosine_backward_weight"};

static int cosine_params(const fcl_node *nd, fcl_param_desc out[FCL_MAX_PARAMS])
{
    const int in = fcl_shape_size(nd->in);
    out[0] = (fcl_param_desc){"weight", (size_t)nd->channels * in, {nd->channels, in}, 2, true, FCL_INIT_AUTO};
    return 1;
}

static uint64_t cosine_macs(const fcl_node *nd) { return (uint64_t)nd->channels * fcl_shape_size(nd->in); }

/* The norms of the batch's inputs, then of the class vectors, in the workspace. */
static size_t cosine_workspace(const fcl_net *net, const fcl_node *nd, int batch, bool training)
{
    (void)net, (void)training;
    return (size_t)batch + (size_t)nd->channels;
}

static fcl_status norms(fcl_net *net, const fcl_node *nd, fcl_view x)
{
    const int D = fcl_shape_size(nd->in);
    fcl_status st = FCL_LAUNCH(net, &k_row_norms, (size_t)net->batch, FCL_M(net->work), FCL_I(0), FCL_M(net->acts),
                               FCL_I(x.off), FCL_I(x.ns), FCL_I(net->batch), FCL_I(D));
    if (st == FCL_SUCCESS) /* the class vectors' norms after the batch's */
        st = FCL_LAUNCH(net, &k_row_norms, (size_t)nd->channels, FCL_M(net->work), FCL_I(net->batch), FCL_M(net->params),
                        FCL_I(nd->param_off), FCL_I(D), FCL_I(nd->channels), FCL_I(D));
    return st;
}

static fcl_status cosine_forward(fcl_net *net, const fcl_node *nd)
{
    fcl_view x = fcl_net_input_view(net, nd, 0), y = fcl_net_output_view(net, (int)(nd - net->model->nodes));
    fcl_status st = norms(net, nd, x);
    return st != FCL_SUCCESS ? st
                             : FCL_LAUNCH(net, &k_cosine_forward, (size_t)net->batch * nd->channels, FCL_M(net->acts),
                                          FCL_I(y.off), FCL_I(y.ns), FCL_M(net->acts), FCL_I(x.off), FCL_I(x.ns),
                                          FCL_M(net->params), FCL_I(nd->param_off), FCL_M(net->work),
                                          FCL_I(net->batch), FCL_I(nd->channels), FCL_I(fcl_shape_size(nd->in)));
}

static fcl_status cosine_backward(fcl_net *net, const fcl_node *nd)
{
    fcl_view x = fcl_net_input_view(net, nd, 0), y = fcl_net_output_view(net, (int)(nd - net->model->nodes));
    const int B = net->batch, C = nd->channels, D = fcl_shape_size(nd->in);
    /* The workspace is shared: the norms are computed again for this node. */
    fcl_status st = norms(net, nd, x);
    if (st == FCL_SUCCESS)
        st = FCL_LAUNCH(net, &k_cosine_backward_weight, (size_t)C * D, FCL_M(net->grads), FCL_I(nd->param_off),
                        FCL_M(net->dacts), FCL_I(y.off), FCL_I(y.ns), FCL_M(net->acts), FCL_I(x.off), FCL_I(x.ns),
                        FCL_M(net->params), FCL_M(net->work), FCL_I(B), FCL_I(C), FCL_I(D));
    if (st == FCL_SUCCESS && fcl_net_needs_input_gradient(net, nd, 0))
        st = FCL_LAUNCH(net, &k_cosine_backward_input, (size_t)B * D, FCL_M(net->dacts), FCL_I(x.off), FCL_I(x.ns),
                        FCL_M(net->dacts), FCL_I(y.off), FCL_I(y.ns), FCL_M(net->acts), FCL_M(net->params),
                        FCL_I(nd->param_off), FCL_M(net->work), FCL_I(B), FCL_I(C), FCL_I(D));
    return st;
}

static void cosine_reference(const fcl_node *nd, int n, const double *const *in, const double *w, double *y)
{
    const double *x = in[0];
    const int D = fcl_shape_size(nd->in), C = nd->channels;
    for (int i = 0; i < n; i++) {
        double nx = 0;
        for (int d = 0; d < D; d++)
            nx += x[(size_t)i * D + d] * x[(size_t)i * D + d];
        nx = fmax(sqrt(nx), 1e-6);
        for (int j = 0; j < C; j++) {
            double dot = 0, nw = 0;
            for (int d = 0; d < D; d++) {
                dot += x[(size_t)i * D + d] * w[(size_t)j * D + d];
                nw += w[(size_t)j * D + d] * w[(size_t)j * D + d];
            }
            y[(size_t)i * C + j] = dot / (nx * fmax(sqrt(nw), 1e-6));
        }
    }
}

const fcl_op_def fcl_op_cosine = {
    .name = "cosine",
    .infer = fcl_infer_units,
    .params = cosine_params,
    .macs = cosine_macs,
    .forward = cosine_forward,
    .backward = cosine_backward,
    .reference = cosine_reference,
    .workspace = cosine_workspace,
};
