/* Optimiser steps on the device against a C reference in double, over three steps with
 * weight decay; non-trainable tensors (batch-norm running statistics) untouched; and
 * the learning-rate schedules against hand-computed values; the guard that stops a step
 * whose gradients hold NaN or Inf, naming the tensor.
 * Tolerance: one float32 update per step, |device - reference| <= 1e-5 * max(1, |p|). */
#include "optim/optim.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "support.h"

static uint64_t rng = 5;
static double uniform(void)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng >> 11) / 4503599627370496.0 - 1.0;
}

/* One reference step on every value (trainable ones only, as the mask says). */
static void reference_step(const fcl_optim_config *c, long t, double lr, double *p, const double *g, double *s1,
                           double *s2, const bool *trainable, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!trainable[i])
            continue;
        double grad = g[i] + c->weight_decay * p[i];
        switch (c->kind) {
        case FCL_OPT_SGD:
            s1[i] = c->momentum * s1[i] + grad;
            p[i] -= lr * s1[i];
            break;
        case FCL_OPT_ADAGRAD:
            s1[i] += grad * grad;
            p[i] -= lr * grad / (sqrt(s1[i]) + c->eps);
            break;
        default:
            s1[i] = c->beta1 * s1[i] + (1 - c->beta1) * grad;
            s2[i] = c->beta2 * s2[i] + (1 - c->beta2) * grad * grad;
            p[i] -= lr * (s1[i] / (1 - pow(c->beta1, (double)t))) / (sqrt(s2[i] / (1 - pow(c->beta2, (double)t))) + c->eps);
        }
    }
}

static void each_optimizer_matches_the_reference(void **state)
{
    (void)state;
    fcl_model *m;
    assert_int_equal(fcl_model_parse("input h=4 w=5 c=2\nconv c k=3 c=3 relu=0\nbatchnorm bn\nfc f c=7\n", "opt", &m),
                     FCL_SUCCESS);
    const size_t n = m->n_params;
    bool *trainable = calloc(n, sizeof *trainable);
    for (int i = 0; i < m->n_nodes; i++) {
        fcl_param_desc d[FCL_MAX_PARAMS];
        int np = fcl_ops[m->nodes[i].op]->params(&m->nodes[i], d);
        size_t at = m->nodes[i].param_off;
        for (int j = 0; j < np; at += d[j].count, j++)
            for (size_t k = 0; k < d[j].count; k++)
                trainable[at + k] = d[j].trainable;
    }
    for (int kind = 0; kind < FCL_OPT_COUNT; kind++) {
        fcl_net *net;
        assert_int_equal(fcl_net_create(rt, m, 2, true, &net), FCL_SUCCESS);
        fcl_optim_config c = fcl_optim_defaults((fcl_optimizer_kind)kind);
        c.weight_decay = 1e-2f;
        fcl_optimizer *opt;
        assert_int_equal(fcl_optimizer_create(net, &c, &opt), FCL_SUCCESS);
        float *pf = malloc(n * sizeof *pf), *gf = malloc(n * sizeof *gf);
        double *p = malloc(n * sizeof *p), *g = malloc(n * sizeof *g);
        double *s1 = calloc(n, sizeof *s1), *s2 = calloc(n, sizeof *s2);
        for (size_t i = 0; i < n; i++)
            p[i] = pf[i] = (float)uniform();
        assert_int_equal(fcl_net_write(net, net->params, 0, n, pf), FCL_SUCCESS);
        for (long t = 1; t <= 3; t++) {
            for (size_t i = 0; i < n; i++)
                g[i] = gf[i] = (float)uniform();
            assert_int_equal(fcl_net_write(net, net->grads, 0, n, gf), FCL_SUCCESS);
            float lr = c.lr * (float)t; /* a changing rate, as a schedule gives */
            assert_int_equal(fcl_optimizer_step(opt, lr), FCL_SUCCESS);
            reference_step(&c, t, lr, p, g, s1, s2, trainable, n);
        }
        assert_int_equal(fcl_net_read(net, net->params, 0, n, pf), FCL_SUCCESS);
        for (size_t i = 0; i < n; i++)
            if (fabs(pf[i] - p[i]) > 1e-5 * fmax(1, fabs(p[i])))
                fail_msg("%s: parameter %zu: device %.8g, reference %.8g%s", fcl_optimizer_name((fcl_optimizer_kind)kind),
                         i, pf[i], p[i], trainable[i] ? "" : " (not trainable)");
        free(pf), free(gf), free(p), free(g), free(s1), free(s2);
        fcl_optimizer_destroy(opt);
        fcl_net_destroy(net);
    }
    free(trainable);
    fcl_model_destroy(m);
}

