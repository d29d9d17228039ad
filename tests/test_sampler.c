/* The P x K sampler: batch structure, short identities, seeds, state, bad input. Host only. */
#include "data/sampler.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* 6 identities: 0..3 with 10 images, 4 with 3 images, 5 with 1 image (never drawn). */
static int labels[44];
static int setup(void **state)
{
    (void)state;
    for (int i = 0; i < 40; i++)
        labels[i] = (i * 7) % 4; /* interleaved, not sorted */
    labels[40] = labels[41] = labels[42] = 4;
    labels[43] = 5;
    fcl_set_log_level(FCL_LOG_ERROR + 1);
    return 0;
}

static void batches_have_p_identities_of_k(void **state)
{
    (void)state;
    fcl_sampler *s;
    assert_int_equal(fcl_sampler_create(labels, 44, 4, 5, 1, &s), FCL_SUCCESS);
    int seen_short = 0;
    for (int b = 0; b < 200; b++) {
        int idx[20];
        fcl_sampler_next(s, idx);
        bool used[6] = {false};
        for (int p = 0; p < 4; p++) {
            int id = labels[idx[p * 5]];
            assert_true(id >= 0 && id <= 4); /* identity 5 has one image: never drawn */
            assert_false(used[id]);
            used[id] = true;
            for (int k = 0; k < 5; k++) {
                assert_true(idx[p * 5 + k] >= 0 && idx[p * 5 + k] < 44);
                assert_int_equal(labels[idx[p * 5 + k]], id);
            }
            if (id == 4) { /* 3 images for K = 5: all three appear, two are drawn again */
                seen_short++;
                bool got[3] = {false};
                for (int k = 0; k < 5; k++)
                    got[idx[p * 5 + k] - 40] = true;
                assert_true(got[0] && got[1] && got[2]);
            } else { /* 10 images for K = 5: distinct */
                for (int k = 0; k < 5; k++)
                    for (int j = k + 1; j < 5; j++)
                        assert_int_not_equal(idx[p * 5 + k], idx[p * 5 + j]);
            }
        }
    }
    assert_true(seen_short > 0);
    fcl_sampler_destroy(s);
}

static void seeded_and_resumable(void **state)
{
    (void)state;
    fcl_sampler *a, *b;
    assert_int_equal(fcl_sampler_create(labels, 44, 3, 4, 42, &a), FCL_SUCCESS);
    assert_int_equal(fcl_sampler_create(labels, 44, 3, 4, 42, &b), FCL_SUCCESS);
    int x[12], y[12];
    for (int i = 0; i < 7; i++) {
        fcl_sampler_next(a, x);
        fcl_sampler_next(b, y);
        assert_memory_equal(x, y, sizeof x);
    }
    /* A third sampler given a's state continues a's sequence. */
    fcl_sampler *c;
    assert_int_equal(fcl_sampler_create(labels, 44, 3, 4, 999, &c), FCL_SUCCESS);
    fcl_sampler_set_state(c, fcl_sampler_state(a));
    for (int i = 0; i < 5; i++) {
        fcl_sampler_next(a, x);
        fcl_sampler_next(c, y);
        assert_memory_equal(x, y, sizeof x);
    }
    fcl_sampler *d;
    assert_int_equal(fcl_sampler_create(labels, 44, 3, 4, 43, &d), FCL_SUCCESS);
    fcl_sampler_next(d, y);
    fcl_sampler_next(b, x);
    assert_memory_not_equal(x, y, sizeof x); /* another seed, other batches */
    fcl_sampler_destroy(a), fcl_sampler_destroy(b), fcl_sampler_destroy(c), fcl_sampler_destroy(d);
}

static void bad_requests(void **state)
{
    (void)state;
    fcl_sampler *s = NULL;
    assert_int_equal(fcl_sampler_create(labels, 44, 6, 2, 1, &s), FCL_ERR_INVALID_ARGUMENT); /* 5 usable ids */
    assert_int_equal(fcl_sampler_create(labels, 44, 1, 4, 1, &s), FCL_ERR_INVALID_ARGUMENT);
    assert_int_equal(fcl_sampler_create(labels, 44, 2, 1, 1, &s), FCL_ERR_INVALID_ARGUMENT);
    int one_id[5] = {3, 3, 3, 3, 3};
    assert_int_equal(fcl_sampler_create(one_id, 5, 2, 2, 1, &s), FCL_ERR_INVALID_ARGUMENT); /* < 2 identities */
    assert_int_equal(fcl_sampler_create(labels, 0, 2, 2, 1, &s), FCL_ERR_INVALID_ARGUMENT);
    assert_null(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(batches_have_p_identities_of_k),
        cmocka_unit_test(seeded_and_resumable),
        cmocka_unit_test(bad_requests),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
