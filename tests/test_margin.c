/* The cosine-margin losses (NormFace, CosFace, ArcFace with and without the easy
 * margin) on the device: loss, misclassification count and gradient against the
 * double-precision reference on hand-built cosines, including ArcFace's fallback
 * region (theta + m > pi), cosines at +-1 (no NaN from acos' derivative), and a batch
 * of one class; the gradient against central differences of the device's loss; and the
 * whole head: finite differences through the cosine layer and an l2norm. */
#include "loss/loss.h"
#include "loss/margin.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "support.h"

enum { B = 6, C = 5 };

static const struct {
    fcl_loss_kind kind;
    fcl_margin_config cfg;
} variants[] = {
    {FCL_LOSS_NORMFACE, {FCL_MARGIN_NORMFACE, 16, 0, false}},
    {FCL_LOSS_COSFACE, {FCL_MARGIN_COSFACE, 64, 0.35, false}},
    {FCL_LOSS_ARCFACE, {FCL_MARGIN_ARCFACE, 64, 0.5, false}},
    {FCL_LOSS_ARCFACE, {FCL_MARGIN_ARCFACE, 30, 0.5, true}},
    {FCL_LOSS_ARCFACE, {FCL_MARGIN_ARCFACE, 8, 1.2, false}}, /* a wide fallback region */
};
#define N_VARIANTS (sizeof variants / sizeof variants[0])

/* The loss reads a cosine head: the test network is its input (B x C) and a cosine
 * layer with the identity as weights, so unit input rows come out as the cosines. */
typedef struct harness {
    fcl_model *m;
    fcl_net *net;
    fcl_objective obj;
} harness;

static void open_harness(harness *h, size_t v)
{
    char text[160];
    snprintf(text, sizeof text, "input h=1 w=1 c=%d\ncosine cls c=%d\n", C, C);
    assert_int_equal(fcl_model_parse(text, "margin", &h->m), FCL_SUCCESS);
    assert_int_equal(fcl_net_create(rt, h->m, B, true, &h->net), FCL_SUCCESS);
    float eye[C * C] = {0};
    for (int j = 0; j < C; j++)
        eye[j * C + j] = 1;
    assert_int_equal(fcl_net_write(h->net, h->net->params, h->m->nodes[1].param_off, C * C, eye), FCL_SUCCESS);
    memset(&h->obj, 0, sizeof h->obj);
    const fcl_loss_params p = {.scale = (float)variants[v].cfg.scale, .class_margin = (float)variants[v].cfg.margin,
                               .easy_margin = variants[v].cfg.easy};
    assert_int_equal(fcl_objective_add(&h->obj, h->net, variants[v].kind, 1, &p, 1.0f), FCL_SUCCESS);
}

static void close_harness(harness *h)
{
    fcl_objective_destroy(&h->obj);
    fcl_net_destroy(h->net);
    fcl_model_destroy(h->m);
}

/* Loss of inputs x (B x C); with dx, the gradient with respect to the input (through
 * the cosine layer), and cos the head's output. */
static double device_loss(harness *h, const float *x, const int *labels, float *dx, float *cos, long *wrong)
{
    fcl_loss_result r;
    assert_int_equal(fcl_net_forward(h->net, x, NULL), FCL_SUCCESS);
    assert_int_equal(fcl_net_begin_backward(h->net), FCL_SUCCESS);
    assert_int_equal(fcl_objective_compute(&h->obj, labels, dx != NULL, &r), FCL_SUCCESS);
    fcl_view c = fcl_net_output_view(h->net, 1);
    if (cos)
        assert_int_equal(fcl_net_read(h->net, h->net->acts, (size_t)c.off, (size_t)B * C, cos), FCL_SUCCESS);
    if (dx) {
        float dc[B * C];
        assert_int_equal(fcl_net_read(h->net, h->net->dacts, (size_t)c.off, (size_t)B * C, dc), FCL_SUCCESS);
        memcpy(dx, dc, sizeof dc); /* the cosines' gradient: the loss's own */
    }
    if (wrong)
        *wrong = r.active;
    return r.loss;
}

/* Unit rows with chosen label cosines: row i's label column gets target[i], the rest
 * spread the remaining length. */
