/* Host side of the triplet loss: scratch buffers, the launch sequence, the reduction of
 * per-anchor sums, and the double-precision reference the tests compare against. */
#include "loss/triplet.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The kernels this file launches. */
static const fcl_kernel_def k_triplet_mine = {"triplet.cl", "triplet_mine"};
static const fcl_kernel_def k_pairwise_sqdist = {"triplet.cl", "pairwise_sqdist"};
static const fcl_kernel_def k_triplet_gradient = {"triplet.cl", "triplet_gradient"};

static const char *const mining_names[FCL_MINING_COUNT] = {
    [FCL_MINING_SEMI_HARD] = "semi-hard",
    [FCL_MINING_BATCH_HARD] = "batch-hard",
    [FCL_MINING_BATCH_ALL] = "batch-all",
};

const char *fcl_mining_name(fcl_mining mining)
{
    return mining >= 0 && mining < FCL_MINING_COUNT ? mining_names[mining] : "?";
}

fcl_status fcl_mining_parse(const char *name, fcl_mining *out)
{
    for (int i = 0; i < FCL_MINING_COUNT; i++)
        if (strcmp(name, mining_names[i]) == 0) {
            *out = (fcl_mining)i;
            return FCL_SUCCESS;
        }
    fcl_log(FCL_LOG_ERROR, "unknown mining '%s' (semi-hard, batch-hard or batch-all)", name);
    return FCL_ERR_INVALID_ARGUMENT;
}

#define STATS 4 /* per anchor: loss, counted, active, non-finite distances (cl/triplet.cl) */

struct fcl_triplet {
    fcl_net *net;
    int batch, node; /* node: the embedding the loss reads */
    cl_mem dist, coef, stats, labels;
    float *stats_host;
};

void fcl_triplet_destroy(fcl_triplet *t)
{
    if (!t)
        return;
    cl_mem bufs[] = {t->dist, t->coef, t->stats, t->labels};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i])
            clReleaseMemObject(bufs[i]);
    free(t->stats_host);
    free(t);
}

fcl_status fcl_triplet_create(fcl_net *net, int node, fcl_triplet **out)
{
    *out = NULL;
    if (node < 0 || node >= net->model->n_nodes)
        return FCL_ERR_INVALID_ARGUMENT;
    fcl_triplet *t = calloc(1, sizeof *t);
    if (!t)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    t->net = net;
    t->batch = net->batch;
    t->node = node;
    size_t b = (size_t)net->batch;
    const size_t sizes[] = {b * b * sizeof(float), b * b * sizeof(float), STATS * b * sizeof(float),
                            b * sizeof(cl_int)};
    cl_mem *bufs[] = {&t->dist, &t->coef, &t->stats, &t->labels};
    cl_int err = CL_SUCCESS;
    for (size_t i = 0; i < 4 && err == CL_SUCCESS; i++)
        *bufs[i] = clCreateBuffer(net->rt->context, CL_MEM_READ_WRITE, sizes[i], NULL, &err);
    t->stats_host = malloc(STATS * b * sizeof(float));
    if (err != CL_SUCCESS || !t->stats_host) {
        fcl_triplet_destroy(t);
        return err != CL_SUCCESS ? FCL_CL_FAIL("clCreateBuffer", err) : FCL_ERR_OUT_OF_HOST_MEMORY;
    }
    *out = t;
    return FCL_SUCCESS;
}

static void summarise(fcl_mining mining, double loss, double counted, double active, fcl_loss_result *out)
{
    double norm = mining == FCL_MINING_BATCH_ALL ? active : counted;
    out->loss = norm > 0 ? loss / norm : 0.0;
    out->count = (long)counted;
    out->active = (long)active;
    out->active_fraction = counted > 0 ? active / counted : 0.0;
}

