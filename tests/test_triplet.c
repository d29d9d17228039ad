/* Triplet loss and online mining on the device: each strategy on hand-built distance
 * matrices (ties, no negative beyond the positive, a single identity), against the C
 * reference on random batches, and its gradient (through an L2-norm layer, as in
 * FaceNet) against central finite differences of the reference in double.
 * Tolerance: losses and gradients are float32 sums over at most B^2 terms of size ~4,
 * so |device - reference| <= 1e-4 * max(1, |reference|). */
#include "loss/triplet.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "support.h"

/* A network whose output is the L2-normalised input: the embedding layer alone. */
static void open_net(int batch, int dim, fcl_model **m, fcl_net **net, fcl_triplet **t)
{
    char text[128];
    snprintf(text, sizeof text, "input h=1 w=1 c=%d\nl2norm embedding\n", dim);
    assert_int_equal(fcl_model_parse(text, "embedding", m), FCL_SUCCESS);
    assert_int_equal(fcl_net_create(rt, *m, batch, true, net), FCL_SUCCESS);
    assert_int_equal(fcl_triplet_create(*net, (*m)->n_nodes - 1, t), FCL_SUCCESS);
}

static void close_net(fcl_model *m, fcl_net *net, fcl_triplet *t)
{
    fcl_triplet_destroy(t);
    fcl_net_destroy(net);
    fcl_model_destroy(m);
}

/* Symmetric B x B matrix from the upper triangle given row by row. */
static void symmetric(int B, const float *upper, float *d)
{
    for (int i = 0, k = 0; i < B; i++) {
        d[i * B + i] = 0;
        for (int j = i + 1; j < B; j++, k++)
            d[i * B + j] = d[j * B + i] = upper[k];
    }
}

/* Mines the symmetric matrix whose upper triangle is given, with alpha 0.2. */
static void mine(int B, const float *upper, const int *labels, fcl_mining mining, fcl_loss_result *r, float *coef)
{
    float d[64];
    assert_true(B * B <= 64);
    symmetric(B, upper, d);
    fcl_model *m;
    fcl_net *net;
    fcl_triplet *t;
    open_net(B, 4, &m, &net, &t);
    assert_int_equal(fcl_triplet_mine_matrix(t, d, labels, mining, 0.2f, r, coef), FCL_SUCCESS);
    close_net(m, net, t);
}

static void hand_built_strategies(void **state)
{
    (void)state;
    /* Anchor 0 sees positives 1 (0.5) and 2 (0.9), negatives 3 (0.6) and 4 (1.2). */
    const int B = 5, labels[5] = {0, 0, 0, 1, 1};
    const float upper[10] = {0.5f, 0.9f, 0.6f, 1.2f, /* row 0 */ 0.4f, 1.0f, 1.0f, /* row 1 */
                             1.5f, 1.5f, /* row 2 */ 0.3f};
    float coef[25];
    fcl_loss_result r;

    mine(B, upper, labels, FCL_MINING_BATCH_HARD, &r, coef);
    /* farthest positive 2, nearest negative 3: 0.9 - 0.6 + 0.2 = 0.5 */
    assert_float_equal(coef[0 * B + 2], 1, 0);
    assert_float_equal(coef[0 * B + 3], -1, 0);
    assert_float_equal(coef[0 * B + 1], 0, 0);
    assert_float_equal(coef[0 * B + 4], 0, 0);
    assert_int_equal(r.count, 5); /* every anchor has a positive and a negative */

    mine(B, upper, labels, FCL_MINING_SEMI_HARD, &r, coef);
    /* (0,1): closest negative beyond 0.5 is 3 (0.6): 0.1 > 0, active.
     * (0,2): closest beyond 0.9 is 4 (1.2): -0.1, counted but inactive. */
    assert_float_equal(coef[0 * B + 1], 1, 0);
    assert_float_equal(coef[0 * B + 3], -1, 0);
    assert_float_equal(coef[0 * B + 2], 0, 0);
    assert_float_equal(coef[0 * B + 4], 0, 0);

    mine(B, upper, labels, FCL_MINING_BATCH_ALL, &r, coef);
    /* row 0: (1,3) 0.1 and (2,3) 0.5 active; (1,4) and (2,4) not */
    assert_float_equal(coef[0 * B + 1], 1, 0);
    assert_float_equal(coef[0 * B + 2], 1, 0);
    assert_float_equal(coef[0 * B + 3], -2, 0);
    assert_float_equal(coef[0 * B + 4], 0, 0);
    assert_int_equal(r.count, 3 * 2 * 2 + 2 * 1 * 3); /* (a,p) pairs x negatives */
    assert_true(r.active > 0 && r.active < r.count);
    assert_float_equal(r.active_fraction, (double)r.active / r.count, 1e-12);
}

static void ties_go_to_the_lowest_index(void **state)
{
    (void)state;
    const int B = 4, labels[4] = {0, 0, 1, 1};
    const float upper[6] = {0.5f, 0.3f, 0.3f, 0.7f, 0.7f, 0.2f};
    float coef[16];
    fcl_loss_result r;
    mine(B, upper, labels, FCL_MINING_BATCH_HARD, &r, coef);
    assert_float_equal(coef[0 * B + 2], -1, 0);
    assert_float_equal(coef[0 * B + 3], 0, 0);
}

