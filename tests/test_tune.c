/* The GEMM tuning database (round trip, every kind of bad file) and the tuner: it only
 * ever chooses candidates that build and match the reference, and nets use its file. */
#include "gemm/gemm.h"
#include "graph/graph.h"
#include "runtime/fileio.h"
#include "runtime/kernels.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static char tmpdir[64];
static int warnings;
static char logged[8192];

static void capture(fcl_log_level level, const char *message, void *user)
{
    (void)user;
    warnings += level == FCL_LOG_WARN;
    size_t used = strlen(logged);
    snprintf(logged + used, sizeof logged - used, "%s\n", message);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/facecl-tune-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    fcl_set_log_callback(capture, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    fcl_set_log_callback(NULL, NULL);
    return system(cmd) == 0 ? 0 : -1;
}

/* A runtime with its own cache directory (and kernel directory when given). */
static fcl_runtime *open_rt(const char *cache, const char *kernels)
{
    fcl_runtime_options o = {.disk_cache = FCL_DISK_CACHE_OFF, .cache_dir = cache, .kernel_dir = kernels};
    fcl_runtime *r = NULL;
    fcl_status st = fcl_runtime_create(getenv("FACECL_TEST_DEVICE"), &o, &r);
    if (st != FCL_SUCCESS)
        fail_msg("no OpenCL device for the opencl suite: %s", fcl_status_str(st));
    return r;
}

static fcl_gemm_db sample_db(void)
{
    fcl_gemm_db db = {0};
    db.has[3] = db.has[FCL_GEMM_CLASSES - 1] = true;
    db.config[3] = (fcl_gemm_config){.tm = 4, .vw = 8, .wn = 2, .ku = 4, .lx = 2, .ly = 8, .kc = 256, .sk = 1, .pb = 1};
    db.config[FCL_GEMM_CLASSES - 1] = (fcl_gemm_config){.tm = 3, .vw = 4, .wn = 3, .ku = 1};
    db.gflops[3] = 101.25, db.gflops[FCL_GEMM_CLASSES - 1] = 7.5;
    db.has[7] = true, db.gflops[7] = 55; /* a class the tiled GPU kernel won */
    db.config[7] = (fcl_gemm_config){.impl = FCL_GEMM_TILED, .tm = 4, .wn = 8, .vw = 4, .ku = 1, .lx = 16, .ly = 8,
                                     .kw = 16, .pad = 1, .db = 0, .kc = 256, .sk = 1};
    if (fcl_gemm_clblast_available()) /* a class CLBlast won */
        db.has[5] = true, db.config[5] = (fcl_gemm_config){.impl = FCL_GEMM_CLBLAST}, db.gflops[5] = 20;
    return db;
}

/* Replaces the checksum line of text so that it matches again. */
static void reseal(char *text)
{
    char *sum = strstr(text, "\nchecksum ");
    assert_non_null(sum);
    snprintf(sum + 1, 28, "checksum %016llx\n", (unsigned long long)fcl_hash64(text, (size_t)(sum + 1 - text), FCL_HASH_SEED));
}

static void db_round_trip_and_bad_files(void **state)
{
    (void)state;
    fcl_runtime *r = open_rt(tmpdir, NULL);
    const fcl_gemm_db db = sample_db();
    char *text, why[300];
    assert_int_equal(fcl_gemm_db_format(r, &db, &text), FCL_SUCCESS);
    fcl_gemm_db back;
    assert_int_equal(fcl_gemm_db_parse(r, text, &back, why, sizeof why), FCL_SUCCESS);
    assert_memory_equal(back.has, db.has, sizeof db.has);
    assert_memory_equal(&back.config[3], &db.config[3], sizeof db.config[3]);
    assert_memory_equal(&back.config[FCL_GEMM_CLASSES - 1], &db.config[FCL_GEMM_CLASSES - 1], sizeof db.config[0]);
    assert_true(back.gflops[3] == 101.25);
    assert_memory_equal(&back.config[5], &db.config[5], sizeof db.config[5]);
    assert_memory_equal(&back.config[7], &db.config[7], sizeof db.config[7]);

    /* Each bad file is refused with its reason, and leaves an empty database. */
    static const struct {
        const char *from, *to, *reason;
        bool resealed;
    } cases[] = {
        {"class 3 tm=4", "class 3 tm=5", "checksum", false},      /* edited without resealing */
        {"device ", "device X", "another device", true},          /* another device's file */
        {"driver ", "driver 9", "another device", true},          /* another driver version */
        {"facecl-gemm-tuning 3", "facecl-gemm-tuning 2", "not a GEMM tuning file of this", true}, /* older */
        {"tm=4,vw=8", "tm=4,vw=3", "malformed", true},             /* a value the kernel cannot take */
        {"class 3 ", "class 99 ", "malformed", true},              /* no such class */
        {",pb=1 ", ",pb=1x ", "malformed", true},                  /* trailing junk in the configuration */
        {"tiled:tm=4,tn=8,lx=16", "tiled:tm=4,tn=8,lx=12", "malformed", true}, /* not a power of two */
        {",db=0,kc=256", ",db=0,kc=250", "malformed", true},       /* K passes the slices do not divide */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char bad[4096];
        const char *at = strstr(text, cases[i].from);
        assert_non_null(at);
        snprintf(bad, sizeof bad, "%.*s%s%s", (int)(at - text), text, cases[i].to, at + strlen(cases[i].from));
        if (cases[i].resealed)
            reseal(bad);
        why[0] = '\0';
        assert_int_not_equal(fcl_gemm_db_parse(r, bad, &back, why, sizeof why), FCL_SUCCESS);
        if (!strstr(why, cases[i].reason))
            fail_msg("case %zu: '%s' does not say '%s'", i, why, cases[i].reason);
        for (int c = 0; c < FCL_GEMM_CLASSES; c++)
            assert_false(back.has[c]);
    }
    /* A truncated file has no checksum line. */
    text[strlen(text) / 2] = '\0';
    assert_int_not_equal(fcl_gemm_db_parse(r, text, &back, why, sizeof why), FCL_SUCCESS);
    free(text);
    fcl_runtime_destroy(r);
}

/* Saved, the file steers every net on the device; a corrupt one is ignored with one
 * warning (not one per net) and the nets fall back to the device default. */
static void nets_use_the_file_and_survive_a_corrupt_one(void **state)
{
    (void)state;
    fcl_runtime *r = open_rt(tmpdir, NULL);
    const fcl_gemm_db db = sample_db();
    assert_int_equal(fcl_gemm_db_save(r, &db), FCL_SUCCESS);
    fcl_gemm_config configs[FCL_GEMM_CLASSES];
    fcl_gemm_choose_configs(r, configs);
    const fcl_gemm_config fallback = fcl_gemm_device_default(&r->info);
    assert_memory_equal(&configs[3], &db.config[3], sizeof configs[3]);
    assert_memory_equal(&configs[0], &fallback, sizeof fallback);

    char path[4200];
    assert_true(fcl_gemm_db_path(r, path, sizeof path));
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, 30, SEEK_SET);
    fputc('#', f);
    fclose(f);
    warnings = 0, logged[0] = '\0';
    for (int i = 0; i < 3; i++) {
        fcl_gemm_choose_configs(r, configs);
        for (int c = 0; c < FCL_GEMM_CLASSES; c++)
            assert_memory_equal(&configs[c], &fallback, sizeof fallback);
    }
    assert_int_equal(warnings, 1);
    assert_non_null(strstr(logged, "facecl tune"));
    fcl_runtime_destroy(r);
}

