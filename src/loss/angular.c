/* L-Softmax and SphereFace: two entries of the loss table over one kernel
 * (cl/angular.cl), reading a cosine head, its input and (L-Softmax) its class vectors. */
#include "loss/angular.h"

#include <math.h>
#include <stdlib.h>

/* The kernels this file launches (the class vectors' norms as the cosine layer takes them). */
static const fcl_kernel_def k_angular_xent = {"angular.cl", "angular_xent"};
static const fcl_kernel_def k_angular_weight_norms = {"angular.cl", "angular_weight_norms"};
static const fcl_kernel_def k_row_norms = {"cosine.cl", "row_norms"};

#define PI 3.14159265358979323846

typedef struct angular_state {
    fcl_net *net;
    int node; /* the cosine head */
    bool weight_norms;
    fcl_loss_params params;
    fcl_loss_rows rows;
    cl_mem prod, wn; /* B x C of dL/df f; the class vectors' norms */
} angular_state;

static void angular_destroy(void *state)
{
    angular_state *s = state;
    if (!s)
        return;
    fcl_loss_rows_destroy(&s->rows);
    if (s->prod)
        clReleaseMemObject(s->prod);
    if (s->wn)
        clReleaseMemObject(s->wn);
    free(s);
}

double fcl_angular_lambda(const fcl_loss_params *p, long step)
{
    return fmax(p->lambda_min, p->lambda_base * pow(1.0 + p->lambda_gamma * (double)step, -p->lambda_power));
}

static fcl_status angular_create(fcl_net *net, int node, const fcl_loss_params *p, bool weight_norms, void **out)
{
    *out = NULL;
    if (node < 1 || node >= net->model->n_nodes || net->model->nodes[node].op != FCL_OP_COSINE) {
        fcl_log(FCL_LOG_ERROR, "L-Softmax and SphereFace read a cosine head's output");
        return FCL_ERR_INVALID_ARGUMENT;
    }
    const int m = p->class_margin < 0 ? 4 : (int)p->class_margin;
    if (m < 1 || m > 4 || (double)m != (p->class_margin < 0 ? 4 : p->class_margin) || !(p->lambda_min >= 0) ||
        !(p->lambda_base >= p->lambda_min) || !(p->lambda_gamma >= 0) || !(p->lambda_power >= 0)) {
        fcl_log(FCL_LOG_ERROR, "L-Softmax/SphereFace: the margin m must be a whole number from 1 to 4 (got %g), "
                               "and lambda's base >= minimum >= 0, gamma and power >= 0",
                (double)p->class_margin);
        return FCL_ERR_INVALID_ARGUMENT;
    }
    angular_state *s = calloc(1, sizeof *s);
    if (!s)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    s->net = net;
    s->node = node;
    s->weight_norms = weight_norms;
    s->params = *p;
    s->params.class_margin = (float)m;
    const int C = fcl_shape_size(net->model->nodes[node].out);
    fcl_status st = fcl_loss_rows_create(net, &s->rows);
    cl_int err = CL_SUCCESS;
    if (st == FCL_SUCCESS)
        s->prod = clCreateBuffer(net->rt->context, CL_MEM_READ_WRITE, (size_t)net->batch * C * sizeof(float), NULL,
                                 &err);
    if (st == FCL_SUCCESS && err == CL_SUCCESS)
        s->wn = clCreateBuffer(net->rt->context, CL_MEM_READ_WRITE, (size_t)C * sizeof(float), NULL, &err);
    if (st == FCL_SUCCESS && err != CL_SUCCESS)
        st = FCL_CL_FAIL("clCreateBuffer", err);
    if (st != FCL_SUCCESS) {
        angular_destroy(s);
        return st;
    }
    *out = s;
    return FCL_SUCCESS;
}