static void make_rows(float *x, const int *labels, const double *target)
{
    uint64_t rng = 99;
    for (int i = 0; i < B; i++) {
        double rest = 0;
        for (int j = 0; j < C; j++) {
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            x[i * C + j] = j == labels[i] ? 0 : (float)((double)(rng >> 11) / 9007199254740992.0 * 2 - 1);
            rest += (double)x[i * C + j] * x[i * C + j];
        }
        const double scale = sqrt((1 - target[i] * target[i]) / fmax(rest, 1e-12));
        for (int j = 0; j < C; j++)
            x[i * C + j] = j == labels[i] ? (float)target[i] : (float)(x[i * C + j] * scale);
    }
}

static void check_against_reference(size_t v, const int *labels, const double *target)
{
    harness h;
    open_harness(&h, v);
    float x[B * C], dc[B * C], cos[B * C];
    make_rows(x, labels, target);
    long wrong, ref_wrong;
    const double loss = device_loss(&h, x, labels, dc, cos, &wrong);
    double cd[B * C], ref_dc[B * C];
    for (int i = 0; i < B * C; i++)
        cd[i] = cos[i];
    const double ref = fcl_margin_reference(&variants[v].cfg, cd, labels, B, C, ref_dc, &ref_wrong);
    if (!isfinite(loss) || fabs(loss - ref) > 1e-5 * fmax(1, fabs(ref)))
        fail_msg("variant %zu: loss %.9g, reference %.9g", v, loss, ref);
    assert_int_equal(wrong, ref_wrong);
    double top = 1e-3;
    for (int i = 0; i < B * C; i++)
        top = fmax(top, fabs(ref_dc[i]));
    for (int i = 0; i < B * C; i++)
        if (!isfinite(dc[i]) || fabs(dc[i] - ref_dc[i]) > 1e-5 * top)
            fail_msg("variant %zu: d loss / d cos[%d]: device %.9g, reference %.9g", v, i, dc[i], ref_dc[i]);
    close_harness(&h);
}

static void matches_the_reference(void **state)
{
    (void)state;
    const int labels[B] = {0, 3, 4, 3, 1, 2};
    /* Label cosines across the range: near 1, ArcFace's fallback (below cos(pi - m)),
     * negative (the easy margin's cut), 0, and both ends exactly. */
    const double target[B] = {0.97, -0.95, -0.2, 0.0, 1.0, -1.0};
    for (size_t v = 0; v < N_VARIANTS; v++)
        check_against_reference(v, labels, target);
    /* A batch of one class. */
    const int one[B] = {2, 2, 2, 2, 2, 2};
    const double mid[B] = {0.5, 0.1, -0.4, 0.8, 0.3, -0.9};
    for (size_t v = 0; v < N_VARIANTS; v++)
        check_against_reference(v, one, mid);
}

/* The reference's gradient against central differences of the reference's loss in
 * the cosines (away from the clamp and the fallback's switch, where the loss has kinks). */
static void reference_gradient_is_the_derivative(void **state)
{
    (void)state;
    const int labels[B] = {1, 0, 4, 2, 2, 3};
    double c[B * C], dc[B * C];
    uint64_t rng = 7;
    for (int i = 0; i < B * C; i++) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        c[i] = (double)(rng >> 11) / 9007199254740992.0 * 1.8 - 0.9;
    }
    for (size_t v = 0; v < N_VARIANTS; v++) {
        fcl_margin_config cfg = variants[v].cfg;
        fcl_margin_reference(&cfg, c, labels, B, C, dc, NULL);
        for (int i = 0; i < B * C; i++) {
            const double keep = c[i], hstep = 1e-6;
            c[i] = keep + hstep;
            const double up = fcl_margin_reference(&cfg, c, labels, B, C, NULL, NULL);
            c[i] = keep - hstep;
            const double down = fcl_margin_reference(&cfg, c, labels, B, C, NULL, NULL);
            c[i] = keep;
            const double fd = (up - down) / (2 * hstep);
            if (fabs(fd - dc[i]) > 1e-5 * fmax(1, fabs(fd)))
                fail_msg("variant %zu: d/dc[%d]: reference %.9g, finite differences %.9g", v, i, dc[i], fd);
        }
    }
}

/* Through the head: the gradient the device gives the input of the cosine layer
 * against central differences of the device's loss in that input. */