static void schedules(void **state)
{
    (void)state;
    fcl_schedule s = {.kind = FCL_SCHEDULE_STEP, .base_lr = 0.1, .gamma = 0.5, .step_every = 10, .warmup = 4};
    assert_float_equal(fcl_schedule_lr(&s, 0), 0.025, 1e-12); /* warm-up: 1/4 of the rate */
    assert_float_equal(fcl_schedule_lr(&s, 3), 0.1, 1e-12);
    assert_float_equal(fcl_schedule_lr(&s, 13), 0.1, 1e-12);
    assert_float_equal(fcl_schedule_lr(&s, 14), 0.05, 1e-12);
    assert_float_equal(fcl_schedule_lr(&s, 34), 0.0125, 1e-12);
    fcl_schedule cosine = {.kind = FCL_SCHEDULE_COSINE, .base_lr = 1.0, .min_lr = 0.1, .total = 100};
    assert_float_equal(fcl_schedule_lr(&cosine, 0), 1.0, 1e-12);
    assert_float_equal(fcl_schedule_lr(&cosine, 50), 0.55, 1e-12);
    assert_float_equal(fcl_schedule_lr(&cosine, 100), 0.1, 1e-12);
    assert_float_equal(fcl_schedule_lr(&cosine, 500), 0.1, 1e-12);
    fcl_schedule constant = {.kind = FCL_SCHEDULE_CONSTANT, .base_lr = 0.05};
    assert_float_equal(fcl_schedule_lr(&constant, 12345), 0.05, 0);
}

static void names_and_bad_configs(void **state)
{
    (void)state;
    for (int k = 0; k < FCL_OPT_COUNT; k++) {
        fcl_optimizer_kind back;
        assert_int_equal(fcl_optimizer_parse(fcl_optimizer_name((fcl_optimizer_kind)k), &back), FCL_SUCCESS);
        assert_int_equal(back, k);
    }
    assert_float_equal(fcl_optim_defaults(FCL_OPT_ADAGRAD).lr, 0.05f, 0); /* the paper's rate */
    fcl_model *m;
    assert_int_equal(fcl_model_parse("input h=1 w=1 c=3\nfc f c=2\n", "x", &m), FCL_SUCCESS);
    fcl_net *infer;
    assert_int_equal(fcl_net_create(rt, m, 1, false, &infer), FCL_SUCCESS);
    fcl_optim_config c = fcl_optim_defaults(FCL_OPT_SGD);
    fcl_optimizer *opt;
    assert_int_equal(fcl_optimizer_create(infer, &c, &opt), FCL_ERR_INVALID_ARGUMENT); /* no gradients */
    fcl_net_destroy(infer);
    fcl_net *train;
    assert_int_equal(fcl_net_create(rt, m, 1, true, &train), FCL_SUCCESS);
    c.lr = NAN;
    assert_int_equal(fcl_optimizer_create(train, &c, &opt), FCL_ERR_INVALID_ARGUMENT);
    fcl_net_destroy(train);
    fcl_model_destroy(m);
}

static char last_error[512];
static void capture(fcl_log_level level, const char *message, void *user)
{
    (void)user;
    if (level == FCL_LOG_ERROR)
        snprintf(last_error, sizeof last_error, "%s", message);
}

static void nonfinite_gradients_are_named(void **state)
{
    (void)state;
    fcl_model *m;
    assert_int_equal(fcl_model_parse("input h=5 w=5 c=1\nconv c1 k=3 c=4\nfc f c=700\nfc g c=3\n", "guard", &m),
                     FCL_SUCCESS);
    fcl_net *net;
    assert_int_equal(fcl_net_create(rt, m, 2, true, &net), FCL_SUCCESS);
    const size_t n = m->n_params; /* more than the 256 partial counts, and not a multiple */
    float *g = malloc(n * sizeof *g);
    for (size_t i = 0; i < n; i++)
        g[i] = (float)(i % 7) - 3.0f;
    assert_int_equal(fcl_net_write(net, net->grads, 0, n, g), FCL_SUCCESS);
    assert_int_equal(fcl_net_check_gradients(net), FCL_SUCCESS);
    fcl_set_log_callback(capture, NULL);
    const fcl_node *gn = &m->nodes[3];
    const size_t g_bias = gn->param_off + (size_t)gn->channels * gn->in.c; /* g.bias[1] */
    const float bad[2] = {NAN, INFINITY};
    for (int b = 0; b < 2; b++) {
        float keep = g[g_bias + 1];
        g[g_bias + 1] = bad[b];
        assert_int_equal(fcl_net_write(net, net->grads, 0, n, g), FCL_SUCCESS);
        last_error[0] = '\0';
        assert_int_equal(fcl_net_check_gradients(net), FCL_ERR_NUMERIC);
        assert_non_null(strstr(last_error, "g.bias"));
        assert_non_null(strstr(last_error, "at 1"));
        g[g_bias + 1] = keep;
    }
    g[n - 1] = NAN; /* the very last value, and an earlier tensor: the first one is named */
    g[2] = -INFINITY;
    assert_int_equal(fcl_net_write(net, net->grads, 0, n, g), FCL_SUCCESS);
    assert_int_equal(fcl_net_check_gradients(net), FCL_ERR_NUMERIC);
    assert_non_null(strstr(last_error, "c1.weight"));
    fcl_set_log_callback(NULL, NULL);
    free(g);
    fcl_net_destroy(net);
    fcl_model_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_optimizer_matches_the_reference),
        cmocka_unit_test(schedules),
        cmocka_unit_test(names_and_bad_configs),
        cmocka_unit_test(nonfinite_gradients_are_named),
    };
    return cmocka_run_group_tests(tests, open_test_runtime, close_test_runtime);
}
