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
    /* MobileFaceNet's paper (Chen et al. 2018, Table 2): 0.99M parameters, 221M MAdds */
    {"mobilefacenet", 0.99e6, 0.03, 221e6, 0.01},
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
                                        "fmnist-nns2", "inception-resnet-v1", "fmnist-irv1", "mobilefacenet"};
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
    /* A pooling window wider than its input (its default "same" padding lets it fit the
     * padded input): every output would be the global pool, so refused (#20, item 8);
     * a 1-row input stays legal (test_layers' ties case). */
    BAD("maxpool p k=9 s=1\n", FCL_ERR_SHAPE, "bad.model:2:", "larger than its 8x8 input");
    BAD("avgpool p k=5 s=1 p=2\nmaxpool q k=3 s=3\nmaxpool r k=5 s=1\n", FCL_ERR_SHAPE, "bad.model:4:",
        "larger than its 3x3 input");
    fcl_model *ok = NULL;
    assert_int_equal(fcl_model_parse("input h=1 w=8 c=1\nmaxpool p k=3 s=1 p=1\n", "ok.model", &ok), FCL_SUCCESS);
    fcl_model_destroy(ok);
    expect_error("conv a k=3 c=4\n", FCL_ERR_PARSE, "bad.model:1:", "input");
    expect_error("input h=8 w=8\nconv a k=3 c=2\n", FCL_ERR_PARSE, "bad.model:1:", "c=");
    expect_error("input h=8 w=8 c=1\n", FCL_ERR_PARSE, "bad.model:", "at least one layer");
    /* The pixel transform (pixel - mean) / std: std > 0, numbers only. */
    expect_error("input h=8 w=8 c=1 std=0\nfc a c=2\n", FCL_ERR_PARSE, "bad.model:1:", "bad value '0' for std");
    expect_error("input h=8 w=8 c=1 mean=grey\nfc a c=2\n", FCL_ERR_PARSE, "bad.model:1:", "for mean");
    expect_error("input h=8 w=8 c=1 mean=1 mean=2\nfc a c=2\n", FCL_ERR_PARSE, "bad.model:1:", "twice");
    assert_int_equal(fcl_model_parse("input h=4 w=4 c=3 mean=127.5 std=128\nfc a c=2\n", "ok.model", &ok),
                     FCL_SUCCESS);
    assert_true(ok->nodes[0].pixel_mean == 127.5f && ok->nodes[0].pixel_std == 128.0f);
    fcl_model_destroy(ok);
    assert_int_equal(fcl_model_parse("input h=4 w=4 c=3\nfc a c=2\n", "ok.model", &ok), FCL_SUCCESS);
    assert_true(ok->nodes[0].pixel_mean == 0.0f && ok->nodes[0].pixel_std == 255.0f); /* pixels / 255 */
    fcl_model_destroy(ok);
    fcl_model *m = NULL;
    assert_int_equal(fcl_model_load("/nonexistent/x.model", &m), FCL_ERR_IO);
    fcl_set_log_callback(NULL, NULL);
}

/* The DAG's errors: names that do not resolve, edges that would make a cycle, shapes
 * an add or concat cannot take, a key given twice, and a name that an inception
 * module generates taken by an earlier layer. */