static void head_gradient_matches_finite_differences(void **state)
{
    (void)state;
    const int labels[B] = {0, 1, 2, 3, 4, 0};
    for (size_t v = 0; v < N_VARIANTS; v++) {
        harness h;
        open_harness(&h, v);
        /* Class vectors not of unit length, inputs not either: both normalisations count. */
        float w[C * C], x[B * C];
        uint64_t rng = 11 + v;
        for (int i = 0; i < C * C; i++) {
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            w[i] = (float)((double)(rng >> 11) / 9007199254740992.0 * 2 - 1) * (1 + i % 3);
        }
        for (int i = 0; i < B * C; i++) {
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            x[i] = (float)((double)(rng >> 11) / 9007199254740992.0 * 2 - 1) * 3;
        }
        assert_int_equal(fcl_net_write(h.net, h.net->params, h.m->nodes[1].param_off, C * C, w), FCL_SUCCESS);
        float dc[B * C];
        assert_int_equal(fcl_net_fill(h.net, h.net->grads, h.m->nodes[1].param_off, C * C, 0), FCL_SUCCESS);
        device_loss(&h, x, labels, dc, NULL, NULL);
        assert_int_equal(fcl_net_backward_layers(h.net), FCL_SUCCESS);
        /* The class vectors' gradient (the cosine layer's input gradient is test_layers'). */
        float gw[C * C];
        assert_int_equal(fcl_net_read(h.net, h.net->grads, h.m->nodes[1].param_off, C * C, gw), FCL_SUCCESS);
        const double scale = variants[v].cfg.scale;
        for (int k = 0; k < C * C; k++) {
            const float keep = w[k], step = 1e-3f;
            w[k] = keep + step;
            assert_int_equal(fcl_net_write(h.net, h.net->params, h.m->nodes[1].param_off, C * C, w), FCL_SUCCESS);
            const double up = device_loss(&h, x, labels, NULL, NULL, NULL);
            w[k] = keep - step;
            assert_int_equal(fcl_net_write(h.net, h.net->params, h.m->nodes[1].param_off, C * C, w), FCL_SUCCESS);
            const double down = device_loss(&h, x, labels, NULL, NULL, NULL);
            w[k] = keep;
            assert_int_equal(fcl_net_write(h.net, h.net->params, h.m->nodes[1].param_off, C * C, w), FCL_SUCCESS);
            const double fd = (up - down) / (2.0 * step);
            /* float32 losses of size ~s over a 2e-3 step: a few 1e-4 x s of noise */
            if (fabs(fd - gw[k]) > 2e-2 * fmax(1, fabs(fd)) + 1e-5 * scale / step)
                fail_msg("variant %zu: d loss / d w[%d]: device %.6g, finite differences %.6g", v, k, gw[k], fd);
        }
        close_harness(&h);
    }
}

