/* The public API (include/facecl.h) as a program sees it: a model's layers agree with
 * its summary and its text form, an embedder without weights is the one seeded with 1,
 * a partial batch embeds as the same images in a full one, a NaN input is traced to
 * the input, and the GEMM counter counts each pass. Only facecl.h is included. */
#include "facecl.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static fcl_runtime *api_rt;
static fcl_model *model;

static const char *const text = "model api-test\n"
                                "input h=8 w=8 c=1\n"
                                "conv c1 k=3 c=4\n"
                                "conv c2 k=3 c=4 in=input relu=0\n"
                                "add sum in=c1,c2 scale=0.5\n"
                                "maxpool p k=2 s=2 p=0\n"
                                "fc f c=6\n"
                                "l2norm e\n";

static int setup(void **state)
{
    (void)state;
    if (fcl_runtime_create(NULL, NULL, &api_rt) != FCL_SUCCESS)
        return -1;
    return fcl_model_parse(text, "api-test.model", &model) == FCL_SUCCESS ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    fcl_model_destroy(model);
    fcl_runtime_destroy(api_rt);
    return 0;
}

static void layers_add_up_to_the_summary(void **state)
{
    (void)state;
    const fcl_model_summary s = fcl_model_describe(model);
    assert_string_equal(s.source, "api-test.model");
    assert_int_equal(s.layers, 7);
    size_t params = 0;
    uint64_t macs = 0;
    fcl_layer_info l;
    for (int i = 0; i < s.layers; i++) {
        assert_int_equal(fcl_model_layer(model, i, &l), FCL_SUCCESS);
        params += l.parameters;
        macs += l.multiply_adds;
        for (int j = 0; j < l.n_inputs; j++)
            assert_true(l.inputs[j] < i);
    }
    assert_int_equal(params, s.parameters);
    assert_int_equal(macs, s.multiply_adds);
    assert_int_equal(fcl_model_layer(model, 3, &l), FCL_SUCCESS);
    assert_string_equal(l.type, "add");
    assert_int_equal(l.n_inputs, 2);
    assert_int_equal(l.inputs[0], 1);
    assert_int_equal(l.inputs[1], 2);
    assert_float_equal(l.scale, 0.5, 0);
    assert_int_equal(fcl_model_layer(model, 4, &l), FCL_SUCCESS);
    assert_string_equal(l.type, "maxpool");
    assert_int_equal(l.out_h, 4);
    assert_int_equal(l.kernel_h, 2);
    assert_int_equal(fcl_model_layer(model, 7, &l), FCL_ERR_INVALID_ARGUMENT);
    /* The text form parses to a model with the same counts. */
    char *formatted;
    fcl_model *again;
    assert_int_equal(fcl_model_format(model, &formatted), FCL_SUCCESS);
    assert_int_equal(fcl_model_parse(formatted, "formatted", &again), FCL_SUCCESS);
    assert_int_equal(fcl_model_describe(again).multiply_adds, s.multiply_adds);
    fcl_model_destroy(again);
    free(formatted);
    size_t planned, unshared;
    assert_int_equal(fcl_model_plan_memory(model, 4, &planned, &unshared), FCL_SUCCESS);
    assert_true(planned > 0 && planned <= unshared);
}

static void embedders_seed_and_batch_as_documented(void **state)
{
    (void)state;
    enum { B = 4, PER = 64, DIM = 6 };
    float x[B * PER], full[B * DIM], part[2 * DIM], seeded[B * DIM];
    for (int i = 0; i < B * PER; i++)
        x[i] = (float)((i * 37) % 101) / 101.0f;
    fcl_embedder *lazy, *explicit;
    assert_int_equal(fcl_embedder_create(api_rt, model, B, &lazy), FCL_SUCCESS);
    assert_int_equal(fcl_embedder_create(api_rt, model, B, &explicit), FCL_SUCCESS);
    assert_int_equal(fcl_embedder_init_random(explicit, 1), FCL_SUCCESS);
    const uint64_t before = fcl_embedder_device_macs(lazy);
    assert_int_equal(fcl_embed(lazy, x, B, full), FCL_SUCCESS);
    assert_true(fcl_embedder_device_macs(lazy) > before);
    assert_int_equal(fcl_embed(explicit, x, B, seeded), FCL_SUCCESS);
    assert_memory_equal(full, seeded, sizeof full);
    /* Two images alone give what they gave among four. */
    assert_int_equal(fcl_embed(lazy, x, 2, part), FCL_SUCCESS);
    assert_memory_equal(part, full, sizeof part);
    for (int i = 0; i < B; i++)
        assert_float_equal(fcl_squared_distance(full + i * DIM, full + i * DIM, DIM), 0, 0);
    /* Another seed, other weights. */
    assert_int_equal(fcl_embedder_init_random(explicit, 2), FCL_SUCCESS);
    assert_int_equal(fcl_embed(explicit, x, B, seeded), FCL_SUCCESS);
    assert_true(memcmp(full, seeded, sizeof full) != 0);
    /* A NaN pixel: the input is the first layer to blame. */
    x[PER + 3] = NAN;
    const char *layer = NULL, *type = NULL;
    assert_int_equal(fcl_embedder_nonfinite_layer(lazy, x, 2, &layer, &type), FCL_SUCCESS);
    assert_non_null(layer);
    assert_string_equal(type, "input");
    x[PER + 3] = 0;
    assert_int_equal(fcl_embedder_nonfinite_layer(lazy, x, 2, &layer, &type), FCL_SUCCESS);
    assert_null(layer);
    assert_int_equal(fcl_embed(lazy, x, B + 1, full), FCL_ERR_INVALID_ARGUMENT);
    fcl_embedder_destroy(lazy);
    fcl_embedder_destroy(explicit);
}

static void losses_are_listed(void **state)
{
    (void)state;
    fcl_loss_info l;
    bool saw_triplet = false, saw_head = false, saw_arcface = false;
    int n = 0;
    for (; fcl_loss_at(n, &l); n++) {
        assert_true(strlen(l.summary) > 0);
        saw_triplet |= strcmp(l.name, "triplet") == 0 && !l.head && !fcl_loss_takes(l.name, "scale");
        saw_head |= l.head;
        saw_arcface |= strcmp(l.name, "arcface") == 0 && fcl_loss_takes(l.name, "easy-margin") && l.scale == 64 &&
                       fabs(l.margin - 0.5) < 1e-6;
    }
    assert_true(n >= 5);
    assert_true(saw_triplet && saw_head && saw_arcface);
    assert_false(fcl_loss_at(-1, &l));
    /* Whole words of a loss's options only. */
    assert_true(fcl_loss_takes("contrastive", "neg-margin"));
    assert_false(fcl_loss_takes("contrastive", "margin"));
    assert_false(fcl_loss_takes("arcface", "lambda"));
    assert_false(fcl_loss_takes("no-such-loss", "scale"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(layers_add_up_to_the_summary),
        cmocka_unit_test(embedders_seed_and_batch_as_documented),
        cmocka_unit_test(losses_are_listed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