static void bad_graphs_name_line_and_problem(void **state)
{
    (void)state;
    fcl_set_log_callback(capture, NULL);
    const char *in = "input h=8 w=8 c=2\n";
    char text[512];
    BAD("conv a k=3 c=4 in=nowhere\n", FCL_ERR_PARSE, "bad.model:2:", "unknown input 'nowhere'");
    BAD("conv a k=3 c=4\nconv b k=3 c=4 in=c\nconv c k=1 c=4 in=a\n", FCL_ERR_PARSE, "bad.model:3:",
        "'c' is used before it is defined (line 4)");
    BAD("conv a k=3 c=4 in=b\nconv b k=3 c=4 in=a\n", FCL_ERR_PARSE, "bad.model:2:", "makes a cycle");
    BAD("conv a k=3 c=4 in=a\n", FCL_ERR_PARSE, "bad.model:2:", "makes a cycle");
    BAD("conv a k=3 c=4\nconv b k=3 c=5 in=input\nadd s in=a,b\n", FCL_ERR_SHAPE, "bad.model:4:",
        "cannot add input 2 (8x8x5) to input 1 (8x8x4)");
    BAD("conv a k=3 c=4\nadd s in=a\n", FCL_ERR_PARSE, "bad.model:3:", "reads at least 2 inputs");
    BAD("conv a k=3 c=4\nconv b k=3 c=4 in=a,input\n", FCL_ERR_PARSE, "bad.model:3:", "reads 1 input; in= names 2");
    BAD("conv a k=3 s=2 c=4\nconcat s in=a,input\n", FCL_ERR_SHAPE, "bad.model:3:", "sizes differ");
    BAD("conv a k=3 c=4 k=5\n", FCL_ERR_PARSE, "bad.model:2:", "key 'k' is given twice");
    BAD("conv a k=3 c=4\nconv b k=3 c=4 in=a in=input\n", FCL_ERR_PARSE, "bad.model:3:", "key 'in' is given twice");
    BAD("inception m 1x1=2 1x1=3\n", FCL_ERR_PARSE, "bad.model:2:", "given twice");
    BAD("conv m/1x1 k=1 c=2\ninception m 1x1=2 3x3r=2 3x3=2\n", FCL_ERR_PARSE, "bad.model:3:",
        "layer name 'm/1x1' is used twice (first on line 2)");
    BAD("inception m 1x1=2 in=a,b\n", FCL_ERR_PARSE, "bad.model:2:", "reads one input");
    BAD("conv a k=3 c=4 groups=3\n", FCL_ERR_SHAPE, "bad.model:2:", "groups=3 must divide");
    BAD("conv a k=3x c=4\n", FCL_ERR_PARSE, "bad.model:2:", "want N or HxW");
    BAD("conv a k=1x7 p=1x3 c=4\n", FCL_ERR_SHAPE, "bad.model:2:", "padding 1x3 must be smaller than the kernel 1x7");
    BAD("maxpool a k=3 s=1x2\n", FCL_ERR_SHAPE, "bad.model:2:", "one stride");
    BAD("conv a k=3 c=4 in=\n", FCL_ERR_PARSE, "bad.model:2:", "expected key=value");
    BAD("conv a k=3 c=4 in=,\n", FCL_ERR_PARSE, "bad.model:2:", "names no layer");
    fcl_set_log_callback(NULL, NULL);
}

static const fcl_node *node(const fcl_model *m, const char *name)
{
    for (int i = 0; i < m->n_nodes; i++)
        if (strcmp(m->nodes[i].name, name) == 0)
            return &m->nodes[i];
    fail_msg("no node %s", name);
    return NULL;
}

/* What the DAG keys mean: inputs by name, per-axis kernels, strides and padding,
 * valid padding, no bias, groups (weights, multiply-adds), PReLU's slopes. */
