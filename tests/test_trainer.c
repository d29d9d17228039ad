/* Whole training runs (fcl_train) on a tiny generated IDX-like data set: a run paused
 * and resumed ends with the same bytes as an uninterrupted one, its log holds each step
 * once, a checkpoint made with other settings is refused, a loss that turns NaN stops
 * the run with the last good checkpoint intact, and --init starts from given weights. */
#include "io/safetensors.h"
#include "train/trainer.h"

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

enum { IDS = 5, PER_ID = 10, SIDE = 10, STEPS = 9 };
static const char model_text[] = "model trainer-test\ninput h=10 w=10 c=1\nconv c1 k=3 c=4\nmaxpool p1 k=2 s=2\n"
                                 "fc emb c=8\nl2norm l2\n";
static fcl_model *model;
static fcl_dataset data;
enum { DIRS = 4 };
static char dir[DIRS][96];

static int setup(void **state)
{
    if (open_test_runtime(state) != 0 || fcl_model_parse(model_text, "trainer-test", &model) != FCL_SUCCESS)
        return -1;
    data.n = IDS * PER_ID;
    data.n_classes = IDS;
    data.ih = data.iw = SIDE;
    snprintf(data.source, sizeof data.source, "generated");
    data.labels = malloc((size_t)data.n * sizeof *data.labels);
    data.class_names = calloc(IDS, sizeof *data.class_names);
    data.pixels = malloc((size_t)data.n * SIDE * SIDE);
    uint64_t rng = 7;
    for (int i = 0; i < data.n; i++) {
        data.labels[i] = i % IDS;
        for (int j = 0; j < SIDE * SIDE; j++) { /* a stripe per identity, plus noise */
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            int stripe = (j % SIDE) / 2 == data.labels[i] ? 180 : 40;
            data.pixels[(size_t)i * SIDE * SIDE + j] = (unsigned char)(stripe + (int)(rng >> 58));
        }
    }
    for (int i = 0; i < DIRS; i++)
        snprintf(dir[i], sizeof dir[i], "/tmp/facecl-trainer-%ld-%d", (long)getpid(), i);
    fcl_set_log_level(FCL_LOG_ERROR + 1); /* the refusals below are expected */
    return 0;
}

static int teardown(void **state)
{
    static const char *const files[] = {FCL_CHECKPOINT_FILE, FCL_WEIGHTS_FILE, FCL_TRAIN_LOG_FILE};
    for (int i = 0; i < DIRS; i++) {
        for (int f = 0; f < 3; f++) {
            char path[512];
            snprintf(path, sizeof path, "%s/%s", dir[i], files[f]);
            remove(path);
        }
        rmdir(dir[i]);
    }
    fcl_dataset_free(&data);
    fcl_model_destroy(model);
    return close_test_runtime(state);
}

static fcl_train_options options(int which)
{
    fcl_train_options o = fcl_train_defaults();
    o.P = 3, o.K = 3, o.steps = STEPS, o.checkpoint_every = 2, o.progress = NULL, o.seed = 5;
    o.optim = fcl_optim_defaults(FCL_OPT_ADAM);
    o.out_dir = dir[which];
    return o;
}

static float *load(const char *d, const char *file)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", d, file);
    float *p = malloc(model->n_params * sizeof *p);
    assert_int_equal(fcl_weights_load(model, path, p), FCL_SUCCESS);
    return p;
}

static int count_lines(const char *d)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", d, FCL_TRAIN_LOG_FILE);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int n = 0;
    for (int c; (c = fgetc(f)) != EOF;)
        n += c == '\n';
    fclose(f);
    return n;
}

