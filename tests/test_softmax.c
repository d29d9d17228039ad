/* Softmax cross-entropy on the device: loss and gradient against the C reference in
 * double on random logits, the gradient against central finite differences of the
 * device's own loss, large logits that would overflow a naive exp, a NaN logit, and
 * labels outside the classes. Tolerance: float32 sums over C terms, 1e-5 relative. */
#include "loss/softmax.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "support.h"

enum { B = 5, C = 7 };

/* A network whose output is its input (a 1x1 average pool on 1x1 images): the logits. */
static void open_net(fcl_model **m, fcl_net **net, fcl_softmax **s)
{
    char text[128];
    snprintf(text, sizeof text, "input h=1 w=1 c=%d\navgpool logits k=1 s=1 p=0\n", C);
    assert_int_equal(fcl_model_parse(text, "logits", m), FCL_SUCCESS);
    assert_int_equal(fcl_net_create(rt, *m, B, true, net), FCL_SUCCESS);
    assert_int_equal(fcl_softmax_create(*net, (*m)->n_nodes - 1, s), FCL_SUCCESS);
}

static void close_net(fcl_model *m, fcl_net *net, fcl_softmax *s)
{
    fcl_softmax_destroy(s);
    fcl_net_destroy(net);
    fcl_model_destroy(m);
}

/* Loss of logits z on the device; with dz, the gradient at weight (B x C) read back. */
static double weighted_loss(fcl_net *net, fcl_softmax *s, const float *z, const int *labels, float weight, float *dz,
                            long *wrong)
{
    double loss;
    long w;
    assert_int_equal(fcl_net_forward(net, z, NULL), FCL_SUCCESS);
    assert_int_equal(fcl_net_begin_backward(net), FCL_SUCCESS);
    assert_int_equal(fcl_softmax_loss(s, labels, dz ? weight : 0.0f, &loss, &w), FCL_SUCCESS);
    if (dz) {
        fcl_view v = fcl_net_output_view(net, net->model->n_nodes - 1);
        assert_int_equal(v.ns, C);
        assert_int_equal(fcl_net_read(net, net->dacts, (size_t)v.off, (size_t)B * C, dz), FCL_SUCCESS);
    }
    if (wrong)
        *wrong = w;
    return loss;
}

static double device_loss(fcl_net *net, fcl_softmax *s, const float *z, const int *labels, float *dz, long *wrong)
{
    return weighted_loss(net, s, z, labels, 1.0f, dz, wrong);
}

static void matches_reference_and_finite_differences(void **state)
{
    (void)state;
    fcl_model *m;
    fcl_net *net;
    fcl_softmax *s;
    open_net(&m, &net, &s);
    float z[B * C], dz[B * C];
    double zd[B * C], ref_dz[B * C];
    const int labels[B] = {0, 3, 6, 3, 1};
    uint64_t rng = 5;
    for (int i = 0; i < B * C; i++) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        z[i] = (float)((double)(rng >> 11) / 9007199254740992.0 * 6 - 3);
        zd[i] = z[i];
    }
    long wrong, ref_wrong = 0;
    double loss = device_loss(net, s, z, labels, dz, &wrong);
    double ref = fcl_softmax_reference(zd, labels, B, C, ref_dz);
    assert_true(fabs(loss - ref) <= 1e-5 * fabs(ref));
    for (int i = 0; i < B * C; i++)
        assert_true(fabs(dz[i] - ref_dz[i]) <= 1e-6);
    /* A joint loss's share: the same loss, the gradient scaled by its weight. */
    float share[B * C];
    assert_true(fabs(weighted_loss(net, s, z, labels, 0.25f, share, NULL) - loss) <= 1e-12);
    for (int i = 0; i < B * C; i++)
        assert_true(fabs(share[i] - 0.25 * ref_dz[i]) <= 1e-6);
    for (int i = 0; i < B; i++) {
        int best = 0;
        for (int j = 1; j < C; j++)
            best = z[i * C + j] > z[i * C + best] ? j : best;
        ref_wrong += best != labels[i];
    }
    assert_int_equal(wrong, ref_wrong);
    /* Central differences of the device's loss, step 1e-2 (the loss is smooth; float
     * rounding of the loss, ~1e-7, over 2e-2 stays far below the tolerance). */
    for (int i = 0; i < B * C; i++) {
        float keep = z[i];
        z[i] = keep + 1e-2f;
        double up = device_loss(net, s, z, labels, NULL, NULL);
        z[i] = keep - 1e-2f;
        double down = device_loss(net, s, z, labels, NULL, NULL);
        z[i] = keep;
        double fd = (up - down) / 2e-2;
        if (fabs(fd - dz[i]) > 2e-4)
            fail_msg("d loss / d z[%d]: device %.6g, finite differences %.6g", i, dz[i], fd);
    }
    close_net(m, net, s);
}

static void large_and_nan_logits(void **state)
{
    (void)state;
    fcl_model *m;
    fcl_net *net;
    fcl_softmax *s;
    open_net(&m, &net, &s);
    float z[B * C] = {0};
    const int labels[B] = {0, 1, 2, 3, 4};
    for (int i = 0; i < B; i++)
        z[i * C + i] = 1000.0f; /* exp(1000) overflows float; the loss must not */
    z[C + 2] = 1000.0f;         /* row 1: a tie at 1000 between classes 1 and 2, label 1 */
    long wrong;
    float dz[B * C];
    double loss = device_loss(net, s, z, labels, dz, &wrong);
    if (fabs(loss - log(2.0) / B) > 1e-6) /* only row 1 pays: log 2 */
        fail_msg("loss %.9g, wanted %.9g", loss, log(2.0) / B);
    assert_int_equal(wrong, 0); /* the first maximum is the label */
    assert_true(fabs(dz[C + 1] - (-0.5 / B)) < 1e-7 && fabs(dz[C + 2] - 0.5 / B) < 1e-7);
    z[3 * C + 5] = NAN;
    assert_true(isnan(device_loss(net, s, z, labels, NULL, NULL)));
    close_net(m, net, s);
}

static void labels_outside_the_classes_are_refused(void **state)
{
    (void)state;
    fcl_model *m;
    fcl_net *net;
    fcl_softmax *s;
    open_net(&m, &net, &s);
    float z[B * C] = {0};
    const int labels[B] = {0, 1, C, 3, 4};
    double loss;
    long wrong;
    assert_int_equal(fcl_net_forward(net, z, NULL), FCL_SUCCESS);
    fcl_set_log_level(FCL_LOG_ERROR + 1);
    assert_int_equal(fcl_softmax_loss(s, labels, 0.0f, &loss, &wrong), FCL_ERR_INVALID_ARGUMENT);
    fcl_set_log_level(FCL_LOG_WARN);
    close_net(m, net, s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_reference_and_finite_differences),
        cmocka_unit_test(large_and_nan_logits),
        cmocka_unit_test(labels_outside_the_classes_are_refused),
    };
    return cmocka_run_group_tests(tests, open_test_runtime, close_test_runtime);
}
