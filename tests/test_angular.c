/* L-Softmax and SphereFace on the device through their cosine head: the loss against
 * the double-precision reference for m = 1..4, both variants, lambda large (almost
 * softmax) and small (the whole margin), an image along its class vector (cos = 1)
 * and one opposite it (cos = -1, the last piece of psi); the gradients of the head's
 * input and class vectors against central differences of that reference; lambda's
 * annealing; and margins it refuses. */
#include "loss/angular.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "support.h"

enum { B = 5, C = 4, D = 3 };

typedef struct harness {
    fcl_model *m;
    fcl_net *net;
    fcl_objective obj;
} harness;

static fcl_status open_harness(harness *h, fcl_loss_kind kind, float m, float lambda)
{
    char text[128];
    snprintf(text, sizeof text, "input h=1 w=1 c=%d\ncosine cls c=%d\n", D, C);
    assert_int_equal(fcl_model_parse(text, "angular", &h->m), FCL_SUCCESS);
    assert_int_equal(fcl_net_create(rt, h->m, B, true, &h->net), FCL_SUCCESS);
    h->net->input_gradient = true;
    memset(&h->obj, 0, sizeof h->obj);
    /* A constant lambda: base = minimum. */
    const fcl_loss_params p = {.class_margin = m, .lambda_base = lambda, .lambda_min = lambda};
    return fcl_objective_add(&h->obj, h->net, kind, 1, &p, 1.0f);
}

static void close_harness(harness *h)
{
    fcl_objective_destroy(&h->obj);
    fcl_net_destroy(h->net);
    fcl_model_destroy(h->m);
}

/* The device's loss of inputs x and class vectors w; with gx, gw their gradients. */
static double device_loss(harness *h, const float *x, const float *w, const int *labels, float *gx, float *gw)
{
    fcl_net *net = h->net;
    const size_t w_off = h->m->nodes[1].param_off;
    fcl_loss_result r;
    assert_int_equal(fcl_net_write(net, net->params, w_off, C * D, w), FCL_SUCCESS);
    assert_int_equal(fcl_net_forward(net, x, NULL), FCL_SUCCESS);
    assert_int_equal(fcl_net_fill(net, net->grads, 0, h->m->n_params, 0), FCL_SUCCESS);
    assert_int_equal(fcl_net_begin_backward(net), FCL_SUCCESS);
    assert_int_equal(fcl_objective_compute(&h->obj, labels, gx != NULL, &r), FCL_SUCCESS);
    if (gx) {
        assert_int_equal(fcl_net_backward_layers(net), FCL_SUCCESS);
        fcl_view v = fcl_net_output_view(net, 0);
        assert_int_equal(fcl_net_read(net, net->dacts, (size_t)v.off, (size_t)B * D, gx), FCL_SUCCESS);
        assert_int_equal(fcl_net_read(net, net->grads, w_off, C * D, gw), FCL_SUCCESS);
    }
    return r.loss;
}

static void check(fcl_loss_kind kind, int m, double lambda, const float *x, const float *w, const int *labels)
{
    harness h;
    assert_int_equal(open_harness(&h, kind, (float)m, (float)lambda), FCL_SUCCESS);
    const fcl_angular_config cfg = {kind == FCL_LOSS_LSOFTMAX, m, lambda};
    double xd[B * D], wd[C * D];
    for (int i = 0; i < B * D; i++)
        xd[i] = x[i];
    for (int i = 0; i < C * D; i++)
        wd[i] = w[i];
    float gx[B * D], gw[C * D];
    const double loss = device_loss(&h, x, w, labels, gx, gw);
    const double ref = fcl_angular_reference(&cfg, xd, wd, labels, B, C, D);
    if (!isfinite(loss) || fabs(loss - ref) > 2e-5 * fmax(1, fabs(ref)))
        fail_msg("%s m %d lambda %g: loss %.9g, reference %.9g", h.obj.terms[0].def->name, m, lambda, loss, ref);
    /* Central differences of the reference, in double. */
    for (int which = 0; which < 2; which++) {
        double *v = which ? wd : xd;
        const float *g = which ? gw : gx;
        for (int k = 0; k < (which ? C * D : B * D); k++) {
            const double keep = v[k], step = 1e-6;
            v[k] = keep + step;
            const double up = fcl_angular_reference(&cfg, xd, wd, labels, B, C, D);
            v[k] = keep - step;
            const double down = fcl_angular_reference(&cfg, xd, wd, labels, B, C, D);
            v[k] = keep;
            const double fd = (up - down) / (2 * step);
            if (!isfinite(g[k]) || fabs(g[k] - fd) > 1e-4 * fmax(1, fabs(fd)))
                fail_msg("%s m %d lambda %g: d loss / d %s[%d]: device %.7g, finite differences %.7g",
                         h.obj.terms[0].def->name, m, lambda, which ? "w" : "x", k, g[k], fd);
        }
    }
    close_harness(&h);
}

