/* NormFace, CosFace and ArcFace: three entries of the loss table over one kernel
 * (cl/margin.cl), reading the cosines of a `cosine` head on the embedding. */
#include "loss/margin.h"

#include <math.h>
#include <stdlib.h>

/* The kernel this file launches. */
static const fcl_kernel_def k_margin_xent = {"margin.cl", "margin_xent"};

/* cl/margin.cl's clamp of the label's cosine, 1 - 1e-6 as a float */
#define CLAMP_HI ((double)(1.0f - 1e-6f))
#define PI 3.14159265358979323846

typedef struct margin_state {
    fcl_net *net;
    int node; /* the cosines */
    fcl_margin_config cfg;
    fcl_loss_rows rows;
} margin_state;

static void margin_destroy(void *state)
{
    margin_state *s = state;
    if (!s)
        return;
    fcl_loss_rows_destroy(&s->rows);
    free(s);
}

static fcl_status margin_create(fcl_net *net, int node, const fcl_margin_config *cfg, void **out)
{
    *out = NULL;
    if (node < 1 || node >= net->model->n_nodes || net->model->nodes[node].op != FCL_OP_COSINE) {
        fcl_log(FCL_LOG_ERROR, "the margin losses read a cosine head's output");
        return FCL_ERR_INVALID_ARGUMENT;
    }
    if (!(cfg->scale > 0) || !(cfg->margin >= 0) || (cfg->variant == FCL_MARGIN_ARCFACE && cfg->margin >= PI / 2)) {
        fcl_log(FCL_LOG_ERROR, "margin loss: scale %g must be > 0 and margin %g >= 0 (ArcFace: below pi/2)",
                cfg->scale, cfg->margin);
        return FCL_ERR_INVALID_ARGUMENT;
    }
    margin_state *s = calloc(1, sizeof *s);
    if (!s)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    s->net = net;
    s->node = node;
    s->cfg = *cfg;
    fcl_status st = fcl_loss_rows_create(net, &s->rows);
    if (st != FCL_SUCCESS) {
        margin_destroy(s);
        return st;
    }
    *out = s;
    return FCL_SUCCESS;
}

static fcl_status margin_compute(void *state, const int *labels, long step, float weight, fcl_loss_result *out)
{
    (void)step;
    margin_state *s = state;
    fcl_net *net = s->net;
    const int B = net->batch, C = fcl_shape_size(net->model->nodes[s->node].out);
    const bool gradient = weight != 0.0f;
    if (gradient && !net->training) {
        fcl_log(FCL_LOG_ERROR, "the margin loss's gradient needs a network created for training");
        return FCL_ERR_INVALID_ARGUMENT;
    }
    fcl_status st = fcl_loss_rows_upload(net, &s->rows, labels, C);
    if (st != FCL_SUCCESS)
        return st;
    fcl_view c = fcl_net_output_view(net, s->node);
    st = FCL_LAUNCH(net, &k_margin_xent, (size_t)B, FCL_M(net->training ? net->dacts : net->acts), FCL_M(net->acts),
                    FCL_I(c.off), FCL_I(c.ns), FCL_M(s->rows.labels), FCL_M(s->rows.stats), FCL_I(B), FCL_I(C),
                    FCL_I(s->cfg.variant), FCL_F(s->cfg.scale), FCL_F(s->cfg.margin), FCL_I(s->cfg.easy),
                    FCL_F(weight / (float)B), FCL_I(gradient));
    double sum = 0;
    long wrong = 0;
    if (st == FCL_SUCCESS)
        st = fcl_loss_rows_sum(net, &s->rows, &sum, &wrong);
    *out = (fcl_loss_result){.loss = sum / B, .count = B, .active = wrong, .active_fraction = (double)wrong / B};
    return st;
}

double fcl_margin_reference(const fcl_margin_config *cfg, const double *c, const int *labels, int B, int C,
                            double *dc, long *wrong)
{
    const double s = cfg->scale, m = cfg->margin;
    double total = 0;
    long bad = 0;
    double *z = malloc((size_t)C * sizeof *z);
    for (int i = 0; z && i < B; i++) {
        const double *ci = c + (size_t)i * C;
        const int y = labels[i];
        const double ct = fmin(fmax(ci[y], -CLAMP_HI), CLAMP_HI);
        double psi = ct, dpsi = 1;
        if (cfg->variant == FCL_MARGIN_COSFACE) {
            psi = ct - m;
        } else if (cfg->variant == FCL_MARGIN_ARCFACE) {
            const double theta = acos(ct);
            if (cfg->easy ? ct > 0 : ct > cos(PI - m)) {
                psi = cos(theta + m);
                dpsi = sin(theta + m) / sin(theta); /* d cos(theta + m) / d cos(theta) */
            } else if (!cfg->easy) {
                psi = ct - m * sin(m);
            }
        }
        double top = -INFINITY, sum = 0;
        int argmax = 0;
        for (int j = 0; j < C; j++) {
            z[j] = s * (j == y ? psi : ci[j]);
            top = fmax(top, z[j]);
            argmax = ci[j] > ci[argmax] ? j : argmax;
        }
        for (int j = 0; j < C; j++)
            sum += exp(z[j] - top);
        total += top + log(sum) - z[y];
        bad += argmax != y;
        for (int j = 0; dc && j < C; j++) {
            const double p = exp(z[j] - top) / sum;
            dc[(size_t)i * C + j] = (j == y ? s * (p - 1) * dpsi : s * p) / B;
        }
    }
    free(z);
    if (wrong)
        *wrong = bad;
    return total / B;
}

/* The loss table's entries (src/loss/loss.h): one per variant, the paper's defaults. */
#define MARGIN_ENTRY(id, variant_, loss_name, text, s, m, opts)                                                       \
    static fcl_status id##_create(fcl_net *net, int node, const fcl_loss_params *p, void **state)             \
    {                                                                                                          \
        const fcl_margin_config cfg = {variant_, p->scale > 0 ? p->scale : (s), p->class_margin >= 0 ? p->class_margin : (m), \
                                       p->easy_margin};                                                        \
        return margin_create(net, node, &cfg, state);                                                          \
    }                                                                                                          \
    const fcl_loss_def fcl_loss_##id = {.name = loss_name, .summary = text, .active = "wrong", .head = true,  \
                                        .head_op = FCL_OP_COSINE, .default_scale = (s), .default_margin = (m), \
                                        .options = opts,                                                       \
                                        .create = id##_create, .compute = margin_compute,                     \
                                        .destroy = margin_destroy};

MARGIN_ENTRY(normface, FCL_MARGIN_NORMFACE, "normface",
             "s x cosines to class vectors, no margin (NormFace; it learns s, 16 is facecl's)", 16, 0, "scale")
MARGIN_ENTRY(cosface, FCL_MARGIN_COSFACE, "cosface", "s (cos theta_y - m) (CosFace: s 64, m 0.35)", 64, 0.35, "scale class-margin")
MARGIN_ENTRY(arcface, FCL_MARGIN_ARCFACE, "arcface", "s cos(theta_y + m) (ArcFace: s 64, m 0.5)", 64, 0.5,
             "scale class-margin easy-margin")
