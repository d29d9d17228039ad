#include "loss/contrastive.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The kernel this file launches. */
static const fcl_kernel_def k_contrastive = {"contrastive.cl", "contrastive"};

typedef struct contrastive_state {
    fcl_net *net;
    int node; /* the embedding */
    float pos_margin, neg_margin;
    fcl_loss_rows rows;
} contrastive_state;

static void contrastive_destroy(void *state)
{
    contrastive_state *s = state;
    if (!s)
        return;
    fcl_loss_rows_destroy(&s->rows);
    free(s);
}

static fcl_status contrastive_create(fcl_net *net, int node, const fcl_loss_params *p, void **out)
{
    *out = NULL;
    if (node < 0 || node >= net->model->n_nodes || net->batch < 2)
        return FCL_ERR_INVALID_ARGUMENT;
    if (!(p->pos_margin >= 0) || !(p->neg_margin > p->pos_margin)) {
        fcl_log(FCL_LOG_ERROR, "contrastive loss: the negative margin %g must exceed the positive one %g (>= 0)",
                (double)p->neg_margin, (double)p->pos_margin);
        return FCL_ERR_INVALID_ARGUMENT;
    }
    contrastive_state *s = calloc(1, sizeof *s);
    if (!s)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    *s = (contrastive_state){.net = net, .node = node, .pos_margin = p->pos_margin, .neg_margin = p->neg_margin};
    fcl_status st = fcl_loss_rows_create(net, &s->rows);
    if (st != FCL_SUCCESS) {
        contrastive_destroy(s);
        return st;
    }
    *out = s;
    return FCL_SUCCESS;
}

static fcl_status contrastive_compute(void *state, const int *labels, long step, float weight, fcl_loss_result *out)
{
    (void)step;
    contrastive_state *s = state;
    fcl_net *net = s->net;
    const int B = net->batch, D = fcl_shape_size(net->model->nodes[s->node].out);
    const long pairs = (long)B * (B - 1) / 2;
    const bool gradient = weight != 0.0f;
    fcl_status st = fcl_loss_rows_upload(net, &s->rows, labels, 0, weight);
    if (st != FCL_SUCCESS)
        return st;
    fcl_view e = fcl_net_output_view(net, s->node);
    st = FCL_LAUNCH(net, &k_contrastive, (size_t)B, FCL_M(net->training ? net->dacts : net->acts), FCL_M(net->acts),
                    FCL_I(e.off), FCL_I(e.ns), FCL_M(s->rows.labels), FCL_M(s->rows.stats), FCL_I(B), FCL_I(D),
                    FCL_F(s->pos_margin), FCL_F(s->neg_margin), FCL_F(weight / (float)pairs), FCL_I(gradient));
    double sum = 0;
    long active = 0;
    if (st == FCL_SUCCESS)
        st = fcl_loss_rows_sum(net, &s->rows, &sum, &active);
    *out = (fcl_loss_result){.loss = sum / pairs, .count = pairs, .active = active,
                             .active_fraction = (double)active / pairs};
    return st;
}

double fcl_contrastive_reference(const double *e, const int *labels, int B, int D, double pos_margin,
                                 double neg_margin, double *de, long *active)
{
    double total = 0;
    long n_active = 0;
    if (de)
        memset(de, 0, (size_t)B * D * sizeof *de);
    for (int i = 0; i < B; i++)
        for (int j = i + 1; j < B; j++) {
            const double *ei = e + (size_t)i * D, *ej = e + (size_t)j * D;
            double d2 = 0;
            for (int k = 0; k < D; k++)
                d2 += (ei[k] - ej[k]) * (ei[k] - ej[k]);
            const double d = sqrt(d2), same = labels[i] == labels[j];
            const double gap = same ? fmax(d - pos_margin, 0) : fmax(neg_margin - d, 0);
            total += 0.5 * gap * gap;
            n_active += gap > 0;
            if (!de || gap == 0 || d == 0)
                continue;
            const double coef = (same ? gap : -gap) / d;
            for (int k = 0; k < D; k++) {
                de[(size_t)i * D + k] += coef * (ei[k] - ej[k]);
                de[(size_t)j * D + k] -= coef * (ei[k] - ej[k]);
            }
        }
    const double pairs = (double)B * (B - 1) / 2;
    for (size_t k = 0; de && k < (size_t)B * D; k++)
        de[k] /= pairs;
    if (active)
        *active = n_active;
    return total / pairs;
}

/* The loss table's entry (src/loss/loss.h). */
const fcl_loss_def fcl_loss_contrastive = {
    .name = "contrastive",
    .summary = "DeepID2's pairs: same within --pos-margin, different beyond --neg-margin (L2)",
    .active = "active",
    .options = "pos-margin neg-margin",
    .create = contrastive_create,
    .compute = contrastive_compute,
    .destroy = contrastive_destroy,
};
