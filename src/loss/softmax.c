#include "loss/softmax.h"

#include <math.h>
#include <stdlib.h>

/* The kernels this file launches. */
static const fcl_kernel_def k_softmax_xent = {"softmax.cl", "softmax_xent"};

struct fcl_softmax {
    fcl_net *net;
    int node; /* the logits */
    fcl_loss_rows rows;
};

void fcl_softmax_destroy(fcl_softmax *s)
{
    if (!s)
        return;
    fcl_loss_rows_destroy(&s->rows);
    free(s);
}

fcl_status fcl_softmax_create(fcl_net *net, int node, fcl_softmax **out)
{
    *out = NULL;
    if (node < 1 || node >= net->model->n_nodes)
        return FCL_ERR_INVALID_ARGUMENT;
    fcl_softmax *s = calloc(1, sizeof *s);
    if (!s)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    s->net = net;
    s->node = node;
    fcl_status st = fcl_loss_rows_create(net, &s->rows);
    if (st != FCL_SUCCESS) {
        fcl_softmax_destroy(s);
        return st;
    }
    *out = s;
    return FCL_SUCCESS;
}

fcl_status fcl_softmax_loss(fcl_softmax *s, const int *labels, float weight, double *loss, long *misclassified)
{
    fcl_net *net = s->net;
    const int B = net->batch, C = fcl_shape_size(net->model->nodes[s->node].out);
    const bool gradient = weight != 0.0f;
    fcl_status st = fcl_loss_rows_upload(net, &s->rows, labels, C, weight);
    if (st != FCL_SUCCESS)
        return st;
    fcl_view z = fcl_net_output_view(net, s->node);
    st = FCL_LAUNCH(net, &k_softmax_xent, (size_t)B, FCL_M(net->training ? net->dacts : net->acts), FCL_M(net->acts),
                    FCL_I(z.off), FCL_I(z.ns), FCL_M(s->rows.labels), FCL_M(s->rows.stats), FCL_I(B), FCL_I(C),
                    FCL_F(weight / (float)B), FCL_I(gradient));
    double sum = 0;
    if (st == FCL_SUCCESS)
        st = fcl_loss_rows_sum(net, &s->rows, &sum, misclassified);
    *loss = sum / B;
    return st;
}

double fcl_softmax_reference(const double *z, const int *labels, int B, int C, double *dz)
{
    double total = 0;
    for (int i = 0; i < B; i++) {
        const double *zi = z + (size_t)i * C;
        double m = zi[0], sum = 0;
        for (int j = 1; j < C; j++)
            m = zi[j] > m ? zi[j] : m;
        for (int j = 0; j < C; j++)
            sum += exp(zi[j] - m);
        total += log(sum) + m - zi[labels[i]];
        for (int j = 0; dz && j < C; j++)
            dz[(size_t)i * C + j] = (exp(zi[j] - m) / sum - (j == labels[i])) / B;
    }
    return total / B;
}

/* The loss table's entry (src/loss/loss.h). */
static fcl_status softmax_create_state(fcl_net *net, int node, const fcl_loss_params *params, void **state)
{
    (void)params;
    return fcl_softmax_create(net, node, (fcl_softmax **)state);
}

static fcl_status softmax_compute(void *state, const int *labels, long step, float weight, fcl_loss_result *out)
{
    (void)step;
    fcl_softmax *s = state;
    fcl_status st = fcl_softmax_loss(s, labels, weight, &out->loss, &out->active);
    out->count = s->net->batch;
    out->active_fraction = (double)out->active / s->net->batch;
    return st;
}

static void softmax_destroy_state(void *state) { fcl_softmax_destroy(state); }

const fcl_loss_def fcl_loss_softmax = {
    .name = "softmax",
    .summary = "cross-entropy over the identities (a train.classifier head on the embedding)",
    .active = "wrong",
    .head = true,
    .head_op = FCL_OP_FC,
    .create = softmax_create_state,
    .compute = softmax_compute,
    .destroy = softmax_destroy_state,
};