/* Mines on t->dist (already on the device) and reduces the per-anchor sums. */
static fcl_status mine(fcl_triplet *t, const int *labels, fcl_mining mining, float alpha, fcl_loss_result *out)
{
    if (mining < 0 || mining >= FCL_MINING_COUNT || !(alpha >= 0))
        return FCL_ERR_INVALID_ARGUMENT;
    fcl_net *net = t->net;
    const int B = t->batch;
    fcl_status st = FCL_SUCCESS;
    cl_int err = clEnqueueWriteBuffer(net->rt->queue, t->labels, CL_TRUE, 0, (size_t)B * sizeof(cl_int), labels, 0,
                                      NULL, NULL);
    if (err != CL_SUCCESS)
        return FCL_CL_FAIL("clEnqueueWriteBuffer", err);
    st = FCL_LAUNCH(net, &k_triplet_mine, (size_t)B, FCL_M(t->coef), FCL_M(t->stats), FCL_M(t->dist),
                    FCL_M(t->labels), FCL_I(B), FCL_F(alpha), FCL_I(mining));
    if (st == FCL_SUCCESS)
        st = fcl_net_read(net, t->stats, 0, STATS * (size_t)B, t->stats_host);
    if (st != FCL_SUCCESS)
        return st;
    double loss = 0, counted = 0, active = 0, nonfinite = 0;
    for (int a = 0; a < B; a++) {
        loss += t->stats_host[STATS * a];
        counted += t->stats_host[STATS * a + 1];
        active += t->stats_host[STATS * a + 2];
        nonfinite += t->stats_host[STATS * a + 3];
    }
    summarise(mining, loss, counted, active, out);
    if (nonfinite > 0) {
        fcl_log(FCL_LOG_ERROR, "%.0f embedding distances in the batch are NaN or Inf", nonfinite);
        out->loss = NAN;
    }
    return FCL_SUCCESS;
}

fcl_status fcl_triplet_loss(fcl_triplet *t, const int *labels, fcl_mining mining, float alpha, float weight,
                            fcl_loss_result *out)
{
    fcl_net *net = t->net;
    const int B = t->batch, D = fcl_shape_size(net->model->nodes[t->node].out);
    fcl_view e = fcl_net_output_view(net, t->node);
    fcl_status st = FCL_LAUNCH(net, &k_pairwise_sqdist, (size_t)B * B, FCL_M(t->dist), FCL_M(net->acts),
                               FCL_I(e.off), FCL_I(e.ns), FCL_I(B), FCL_I(D));
    if (st == FCL_SUCCESS)
        st = mine(t, labels, mining, alpha, out);
    if (st != FCL_SUCCESS || weight == 0.0f)
        return st;
    if (!net->training) {
        fcl_log(FCL_LOG_ERROR, "the triplet gradient needs a network created for training");
        return FCL_ERR_INVALID_ARGUMENT;
    }
    double norm = mining == FCL_MINING_BATCH_ALL ? (double)out->active : (double)out->count;
    float scale = norm > 0 ? weight * (float)(1.0 / norm) : 0.0f;
    return FCL_LAUNCH(net, &k_triplet_gradient, (size_t)B * D, FCL_M(net->dacts), FCL_I(e.off), FCL_I(e.ns),
                      FCL_M(net->acts), FCL_I(e.off), FCL_I(e.ns), FCL_M(t->coef), FCL_I(B), FCL_I(D), FCL_F(scale));
}

fcl_status fcl_triplet_mine_matrix(fcl_triplet *t, const float *dist, const int *labels, fcl_mining mining,
                                   float alpha, fcl_loss_result *out, float *coef)
{
    size_t bb = (size_t)t->batch * t->batch;
    fcl_status st = fcl_net_write(t->net, t->dist, 0, bb, dist);
    if (st == FCL_SUCCESS)
        st = mine(t, labels, mining, alpha, out);
    if (st == FCL_SUCCESS && coef)
        st = fcl_net_read(t->net, t->coef, 0, bb, coef);
    return st;
}

/* The reference mirrors triplet_mine in cl/triplet.cl, in double.
 * sums: loss, counted, active. */
static void add_triplet(double *row, double *sums, int p, int n, double l)
{
    sums[1] += 1;
    if (l > 0)
        sums[0] += l, sums[2] += 1, row[p] += 1, row[n] -= 1;
}

