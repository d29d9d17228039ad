/* The model zoo against the FaceNet paper's tables, and the model-file parser's errors.
 * Host only: no OpenCL device. */
#include "graph/graph.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

static char logged[4096];
static void capture(fcl_log_level level, const char *message, void *user)
{
    (void)level, (void)user;
    snprintf(logged, sizeof logged, "%s", message);
}

static fcl_model *load(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.model", FACECL_MODEL_DIR, name);
    fcl_model *m = NULL;
    fcl_status st = fcl_model_load(path, &m);
    if (st != FCL_SUCCESS)
        fail_msg("%s: %s (%s)", path, fcl_status_str(st), logged);
    return m;
}

static void within(const char *what, double got, double want, double tolerance)
{
    if (fabs(got - want) > tolerance * want)
        fail_msg("%s: %.4g, paper %.4g (allowed %.0f%%)", what, got, want, tolerance * 100);
}

/* Sum of params and multiply-adds of a node, or of an inception module's branches. */
static void row(const fcl_model *m, const char *name, double *params, double *macs)
{
    *params = *macs = 0;
    size_t len = strlen(name);
    bool found = false;
    for (int i = 0; i < m->n_nodes; i++) {
        const fcl_node *nd = &m->nodes[i];
        if (strcmp(nd->name, name) != 0 && !(strncmp(nd->name, name, len) == 0 && nd->name[len] == '/'))
            continue;
        found = true;
        fcl_param_desc d[FCL_MAX_PARAMS];
        int np = fcl_ops[nd->op]->params(nd, d);
        for (int j = 0; j < np; j++)
            *params += (double)d[j].count;
        *macs += (double)fcl_ops[nd->op]->macs(nd);
    }
    if (!found)
        fail_msg("%s has no layer %s", m->name, name);
}

static const struct paper_row {
    const char *model, *layer;
    double params, macs;
} paper_rows[] = {
    {"nn1", "conv1", 9e3, 115e6},    {"nn1", "conv2a", 4e3, 13e6},    {"nn1", "conv2", 111e3, 335e6},
    {"nn1", "conv3a", 37e3, 29e6},   {"nn1", "conv3", 664e3, 521e6},  {"nn1", "conv4a", 148e3, 29e6},
    {"nn1", "conv4", 885e3, 173e6},  {"nn1", "conv5a", 66e3, 13e6},   {"nn1", "conv5", 590e3, 116e6},
    {"nn1", "conv6a", 66e3, 13e6},   {"nn1", "conv6", 590e3, 116e6},  {"nn1", "fc1", 103e6, 103e6},
    {"nn1", "fc2", 34e6, 34e6},      {"nn1", "fc7128", 524e3, 0.5e6}, {"nn2", "conv1", 9e3, 119e6},
    {"nn2", "inception_2", 115e3, 360e6},  {"nn2", "inception_3a", 164e3, 128e6},
    {"nn2", "inception_3b", 228e3, 179e6}, {"nn2", "inception_3c", 398e3, 108e6},
    {"nn2", "inception_4a", 545e3, 107e6}, {"nn2", "inception_4b", 595e3, 117e6},
    {"nn2", "inception_4c", 654e3, 128e6}, {"nn2", "inception_4d", 722e3, 142e6},
    {"nn2", "inception_4e", 717e3, 56e6},  {"nn2", "inception_5a", 1.6e6, 78e6},
    {"nn2", "inception_5b", 1.6e6, 78e6},  {"nn2", "fc", 131e3, 0.1e6},
};

static void paper_rows_within_10_percent(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof paper_rows / sizeof paper_rows[0]; i++) {
        const struct paper_row *r = &paper_rows[i];
        fcl_model *m = load(r->model);
        double params, macs;
        row(m, r->layer, &params, &macs);
        char what[96];
        snprintf(what, sizeof what, "%s %s params", r->model, r->layer);
        /* The paper rounds small rows (9K, 4K): allow the rounding too. */
        within(what, params, r->params, r->params < 1e4 ? 0.1 + 500 / r->params : 0.1);
        snprintf(what, sizeof what, "%s %s multiply-adds", r->model, r->layer);
        within(what, macs, r->macs, r->macs < 1e6 ? 0.35 : 0.1);
        fcl_model_destroy(m);
    }
}

static const struct paper_total {
    const char *model;
    double params, params_tol, macs, macs_tol;
} paper_totals[] = {
    {"nn1", 140e6, 0.03, 1.6e9, 0.10},  {"nn2", 7.5e6, 0.03, 1.6e9, 0.10},
    {"nn3", 7.5e6, 0.03, 1.6e9 * (160.0 * 160) / (224.0 * 224), 0.10},
    {"nn4", 0, 0, 285e6, 0.05},          {"nns1", 26e6, 0.15, 220e6, 0.15},
    {"nns2", 4.3e6, 0.15, 20e6, 0.15},
};

static void model_totals_match_the_paper(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof paper_totals / sizeof paper_totals[0]; i++) {
        const struct paper_total *t = &paper_totals[i];
        fcl_model *m = load(t->model);
        char what[64];
        if (t->params > 0) {
            snprintf(what, sizeof what, "%s params", t->model);
            within(what, (double)fcl_model_trainable(m), t->params, t->params_tol);
        }
        snprintf(what, sizeof what, "%s multiply-adds", t->model);
        within(what, (double)fcl_model_macs(m), t->macs, t->macs_tol);
        assert_int_equal(fcl_model_output(m)->op, FCL_OP_L2NORM);
        assert_int_equal(fcl_shape_size(fcl_model_output(m)->out), 128);
        fcl_model_destroy(m);
    }
}

