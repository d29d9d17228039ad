/* The centre loss on the device: the centre term's value and gradient against the
 * double reference, the loss as softmax plus lambda x that term, the centres after each
 * training batch against the paper's update written out (two batches, so the second
 * uses moved centres), no move without a gradient, and weights it refuses. */
#include "loss/center.h"
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

enum { B = 6, C = 3, D = 4 };

typedef struct harness {
    fcl_model *m;
    fcl_net *net;
    fcl_objective obj;
} harness;

static fcl_status open_harness(harness *h, float lambda, float rate)
{
    char text[160];
    snprintf(text, sizeof text, "input h=1 w=1 c=%d\navgpool e k=1 s=1 p=0\nfc head c=%d\n", D, C);
    assert_int_equal(fcl_model_parse(text, "centre", &h->m), FCL_SUCCESS);
    assert_int_equal(fcl_net_create(rt, h->m, B, true, &h->net), FCL_SUCCESS);
    assert_int_equal(fcl_net_init_params(h->net, 3), FCL_SUCCESS);
    memset(&h->obj, 0, sizeof h->obj);
    const fcl_loss_params p = {.center_weight = lambda, .center_rate = rate};
    return fcl_objective_add(&h->obj, h->net, FCL_LOSS_CENTER, 2, &p, 1.0f);
}

static void close_harness(harness *h)
{
    fcl_objective_destroy(&h->obj);
    fcl_net_destroy(h->net);
    fcl_model_destroy(h->m);
}

static void read_centres(harness *h, double *c)
{
    fcl_loss_tensor t;
    assert_int_equal(fcl_objective_tensors(&h->obj, &t, 1), 1);
    assert_string_equal(t.name, "train.loss.center");
    assert_int_equal(t.count, C * D);
    float f[C * D];
    assert_int_equal(fcl_net_read(h->net, t.buf, 0, C * D, f), FCL_SUCCESS);
    for (int i = 0; i < C * D; i++)
        c[i] = f[i];
}

static void matches_the_reference_and_moves_the_centres(void **state)
{
    (void)state;
    const float lambda = 0.7f, rate = 0.5f;
    harness h;
    assert_int_equal(open_harness(&h, lambda, rate), FCL_SUCCESS);
    const int labels[B] = {0, 2, 2, 1, 0, 2};
    float x[B * D];
    double xd[B * D], c[C * D], next[C * D], dx[B * D], logits[B * C];
    uint64_t rng = 8;
    read_centres(&h, c);
    for (int i = 0; i < C * D; i++)
        assert_true(c[i] == 0); /* they start at zero */
    for (int step = 0; step < 2; step++) {
        for (int i = 0; i < B * D; i++) {
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            x[i] = (float)((double)(rng >> 11) / 9007199254740992.0 * 2 - 1);
            xd[i] = x[i];
        }
        fcl_loss_result r;
        assert_int_equal(fcl_net_forward(h.net, x, NULL), FCL_SUCCESS);
        assert_int_equal(fcl_net_begin_backward(h.net), FCL_SUCCESS);
        assert_int_equal(fcl_objective_compute(&h.obj, labels, true, &r), FCL_SUCCESS);
        float z[B * C], g[B * D];
        fcl_view zv = fcl_net_output_view(h.net, 2), ev = fcl_net_output_view(h.net, 1);
        assert_int_equal(fcl_net_read(h.net, h.net->acts, (size_t)zv.off, B * C, z), FCL_SUCCESS);
        assert_int_equal(fcl_net_read(h.net, h.net->dacts, (size_t)ev.off, B * D, g), FCL_SUCCESS);
        for (int i = 0; i < B * C; i++)
            logits[i] = z[i];
        const double term = fcl_center_reference(xd, c, labels, B, C, D, rate, dx, next);
        const double ref = fcl_softmax_reference(logits, labels, B, C, NULL) + lambda * term;
        if (fabs(r.loss - ref) > 1e-5 * fmax(1, fabs(ref)))
            fail_msg("step %d: loss %.9g, reference %.9g", step, r.loss, ref);
        /* The embedding's gradient so far is the centre term's alone (softmax's reaches
         * it through the head's backward, not yet run). */
        for (int i = 0; i < B * D; i++)
            if (fabs(g[i] - lambda * dx[i]) > 1e-6)
                fail_msg("step %d: d/dx[%d]: device %.9g, reference %.9g", step, i, g[i], lambda * dx[i]);
        read_centres(&h, c);
        for (int i = 0; i < C * D; i++)
            if (fabs(c[i] - next[i]) > 1e-6)
                fail_msg("step %d: centre[%d]: device %.9g, the paper's update %.9g", step, i, c[i], next[i]);
    }
    /* A loss alone (no gradient) leaves the centres where they are. */
    fcl_loss_result r;
    assert_int_equal(fcl_objective_compute(&h.obj, labels, false, &r), FCL_SUCCESS);
    double after[C * D];
    read_centres(&h, after);
    assert_memory_equal(after, c, sizeof c);
    close_harness(&h);
}

static void bad_weights_are_refused(void **state)
{
    (void)state;
    harness h;
    fcl_set_log_level(FCL_LOG_ERROR + 1);
    assert_int_equal(open_harness(&h, -1, 0.5f), FCL_ERR_INVALID_ARGUMENT);
    close_harness(&h);
    assert_int_equal(open_harness(&h, 0.1f, 1.5f), FCL_ERR_INVALID_ARGUMENT);
    close_harness(&h);
    fcl_set_log_level(FCL_LOG_WARN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_the_reference_and_moves_the_centres),
        cmocka_unit_test(bad_weights_are_refused),
    };
    return cmocka_run_group_tests(tests, open_test_runtime, close_test_runtime);
}