/* gemm.cl and gemm_tiled.cl with candidates that do not build (TM 4; tiled: TM 8) and
 * that compute wrong results (TM 3 adds 1 to every entry; tiled: TN 2); the tuner must
 * skip them all. */
static void write_sabotaged_kernels(const char *dir)
{
    assert_int_equal(fcl_mkdir_p(dir), FCL_SUCCESS);
    for (const struct fcl_embedded_kernel *k = fcl_embedded_kernels; k->file; k++) {
        char path[256], *text = NULL;
        snprintf(path, sizeof path, "%s/%s", dir, k->file);
        const char *src = k->source;
        const bool tiled = strcmp(k->file, "gemm_tiled.cl") == 0;
        if (tiled || strcmp(k->file, "gemm.cl") == 0) {
            const char *store = strstr(src, "*ct = relu");
            assert_non_null(store);
            size_t n = strlen(src) + 512;
            text = malloc(n);
            snprintf(text, n, "#if TM == %d\n#error broken candidate\n#endif\n%.*s%s", tiled ? 8 : 4,
                     (int)(store - src), src,
                     tiled ? "r += TN == 2 ? 1.0f : 0.0f; "
                           : "r += TM == 3 ? 1.0f : 0.0f; "); /* one line: the store is inside a macro */
            strncat(text, store, n - strlen(text) - 1);
            src = text;
        }
        assert_int_equal(fcl_write_file_atomic(path, src, strlen(src)), FCL_SUCCESS);
        free(text);
    }
}

