#include "optim/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The kernels this file launches. */
static const fcl_kernel_def k_sgd_step = {"optim.cl", "sgd_step"};
static const fcl_kernel_def k_adagrad_step = {"optim.cl", "adagrad_step"};
static const fcl_kernel_def k_adam_step = {"optim.cl", "adam_step"};

static const struct {
    const char *name;
    int state_buffers; /* per parameter */
    fcl_optim_config defaults;
    int squares; /* the state buffer that sums squares (never below 0), or -1 */
} kinds[FCL_OPT_COUNT] = {
    [FCL_OPT_SGD] = {"sgd", 1, {.kind = FCL_OPT_SGD, .lr = 0.01f, .momentum = 0.9f}, -1},
    [FCL_OPT_ADAGRAD] = {"adagrad", 1, {.kind = FCL_OPT_ADAGRAD, .lr = 0.05f, .eps = 1e-10f}, 0},
    [FCL_OPT_ADAM] = {"adam", 2, {.kind = FCL_OPT_ADAM, .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f}, 1},
};

fcl_optim_config fcl_optim_defaults(fcl_optimizer_kind kind) { return kinds[kind].defaults; }
const char *fcl_optimizer_name(fcl_optimizer_kind kind) { return kinds[kind].name; }

fcl_status fcl_optimizer_parse(const char *name, fcl_optimizer_kind *out)
{
    for (int i = 0; i < FCL_OPT_COUNT; i++)
        if (strcmp(kinds[i].name, name) == 0) {
            *out = (fcl_optimizer_kind)i;
            return FCL_SUCCESS;
        }
    fcl_log(FCL_LOG_ERROR, "unknown optimiser '%s' (sgd, adagrad or adam)", name);
    return FCL_ERR_INVALID_ARGUMENT;
}

struct fcl_optimizer {
    fcl_net *net;
    fcl_optim_config config;
    cl_mem state[2];
    long step;
};

void fcl_optimizer_destroy(fcl_optimizer *opt)
{
    if (!opt)
        return;
    for (int i = 0; i < 2; i++)
        if (opt->state[i])
            clReleaseMemObject(opt->state[i]);
    free(opt);
}

fcl_status fcl_optimizer_create(fcl_net *net, const fcl_optim_config *config, fcl_optimizer **out)
{
    *out = NULL;
    if (!net->training || config->kind < 0 || config->kind >= FCL_OPT_COUNT || !(config->lr > 0) ||
        !(config->weight_decay >= 0))
        return FCL_ERR_INVALID_ARGUMENT;
    fcl_optimizer *opt = calloc(1, sizeof *opt);
    if (!opt)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    opt->net = net;
    opt->config = *config;
    size_t n = net->model->n_params ? net->model->n_params : 1;
    fcl_status st = FCL_SUCCESS;
    for (int i = 0; i < kinds[config->kind].state_buffers && st == FCL_SUCCESS; i++) {
        cl_int err;
        opt->state[i] = clCreateBuffer(net->rt->context, CL_MEM_READ_WRITE, n * sizeof(float), NULL, &err);
        st = err == CL_SUCCESS ? fcl_net_fill(net, opt->state[i], 0, n, 0.0f) : FCL_CL_FAIL("clCreateBuffer", err);
    }
    if (st != FCL_SUCCESS) {
        fcl_optimizer_destroy(opt);
        return st;
    }
    *out = opt;
    return FCL_SUCCESS;
}

int fcl_optimizer_state_count(const fcl_optimizer *opt) { return kinds[opt->config.kind].state_buffers; }
bool fcl_optimizer_state_is_squares(const fcl_optimizer *opt, int i) { return kinds[opt->config.kind].squares == i; }
cl_mem fcl_optimizer_state(const fcl_optimizer *opt, int i) { return opt->state[i]; }
long fcl_optimizer_steps(const fcl_optimizer *opt) { return opt->step; }
void fcl_optimizer_set_steps(fcl_optimizer *opt, long steps) { opt->step = steps; }

static fcl_status step_range(fcl_optimizer *opt, size_t off, size_t n, float lr)
{
    fcl_net *net = opt->net;
    const fcl_optim_config *c = &opt->config;
    switch (c->kind) {
    case FCL_OPT_SGD:
        return FCL_LAUNCH(net, &k_sgd_step, n, FCL_M(net->params), FCL_M(net->grads), FCL_M(opt->state[0]),
                          FCL_I(off), FCL_I(n), FCL_F(lr), FCL_F(c->momentum), FCL_F(c->weight_decay));
    case FCL_OPT_ADAGRAD:
        return FCL_LAUNCH(net, &k_adagrad_step, n, FCL_M(net->params), FCL_M(net->grads), FCL_M(opt->state[0]),
                          FCL_I(off), FCL_I(n), FCL_F(lr), FCL_F(c->eps), FCL_F(c->weight_decay));
    case FCL_OPT_ADAM: {
        float c1 = (float)(1.0 - pow(c->beta1, (double)opt->step)), c2 = (float)(1.0 - pow(c->beta2, (double)opt->step));
        return FCL_LAUNCH(net, &k_adam_step, n, FCL_M(net->params), FCL_M(net->grads), FCL_M(opt->state[0]),
                          FCL_M(opt->state[1]), FCL_I(off), FCL_I(n), FCL_F(lr), FCL_F(c->beta1), FCL_F(c->beta2),
                          FCL_F(c->eps), FCL_F(c->weight_decay), FCL_F(c1), FCL_F(c2));
    }
    default: return FCL_ERR_INVALID_ARGUMENT;
    }
}

fcl_status fcl_optimizer_step(fcl_optimizer *opt, float lr)
{
    const fcl_model *m = opt->net->model;
    opt->step++;
    fcl_status st = FCL_SUCCESS;
    for (int i = 0; i < m->n_nodes && st == FCL_SUCCESS; i++) {
        fcl_param_desc d[FCL_MAX_PARAMS];
        int np = fcl_ops[m->nodes[i].op]->params(&m->nodes[i], d);
        size_t at = m->nodes[i].param_off;
        for (int j = 0; j < np && st == FCL_SUCCESS; at += d[j].count, j++)
            if (d[j].trainable)
                st = step_range(opt, at, d[j].count, lr);
    }
    return st;
}

double fcl_schedule_lr(const fcl_schedule *s, long step)
{
    if (step < s->warmup)
        return s->base_lr * (double)(step + 1) / (double)s->warmup;
    long t = step - s->warmup;
    switch (s->kind) {
    case FCL_SCHEDULE_STEP:
        return s->base_lr * pow(s->gamma, (double)(s->step_every > 0 ? t / s->step_every : 0));
    case FCL_SCHEDULE_COSINE: {
        long span = s->total - s->warmup;
        double progress = span > 0 ? fmin((double)t / (double)span, 1.0) : 1.0;
        return s->min_lr + (s->base_lr - s->min_lr) * 0.5 * (1.0 + cos(3.141592653589793 * progress));
    }
    default: return s->base_lr;
    }
}