static void dag_keys_build_the_graph(void **state)
{
    (void)state;
    fcl_model *m;
    /* A UTF-8 byte order mark before the first line is not part of it (#20, item 14). */
    assert_int_equal(fcl_model_parse("\xEF\xBB\xBFmodel bom\ninput h=4 w=4 c=1\nfc e c=2\n", "bom", &m), FCL_SUCCESS);
    assert_string_equal(m->name, "bom");
    fcl_model_destroy(m);
    assert_int_equal(fcl_model_parse("input h=17 w=17 c=8\n"
                                     "conv a k=1x7 c=8 bias=0\n"
                                     "conv b k=7x1 s=2x1 c=8 in=input\n"
                                     "conv c k=3 p=valid c=16 groups=8 in=input\n"
                                     "add r in=input,a scale=0.1 relu=1\n"
                                     "prelu pr in=b\n"
                                     "inception m in=r 1x1=4 3x3r=2 3x3=4\n"
                                     "concat cat in=m,r\n",
                                     "dag", &m),
                     FCL_SUCCESS);
    const fcl_node *a = node(m, "a"), *b = node(m, "b"), *c = node(m, "c"), *r = node(m, "r");
    assert_true(a->kh == 1 && a->kw == 7 && a->ph == 0 && a->pw == 3 && a->out.h == 17 && a->out.w == 17);
    assert_true(b->sh == 2 && b->sw == 1 && b->ph == 3 && b->pw == 0 && b->out.h == 9 && b->out.w == 17);
    assert_true(c->ph == 0 && c->out.h == 15 && c->out.c == 16);
    fcl_param_desc d[FCL_MAX_PARAMS];
    assert_int_equal(fcl_ops[a->op]->params(a, d), 1); /* no bias */
    assert_int_equal(d[0].count, 8 * 8 * 7);
    assert_int_equal(fcl_ops[c->op]->params(c, d), 2);
    assert_int_equal(d[0].count, 16 * 1 * 9); /* 8 groups: one input channel each */
    assert_int_equal(d[0].dims[1], 1);
    assert_int_equal(fcl_ops[c->op]->macs(c), (uint64_t)15 * 15 * 16 * 9);
    assert_int_equal(r->n_inputs, 2);
    assert_int_equal(r->inputs[0], 0);
    assert_true(r->scale == 0.1f && r->relu);
    assert_int_equal(fcl_ops[node(m, "pr")->op]->params(node(m, "pr"), d), 1);
    assert_int_equal(d[0].init, FCL_INIT_PRELU);
    assert_int_equal(m->nodes[node(m, "m/1x1")->inputs[0]].op, FCL_OP_ADD);
    assert_int_equal(m->nodes[node(m, "m/3x3r")->inputs[0]].op, FCL_OP_ADD);
    assert_int_equal(node(m, "cat")->out.c, 8 + 8);
    fcl_model_destroy(m);
}

/* The explicit form fcl_model_format writes parses back into the same nodes, for every
 * shipped model (the opencl suite checks it computes the same bits). */
static void formatted_models_parse_back(void **state)
{
    (void)state;
    static const char *const names[] = {"nn1", "nn2", "nn3", "nn4", "nns1", "nns2", "fmnist-tiny", "fmnist-small",
                                        "fmnist-bn", "fmnist-bn512-drop", "fmnist-inception", "fmnist-nns2",
                                        "inception-resnet-v1", "fmnist-irv1"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        fcl_model *m = load(names[i]), *again;
        char *text;
        assert_int_equal(fcl_model_format(m, &text), FCL_SUCCESS);
        if (fcl_model_parse(text, names[i], &again) != FCL_SUCCESS)
            fail_msg("%s: the formatted text does not parse:\n%s", names[i], text);
        assert_int_equal(again->n_nodes, m->n_nodes);
        assert_int_equal(again->n_params, m->n_params);
        for (int j = 0; j < m->n_nodes; j++) {
            const fcl_node *x = &m->nodes[j], *y = &again->nodes[j];
            if (x->op != y->op || strcmp(x->name, y->name) != 0 || x->n_inputs != y->n_inputs ||
                memcmp(x->inputs, y->inputs, sizeof x->inputs) != 0 || memcmp(&x->out, &y->out, sizeof x->out) != 0 ||
                x->kh != y->kh || x->kw != y->kw || x->sh != y->sh || x->sw != y->sw || x->ph != y->ph ||
                x->pw != y->pw || x->relu != y->relu || x->param_off != y->param_off || x->bias != y->bias ||
                x->scale != y->scale || x->eps != y->eps || x->pixel_mean != y->pixel_mean ||
                x->pixel_std != y->pixel_std)
                fail_msg("%s: node %s differs after formatting", names[i], x->name);
        }
        free(text);
        fcl_model_destroy(again);
        fcl_model_destroy(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(paper_rows_within_10_percent),
        cmocka_unit_test(model_totals_match_the_paper),
        cmocka_unit_test(every_shipped_model_loads),
        cmocka_unit_test(planner_reuses_memory_in_inference),
        cmocka_unit_test(bad_models_name_line_and_problem),
        cmocka_unit_test(bad_graphs_name_line_and_problem),
        cmocka_unit_test(dag_keys_build_the_graph),
        cmocka_unit_test(formatted_models_parse_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
