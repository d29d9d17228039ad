/* The centre loss: softmax on the head (src/loss/softmax.c) and the centre term on the
 * head's input, the embedding (cl/center.cl). */
#include "loss/center.h"
#include "loss/softmax.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The kernels this file launches. */
static const fcl_kernel_def k_center_loss = {"center.cl", "center_loss"};
static const fcl_kernel_def k_center_update = {"center.cl", "center_update"};

typedef struct center_state {
    fcl_net *net;
    int embedding, classes, dim;
    float lambda, rate;
    fcl_softmax *softmax;
    fcl_loss_rows rows;
    cl_mem centers;
} center_state;

static void center_destroy(void *state)
{
    center_state *s = state;
    if (!s)
        return;
    fcl_softmax_destroy(s->softmax);
    fcl_loss_rows_destroy(&s->rows);
    if (s->centers)
        clReleaseMemObject(s->centers);
    free(s);
}

static fcl_status center_create(fcl_net *net, int node, const fcl_loss_params *p, void **out)
{
    *out = NULL;
    if (node < 1 || node >= net->model->n_nodes || net->model->nodes[node].n_inputs != 1)
        return FCL_ERR_INVALID_ARGUMENT;
    if (!(p->center_weight >= 0) || !(p->center_rate >= 0 && p->center_rate <= 1)) {
        fcl_log(FCL_LOG_ERROR, "centre loss: the weight lambda %g must be >= 0 and the rate alpha %g from 0 to 1",
                (double)p->center_weight, (double)p->center_rate);
        return FCL_ERR_INVALID_ARGUMENT;
    }
    center_state *s = calloc(1, sizeof *s);
    if (!s)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    const fcl_node *head = &net->model->nodes[node];
    *s = (center_state){.net = net, .embedding = head->inputs[0], .classes = fcl_shape_size(head->out),
                        .dim = fcl_shape_size(head->in), .lambda = p->center_weight, .rate = p->center_rate};
    fcl_status st = fcl_softmax_create(net, node, &s->softmax);
    if (st == FCL_SUCCESS)
        st = fcl_loss_rows_create(net, &s->rows);
    cl_int err = CL_SUCCESS;
    if (st == FCL_SUCCESS)
        s->centers = clCreateBuffer(net->rt->context, CL_MEM_READ_WRITE,
                                    (size_t)s->classes * s->dim * sizeof(float), NULL, &err);
    if (st == FCL_SUCCESS && err != CL_SUCCESS)
        st = FCL_CL_FAIL("clCreateBuffer", err);
    if (st == FCL_SUCCESS)
        st = fcl_net_fill(net, s->centers, 0, (size_t)s->classes * s->dim, 0.0f);
    if (st != FCL_SUCCESS) {
        center_destroy(s);
        return st;
    }
    *out = s;
    return FCL_SUCCESS;
}

static fcl_status center_compute(void *state, const int *labels, long step, float weight, fcl_loss_result *out)
{
    (void)step;
    center_state *s = state;
    fcl_net *net = s->net;
    const int B = net->batch;
    double softmax_loss = 0, center_sum = 0;
    long wrong = 0, unused;
    fcl_status st = fcl_softmax_loss(s->softmax, labels, weight, &softmax_loss, &wrong);
    if (st == FCL_SUCCESS)
        st = fcl_loss_rows_upload(net, &s->rows, labels, s->classes, weight);
    fcl_view x = fcl_net_output_view(net, s->embedding);
    const bool gradient = weight != 0.0f;
    if (st == FCL_SUCCESS)
        st = FCL_LAUNCH(net, &k_center_loss, (size_t)B, FCL_M(net->training ? net->dacts : net->acts),
                        FCL_M(net->acts), FCL_I(x.off), FCL_I(x.ns), FCL_M(s->rows.labels), FCL_M(s->centers),
                        FCL_M(s->rows.stats), FCL_I(B), FCL_I(s->dim), FCL_F(weight * s->lambda / (float)B),
                        FCL_I(gradient));
    if (st == FCL_SUCCESS)
        st = fcl_loss_rows_sum(net, &s->rows, &center_sum, &unused);
    if (st == FCL_SUCCESS && gradient) /* after the gradient, which used the centres as they were */
        st = FCL_LAUNCH(net, &k_center_update, (size_t)s->classes * s->dim, FCL_M(s->centers), FCL_M(net->acts),
                        FCL_I(x.off), FCL_I(x.ns), FCL_M(s->rows.labels), FCL_I(B), FCL_I(s->classes),
                        FCL_I(s->dim), FCL_F(s->rate));
    *out = (fcl_loss_result){.loss = softmax_loss + s->lambda * center_sum / B, .count = B, .active = wrong,
                             .active_fraction = (double)wrong / B};
    return st;
}

static cl_mem center_tensor(void *state, size_t *count)
{
    center_state *s = state;
    *count = (size_t)s->classes * s->dim;
    return s->centers;
}

double fcl_center_reference(const double *x, const double *c, const int *labels, int B, int C, int D, double alpha,
                            double *dx, double *next)
{
    double total = 0;
    for (int i = 0; i < B; i++)
        for (int d = 0; d < D; d++) {
            const double diff = x[(size_t)i * D + d] - c[(size_t)labels[i] * D + d];
            total += 0.5 * diff * diff;
            if (dx)
                dx[(size_t)i * D + d] = diff / B;
        }
    for (int j = 0; next && j < C; j++)
        for (int d = 0; d < D; d++) {
            double sum = 0;
            int n = 0;
            for (int i = 0; i < B; i++)
                if (labels[i] == j)
                    sum += c[(size_t)j * D + d] - x[(size_t)i * D + d], n++;
            next[(size_t)j * D + d] = c[(size_t)j * D + d] - alpha * sum / (1 + n);
        }
    return total / B;
}

/* The loss table's entry (src/loss/loss.h). */
const fcl_loss_def fcl_loss_center = {
    .name = "center",
    .summary = "softmax + lambda x centre loss (Wen et al.: --center-weight 0.003, --center-rate 0.5)",
    .active = "wrong",
    .head = true,
    .head_op = FCL_OP_FC,
    .options = "center-weight center-rate",
    .create = center_create,
    .compute = center_compute,
    .destroy = center_destroy,
    .state_tensor = center_tensor,
};
