/* The contrastive loss on the device: loss, active pairs and gradient against the
 * double-precision reference (pairs on both sides of each margin, two identical
 * embeddings, a one-class batch), the reference against its own finite differences, a
 * joint share's weight, and margins it refuses. */
#include "loss/contrastive.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "support.h"

enum { B = 8, D = 6 };

/* The embeddings are the network's input, through a 1x1 average pool (their identity). */
typedef struct harness {
    fcl_model *m;
    fcl_net *net;
    fcl_objective obj;
} harness;

static fcl_status open_harness(harness *h, float pos, float neg, float weight)
{
    char text[128];
    snprintf(text, sizeof text, "input h=1 w=1 c=%d\navgpool e k=1 s=1 p=0\n", D);
    assert_int_equal(fcl_model_parse(text, "pairs", &h->m), FCL_SUCCESS);
    assert_int_equal(fcl_net_create(rt, h->m, B, true, &h->net), FCL_SUCCESS);
    memset(&h->obj, 0, sizeof h->obj);
    const fcl_loss_params p = {.pos_margin = pos, .neg_margin = neg};
    return fcl_objective_add(&h->obj, h->net, FCL_LOSS_CONTRASTIVE, 1, &p, weight);
}

static void close_harness(harness *h)
{
    fcl_objective_destroy(&h->obj);
    fcl_net_destroy(h->net);
    fcl_model_destroy(h->m);
}

static double device_loss(harness *h, const float *e, const int *labels, float *de, long *active)
{
    fcl_loss_result r;
    assert_int_equal(fcl_net_forward(h->net, e, NULL), FCL_SUCCESS);
    assert_int_equal(fcl_net_begin_backward(h->net), FCL_SUCCESS);
    assert_int_equal(fcl_objective_compute(&h->obj, labels, de != NULL, &r), FCL_SUCCESS);
    if (de) {
        fcl_view v = fcl_net_output_view(h->net, 1);
        assert_int_equal(fcl_net_read(h->net, h->net->dacts, (size_t)v.off, (size_t)B * D, de), FCL_SUCCESS);
    }
    if (active)
        *active = r.active;
    assert_int_equal(r.count, B * (B - 1) / 2);
    return r.loss;
}

static void random_embeddings(float *e, double *ed, uint64_t seed)
{
    for (int i = 0; i < B * D; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        e[i] = (float)((double)(seed >> 11) / 9007199254740992.0 - 0.5) * 0.9f;
        ed[i] = e[i];
    }
}

static void check(const int *labels, float pos, float neg, float *e, double *ed)
{
    harness h;
    assert_int_equal(open_harness(&h, pos, neg, 1.0f), FCL_SUCCESS);
    float de[B * D];
    double ref_de[B * D];
    long active, ref_active;
    const double loss = device_loss(&h, e, labels, de, &active);
    const double ref = fcl_contrastive_reference(ed, labels, B, D, pos, neg, ref_de, &ref_active);
    if (fabs(loss - ref) > 1e-5 * fmax(1e-3, fabs(ref)))
        fail_msg("loss %.9g, reference %.9g", loss, ref);
    assert_int_equal(active, ref_active);
    for (int i = 0; i < B * D; i++)
        if (!isfinite(de[i]) || fabs(de[i] - ref_de[i]) > 1e-5 * fmax(1e-2, fabs(ref_de[i])))
            fail_msg("d loss / d e[%d]: device %.9g, reference %.9g", i, de[i], ref_de[i]);
    close_harness(&h);
}

static void matches_the_reference(void **state)
{
    (void)state;
    float e[B * D];
    double ed[B * D];
    const int labels[B] = {0, 0, 1, 1, 2, 2, 3, 0};
    random_embeddings(e, ed, 3);
    /* Distances here are about 0.4 to 1.6: both margins cut through them. */
    check(labels, 0.5f, 1.0f, e, ed);
    check(labels, 0.0f, 1.5f, e, ed);
    /* Two identical embeddings (d = 0), same and different identities. */
    memcpy(e + D, e, D * sizeof *e), memcpy(ed + D, ed, D * sizeof *ed);
    memcpy(e + 3 * D, e + 2 * D, D * sizeof *e), memcpy(ed + 3 * D, ed + 2 * D, D * sizeof *ed);
    const int twins[B] = {0, 0, 1, 2, 2, 2, 3, 0};
    check(twins, 0.0f, 1.0f, e, ed);
    const int one[B] = {4, 4, 4, 4, 4, 4, 4, 4};
    check(one, 0.2f, 1.0f, e, ed);
}

static void reference_gradient_is_the_derivative(void **state)
{
    (void)state;
    float e[B * D];
    double ed[B * D], de[B * D];
    const int labels[B] = {0, 1, 1, 2, 0, 2, 1, 3};
    random_embeddings(e, ed, 17);
    fcl_contrastive_reference(ed, labels, B, D, 0.3, 1.2, de, NULL);
    for (int i = 0; i < B * D; i++) {
        const double keep = ed[i], hstep = 1e-6;
        ed[i] = keep + hstep;
        const double up = fcl_contrastive_reference(ed, labels, B, D, 0.3, 1.2, NULL, NULL);
        ed[i] = keep - hstep;
        const double down = fcl_contrastive_reference(ed, labels, B, D, 0.3, 1.2, NULL, NULL);
        ed[i] = keep;
        const double fd = (up - down) / (2 * hstep);
        if (fabs(fd - de[i]) > 1e-6 * fmax(1, fabs(fd)))
            fail_msg("d/de[%d]: reference %.9g, finite differences %.9g", i, de[i], fd);
    }
}

static void a_share_scales_the_gradient_and_bad_margins_are_refused(void **state)
{
    (void)state;
    float e[B * D], de[B * D], share[B * D];
    double ed[B * D];
    const int labels[B] = {0, 0, 1, 1, 2, 2, 3, 3};
    random_embeddings(e, ed, 5);
    harness h;
    assert_int_equal(open_harness(&h, 0.2f, 1.0f, 1.0f), FCL_SUCCESS);
    const double loss = device_loss(&h, e, labels, de, NULL);
    close_harness(&h);
    assert_int_equal(open_harness(&h, 0.2f, 1.0f, 0.25f), FCL_SUCCESS);
    assert_true(fabs(device_loss(&h, e, labels, share, NULL) - 0.25 * loss) <= 1e-9); /* the objective weighs it */
    for (int i = 0; i < B * D; i++)
        assert_true(fabs(share[i] - 0.25f * de[i]) <= 1e-7);
    close_harness(&h);
    fcl_set_log_level(FCL_LOG_ERROR + 1);
    assert_int_equal(open_harness(&h, 1.0f, 0.5f, 1.0f), FCL_ERR_INVALID_ARGUMENT);
    close_harness(&h);
    fcl_set_log_level(FCL_LOG_WARN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_the_reference),
        cmocka_unit_test(reference_gradient_is_the_derivative),
        cmocka_unit_test(a_share_scales_the_gradient_and_bad_margins_are_refused),
    };
    return cmocka_run_group_tests(tests, open_test_runtime, close_test_runtime);
}
