/* NormFace, CosFace and ArcFace: three entries of the loss table over one kernel
 * (cl/margin.cl), reading the cosines of a `cosine` head on the embedding. */
#include "loss/margin.h"

#include <math.h>
#include <stdlib.h>

/* The kernel this file launches. */
static const fcl_kernel_def k_margin_xent = {"margin.cl", "margin_xent"};
static const fcl_kernel_def k_adacos_stats = {"margin.cl", "adacos_stats"};

/* cl/margin.cl's clamp of the label's cosine, 1 - 1e-6 as a float */
#define CLAMP_HI ((double)(1.0f - 1e-6f))
#define PI 3.14159265358979323846

typedef struct margin_state {
    fcl_net *net;
    int node; /* the cosines */
    fcl_margin_config cfg; /* AdaCos: cfg.scale is its scale, carried from batch to batch */
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

/* The loss of the labels already uploaded, at the state's scale. */
static fcl_status margin_launch(margin_state *s, float weight, fcl_loss_result *out)
{
    fcl_net *net = s->net;
    const int B = net->batch, C = fcl_shape_size(net->model->nodes[s->node].out);
    const bool gradient = weight != 0.0f;
    fcl_view c = fcl_net_output_view(net, s->node);
    fcl_status st = FCL_LAUNCH(net, &k_margin_xent, (size_t)B, FCL_M(net->training ? net->dacts : net->acts), FCL_M(net->acts),
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

static fcl_status margin_compute(void *state, const int *labels, long step, float weight, fcl_loss_result *out)
{
    (void)step;
    margin_state *s = state;
    const int C = fcl_shape_size(s->net->model->nodes[s->node].out);
    fcl_status st = fcl_loss_rows_upload(s->net, &s->rows, labels, C, weight);
    return st == FCL_SUCCESS ? margin_launch(s, weight, out) : st;
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

/* AdaCos: NormFace's logits with the scale set from each training batch (Zhang et al.
 * 2019, Algorithm 1): B_avg at the previous scale and the median label angle give the
 * new one, which this batch's loss uses. The scale is the loss's state, kept in
 * checkpoints (adacos_save/adacos_load) so a resumed run goes on bit for bit. */
double fcl_adacos_start(int C) { return C > 2 ? sqrt(2.0) * log(C - 1.0) : 1.0; }

static int by_value(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The new scale from per-image sums of exp(s cos) over the other classes and the label
 * cosines (what cl/margin.cl's adacos_stats gives); s itself when the result is not a
 * finite positive number. */
static double adacos_update(const double *others, const double *label_cos, int B, double s)
{
    double b_avg = 0, *theta = malloc((size_t)B * sizeof *theta);
    if (!theta)
        return s;
    for (int i = 0; i < B; i++) {
        b_avg += others[i] / B;
        theta[i] = acos(fmin(fmax(label_cos[i], -1), 1));
    }
    qsort(theta, (size_t)B, sizeof *theta, by_value);
    const double median = B % 2 ? theta[B / 2] : 0.5 * (theta[B / 2 - 1] + theta[B / 2]);
    free(theta);
    const double next = log(b_avg) / cos(fmin(PI / 4, median));
    return isfinite(next) && next > 0 ? next : s;
}

static fcl_status adacos_create(fcl_net *net, int node, const fcl_loss_params *p, void **state)
{
    (void)p;
    const int C = node >= 1 && node < net->model->n_nodes ? fcl_shape_size(net->model->nodes[node].out) : 3;
    const fcl_margin_config cfg = {FCL_MARGIN_NORMFACE, fcl_adacos_start(C), 0, false};
    return margin_create(net, node, &cfg, state);
}

static fcl_status adacos_compute(void *state, const int *labels, long step, float weight, fcl_loss_result *out)
{
    margin_state *s = state;
    fcl_net *net = s->net;
    const int B = net->batch, C = fcl_shape_size(net->model->nodes[s->node].out);
    (void)step;
    fcl_status st = fcl_loss_rows_upload(net, &s->rows, labels, C, weight);
    if (st == FCL_SUCCESS && weight != 0.0f) { /* a training step moves the scale; a loss alone reads it */
        fcl_view c = fcl_net_output_view(net, s->node);
        st = FCL_LAUNCH(net, &k_adacos_stats, (size_t)B, FCL_M(net->acts), FCL_I(c.off), FCL_I(c.ns),
                        FCL_M(s->rows.labels), FCL_M(s->rows.stats), FCL_I(B), FCL_I(C), FCL_F(s->cfg.scale));
        if (st == FCL_SUCCESS)
            st = fcl_net_read(net, s->rows.stats, 0, 2 * (size_t)B, s->rows.host);
        double *others = malloc((size_t)B * sizeof *others), *label_cos = malloc((size_t)B * sizeof *label_cos);
        if (st == FCL_SUCCESS && (!others || !label_cos))
            st = FCL_ERR_OUT_OF_HOST_MEMORY;
        for (int i = 0; st == FCL_SUCCESS && i < B; i++)
            others[i] = s->rows.host[2 * i], label_cos[i] = s->rows.host[2 * i + 1];
        if (st == FCL_SUCCESS) /* the scale is a float on the device: keep it one here too */
            s->cfg.scale = (float)adacos_update(others, label_cos, B, s->cfg.scale);
        free(others);
        free(label_cos);
    }
    return st == FCL_SUCCESS ? margin_launch(s, weight, out) : st;
}

static fcl_status adacos_save(void *state, char *text, size_t size)
{
    const margin_state *s = state;
    return snprintf(text, size, "%a", s->cfg.scale) < (int)size ? FCL_SUCCESS : FCL_ERR_INVALID_ARGUMENT;
}

static fcl_status adacos_load(void *state, const char *text)
{
    margin_state *s = state;
    char *end;
    const double v = strtod(text, &end);
    if (end == text || *end || !(v > 0) || !isfinite(v)) {
        fcl_log(FCL_LOG_ERROR, "AdaCos's scale in the checkpoint is '%s', not a positive number", text);
        return FCL_ERR_FORMAT;
    }
    s->cfg.scale = v;
    return FCL_SUCCESS;
}

const fcl_loss_def fcl_loss_adacos = {
    .name = "adacos",
    .summary = "NormFace with the scale set from each batch (AdaCos; starts at sqrt(2) log(C - 1))",
    .active = "wrong",
    .head = true,
    .head_op = FCL_OP_COSINE,
    .create = adacos_create,
    .compute = adacos_compute,
    .destroy = margin_destroy,
    .save_state = adacos_save,
    .load_state = adacos_load,
};
