/* The FLOPS-versus-accuracy sweep's bookkeeping, without a device: run records (a
 * partial or corrupt one is not "done"), the output directory's configuration check,
 * the statistics over seeds, and the report files. */
#include "sweep.h"
#include "pareto.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

static char dir[64];

static int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/facecl-sweep-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static fcl_sweep_run sample_run(double seed, double accuracy)
{
    return (fcl_sweep_run){.seed = seed, .steps = 300, .macs = 4674048, .macs_counted = 4674048,
                           .train_macs_counted = 13.5e6, .params = 854976, .train_images_per_second = 480.25,
                           .train_seconds = 50, .infer_images_per_second = 2500, .accuracy = accuracy,
                           .accuracy_std = 0.004, .val = 0.5 + seed / 100, .far = 1e-3, .rank1 = 0.88,
                           .ncm = 0.9, .auc = 0.98, .eer = 0.05, .threshold = 0.6180339887498949};
}

static void run_record_round_trip(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/run.txt", dir);
    fcl_sweep_run a = sample_run(2, 0.9312345678901234), b;
    assert_int_equal(fcl_sweep_run_write(path, &a), FCL_SUCCESS);
    memset(&b, 0, sizeof b);
    assert_int_equal(fcl_sweep_run_read(path, &b), FCL_SUCCESS);
    assert_memory_equal(&a, &b, sizeof a); /* %.17g: every double exactly */
}

