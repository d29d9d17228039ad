/* Whole networks on the device: NN2's forward pass gives unit-norm embeddings, and the
 * inference plan (activations sharing memory by lifetime) computes what the training
 * plan (every activation apart) computes. */
#include "eval/evaluate.h"
#include "graph/graph.h"
#include "io/safetensors.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "support.h"

static float *random_images(size_t count, uint64_t seed)
{
    float *x = malloc(count * sizeof *x);
    for (size_t i = 0; i < count; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i] = (float)((seed >> 40) / 16777216.0);
    }
    return x;
}

static void nn2_forward_gives_unit_embeddings(void **state)
{
    (void)state;
    fcl_model *m = load_shipped_model("nn2");
    const int batch = 2;
    fcl_net *net;
    assert_int_equal(fcl_net_create(rt, m, batch, false, &net), FCL_SUCCESS);
    assert_int_equal(fcl_net_init_params(net, 1), FCL_SUCCESS);
    float *x = random_images((size_t)batch * 224 * 224 * 3, 3), y[2 * 128];
    assert_int_equal(fcl_net_forward(net, x, y), FCL_SUCCESS);
    for (int n = 0; n < batch; n++) {
        double ss = 0;
        for (int j = 0; j < 128; j++) {
            assert_true(isfinite(y[n * 128 + j]));
            ss += (double)y[n * 128 + j] * y[n * 128 + j];
        }
        assert_float_equal(sqrt(ss), 1.0, 1e-4);
    }
    /* Different images, different embeddings. */
    double d = 0;
    for (int j = 0; j < 128; j++)
        d += fabs(y[j] - y[128 + j]);
    assert_true(d > 1e-3);
    free(x);
    fcl_net_destroy(net);
    fcl_model_destroy(m);
}

static void inference_plan_matches_training_plan(void **state)
{
    (void)state;
    fcl_model *m = load_shipped_model("fmnist-inception");
    const int batch = 5;
    fcl_net *infer, *train;
    assert_int_equal(fcl_net_create(rt, m, batch, false, &infer), FCL_SUCCESS);
    assert_int_equal(fcl_net_create(rt, m, batch, true, &train), FCL_SUCCESS);
    assert_true(infer->act_floats < train->act_floats);
    assert_int_equal(fcl_net_init_params(infer, 9), FCL_SUCCESS);
    assert_int_equal(fcl_net_init_params(train, 9), FCL_SUCCESS);
    float *x = random_images((size_t)batch * 28 * 28, 5), a[5 * 128], b[5 * 128];
    assert_int_equal(fcl_net_forward(infer, x, a), FCL_SUCCESS);
    assert_int_equal(fcl_net_forward(train, x, b), FCL_SUCCESS);
    for (int i = 0; i < batch * 128; i++)
        assert_float_equal(a[i], b[i], 0); /* same kernels, same order: bit-identical */
    free(x);
    fcl_net_destroy(infer);
    fcl_net_destroy(train);
    fcl_model_destroy(m);
}

static void saved_weights_reproduce_embeddings(void **state)
{
    (void)state;
    fcl_model *m = load_shipped_model("fmnist-small");
    fcl_net *a, *b;
    assert_int_equal(fcl_net_create(rt, m, 3, false, &a), FCL_SUCCESS);
    assert_int_equal(fcl_net_create(rt, m, 3, false, &b), FCL_SUCCESS);
    assert_int_equal(fcl_net_init_params(a, 11), FCL_SUCCESS);
    assert_int_equal(fcl_net_init_params(b, 12), FCL_SUCCESS);
    char path[64];
    snprintf(path, sizeof path, "/tmp/facecl-net-%d.safetensors", (int)getpid());
    assert_int_equal(fcl_net_save_weights(a, path), FCL_SUCCESS);
    assert_int_equal(fcl_net_load_weights(b, path), FCL_SUCCESS);
    remove(path);
    float *x = random_images(3 * 28 * 28, 4), ya[3 * 128], yb[3 * 128];
    assert_int_equal(fcl_net_forward(a, x, ya), FCL_SUCCESS);
    assert_int_equal(fcl_net_forward(b, x, yb), FCL_SUCCESS);
    assert_memory_equal(ya, yb, sizeof ya);
    free(x);
    fcl_net_destroy(a);
    fcl_net_destroy(b);
    fcl_model_destroy(m);
}