static void matches_the_reference_and_its_derivatives(void **state)
{
    (void)state;
    float x[B * D], w[C * D];
    uint64_t rng = 21;
    for (int i = 0; i < B * D; i++) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i] = (float)((double)(rng >> 11) / 9007199254740992.0 * 2 - 1) * 2;
    }
    for (int i = 0; i < C * D; i++) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        w[i] = (float)((double)(rng >> 11) / 9007199254740992.0 * 2 - 1) * (1 + i % 2);
    }
    const int labels[B] = {0, 1, 2, 3, 1};
    for (int m = 1; m <= 4; m++)
        for (int variant = 0; variant < 2; variant++) {
            const fcl_loss_kind kind = variant ? FCL_LOSS_SPHEREFACE : FCL_LOSS_LSOFTMAX;
            check(kind, m, 1000, x, w, labels);
            check(kind, m, 0.5, x, w, labels);
        }
    /* An image along its class vector and one opposite it: cos theta_y = +-1 exactly in
     * the reference, within float rounding on the device; the value must agree (no NaN),
     * the derivatives are checked where they exist (cos strictly inside). */
    harness h;
    float xe[B * D], gx[B * D], gw[C * D];
    memcpy(xe, x, sizeof xe);
    for (int d = 0; d < D; d++) {
        xe[d] = w[0 * D + d] * 1.5f;       /* image 0, label 0: along w_0 */
        xe[D + d] = -w[1 * D + d] * 0.5f; /* image 1, label 1: opposite w_1 */
    }
    for (int variant = 0; variant < 2; variant++) {
        const fcl_loss_kind kind = variant ? FCL_LOSS_SPHEREFACE : FCL_LOSS_LSOFTMAX;
        assert_int_equal(open_harness(&h, kind, 4, 0.5f), FCL_SUCCESS);
        const double loss = device_loss(&h, xe, w, labels, gx, gw);
        double xd[B * D], wd[C * D];
        for (int i = 0; i < B * D; i++)
            xd[i] = xe[i];
        for (int i = 0; i < C * D; i++)
            wd[i] = w[i];
        const fcl_angular_config cfg = {kind == FCL_LOSS_LSOFTMAX, 4, 0.5};
        const double ref = fcl_angular_reference(&cfg, xd, wd, labels, B, C, D);
        assert_true(isfinite(loss) && fabs(loss - ref) <= 1e-4 * fmax(1, fabs(ref)));
        for (int i = 0; i < B * D; i++)
            assert_true(isfinite(gx[i]));
        for (int i = 0; i < C * D; i++)
            assert_true(isfinite(gw[i]));
        close_harness(&h);
    }
}

static void lambda_anneals_and_bad_margins_are_refused(void **state)
{
    (void)state;
    const fcl_loss_params p = {.lambda_base = 1000, .lambda_gamma = 0.12f, .lambda_power = 1, .lambda_min = 5};
    assert_true(fabs(fcl_angular_lambda(&p, 0) - 1000) < 1e-9);
    assert_true(fabs(fcl_angular_lambda(&p, 100) - 1000 / 13.0) < 1e-3);
    assert_true(fabs(fcl_angular_lambda(&p, 100000) - 5) < 1e-9);
    harness h;
    fcl_set_log_level(FCL_LOG_ERROR + 1);
    assert_int_equal(open_harness(&h, FCL_LOSS_SPHEREFACE, 5, 1), FCL_ERR_INVALID_ARGUMENT);
    close_harness(&h);
    assert_int_equal(open_harness(&h, FCL_LOSS_LSOFTMAX, 2.5f, 1), FCL_ERR_INVALID_ARGUMENT);
    close_harness(&h);
    fcl_set_log_level(FCL_LOG_WARN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_the_reference_and_its_derivatives),
        cmocka_unit_test(lambda_anneals_and_bad_margins_are_refused),
    };
    return cmocka_run_group_tests(tests, open_test_runtime, close_test_runtime);
}