static int ascending(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* AdaCos's Algorithm 1, written out: B_avg at the old scale, the median label angle. */
static double adacos_by_hand(const double *c, const int *labels, double s)
{
    double b_avg = 0, theta[B];
    for (int i = 0; i < B; i++) {
        for (int j = 0; j < C; j++)
            b_avg += j == labels[i] ? 0 : exp((float)s * c[i * C + j]) / B;
        theta[i] = acos(c[i * C + labels[i]]);
    }
    qsort(theta, B, sizeof *theta, ascending);
    const double median = B % 2 ? theta[B / 2] : (theta[B / 2 - 1] + theta[B / 2]) / 2;
    return log(b_avg) / cos(fmin(atan(1.0), median)); /* pi/4 */
}

/* AdaCos: each training batch moves the scale as the reference does (from sqrt(2)
 * log(C - 1)), the loss is NormFace's at the new scale, a loss without gradient leaves
 * the scale alone, and the scale survives a save and load as text, bit for bit. */
static void adacos_scales_as_the_paper_and_keeps_its_scale(void **state)
{
    (void)state;
    harness h;
    open_harness(&h, 0);
    fcl_objective_destroy(&h.obj);
    const fcl_loss_params p = {.class_margin = -1};
    assert_int_equal(fcl_objective_add(&h.obj, h.net, FCL_LOSS_ADACOS, 1, &p, 1.0f), FCL_SUCCESS);
    const int labels[B] = {0, 3, 4, 3, 1, 2};
    const double target[B] = {0.9, 0.2, -0.3, 0.6, 0.75, 0.1};
    float x[B * C], dc[B * C], cos[B * C];
    make_rows(x, labels, target);
    double scale = fcl_adacos_start(C), cd[B * C], ref_dc[B * C];
    assert_true(fabs(scale - sqrt(2.0) * log(C - 1.0)) < 1e-12);
    for (int step = 0; step < 3; step++) {
        const double loss = device_loss(&h, x, labels, dc, cos, NULL);
        for (int i = 0; i < B * C; i++)
            cd[i] = cos[i];
        scale = (float)adacos_by_hand(cd, labels, scale);
        const fcl_margin_config cfg = {FCL_MARGIN_NORMFACE, scale, 0, false};
        const double ref = fcl_margin_reference(&cfg, cd, labels, B, C, ref_dc, NULL);
        if (fabs(loss - ref) > 1e-5 * fmax(1, fabs(ref)))
            fail_msg("step %d: loss %.9g, NormFace at the reference's scale %.9g: %.9g", step, loss, scale, ref);
        for (int i = 0; i < B * C; i++)
            assert_true(fabs(dc[i] - ref_dc[i]) <= 1e-5 * fmax(1, fabs(ref_dc[i])));
        x[step] += 0.05f; /* another batch */
    }
    char text[128], again[128];
    assert_int_equal(fcl_objective_save_state(&h.obj, text, sizeof text), FCL_SUCCESS);
    assert_non_null(strstr(text, "adacos="));
    assert_true(fabs(strtod(text + 7, NULL) - scale) <= 1e-6 * scale);
    /* No gradient, no move. */
    device_loss(&h, x, labels, NULL, NULL, NULL);
    assert_int_equal(fcl_objective_save_state(&h.obj, again, sizeof again), FCL_SUCCESS);
    assert_string_equal(text, again);
    /* A fresh objective takes the saved scale, exactly. */
    fcl_objective fresh = {0};
    assert_int_equal(fcl_objective_add(&fresh, h.net, FCL_LOSS_ADACOS, 1, &p, 1.0f), FCL_SUCCESS);
    assert_int_equal(fcl_objective_load_state(&fresh, text), FCL_SUCCESS);
    assert_int_equal(fcl_objective_save_state(&fresh, again, sizeof again), FCL_SUCCESS);
    assert_string_equal(text, again);
    fcl_set_log_level(FCL_LOG_ERROR + 1);
    assert_int_equal(fcl_objective_load_state(&fresh, "adacos=-3"), FCL_ERR_FORMAT);
    fcl_set_log_level(FCL_LOG_WARN);
    fcl_objective_destroy(&fresh);
    close_harness(&h);
}

static void outside_labels_and_wrong_nodes_are_refused(void **state)
{
    (void)state;
    harness h;
    open_harness(&h, 2);
    float x[B * C] = {0};
    const int labels[B] = {0, 1, C, 3, 4, 0};
    fcl_loss_result r;
    assert_int_equal(fcl_net_forward(h.net, x, NULL), FCL_SUCCESS);
    fcl_set_log_level(FCL_LOG_ERROR + 1);
    assert_int_equal(fcl_objective_compute(&h.obj, labels, false, &r), FCL_ERR_INVALID_ARGUMENT);
    /* A node that is not a cosine head, and a margin ArcFace cannot take. */
    fcl_objective other = {0};
    const fcl_loss_params p = {.scale = 0, .class_margin = -1};
    assert_int_equal(fcl_objective_add(&other, h.net, FCL_LOSS_ARCFACE, 0, &p, 1.0f), FCL_ERR_INVALID_ARGUMENT);
    const fcl_loss_params wide = {.scale = 10, .class_margin = 2};
    assert_int_equal(fcl_objective_add(&other, h.net, FCL_LOSS_ARCFACE, 1, &wide, 1.0f), FCL_ERR_INVALID_ARGUMENT);
    fcl_set_log_level(FCL_LOG_WARN);
    close_harness(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_the_reference),
        cmocka_unit_test(reference_gradient_is_the_derivative),
        cmocka_unit_test(head_gradient_matches_finite_differences),
        cmocka_unit_test(adacos_scales_as_the_paper_and_keeps_its_scale),
        cmocka_unit_test(outside_labels_and_wrong_nodes_are_refused),
    };
    return cmocka_run_group_tests(tests, open_test_runtime, close_test_runtime);
}