static char logged[1024];
/* Training skips the images' gradient; the parameter gradients must not change. */
static void skipping_the_input_gradient_keeps_parameter_gradients(void **state)
{
    (void)state;
    fcl_model *m;
    assert_int_equal(fcl_model_parse("input h=9 w=9 c=2\nconv c1 k=3 c=4\nmaxpool p k=2 s=2 p=0\nfc f c=5 relu=1\n"
                                      "fc g c=3\n", "grad", &m), FCL_SUCCESS);
    enum { B = 3 };
    float x[B * 2 * 81], dy[B * 3];
    for (int i = 0; i < B * 2 * 81; i++)
        x[i] = (float)sin(i * 0.37);
    for (int i = 0; i < B * 3; i++)
        dy[i] = (float)cos(i * 1.3);
    float *grads[2];
    for (int pass = 0; pass < 2; pass++) {
        fcl_net *net;
        assert_int_equal(fcl_net_create(rt, m, B, true, &net), FCL_SUCCESS);
        net->input_gradient = pass == 0;
        assert_int_equal(fcl_net_init_params(net, 4), FCL_SUCCESS);
        assert_int_equal(fcl_net_fill(net, net->grads, 0, m->n_params, 0.0f), FCL_SUCCESS);
        assert_int_equal(fcl_net_forward(net, x, NULL), FCL_SUCCESS);
        assert_int_equal(fcl_net_backward(net, dy), FCL_SUCCESS);
        grads[pass] = malloc(m->n_params * sizeof(float));
        assert_int_equal(fcl_net_read(net, net->grads, 0, m->n_params, grads[pass]), FCL_SUCCESS);
        fcl_net_destroy(net);
    }
    assert_memory_equal(grads[0], grads[1], m->n_params * sizeof(float));
    float norm = 0;
    for (size_t i = 0; i < m->n_params; i++)
        norm += fabsf(grads[0][i]);
    assert_true(norm > 0);
    free(grads[0]), free(grads[1]);
    fcl_model_destroy(m);
}

/* fcl_net_fill writes exactly [offset, offset + n): whole float8 runs and a tail, at an
 * offset that is not a multiple of eight. */