static void no_negative_beyond_the_positive(void **state)
{
    (void)state;
    /* Anchor 0's positive is at 0.9, both negatives closer (0.3, 0.5): semi-hard falls
     * back to the farthest of them (2 at 0.5): 0.9 - 0.5 + 0.2 = 0.6. */
    const int B = 4, labels[4] = {0, 0, 1, 1};
    const float upper[6] = {0.9f, 0.5f, 0.3f, 2.0f, 2.0f, 0.1f};
    float coef[16];
    fcl_loss_result r;
    mine(B, upper, labels, FCL_MINING_SEMI_HARD, &r, coef);
    assert_float_equal(coef[0 * B + 1], 1, 0);
    assert_float_equal(coef[0 * B + 2], -1, 0);
    assert_float_equal(coef[0 * B + 3], 0, 0);
}

static void a_single_identity_forms_no_triplet(void **state)
{
    (void)state;
    const int B = 4, labels[4] = {7, 7, 7, 7};
    const float upper[6] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f};
    float coef[16];
    for (int s = 0; s < FCL_MINING_COUNT; s++) {
        fcl_loss_result r;
        mine(B, upper, labels, (fcl_mining)s, &r, coef);
        assert_int_equal(r.count, 0);
        assert_float_equal(r.loss, 0, 0);
        assert_float_equal(r.active_fraction, 0, 0);
        for (int i = 0; i < 16; i++)
            assert_float_equal(coef[i], 0, 0);
    }
}

static uint64_t rng = 99;
static double uniform(void)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng >> 11) / 4503599627370496.0 - 1.0;
}

/* Reference loss of normalise(x) for labels. */
static double reference_loss(const double *x, const int *labels, int B, int D, fcl_mining s, fcl_loss_result *r)
{
    double *e = malloc((size_t)B * D * sizeof *e);
    for (int i = 0; i < B; i++) {
        double ss = 0;
        for (int k = 0; k < D; k++)
            ss += x[i * D + k] * x[i * D + k];
        for (int k = 0; k < D; k++)
            e[i * D + k] = x[i * D + k] / sqrt(ss + 1e-12);
    }
    fcl_loss_result local;
    assert_int_equal(fcl_triplet_reference(e, labels, B, D, s, 0.2, r ? r : &local, NULL), FCL_SUCCESS);
    free(e);
    return (r ? r : &local)->loss;
}

static void loss_and_gradient_match_the_reference(void **state)
{
    (void)state;
    enum { B = 12, D = 6 };
    int labels[B];
    for (int i = 0; i < B; i++)
        labels[i] = i % 3; /* 3 identities x 4 images, interleaved */
    fcl_model *m;
    fcl_net *net;
    fcl_triplet *t;
    open_net(B, D, &m, &net, &t);
    for (int s = 0; s < FCL_MINING_COUNT; s++) {
        double x[B * D];
        float xf[B * D], g[B * D];
        for (int i = 0; i < B * D; i++)
            x[i] = xf[i] = (float)uniform();
        assert_int_equal(fcl_net_forward(net, xf, NULL), FCL_SUCCESS);
        fcl_loss_result dev, ref;
        assert_int_equal(fcl_net_begin_backward(net), FCL_SUCCESS);
        assert_int_equal(fcl_triplet_loss(t, labels, (fcl_mining)s, 0.2f, 1.0f, &dev), FCL_SUCCESS);
        assert_int_equal(fcl_net_backward_layers(net), FCL_SUCCESS);
        reference_loss(x, labels, B, D, (fcl_mining)s, &ref);
        assert_int_equal(dev.count, ref.count);
        assert_int_equal(dev.active, ref.active);
        assert_true(ref.active > 0); /* random embeddings: some triplets are active */
        assert_float_equal(dev.loss, ref.loss, 1e-4 * fmax(1, ref.loss));
        fcl_view in = fcl_net_output_view(net, 0);
        assert_int_equal(fcl_net_read(net, net->dacts, (size_t)in.off, B * D, g), FCL_SUCCESS);
        double scale = 1;
        double fd[B * D];
        for (int i = 0; i < B * D; i++) {
            const double h = 1e-6, keep = x[i];
            x[i] = keep + h;
            double lp = reference_loss(x, labels, B, D, (fcl_mining)s, NULL);
            x[i] = keep - h;
            double lm = reference_loss(x, labels, B, D, (fcl_mining)s, NULL);
            x[i] = keep;
            fd[i] = (lp - lm) / (2 * h);
            scale = fmax(scale, fabs(fd[i]));
        }
        for (int i = 0; i < B * D; i++)
            if (fabs(g[i] - fd[i]) > 1e-3 * scale)
                fail_msg("%s: gradient %d: device %.6g, finite differences %.6g", fcl_mining_name((fcl_mining)s), i,
                         g[i], fd[i]);
    }
    close_net(m, net, t);
}

static void mining_names_round_trip(void **state)
{
    (void)state;
    for (int s = 0; s < FCL_MINING_COUNT; s++) {
        fcl_mining back;
        assert_int_equal(fcl_mining_parse(fcl_mining_name((fcl_mining)s), &back), FCL_SUCCESS);
        assert_int_equal(back, s);
    }
    fcl_mining back;
    fcl_set_log_level(FCL_LOG_ERROR + 1);
    assert_int_equal(fcl_mining_parse("hardest", &back), FCL_ERR_INVALID_ARGUMENT);
    fcl_set_log_level(FCL_LOG_WARN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hand_built_strategies),
        cmocka_unit_test(ties_go_to_the_lowest_index),
        cmocka_unit_test(no_negative_beyond_the_positive),
        cmocka_unit_test(a_single_identity_forms_no_triplet),
        cmocka_unit_test(loss_and_gradient_match_the_reference),
        cmocka_unit_test(mining_names_round_trip),
    };
    return cmocka_run_group_tests(tests, open_test_runtime, close_test_runtime);
}