static void reference_anchor(const double *da, const int *labels, int a, int B, fcl_mining mining, double alpha,
                             double *row, double *sums)
{
    if (mining == FCL_MINING_BATCH_HARD) {
        int p = -1, n = -1;
        for (int j = 0; j < B; j++) {
            if (j == a)
                continue;
            if (labels[j] == labels[a]) {
                if (p < 0 || da[j] > da[p])
                    p = j;
            } else if (n < 0 || da[j] < da[n]) {
                n = j;
            }
        }
        if (p >= 0 && n >= 0)
            add_triplet(row, sums, p, n, da[p] - da[n] + alpha);
        return;
    }
    for (int p = 0; p < B; p++) {
        if (p == a || labels[p] != labels[a])
            continue;
        for (int n = 0; n < B; n++) {
            if (labels[n] == labels[a])
                continue;
            if (mining == FCL_MINING_SEMI_HARD) { /* is n the chosen negative for (a, p)? */
                bool chosen = true;
                for (int m = 0; m < B && chosen; m++) {
                    if (labels[m] == labels[a] || m == n)
                        continue;
                    bool n_beyond = da[n] > da[p], m_beyond = da[m] > da[p];
                    if (n_beyond)
                        chosen = !(m_beyond && (da[m] < da[n] || (da[m] == da[n] && m < n)));
                    else
                        chosen = !m_beyond && !(da[m] > da[n] || (da[m] == da[n] && m < n));
                }
                if (!chosen)
                    continue;
            }
            add_triplet(row, sums, p, n, da[p] - da[n] + alpha);
        }
    }
}

fcl_status fcl_triplet_reference(const double *e, const int *labels, int B, int D, fcl_mining mining, double alpha,
                                 fcl_loss_result *out, double *coef)
{
    double *dist = malloc((size_t)B * B * sizeof *dist), *rows = calloc((size_t)B * B, sizeof *rows);
    if (!dist || !rows) {
        free(dist);
        free(rows);
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    }
    for (int a = 0; a < B; a++)
        for (int b = 0; b < B; b++) {
            double s = 0;
            for (int k = 0; k < D; k++) {
                double t = e[(size_t)a * D + k] - e[(size_t)b * D + k];
                s += t * t;
            }
            dist[(size_t)a * B + b] = s;
        }
    double sums[3] = {0, 0, 0};
    for (int a = 0; a < B; a++)
        reference_anchor(dist + (size_t)a * B, labels, a, B, mining, alpha, rows + (size_t)a * B, sums);
    summarise(mining, sums[0], sums[1], sums[2], out);
    if (coef)
        memcpy(coef, rows, (size_t)B * B * sizeof *coef);
    free(dist);
    free(rows);
    return FCL_SUCCESS;
}

/* The loss table's entry (src/loss/loss.h): the strategy and margin kept with it. */
typedef struct triplet_state {
    fcl_triplet *t;
    fcl_mining mining;
    float alpha;
} triplet_state;

static fcl_status triplet_create_state(fcl_net *net, int node, const fcl_loss_params *params, void **state)
{
    triplet_state *s = calloc(1, sizeof *s);
    if (!s)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    s->mining = params->mining;
    s->alpha = params->alpha;
    fcl_status st = fcl_triplet_create(net, node, &s->t);
    if (st != FCL_SUCCESS) {
        free(s);
        s = NULL;
    }
    *state = s;
    return st;
}

static fcl_status triplet_compute(void *state, const int *labels, long step, float weight, fcl_loss_result *out)
{
    (void)step;
    triplet_state *s = state;
    return fcl_triplet_loss(s->t, labels, s->mining, s->alpha, weight, out);
}

static void triplet_destroy_state(void *state)
{
    triplet_state *s = state;
    if (s)
        fcl_triplet_destroy(s->t);
    free(s);
}

const fcl_loss_def fcl_loss_triplet = {
    .name = "triplet",
    .summary = "the paper's triplet loss with online mining (--mining, --margin)",
    .active = "active",
    .head = false,
    .options = "mining margin softmax-weight",
    .create = triplet_create_state,
    .compute = triplet_compute,
    .destroy = triplet_destroy_state,
};