static void fill_covers_exactly_its_range(void **state)
{
    (void)state;
    fcl_model *m;
    assert_int_equal(fcl_model_parse("input h=1 w=1 c=3\nfc f c=2\n", "fill", &m), FCL_SUCCESS);
    fcl_net *net;
    assert_int_equal(fcl_net_create(rt, m, 1, true, &net), FCL_SUCCESS);
    enum { SIZE = 1100, AT = 3 };
    cl_int err;
    cl_mem buf = clCreateBuffer(rt->context, CL_MEM_READ_WRITE, SIZE * sizeof(float), NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    float host[SIZE];
    for (size_t n = 0; n <= 1029; n += n < 20 ? 1 : 113) {
        for (int i = 0; i < SIZE; i++)
            host[i] = -1.0f;
        assert_int_equal(fcl_net_write(net, buf, 0, SIZE, host), FCL_SUCCESS);
        assert_int_equal(fcl_net_fill(net, buf, AT, n, 2.5f), FCL_SUCCESS);
        assert_int_equal(fcl_net_read(net, buf, 0, SIZE, host), FCL_SUCCESS);
        for (size_t i = 0; i < SIZE; i++)
            if (host[i] != (i >= AT && i < AT + n ? 2.5f : -1.0f))
                fail_msg("fill of %zu floats at %d: float %zu is %g", n, AT, i, host[i]);
    }
    clReleaseMemObject(buf);
    fcl_net_destroy(net);
    fcl_model_destroy(m);
}

static void capture(fcl_log_level level, const char *message, void *user)
{
    (void)level, (void)user;
    snprintf(logged, sizeof logged, "%s", message);
}

static void too_large_for_the_device_says_how_much(void **state)
{
    (void)state;
    fcl_model *m = load_shipped_model("nn1");
    fcl_net *net = NULL;
    fcl_set_log_callback(capture, NULL);
    /* NN1 training at batch 20000: activations alone are far beyond any device here. */
    assert_int_equal(fcl_net_create(rt, m, 20000, true, &net), CL_MEM_OBJECT_ALLOCATION_FAILURE);
    fcl_set_log_callback(NULL, NULL);
    assert_null(net);
    assert_non_null(strstr(logged, "MiB"));
    assert_non_null(strstr(logged, "nn1"));
    fcl_model_destroy(m);
}

/* Weights that are finite but huge overflow in the forward pass: evaluation (and
 * clustering) stop with an error naming the image instead of scoring NaN distances,
 * which hung the ROC (issue #20, item 1). */
static void overflowing_embeddings_stop_the_evaluation(void **state)
{
    (void)state;
    fcl_model *m;
    assert_int_equal(fcl_model_parse("input h=4 w=4 c=1\nconv c k=3 c=2\nfc e c=3\nl2norm l\n", "huge", &m),
                     FCL_SUCCESS);
    fcl_net *net;
    assert_int_equal(fcl_net_create(rt, m, 2, false, &net), FCL_SUCCESS);
    float *p = malloc(m->n_params * sizeof *p);
    for (size_t i = 0; i < m->n_params; i++)
        p[i] = 3e38f;
    assert_int_equal(fcl_net_write(net, net->params, 0, m->n_params, p), FCL_SUCCESS);
    unsigned char pixels[3 * 16];
    int labels[3] = {0, 1, 0};
    for (int i = 0; i < 3 * 16; i++)
        pixels[i] = (unsigned char)(50 + i);
    fcl_dataset d = {.source = "in memory", .n = 3, .n_classes = 2, .labels = labels, .pixels = pixels, .ih = 4,
                     .iw = 4};
    float emb[3 * 3];
    fcl_set_log_level(FCL_LOG_ERROR + 1);
    assert_int_equal(fcl_embed_dataset_images(net, &d, NULL, 3, emb, NULL), FCL_ERR_NUMERIC);
    fcl_set_log_level(FCL_LOG_WARN);
    /* Ordinary weights embed the same images. */
    assert_int_equal(fcl_net_init_params(net, 3), FCL_SUCCESS);
    assert_int_equal(fcl_embed_dataset_images(net, &d, NULL, 3, emb, NULL), FCL_SUCCESS);
    free(p);
    fcl_net_destroy(net);
    fcl_model_destroy(m);
}

/* All-zero weights put every image at one point: evaluation refuses, instead of
 * storing a threshold below 0 or one that calls every pair "same" (#20, items 5, 6). */
static void collapsed_embeddings_are_refused(void **state)
{
    (void)state;
    enum { N = 160 };
    fcl_model *m;
    assert_int_equal(fcl_model_parse("input h=4 w=4 c=1\nconv c k=3 c=2\nfc e c=3\nl2norm l\n", "zero", &m),
                     FCL_SUCCESS);
    fcl_net *net;
    assert_int_equal(fcl_net_create(rt, m, 16, false, &net), FCL_SUCCESS);
    assert_int_equal(fcl_net_fill(net, net->params, 0, m->n_params, 0.0f), FCL_SUCCESS);
    static unsigned char pixels[N * 16];
    static int labels[N];
    for (int i = 0; i < N * 16; i++)
        pixels[i] = (unsigned char)(i * 37);
    for (int i = 0; i < N; i++)
        labels[i] = i % 2;
    fcl_dataset d = {.source = "in memory", .n = N, .n_classes = 2, .labels = labels, .pixels = pixels, .ih = 4,
                     .iw = 4};
    fcl_eval_options o = fcl_eval_defaults();
    fcl_eval_result r;
    fcl_set_log_level(FCL_LOG_ERROR + 1);
    assert_int_equal(fcl_evaluate_net(net, &d, NULL, &o, &r), FCL_ERR_NUMERIC);
    fcl_set_log_level(FCL_LOG_WARN);
    fcl_net_destroy(net);
    fcl_model_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nn2_forward_gives_unit_embeddings),
        cmocka_unit_test(inference_plan_matches_training_plan),
        cmocka_unit_test(saved_weights_reproduce_embeddings),
        cmocka_unit_test(too_large_for_the_device_says_how_much),
        cmocka_unit_test(skipping_the_input_gradient_keeps_parameter_gradients),
        cmocka_unit_test(fill_covers_exactly_its_range),
        cmocka_unit_test(overflowing_embeddings_stop_the_evaluation),
        cmocka_unit_test(collapsed_embeddings_are_refused),
    };
    return cmocka_run_group_tests(tests, open_test_runtime, close_test_runtime);
}