/* A runtime whose kernels are the sabotaged ones, with a cache directory of its own. */
static fcl_runtime *open_sabotaged_rt(const char *cache_name)
{
    char kernels[128], cache[128];
    snprintf(kernels, sizeof kernels, "%s/cl", tmpdir);
    snprintf(cache, sizeof cache, "%s/%s", tmpdir, cache_name);
    write_sabotaged_kernels(kernels);
    return open_rt(cache, kernels);
}

static void tuner_skips_broken_and_wrong_candidates(void **state)
{
    (void)state;
    fcl_runtime *r = open_sabotaged_rt("cache");
    /* Start from a sabotaged tile, so the search must move off it. */
    setenv("FACECL_GEMM_CONFIG", "tm=3,vw=4,wn=1,ku=1,lx=0,ly=0,kc=0,sk=0,pb=0", 1);
    const fcl_gemm_shape shapes[] = {{false, 40, 70, 24, 1, 2}, {true, 20, 300, 9, 3, 1}};
    fcl_gemm_db db = {0};
    fcl_gemm_tune_class report[FCL_GEMM_CLASSES];
    const fcl_gemm_tune_options o = {.seconds = 0};
    assert_int_equal(fcl_gemm_tune(r, shapes, 2, &o, &db, report), FCL_SUCCESS);
    unsetenv("FACECL_GEMM_CONFIG");
    int classes = 0;
    for (int c = 0; c < FCL_GEMM_CLASSES; c++) {
        if (!report[c].used) {
            assert_false(db.has[c]);
            continue;
        }
        classes++;
        assert_true(report[c].complete);
        assert_true(db.has[c]);
        assert_true(report[c].best_gflops > 0);
        assert_int_not_equal(db.config[c].tm, 3);
        assert_int_not_equal(db.config[c].tm, 4);
        assert_true(report[c].start_gflops == 0); /* the starting point itself is wrong */
        assert_true(report[c].rejected >= 2);
        assert_true(report[c].tried > report[c].rejected);
    }
    assert_int_equal(classes, 2);
    assert_int_equal(fcl_gemm_class(&shapes[0]), 18); /* NN, M<=64 (bucket 1), N<=256 (2), K<=256 (0) */
    assert_true(report[fcl_gemm_class(&shapes[1])].used);
    fcl_runtime_destroy(r);
}

/* On a GPU (PoCL dressed as NVIDIA's: a GPU with on-chip local memory and warps of 32)
 * the search starts from the tiled kernel, the device's default there, and skips its
 * broken and wrong candidates as it does the register kernel's. */
static void gpu_search_starts_with_the_tiled_kernel(void **state)
{
    (void)state;
    fcl_runtime *r = open_sabotaged_rt("cache-gpu");
    r->info.type = FCL_DEVICE_GPU, r->info.local_mem_dedicated = true, r->info.subgroup_width = 32;
    r->info.local_mem_bytes = 48 * 1024, r->info.max_work_group_size = 1024;
    snprintf(r->info.vendor, sizeof r->info.vendor, "NVIDIA Corporation");
    const fcl_gemm_shape shape = {false, 30, 50, 20, 1, 1};
    fcl_gemm_db db = {0};
    fcl_gemm_tune_class report[FCL_GEMM_CLASSES];
    /* A budget that reaches the first stage's sabotaged candidates (the whole search
     * takes a minute on PoCL). */
    const fcl_gemm_tune_options o = {.seconds = 10};
    assert_int_equal(fcl_gemm_tune(r, &shape, 1, &o, &db, report), FCL_SUCCESS);
    const int c = fcl_gemm_class(&shape);
    assert_true(report[c].used && db.has[c]);
    assert_int_equal(report[c].start.impl, FCL_GEMM_TILED);
    assert_true(report[c].start_gflops > 0); /* the NVIDIA default: 4 x 4 a work-item, no sabotage */
    assert_true(report[c].rejected >= 2);
    const fcl_gemm_config *best = &db.config[c];
    assert_false(best->impl == FCL_GEMM_TILED && (best->tm == 8 || best->wn == 2));
    assert_false(best->impl == FCL_GEMM_FACECL && (best->tm == 3 || best->tm == 4));
    fcl_runtime_destroy(r);
}