/* Each of these must read as "not done", so the run is trained again. */
static void run_record_rejects(void **state)
{
    (void)state;
    char path[128], good[4096];
    snprintf(path, sizeof path, "%s/run.txt", dir);
    fcl_sweep_run a = sample_run(1, 0.9), b;
    assert_int_equal(fcl_sweep_run_write(path, &a), FCL_SUCCESS);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(good, 1, sizeof good - 1, f);
    fclose(f);
    good[n] = '\0';
    /* Each case: the file cut in half, one field's line replaced, or a line appended. */
    static const struct {
        const char *why, *key, *line, *appended;
        bool halve;
    } cases[] = {
        {"cut off halfway", NULL, NULL, "", true},
        {"a NaN", "accuracy", "accuracy nan", "", false},
        {"trailing letters", "accuracy", "accuracy 0.9x", "", false},
        {"a field twice", NULL, NULL, "accuracy 0.5\n", false},
        {"a field twice in place of another", "seed", "accuracy 0.5", "", false}, /* the count alone passes */
        {"a field it does not know", NULL, NULL, "what 1\n", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[4200], key[32];
        if (cases[i].halve) {
            snprintf(text, sizeof text, "%.*s", (int)(strlen(good) / 2), good);
        } else if (cases[i].key) {
            snprintf(key, sizeof key, "\n%s ", cases[i].key);
            const char *at = strstr(good, key);
            assert_non_null(at);
            snprintf(text, sizeof text, "%.*s\n%s%s", (int)(at - good), good, cases[i].line, strchr(at + 1, '\n'));
        } else {
            snprintf(text, sizeof text, "%s%s", good, cases[i].appended);
        }
        write_text(path, text);
        if (fcl_sweep_run_read(path, &b) != FCL_ERR_FORMAT)
            fail_msg("a record with %s was read as done", cases[i].why);
    }
    snprintf(path, sizeof path, "%s/missing.txt", dir);
    assert_int_not_equal(fcl_sweep_run_read(path, &b), FCL_SUCCESS);
}

static void claim_dir(void **state)
{
    (void)state;
    char out[128], path[160];
    snprintf(out, sizeof out, "%s/sweep", dir);
    const char *config = "facecl bench flops-accuracy, configuration 2\nmodel a multiply-adds 5\nbudget steps 10\n";
    assert_int_equal(fcl_sweep_claim_dir(out, config), FCL_SUCCESS); /* new: created */
    snprintf(path, sizeof path, "%s/sweep.txt", out);
    assert_int_equal(access(path, R_OK), 0);
    assert_int_equal(fcl_sweep_claim_dir(out, config), FCL_SUCCESS); /* the same again: continue */
    const char *other = "facecl bench flops-accuracy, configuration 2\nmodel a multiply-adds 5\nbudget steps 11\n";
    assert_int_equal(fcl_sweep_claim_dir(out, other), FCL_ERR_INVALID_ARGUMENT);
    const char *longer = "facecl bench flops-accuracy, configuration 2\nmodel a multiply-adds 5\nbudget steps 10\n"
                         "seeds 2\n";
    assert_int_equal(fcl_sweep_claim_dir(out, longer), FCL_ERR_INVALID_ARGUMENT);
    char shorter[256];
    snprintf(shorter, sizeof shorter, "%.*s", (int)strlen(config) - 16, config);
    assert_int_equal(fcl_sweep_claim_dir(out, shorter), FCL_ERR_INVALID_ARGUMENT);
    snprintf(out, sizeof out, "%s/other", dir); /* not empty, not a sweep's */
    snprintf(path, sizeof path, "%s/other", dir);
    assert_int_equal(fcl_mkdir_p(path), FCL_SUCCESS);
    snprintf(path, sizeof path, "%s/other/weights.safetensors", dir);
    write_text(path, "x");
    assert_int_equal(fcl_sweep_claim_dir(out, config), FCL_ERR_INVALID_ARGUMENT);
    snprintf(path, sizeof path, "%s/other/sweep.txt", dir);
    assert_int_not_equal(access(path, F_OK), 0);
}

static void statistics_over_seeds(void **state)
{
    (void)state;
    fcl_sweep_model m = {.n_runs = 3};
    m.runs[0] = sample_run(1, 0.90);
    m.runs[1] = sample_run(2, 0.92);
    m.runs[2] = sample_run(3, 0.97);
    double mean, std;
    fcl_sweep_stat(&m, offsetof(fcl_sweep_run, accuracy), &mean, &std);
    assert_true(fabs(mean - 0.93) < 1e-12);
    /* sample std: sqrt(((-.03)^2 + (-.01)^2 + .04^2) / 2) = sqrt(0.0013) */
    assert_true(fabs(std - sqrt(0.0013)) < 1e-12);
    m.n_runs = 1;
    fcl_sweep_stat(&m, offsetof(fcl_sweep_run, accuracy), &mean, &std);
    assert_true(mean == 0.90 && std == 0);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char text[65536];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    return text;
}

static void report_files(void **state)
{
    (void)state;
    char out[128], path[200];
    snprintf(out, sizeof out, "%s/report", dir);
    assert_int_equal(fcl_mkdir_p(out), FCL_SUCCESS);
    fcl_sweep_options o = {.n_models = 3, .steps = 300, .seeds = 2, .P = 10, .K = 8, .out_dir = out};
    static fcl_sweep_report r;
    memset(&r, 0, sizeof r);
    r.options = &o;
    r.n_models = 3;
    r.gemm_gflops = 40;
    r.gemm_n = 1024;
    snprintf(r.device, sizeof r.device, "a \"quoted\" device");
    snprintf(r.models[0].name, sizeof r.models[0].name, "small-one");
    snprintf(r.models[1].name, sizeof r.models[1].name, "big-one");
    r.models[0].n_runs = r.models[1].n_runs = 2;
    r.models[0].steps = r.models[1].steps = 300;
    r.models[0].runs[0] = sample_run(1, 0.80);
    r.models[0].runs[1] = sample_run(2, 0.82);
    r.models[1].runs[0] = sample_run(1, 0.90);
    r.models[1].runs[1] = sample_run(2, 0.94);
    r.models[1].runs[0].macs = r.models[1].runs[1].macs = 50e6;
    r.models[1].runs[0].val = 0.70, r.models[1].runs[1].val = 0.72;
    r.models[1].runs[0].infer_images_per_second = r.models[1].runs[1].infer_images_per_second = 500;
    /* costs more than small-one on both axes and is worth less: on neither front */
    snprintf(r.models[2].name, sizeof r.models[2].name, "wasteful-one");
    r.models[2].n_runs = 1;
    r.models[2].steps = 300;
    r.models[2].runs[0] = sample_run(1, 0.85);
    r.models[2].runs[0].macs = 20e6, r.models[2].runs[0].val = 0.40;
    r.models[2].runs[0].infer_images_per_second = 1000;
    assert_int_equal(fcl_sweep_write_outputs(&r), FCL_SUCCESS);

    snprintf(path, sizeof path, "%s/results.json", out);
    const char *json = slurp(path);
    assert_non_null(strstr(json, "\"device\": \"a \\\"quoted\\\" device\""));
    assert_non_null(strstr(json, "\"name\": \"big-one\""));
    assert_non_null(strstr(json, "\"accuracy\": {\"mean\": 0.92, \"std\": 0.0282843}"));
    /* training GFLOP/s: 2 x 13.5M counted multiply-adds x 480.25 images/s */
    assert_non_null(strstr(json, "\"train_gflops\": 12.97, \"train_ceiling_fraction\": 0.3242"));
    assert_non_null(strstr(json, "\"name\": \"NNS2\""));
    /* VAL ranks 2, 3, 1 against multiply-add ranks 1, 3, 2 (and the same ms ranks):
     * rho = 1 - 6 (1 + 0 + 1) / (3 (9 - 1)) = 0.5 */
    assert_non_null(strstr(json, "\"pareto_front\": {\"multiply_adds\": [\"small-one\", \"big-one\"], "
                                 "\"device_ms_per_image\": [\"small-one\", \"big-one\"]}"));
    assert_non_null(strstr(json, "\"val_rank_correlation\": {\"multiply_adds\": 0.5000, \"device_ms_per_image\": 0.5000}"));
    snprintf(path, sizeof path, "%s/flops_val.svg", out);
    const char *svg = slurp(path);
    assert_non_null(strstr(svg, "<svg"));
    assert_non_null(strstr(svg, "big-one"));
    assert_non_null(strstr(svg, "small-one"));
    assert_non_null(strstr(svg, "Pareto front"));
    assert_non_null(strstr(svg, "<polyline"));
    snprintf(path, sizeof path, "%s/time_val.svg", out);
    svg = slurp(path);
    assert_non_null(strstr(svg, "device ms per image"));
    assert_non_null(strstr(svg, "wasteful-one"));
    snprintf(path, sizeof path, "%s/time_accuracy.svg", out);
    assert_non_null(strstr(slurp(path), "</svg>"));
    snprintf(path, sizeof path, "%s/table.txt", out);
    const char *table = slurp(path);
    assert_non_null(strstr(table, "big-one"));
    assert_non_null(strstr(table, " 92.00 +- 2.83"));
    assert_non_null(strstr(table, "same steps: 300"));
    assert_non_null(strstr(table, "against multiply-adds (no model has more VAL for fewer): small-one, big-one\n"));
    assert_non_null(strstr(table, "over the 3 models: 0.500; with device time per image: 0.500"));
}

/* A sweep directory read back (bench merge): its configuration, device, GEMM ceiling
 * and finished runs; two such sweeps in one table and plot; an old or foreign
 * sweep.txt refused. */
static void load_and_merge(void **state)
{
    (void)state;
    char a[128], b[128], path[300], out[128];
    const char *devices[2] = {"cpu one", "gpu two"};
    char *dirs[2] = {a, b};
    snprintf(a, sizeof a, "%s/load-a", dir);
    snprintf(b, sizeof b, "%s/load-b", dir);
    for (int d = 0; d < 2; d++) {
        char config[512];
        snprintf(config, sizeof config,
                 "facecl bench flops-accuracy, configuration 2\ndevice %s\n"
                 "model small multiply-adds 4674048 parameters 854976\nmodel large multiply-adds 50000000 "
                 "parameters 900000\nbudget minutes 2\nseeds 2\nbatch 10 x 8\nevaluation far-images 3000 gallery 10000\n",
                 devices[d]);
        assert_int_equal(fcl_sweep_claim_dir(dirs[d], config), FCL_SUCCESS);
        snprintf(path, sizeof path, "%s/measured.txt", dirs[d]);
        write_text(path, d ? "gemm_gflops 900\ngemm_n 1024\n" : "gemm_gflops 150\ngemm_n 512\n");
        for (int s = 1; s <= 2; s++) { /* large has one finished run in sweep a */
            for (int m = 0; m < 2; m++) {
                if (m == 1 && s == 2 && d == 0)
                    continue;
                snprintf(path, sizeof path, "%s/%s/seed-%d", dirs[d], m ? "large" : "small", s);
                assert_int_equal(fcl_mkdir_p(path), FCL_SUCCESS);
                snprintf(path + strlen(path), sizeof path - strlen(path), "/run.txt");
                fcl_sweep_run run = sample_run(s, 0.9);
                run.macs = m ? 50e6 : 4674048;
                run.val = m ? 0.7 : 0.5;
                run.infer_images_per_second = d ? 20000 : 2000;
                assert_int_equal(fcl_sweep_run_write(path, &run), FCL_SUCCESS);
            }
        }
    }
    static fcl_sweep_report r[2];
    static fcl_sweep_options o[2];
    assert_int_equal(fcl_sweep_load(a, &o[0], &r[0]), FCL_SUCCESS);
    assert_string_equal(r[0].device, "cpu one");
    assert_int_equal(r[0].n_models, 2);
    assert_string_equal(r[0].models[1].name, "large");
    assert_int_equal(r[0].models[0].n_runs, 2);
    assert_int_equal(r[0].models[1].n_runs, 1);
    assert_true(o[0].minutes == 2 && o[0].seeds == 2 && o[0].P == 10 && o[0].K == 8 && o[0].gallery_images == 10000);
    assert_true(r[0].gemm_gflops == 150 && r[0].gemm_n == 512);
    assert_int_equal(fcl_sweep_load(b, &o[1], &r[1]), FCL_SUCCESS);
    const fcl_sweep_report *list[2] = {&r[0], &r[1]};
    snprintf(out, sizeof out, "%s/merged", dir);
    assert_int_equal(fcl_sweep_merge_outputs(list, 2, out), FCL_SUCCESS);
    snprintf(path, sizeof path, "%s/table.txt", out);
    const char *table = slurp(path);
    assert_non_null(strstr(table, "[1] cpu one (same training time: 2 min a run; 2 seeds, batch 10 x 8; GEMM ceiling 150.0"));
    /* model by model: small on both sweeps, then large; 1000/2000 and 1000/20000 ms */
    const char *s1 = strstr(table, "small                   1"), *s2 = strstr(table, "small                   2");
    const char *l1 = strstr(table, "large                   1");
    assert_non_null(s1);
    assert_non_null(s2);
    assert_non_null(l1);
    assert_true(s1 < s2 && s2 < l1);
    assert_non_null(strstr(s1, "    0.500"));
    assert_non_null(strstr(s2, "    0.050"));
    assert_non_null(strstr(table, "[2] gpu two:\nPareto front of VAL against multiply-adds (no model has more VAL for fewer): small, large"));
    snprintf(path, sizeof path, "%s/time_val.svg", out);
    const char *svg = slurp(path);
    assert_non_null(strstr(svg, "[1] cpu one"));
    assert_non_null(strstr(svg, "[2] gpu two"));

    snprintf(path, sizeof path, "%s/sweep.txt", b);
    write_text(path, "facecl bench flops-accuracy, configuration 1\nmodel small multiply-adds 5\nbudget steps 10\n");
    assert_int_equal(fcl_sweep_load(b, &o[1], &r[1]), FCL_ERR_FORMAT);
    snprintf(path, sizeof path, "%s/nothing-here", dir);
    assert_int_equal(fcl_sweep_load(path, &o[1], &r[1]), FCL_ERR_FORMAT);
}

/* Hand-made points: (cost, value) with a tie on the front, a dominated point, a point
 * equal to a front point, and one with a NaN. */
static void pareto_front_by_hand(void **state)
{
    (void)state;
    const double cost[] = {1, 2, 3, 4, 2, NAN, 5};
    const double value[] = {0.5, 0.7, 0.6, 0.9, 0.7, 1.0, 0.9};
    bool front[7];
    assert_int_equal(fcl_pareto_front(cost, value, 7, front), 4);
    const bool want[] = {true, true, false, true, true, false, false}; /* 2: under (2, .7); 6: (4, .9) is cheaper */
    for (int i = 0; i < 7; i++)
        assert_true(front[i] == want[i]);
    assert_int_equal(fcl_pareto_front(cost, value, 1, front), 1);
}

static void rank_correlation_by_hand(void **state)
{
    (void)state;
    const double x[] = {1, 2, 3, 4, 5}, y[] = {2, 1, 4, 3, 5};
    /* d = -1, 1, -1, 1, 0: 1 - 6 * 4 / (5 * 24) */
    assert_true(fabs(fcl_rank_correlation(x, y, 5) - 0.8) < 1e-12);
    const double rev[] = {50, 40, 30, 20, 10};
    assert_true(fabs(fcl_rank_correlation(x, rev, 5) + 1) < 1e-12);
    /* ties share their mean rank: x ranks 1, 2.5, 2.5, 4 against 1, 2, 3, 4 gives
     * 4.5 / sqrt(4.5 * 5) */
    const double tx[] = {1, 2, 2, 3}, ty[] = {10, 20, 30, 40};
    assert_true(fabs(fcl_rank_correlation(tx, ty, 4) - 4.5 / sqrt(22.5)) < 1e-12);
    const double flat[] = {3, 3, 3, 3};
    assert_true(isnan(fcl_rank_correlation(tx, flat, 4)));
    assert_true(isnan(fcl_rank_correlation(x, y, 1)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(run_record_round_trip),
        cmocka_unit_test(run_record_rejects),
        cmocka_unit_test(claim_dir),
        cmocka_unit_test(statistics_over_seeds),
        cmocka_unit_test(report_files),
        cmocka_unit_test(pareto_front_by_hand),
        cmocka_unit_test(load_and_merge),
        cmocka_unit_test(rank_correlation_by_hand),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