static fcl_status angular_compute(void *state, const int *labels, long step, float weight, fcl_loss_result *out)
{
    angular_state *s = state;
    fcl_net *net = s->net;
    const fcl_node *head = &net->model->nodes[s->node];
    const int B = net->batch, C = fcl_shape_size(head->out), D = fcl_shape_size(head->in);
    const bool gradient = weight != 0.0f;
    fcl_status st = fcl_loss_rows_upload(net, &s->rows, labels, C, weight);
    fcl_view c = fcl_net_output_view(net, s->node), x = fcl_net_input_view(net, head, 0);
    if (st == FCL_SUCCESS && s->weight_norms)
        st = FCL_LAUNCH(net, &k_row_norms, (size_t)C, FCL_M(s->wn), FCL_I(0), FCL_M(net->params),
                        FCL_I(head->param_off), FCL_I(D), FCL_I(C), FCL_I(D));
    if (st == FCL_SUCCESS)
        st = FCL_LAUNCH(net, &k_angular_xent, (size_t)B, FCL_M(net->training ? net->dacts : net->acts),
                        FCL_M(net->acts), FCL_I(c.off), FCL_I(c.ns), FCL_I(x.off), FCL_I(x.ns), FCL_I(D),
                        FCL_M(s->rows.labels), FCL_M(s->rows.stats), FCL_M(s->prod), FCL_M(s->wn),
                        FCL_I(s->weight_norms), FCL_I(B), FCL_I(C), FCL_I((int)s->params.class_margin),
                        FCL_F(fcl_angular_lambda(&s->params, step)), FCL_F(weight / (float)B), FCL_I(gradient));
    if (st == FCL_SUCCESS && gradient && s->weight_norms)
        st = FCL_LAUNCH(net, &k_angular_weight_norms, (size_t)C * D, FCL_M(net->grads), FCL_I(head->param_off),
                        FCL_M(net->params), FCL_M(s->prod), FCL_M(s->wn), FCL_I(B), FCL_I(C), FCL_I(D));
    double sum = 0;
    long wrong = 0;
    if (st == FCL_SUCCESS)
        st = fcl_loss_rows_sum(net, &s->rows, &sum, &wrong);
    *out = (fcl_loss_result){.loss = sum / B, .count = B, .active = wrong, .active_fraction = (double)wrong / B};
    return st;
}

static double chebyshev(int m, double c)
{
    static const double t[5][5] = {{0}, {0, 1}, {-1, 0, 2}, {0, -3, 0, 4}, {1, 0, -8, 0, 8}};
    double v = 0, p = 1;
    for (int k = 0; k <= m; k++, p *= c)
        v += t[m][k] * p;
    return v;
}

static double norm_of(const double *v, int n)
{
    double s = 0;
    for (int k = 0; k < n; k++)
        s += v[k] * v[k];
    return fmax(sqrt(s), 1e-6);
}

double fcl_angular_reference(const fcl_angular_config *cfg, const double *x, const double *w, const int *labels,
                             int B, int C, int D)
{
    double total = 0, *f = malloc((size_t)C * sizeof *f);
    for (int i = 0; f && i < B; i++) {
        const double *xi = x + (size_t)i * D, nx = norm_of(xi, D);
        double top = -INFINITY;
        for (int j = 0; j < C; j++) {
            const double *wj = w + (size_t)j * D, nw = norm_of(wj, D);
            double dot = 0;
            for (int d = 0; d < D; d++)
                dot += xi[d] * wj[d];
            const double c = dot / (nx * nw), scale = nx * (cfg->weight_norms ? nw : 1);
            if (j == labels[i]) {
                const double ct = fmin(fmax(c, -1), 1);
                const int k = (int)fmin(floor(cfg->m * acos(ct) / PI), cfg->m - 1);
                const double psi = (k % 2 ? -1 : 1) * chebyshev(cfg->m, ct) - 2.0 * k;
                f[j] = scale * (cfg->lambda * ct + psi) / (1 + cfg->lambda);
            } else {
                f[j] = scale * c;
            }
            top = fmax(top, f[j]);
        }
        double sum = 0;
        for (int j = 0; j < C; j++)
            sum += exp(f[j] - top);
        total += top + log(sum) - f[labels[i]];
    }
    free(f);
    return f ? total / B : NAN;
}

/* The loss table's entries (src/loss/loss.h). */
static fcl_status lsoftmax_create(fcl_net *net, int node, const fcl_loss_params *p, void **state)
{
    return angular_create(net, node, p, true, state);
}

static fcl_status sphereface_create(fcl_net *net, int node, const fcl_loss_params *p, void **state)
{
    return angular_create(net, node, p, false, state);
}

const fcl_loss_def fcl_loss_lsoftmax = {
    .name = "lsoftmax",
    .summary = "|x| |w| psi(theta_y), integer m (L-Softmax: m 4; lambda annealed as SphereFace's)",
    .active = "wrong",
    .head = true,
    .head_op = FCL_OP_COSINE,
    .default_margin = 4,
    .options = "class-margin lambda",
    .create = lsoftmax_create,
    .compute = angular_compute,
    .destroy = angular_destroy,
};

const fcl_loss_def fcl_loss_sphereface = {
    .name = "sphereface",
    .summary = "A-Softmax: |x| psi(theta_y), unit class vectors (SphereFace: m 4, lambda 1000 -> 5)",
    .active = "wrong",
    .head = true,
    .head_op = FCL_OP_COSINE,
    .default_margin = 4,
    .options = "class-margin lambda",
    .create = sphereface_create,
    .compute = angular_compute,
    .destroy = angular_destroy,
};