static void paused_and_resumed_equals_uninterrupted(void **state)
{
    (void)state;
    fcl_train_summary sum;
    fcl_train_options a = options(0);
    assert_int_equal(fcl_train(rt, model, &data, &a, &sum), FCL_SUCCESS);
    assert_int_equal(sum.steps_done, STEPS);
    /* Paused twice, at an odd step (between checkpoints) and at a checkpoint step. */
    fcl_train_options b = options(1);
    b.stop_at = 3;
    assert_int_equal(fcl_train(rt, model, &data, &b, &sum), FCL_ERR_INTERRUPTED);
    b.resume = true;
    b.stop_at = 6;
    assert_int_equal(fcl_train(rt, model, &data, &b, &sum), FCL_ERR_INTERRUPTED);
    assert_int_equal(sum.first_step, 3);
    /* Resumed at its pause (a caller killed before it recorded the pause): paused at
     * once, nothing trained, the checkpoint as it was. */
    assert_int_equal(fcl_train(rt, model, &data, &b, &sum), FCL_ERR_INTERRUPTED);
    assert_int_equal(sum.first_step, 6);
    assert_int_equal(sum.steps_done, 6);
    b.stop_at = 0;
    assert_int_equal(fcl_train(rt, model, &data, &b, &sum), FCL_SUCCESS);
    assert_int_equal(sum.first_step, 6);
    float *wa = load(dir[0], FCL_WEIGHTS_FILE), *wb = load(dir[1], FCL_WEIGHTS_FILE);
    assert_memory_equal(wa, wb, model->n_params * sizeof *wa);
    assert_int_equal(count_lines(dir[1]), STEPS + 1); /* header + one row per step */
    free(wa), free(wb);
}

static void resume_refuses_other_settings(void **state)
{
    (void)state;
    fcl_train_summary sum;
    fcl_train_options o = options(1); /* dir 1 holds the finished run above */
    o.resume = true;
    o.alpha = 0.3f;
    assert_int_equal(fcl_train(rt, model, &data, &o, &sum), FCL_ERR_INVALID_ARGUMENT);
    o = options(2);
    o.resume = true; /* nothing to resume from */
    assert_int_not_equal(fcl_train(rt, model, &data, &o, &sum), FCL_SUCCESS);
}

static void nan_loss_stops_and_keeps_the_last_good_checkpoint(void **state)
{
    (void)state;
    fcl_train_summary sum;
    fcl_train_options o = options(2);
    o.optim = fcl_optim_defaults(FCL_OPT_SGD);
    o.optim.lr = 1e30f; /* the first step throws the weights out of range: the next loss is NaN */
    o.schedule.kind = FCL_SCHEDULE_CONSTANT;
    o.checkpoint_every = 1;
    assert_int_equal(fcl_train(rt, model, &data, &o, &sum), FCL_ERR_NUMERIC);
    assert_true(sum.steps_done < STEPS);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir[2], FCL_CHECKPOINT_FILE);
    float *p = malloc(model->n_params * sizeof *p);
    fcl_st_meta meta = {.key = "facecl.step"};
    assert_int_equal(fcl_safetensors_load(model, path, p, NULL, 0, &meta, 1), FCL_SUCCESS); /* finite, whole */
    assert_true(meta.found);
    assert_int_equal(atol(meta.value), sum.steps_done);
    snprintf(path, sizeof path, "%s/%s", dir[2], FCL_WEIGHTS_FILE);
    assert_int_not_equal(access(path, F_OK), 0); /* no final weights from a failed run */
    free(p);
}

/* A run with init = the first test's weights, whose one step cannot move them (lr
 * 1e-30), ends with exactly those weights, not its seed's; with the softmax loss too,
 * whose classifier head comes after the embedding's parameters. */