/* The GPU defaults by vendor class, on devices described here: each fits its device (work-group,
 * local memory), is a whole number of its subgroups, and survives the text form; a
 * GPU whose local memory is global memory (ARM Mali) and a CPU get the register kernel. */
static void gpu_defaults_fit_their_devices(void **state)
{
    (void)state;
    static const struct {
        const char *vendor;
        bool dedicated;
        unsigned local_kib, subgroup;
        size_t work_group;
        int impl;
    } devices[] = {
        {"NVIDIA Corporation", true, 48, 32, 1024, FCL_GEMM_TILED},
        {"Advanced Micro Devices, Inc.", true, 64, 64, 256, FCL_GEMM_TILED},
        {"Intel(R) Corporation", true, 64, 32, 512, FCL_GEMM_TILED},
        {"ARM", false, 32, 0, 384, FCL_GEMM_FACECL},
        {"Imagination Technologies", true, 4, 0, 64, FCL_GEMM_TILED}, /* small: shrunk to fit */
        {"Tiny Corp", true, 1, 0, 16, FCL_GEMM_FACECL},                /* nothing tiled fits */
    };
    for (size_t i = 0; i < sizeof devices / sizeof devices[0]; i++) {
        fcl_device_info info = {.type = FCL_DEVICE_GPU, .local_mem_dedicated = devices[i].dedicated,
                                .local_mem_bytes = devices[i].local_kib * 1024, .subgroup_width = devices[i].subgroup,
                                .max_work_group_size = devices[i].work_group, .float_vector_width = 1};
        snprintf(info.vendor, sizeof info.vendor, "%s", devices[i].vendor);
        const fcl_gemm_config c = fcl_gemm_device_default(&info);
        if (c.impl != devices[i].impl)
            fail_msg("%s: implementation %d, expected %d", devices[i].vendor, c.impl, devices[i].impl);
        char text[128], why[128];
        fcl_gemm_config back;
        fcl_gemm_config_format(&c, text, sizeof text);
        assert_true(fcl_gemm_config_parse(text, &back, why, sizeof why));
        assert_memory_equal(&back, &c, sizeof c);
        if (c.impl == FCL_GEMM_TILED) {
            assert_true(fcl_gemm_tiled_fits(&c, &info));
            if (devices[i].subgroup)
                assert_int_equal(c.lx * c.ly % (int)devices[i].subgroup, 0);
        }
    }
    fcl_device_info cpu = {.type = FCL_DEVICE_CPU, .float_vector_width = 8, .local_mem_bytes = 1 << 20,
                           .max_work_group_size = 4096};
    assert_int_equal(fcl_gemm_device_default(&cpu).impl, FCL_GEMM_FACECL);
}

/* The shapes a model's training step runs: forward and backward of every layer. */
static void recording_sees_forward_and_backward(void **state)
{
    (void)state;
    fcl_runtime *r = open_rt(tmpdir, NULL);
    fcl_model *m;
    assert_int_equal(fcl_model_parse("input h=6 w=6 c=2\nconv c1 k=3 s=1 c=4\nfc f c=5\n", "rec", &m),
                     FCL_SUCCESS);
    fcl_gemm_recorder inference = {0}, training = {0};
    assert_int_equal(fcl_gemm_record(r, m, 3, false, &inference), FCL_SUCCESS);
    assert_int_equal(fcl_gemm_record(r, m, 3, true, &training), FCL_SUCCESS);
    assert_int_equal(inference.n, 2); /* conv, fc */
    assert_true(training.n >= 5);     /* and the weight gradients of both, the input gradient of fc */
    assert_int_equal(inference.shapes[0].M, 3 * 36); /* the conv: the batch's positions as rows */
    assert_int_equal(inference.shapes[0].N, 4);
    assert_int_equal(inference.shapes[0].K, 18);
    assert_int_equal(inference.shapes[0].batch, 1);
    free(inference.shapes), free(training.shapes);
    fcl_model_destroy(m);
    fcl_runtime_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(db_round_trip_and_bad_files),
        cmocka_unit_test(nets_use_the_file_and_survive_a_corrupt_one),
        cmocka_unit_test(tuner_skips_broken_and_wrong_candidates),
        cmocka_unit_test(recording_sees_forward_and_backward),
        cmocka_unit_test(gpu_search_starts_with_the_tiled_kernel),
        cmocka_unit_test(gpu_defaults_fit_their_devices),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