static void every_shipped_model_loads(void **state)
{
    (void)state;
    static const char *const names[] = {"nn1", "nn2", "nn3", "nn4", "nns1", "nns2",
                                        "fmnist-tiny", "fmnist-small", "fmnist-bn", "fmnist-bn512", "fmnist-inception",
                                        "fmnist-nns2"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        fcl_model_destroy(load(names[i]));
}

static void planner_reuses_memory_in_inference(void **state)
{
    (void)state;
    fcl_model *m = load("nn2");
    size_t planned, unshared;
    assert_int_equal(fcl_plan_activations(m, 4, false, &planned, &unshared), FCL_SUCCESS);
    assert_true(planned * 3 < unshared); /* NN2: well below the sum of all activations */
    /* The largest single activation (inception_2's 56x56x192 output, x4) must fit. */
    assert_true(planned >= (size_t)4 * 56 * 56 * 192);
    assert_int_equal(fcl_plan_activations(m, 4, true, &planned, &unshared), FCL_SUCCESS);
    assert_int_equal(planned, unshared); /* training keeps every activation */
    fcl_model_destroy(m);
}

/* A bad model names its line and the problem. */
static void expect_error(const char *text, fcl_status want, const char *line, const char *words)
{
    fcl_model *m = NULL;
    logged[0] = '\0';
    fcl_status st = fcl_model_parse(text, "bad.model", &m);
    assert_null(m);
    if (st != want || !strstr(logged, line) || !strstr(logged, words))
        fail_msg("got %s, message '%s'; wanted %s with '%s' and '%s'", fcl_status_str(st), logged,
                 fcl_status_str(want), line, words);
}

static void bad_models_name_line_and_problem(void **state)
{
    (void)state;
    fcl_set_log_callback(capture, NULL);
    const char *in = "input h=8 w=8 c=1\n";
    char text[256];
#define BAD(body, st, line, words)                              \
    snprintf(text, sizeof text, "%s%s", in, body);              \
    expect_error(text, st, line, words)
    BAD("convolution a k=3 c=4\n", FCL_ERR_PARSE, "bad.model:2:", "unknown layer type 'convolution'");
    BAD("conv a k=3\n", FCL_ERR_PARSE, "bad.model:2:", "c=");
    BAD("conv a k=3 c=4 colour=red\n", FCL_ERR_PARSE, "bad.model:2:", "unknown key 'colour'");
    BAD("conv a k=3 c=four\n", FCL_ERR_PARSE, "bad.model:2:", "bad value 'four'");
    BAD("conv a k=3 c=4.5\n", FCL_ERR_PARSE, "bad.model:2:", "whole number");
    BAD("conv a c=4\n", FCL_ERR_PARSE, "bad.model:2:", "kernel size");
    BAD("conv a k=3 c=4\n\n# comment\nconv b k=11 p=0 c=2\n", FCL_ERR_SHAPE, "bad.model:5:", "larger than");
    BAD("conv a k=3 c=4\nconv a k=3 c=4\n", FCL_ERR_PARSE, "bad.model:3:", "used twice");
    BAD("fc a c=6\nmaxout b g=4\n", FCL_ERR_SHAPE, "bad.model:3:", "divide");
    BAD("inception m 3x3r=4\n", FCL_ERR_PARSE, "bad.model:2:", "needs its convolution");
    BAD("inception m 1x1=4 3x3=4 s=2\n", FCL_ERR_PARSE, "bad.model:2:", "cannot be strided");
    BAD("inception m 1x1=4 pool=median\n", FCL_ERR_PARSE, "bad.model:2:", "pool");
    BAD("input h=8 w=8 c=1\n", FCL_ERR_PARSE, "bad.model:2:", "only once");
    BAD("fc a c=6\ndropout d rate=1\n", FCL_ERR_PARSE, "bad.model:3:", "bad value '1'");
    BAD("fc a c=6\nfc b c=4 rate=0.5\n", FCL_ERR_PARSE, "bad.model:3:", "unknown key 'rate'");
    /* 8 -> 3 -> 1, then a 3x3 window no longer fits */
    BAD("maxpool p k=3 s=2 p=0\nmaxpool q k=3 s=2 p=0\nmaxpool r k=3 s=2 p=0\n", FCL_ERR_SHAPE, "bad.model:4:",
        "larger than");
    expect_error("conv a k=3 c=4\n", FCL_ERR_PARSE, "bad.model:1:", "input");
    expect_error("input h=8 w=8\nconv a k=3 c=2\n", FCL_ERR_PARSE, "bad.model:1:", "c=");
    expect_error("input h=8 w=8 c=1\n", FCL_ERR_PARSE, "bad.model:", "at least one layer");
    fcl_model *m = NULL;
    assert_int_equal(fcl_model_load("/nonexistent/x.model", &m), FCL_ERR_IO);
    fcl_set_log_callback(NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(paper_rows_within_10_percent),
        cmocka_unit_test(model_totals_match_the_paper),
        cmocka_unit_test(every_shipped_model_loads),
        cmocka_unit_test(planner_reuses_memory_in_inference),
        cmocka_unit_test(bad_models_name_line_and_problem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