static void init_starts_from_the_given_weights(void **state)
{
    (void)state;
    char init[512];
    snprintf(init, sizeof init, "%s/%s", dir[0], FCL_WEIGHTS_FILE);
    float *given = load(dir[0], FCL_WEIGHTS_FILE);
    static const char *const losses[] = {"triplet", "softmax"};
    for (int i = 0; i < 2; i++) {
        fcl_train_summary sum;
        fcl_train_options o = options(3);
        o.init = init;
        o.force = true; /* the same directory, once per loss */
        o.loss = losses[i];
        o.steps = 1;
        o.optim = fcl_optim_defaults(FCL_OPT_SGD);
        o.optim.lr = 1e-30f;
        o.schedule.kind = FCL_SCHEDULE_CONSTANT;
        assert_int_equal(fcl_train(rt, model, &data, &o, &sum), FCL_SUCCESS);
        float *w = load(dir[3], FCL_WEIGHTS_FILE);
        assert_memory_equal(w, given, model->n_params * sizeof *w);
        free(w);
    }
    fcl_train_summary sum;
    fcl_train_options o = options(3);
    o.init = "/nonexistent/weights.safetensors";
    assert_int_not_equal(fcl_train(rt, model, &data, &o, &sum), FCL_SUCCESS);
    free(given);
}

/* A checkpoint whose AdaGrad sums of squares went below 0 is called damaged when it is
 * resumed, not blamed on the learning rate by the NaN it would make (#20, item 14). */
static void damaged_optimizer_state_is_named(void **state)
{
    (void)state;
    fcl_train_summary sum;
    fcl_train_options o = options(3);
    o.force = true;
    o.optim = fcl_optim_defaults(FCL_OPT_ADAGRAD);
    o.stop_at = 2;
    assert_int_equal(fcl_train(rt, model, &data, &o, &sum), FCL_ERR_INTERRUPTED);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir[3], FCL_CHECKPOINT_FILE);
    float *p = malloc(2 * model->n_params * sizeof *p);
    fcl_st_tensor squares = {FCL_ST_STATE_PREFIX "optimizer.0", p + model->n_params, model->n_params};
    fcl_st_meta meta[4] = {{.key = "facecl.step"}, {.key = "facecl.sampler"}, {.key = "facecl.optimizer_steps"},
                           {.key = "facecl.train_config"}};
    assert_int_equal(fcl_safetensors_load(model, path, p, &squares, 1, meta, 4), FCL_SUCCESS);
    squares.data[5] = -1.0f;
    assert_int_equal(fcl_safetensors_save(model, p, &squares, 1, meta, 4, path), FCL_SUCCESS);
    o.resume = true, o.force = false, o.stop_at = 0;
    fcl_set_log_level(FCL_LOG_ERROR + 1);
    assert_int_equal(fcl_train(rt, model, &data, &o, &sum), FCL_ERR_FORMAT);
    fcl_set_log_level(FCL_LOG_WARN);
    free(p);
}

/* Progress comes to the callback: at the first step, at least every progress_seconds
 * (0: every step), and a last report at the end; an unknown loss is refused by name. */
typedef struct reports {
    long steps[64];
    int n, last;
} reports;
static void record(const fcl_train_progress *p, void *user)
{
    reports *r = user;
    if (r->n < 64)
        r->steps[r->n++] = p->step;
    r->last += p->last;
    assert_true(p->steps == STEPS && isfinite(p->loss) && strcmp(p->active, "active") == 0);
}

static void progress_reaches_the_callback(void **state)
{
    (void)state;
    reports r = {0};
    fcl_train_summary sum;
    fcl_train_options o = options(2);
    o.force = true; /* dir[2] holds another test's run */
    o.progress = record;
    o.progress_user = &r;
    o.progress_seconds = 0;
    assert_int_equal(fcl_train(rt, model, &data, &o, &sum), FCL_SUCCESS);
    assert_int_equal(r.n, STEPS);
    for (int i = 0; i < r.n; i++)
        assert_int_equal(r.steps[i], i + 1);
    assert_int_equal(r.last, 1);
    o.loss = "hinge";
    assert_int_equal(fcl_train(rt, model, &data, &o, &sum), FCL_ERR_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(paused_and_resumed_equals_uninterrupted),
        cmocka_unit_test(resume_refuses_other_settings),
        cmocka_unit_test(nan_loss_stops_and_keeps_the_last_good_checkpoint),
        cmocka_unit_test(init_starts_from_the_given_weights),
        cmocka_unit_test(progress_reaches_the_callback),
        cmocka_unit_test(damaged_optimizer_state_is_named),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
