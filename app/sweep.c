/* The FLOPS-versus-accuracy sweep: its directory (configuration, per-run records,
 * resume) and its runs (calibrate, train, evaluate, measure). sweep_report.c writes
 * what it found. */
#include "sweep.h"
#include "eval_report.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SWEEP_CONFIG_FILE "sweep.txt"
#define SWEEP_RUN_FILE "run.txt"
#define SWEEP_CALIBRATION_FILE "calibration.txt"
#define CALIBRATION_STEPS 12

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* run.txt's fields, in the order written. */
#define RUN_FIELD(x) {#x, offsetof(fcl_sweep_run, x)}
static const struct {
    const char *key;
    size_t offset;
} run_fields[] = {
    RUN_FIELD(seed), RUN_FIELD(steps), RUN_FIELD(macs), RUN_FIELD(macs_counted), RUN_FIELD(train_macs_counted),
    RUN_FIELD(params), RUN_FIELD(train_images_per_second), RUN_FIELD(train_seconds),
    RUN_FIELD(infer_images_per_second), RUN_FIELD(accuracy), RUN_FIELD(accuracy_std), RUN_FIELD(val),
    RUN_FIELD(far), RUN_FIELD(rank1), RUN_FIELD(ncm), RUN_FIELD(auc), RUN_FIELD(eer), RUN_FIELD(threshold),
};
#define N_RUN_FIELDS (sizeof run_fields / sizeof run_fields[0])

static double *run_field(fcl_sweep_run *r, size_t i) { return (double *)((char *)r + run_fields[i].offset); }
static double run_value(const fcl_sweep_run *r, size_t i)
{
    return *(const double *)((const char *)r + run_fields[i].offset);
}

/* "key value" lines; '#' starts a comment line. */
static fcl_status write_record(const char *path, const char *title, const char *const *keys, const double *values,
                               size_t n)
{
    fcl_strbuf b = {0};
    fcl_strbuf_printf(&b, "# %s\n", title);
    for (size_t i = 0; i < n; i++)
        fcl_strbuf_printf(&b, "%s %.17g\n", keys[i], values[i]);
    fcl_status st = fcl_strbuf_status(&b);
    if (st == FCL_SUCCESS)
        st = fcl_write_file_atomic(path, b.text, b.len);
    free(b.text);
    return st;
}

/* Every key found once with a finite value, or FCL_ERR_FORMAT (quietly: the caller
 * decides whether a missing record is news). */
static fcl_status read_record(const char *path, const char *const *keys, double *values, size_t n)
{
    char *text;
    size_t length;
    if (fcl_read_file(path, &text, &length) != FCL_SUCCESS)
        return FCL_ERR_IO;
    bool found[64] = {false};
    size_t n_found = 0;
    fcl_status st = n <= 64 && strlen(text) == length ? FCL_SUCCESS : FCL_ERR_FORMAT;
    for (char *line = text, *next; st == FCL_SUCCESS && line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (*line == '#' || *line == '\0')
            continue;
        char *space = strchr(line, ' '), *end;
        if (!space) {
            st = FCL_ERR_FORMAT;
            break;
        }
        *space = '\0';
        size_t i = 0;
        while (i < n && strcmp(keys[i], line) != 0)
            i++;
        double v = strtod(space + 1, &end);
        if (i == n || found[i] || end == space + 1 || *end || !isfinite(v)) {
            st = FCL_ERR_FORMAT;
            break;
        }
        found[i] = true;
        n_found++;
        values[i] = v;
    }
    free(text);
    return st == FCL_SUCCESS && n_found != n ? FCL_ERR_FORMAT : st;
}

fcl_status fcl_sweep_run_write(const char *path, const fcl_sweep_run *r)
{
    const char *keys[N_RUN_FIELDS];
    double values[N_RUN_FIELDS];
    for (size_t i = 0; i < N_RUN_FIELDS; i++) {
        keys[i] = run_fields[i].key;
        values[i] = run_value(r, i);
    }
    return write_record(path, "facecl bench flops-accuracy: one model, one seed", keys, values, N_RUN_FIELDS);
}

fcl_status fcl_sweep_run_read(const char *path, fcl_sweep_run *r)
{
    const char *keys[N_RUN_FIELDS];
    double values[N_RUN_FIELDS];
    for (size_t i = 0; i < N_RUN_FIELDS; i++)
        keys[i] = run_fields[i].key;
    fcl_status st = read_record(path, keys, values, N_RUN_FIELDS);
    if (st == FCL_SUCCESS)
        for (size_t i = 0; i < N_RUN_FIELDS; i++)
            *run_field(r, i) = values[i];
    return st;
}

void fcl_sweep_stat(const fcl_sweep_model *m, size_t offset, double *mean, double *std)
{
    double sum = 0, sq = 0;
    for (int i = 0; i < m->n_runs; i++)
        sum += *(const double *)((const char *)&m->runs[i] + offset);
    *mean = m->n_runs ? sum / m->n_runs : NAN;
    for (int i = 0; i < m->n_runs; i++) {
        double d = *(const double *)((const char *)&m->runs[i] + offset) - *mean;
        sq += d * d;
    }
    *std = m->n_runs > 1 ? sqrt(sq / (m->n_runs - 1)) : 0;
}

fcl_status fcl_sweep_config_text(const fcl_sweep_options *o, const fcl_model *const *models, fcl_strbuf *out)
{
    fcl_strbuf_printf(out, "facecl bench flops-accuracy, configuration 1\n");
    for (int i = 0; i < o->n_models; i++)
        fcl_strbuf_printf(out, "model %s multiply-adds %llu parameters %zu\n", fcl_model_describe(models[i]).name,
                          (unsigned long long)fcl_model_describe(models[i]).multiply_adds, fcl_model_describe(models[i]).parameters);
    if (o->minutes > 0)
        fcl_strbuf_printf(out, "budget minutes %g\n", o->minutes);
    else if (o->epochs > 0)
        fcl_strbuf_printf(out, "budget epochs %g\n", o->epochs);
    else
        fcl_strbuf_printf(out, "budget steps %ld\n", o->steps);
    fcl_strbuf_printf(out, "seeds %d\nbatch %d x %d\nevaluation far-images %d gallery %d\n", o->seeds, o->P, o->K,
                      o->far_images, o->gallery_images);
    return fcl_strbuf_status(out);
}

static bool dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT;
    const struct dirent *e;
    bool empty = true;
    while (empty && (e = readdir(d)))
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    return empty;
}

/* text's first line, copied to out. */
static void first_line(const char *text, char *out, size_t size)
{
    size_t n = strcspn(text, "\n");
    snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), text);
}

fcl_status fcl_sweep_claim_dir(const char *out_dir, const char *config_text)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", out_dir, SWEEP_CONFIG_FILE);
    char *old;
    size_t length;
    if (fcl_read_file(path, &old, &length) != FCL_SUCCESS) {
        if (!dir_is_empty(out_dir)) {
            fcl_log(FCL_LOG_ERROR, "%s is not empty and holds no %s, so it is not a sweep's directory: pass an empty "
                                   "or new --out", out_dir, SWEEP_CONFIG_FILE);
            return FCL_ERR_INVALID_ARGUMENT;
        }
        fcl_status st = fcl_mkdir_p(out_dir);
        return st == FCL_SUCCESS ? fcl_write_file_atomic(path, config_text, strlen(config_text)) : st;
    }
    const char *a = old, *b = config_text;
    while (*a && *a == *b)
        a++, b++;
    fcl_status st = FCL_SUCCESS;
    if (*a || *b) {
        while (a > old && a[-1] != '\n') /* back to the start of the differing line */
            a--, b--;
        char was[200], now[200];
        first_line(*a ? a : "(no line)", was, sizeof was);
        first_line(*b ? b : "(no line)", now, sizeof now);
        fcl_log(FCL_LOG_ERROR, "%s holds results of a different sweep (it has '%s' where this one has '%s'); "
                               "pass another --out, or delete %s to start over", out_dir, was, now, out_dir);
        st = FCL_ERR_INVALID_ARGUMENT;
    }
    free(old);
    return st;
}

/* A short timed run gives each model's training images/s: the expected duration, and
 * the steps of a --minutes budget. Kept in <model>/calibration.txt so a resumed sweep
 * uses the same numbers. */
static fcl_status calibrate(fcl_runtime *rt, const fcl_model *m, const fcl_dataset *train, const fcl_sweep_options *o,
                            fcl_sweep_model *sm)
{
    char dir[4200], path[4300];
    snprintf(dir, sizeof dir, "%s/%s", o->out_dir, fcl_model_describe(m).name);
    snprintf(path, sizeof path, "%s/%s", dir, SWEEP_CALIBRATION_FILE);
    static const char *const keys[] = {"train_images_per_second", "steps", "train_macs_per_image"};
    double values[3];
    if (read_record(path, keys, values, 3) == FCL_SUCCESS && values[0] > 0 && values[1] >= 1) {
        sm->calibration_ips = values[0];
        sm->steps = (long)values[1];
        sm->train_macs_counted = values[2];
        return FCL_SUCCESS;
    }
    char scratch[4300];
    snprintf(scratch, sizeof scratch, "%s/calibration", dir);
    fcl_train_options t = fcl_train_defaults();
    t.P = o->P;
    t.K = o->K;
    t.steps = CALIBRATION_STEPS;
    t.checkpoint_every = 0;
    t.out_dir = scratch;
    t.force = true; /* scratch: a calibration a killed sweep left half done starts over */
    t.progress = NULL;
    t.stop = o->stop;
    fcl_train_summary sum;
    fcl_status st = fcl_train(rt, m, train, &t, &sum);
    if (st != FCL_SUCCESS)
        return st;
    sm->calibration_ips = sum.steady_images_per_second;
    sm->train_macs_counted = (double)sum.gemm_macs / ((double)CALIBRATION_STEPS * o->P * o->K);
    const int B = o->P * o->K;
    sm->steps = o->minutes > 0  ? (long)fmax(1, floor(o->minutes * 60 * sm->calibration_ips / B))
                : o->epochs > 0 ? (long)fmax(1, ceil(o->epochs * fcl_dataset_images(train) / B))
                                : o->steps;
    values[0] = sm->calibration_ips;
    values[1] = (double)sm->steps;
    values[2] = sm->train_macs_counted;
    return write_record(path, "facecl bench flops-accuracy: a short timed run, and the steps the sweep uses",
                        keys, values, 3);
}

/* Trains (or resumes) one model with one seed, evaluates it and measures it. */
static fcl_status run_one(fcl_runtime *rt, const fcl_model *m, const fcl_dataset *train, const fcl_dataset *test,
                          const fcl_sweep_options *o, const fcl_sweep_model *sm, int seed, const char *dir,
                          fcl_sweep_run *out)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, FCL_CHECKPOINT_FILE);
    struct stat sb;
    fcl_train_options t = fcl_train_defaults();
    t.P = o->P;
    t.K = o->K;
    t.steps = sm->steps;
    t.seed = (uint64_t)seed;
    t.crop_pad = 0; /* the demo's short-run recipe (bench/RESULTS.md) */
    t.flip = false;
    t.out_dir = dir;
    t.resume = stat(path, &sb) == 0;
    t.progress = o->train_progress;
    t.progress_user = o->train_progress_user;
    t.progress_seconds = o->progress == 2 ? 0.5 : 15;
    t.stop = o->stop;
    fcl_train_summary sum;
    fcl_status st = fcl_train(rt, m, train, &t, &sum);
    if (st != FCL_SUCCESS)
        return st;
    const long trained = sum.steps_done - sum.first_step;
    const int B = o->P * o->K;
    memset(out, 0, sizeof *out);
    out->seed = seed;
    out->steps = (double)sm->steps;
    const fcl_model_summary ms = fcl_model_describe(m);
    out->macs = (double)ms.multiply_adds;
    out->params = (double)ms.parameters;
    /* A run resumed for its last step or two has no steady rate of its own. */
    out->train_images_per_second = trained >= 10 ? sum.steady_images_per_second : sm->calibration_ips;
    out->train_seconds = (double)sm->steps * B / out->train_images_per_second;
    out->train_macs_counted = trained > 0 ? (double)sum.gemm_macs / ((double)trained * B) : sm->train_macs_counted;

    fcl_embedder *e = NULL;
    enum { EVAL_BATCH = 100 };
    st = fcl_embedder_create(rt, m, EVAL_BATCH, &e);
    snprintf(path, sizeof path, "%s/%s", dir, FCL_WEIGHTS_FILE);
    if (st == FCL_SUCCESS)
        st = fcl_embedder_load_weights(e, path);
    const size_t per_image = (size_t)ms.input_channels * ms.input_height * ms.input_width;
    float *zeros = calloc((size_t)EVAL_BATCH * per_image, sizeof *zeros);
    float *emb = malloc((size_t)EVAL_BATCH * ms.embedding_size * sizeof *emb);
    if (st == FCL_SUCCESS && (!zeros || !emb))
        st = FCL_ERR_OUT_OF_HOST_MEMORY;
    if (st == FCL_SUCCESS) { /* one forward pass counts the multiply-adds the device runs */
        const uint64_t before = fcl_embedder_device_macs(e);
        st = fcl_embed(e, zeros, EVAL_BATCH, emb);
        out->macs_counted = (double)(fcl_embedder_device_macs(e) - before) / EVAL_BATCH;
    }
    free(zeros);
    free(emb);
    char eval_dir[4400], json[4500];
    snprintf(eval_dir, sizeof eval_dir, "%s/eval", dir);
    snprintf(json, sizeof json, "%s/results.json", eval_dir);
    fcl_eval_options eo = fcl_eval_defaults();
    eo.out_dir = eval_dir;
    eo.far_images = o->far_images;
    eo.gallery_images = o->gallery_images;
    eo.report = (fcl_reporter){0};
    fcl_eval_result r = {0};
    if (st == FCL_SUCCESS)
        st = fcl_evaluate(e, test, train, &eo, &r);
    if (st == FCL_SUCCESS)
        st = fcl_eval_save(&r, &eo, ms.name, path, json);
    if (st == FCL_SUCCESS)
        st = eval_write_roc(eval_dir, &r);
    fcl_eval_result_free(&r);
    fcl_embedder_destroy(e);
    if (st != FCL_SUCCESS)
        return st;
    out->infer_images_per_second = r.images_per_second;
    out->accuracy = r.accuracy;
    out->accuracy_std = r.accuracy_std;
    out->val = r.val;
    out->far = r.far;
    out->rank1 = r.rank1;
    out->ncm = r.ncm;
    out->auc = r.auc;
    out->eer = r.eer;
    out->threshold = r.threshold;
    return FCL_SUCCESS;
}

/* Host distances per second (the evaluation's rank-1 and all-pairs loops), timed on
 * a few thousand 128-d embeddings, for the expected duration. */
static double host_distances_per_second(void)
{
    enum { N = 64, DIM = 128, REPS = 50 };
    static float emb[N * DIM];
    for (int i = 0; i < N * DIM; i++)
        emb[i] = (float)((i * 7919) % 101) / 101.0f;
    double sink = 0, t0 = now();
    for (int r = 0; r < REPS; r++)
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++)
                sink += fcl_squared_distance(emb + i * DIM, emb + j * DIM, DIM);
    const double t = now() - t0;
    return sink >= 0 && t > 0 ? (double)REPS * N * N / t : 1e7;
}

static void format_minutes(double seconds, char *out, size_t size)
{
    if (seconds < 90)
        snprintf(out, size, "%.0f s", seconds);
    else
        snprintf(out, size, "%.0f min", seconds / 60);
}

fcl_status fcl_sweep(fcl_runtime *rt, const fcl_dataset *train, const fcl_dataset *test, const fcl_sweep_options *o,
                     fcl_sweep_report *report)
{
    memset(report, 0, sizeof *report);
    report->options = o;
    snprintf(report->device, sizeof report->device, "%s", fcl_runtime_device(rt)->name);
    if (o->n_models < 1 || o->n_models > FCL_SWEEP_MAX_MODELS || o->seeds < 1 || o->seeds > FCL_SWEEP_MAX_SEEDS ||
        (o->steps > 0) + (o->minutes > 0) + (o->epochs > 0) != 1) {
        fcl_log(FCL_LOG_ERROR, "a sweep needs 1 to %d models, 1 to %d seeds, and one budget: steps, minutes or epochs",
                FCL_SWEEP_MAX_MODELS, FCL_SWEEP_MAX_SEEDS);
        return FCL_ERR_INVALID_ARGUMENT;
    }
    fcl_model *models[FCL_SWEEP_MAX_MODELS] = {NULL};
    fcl_status st = FCL_SUCCESS;
    for (int i = 0; i < o->n_models && st == FCL_SUCCESS; i++)
        st = fcl_model_load(o->models[i], &models[i]);
    for (int i = 0; i < o->n_models && st == FCL_SUCCESS; i++) {
        const char *name = fcl_model_describe(models[i]).name;
        if (!*name || *name == '.' || name[strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                        "0123456789._-")]) {
            fcl_log(FCL_LOG_ERROR, "%s: the model name '%s' names its results directory, so it may hold only "
                                   "letters, digits, '.', '_' and '-', and not start with '.'", o->models[i], name);
            st = FCL_ERR_INVALID_ARGUMENT;
        }
        for (int j = 0; j < i && st == FCL_SUCCESS; j++)
            if (strcmp(name, fcl_model_describe(models[j]).name) == 0) {
                fcl_log(FCL_LOG_ERROR, "%s and %s are both called '%s': a sweep keeps each model's results under "
                                       "its name, so the names must differ", o->models[j], o->models[i],
                        fcl_model_describe(models[i]).name);
                st = FCL_ERR_INVALID_ARGUMENT;
            }
    }
    fcl_strbuf config = {0};
    if (st == FCL_SUCCESS)
        st = fcl_sweep_config_text(o, (const fcl_model *const *)models, &config);
    if (st == FCL_SUCCESS)
        st = fcl_sweep_claim_dir(o->out_dir, config.text);
    free(config.text);
    if (st == FCL_SUCCESS)
        for (int n = 512; n <= 1024 && st == FCL_SUCCESS; n *= 2) {
            double g;
            st = fcl_gemm_benchmark(rt, n, &g);
            if (g > report->gemm_gflops)
                report->gemm_gflops = g, report->gemm_n = n;
        }
    if (st == FCL_SUCCESS)
        fcl_report(&o->report, "device GEMM ceiling (facecl's GEMM, best of n = 512 and 1024): %.1f GFLOP/s",
                   report->gemm_gflops);

    /* Calibrate every model first, so the whole sweep's duration is known up front. */
    const double host_rate = host_distances_per_second();
    const double far_n = fmin(o->far_images, fcl_dataset_images(test)), gallery_n = fmin(o->gallery_images, fcl_dataset_images(train));
    const double eval_host_seconds = (fcl_dataset_images(test) * gallery_n + far_n * far_n / 2) / host_rate;
    double expected = 0;
    int remaining = 0;
    for (int i = 0; i < o->n_models && st == FCL_SUCCESS; i++) {
        fcl_sweep_model *sm = &report->models[i];
        snprintf(sm->name, sizeof sm->name, "%s", fcl_model_describe(models[i]).name);
        fcl_report(&o->report, "calibrating %s (%.2fM multiply-adds per image)...", sm->name,
                   fcl_model_describe(models[i]).multiply_adds / 1e6);
        st = calibrate(rt, models[i], train, o, sm);
        for (int s = 1; s <= o->seeds && st == FCL_SUCCESS; s++) {
            char path[4400];
            fcl_sweep_run done;
            snprintf(path, sizeof path, "%s/%s/seed-%d/%s", o->out_dir, sm->name, s, SWEEP_RUN_FILE);
            if (fcl_sweep_run_read(path, &done) == FCL_SUCCESS)
                continue;
            remaining++;
            /* Training; embedding test and gallery at about 3x the training rate (forward
             * only); the evaluation's distances on the host. */
            expected += (double)sm->steps * o->P * o->K / sm->calibration_ips +
                        (fcl_dataset_images(test) + gallery_n) / (3 * sm->calibration_ips) + eval_host_seconds;
        }
    }
    report->n_models = o->n_models;
    if (st == FCL_SUCCESS) {
        char text[32];
        format_minutes(expected, text, sizeof text);
        fcl_report(&o->report, "%d of %d runs to do (%d models x %d seeds); expected duration: about %s\n", remaining,
                   o->n_models * o->seeds, o->n_models, o->seeds, text);
    }

    for (int i = 0, n = 0; i < o->n_models && st == FCL_SUCCESS; i++) {
        fcl_sweep_model *sm = &report->models[i];
        for (int s = 1; s <= o->seeds && st == FCL_SUCCESS; s++) {
            char dir[4300], path[4400];
            snprintf(dir, sizeof dir, "%s/%s/seed-%d", o->out_dir, sm->name, s);
            snprintf(path, sizeof path, "%s/%s", dir, SWEEP_RUN_FILE);
            fcl_sweep_run *run = &sm->runs[sm->n_runs];
            if (fcl_sweep_run_read(path, run) == FCL_SUCCESS) {
                sm->n_runs++;
                continue;
            }
            if (o->stop && *o->stop) { /* Ctrl-C during the last evaluation: stop before the next run */
                st = FCL_ERR_INTERRUPTED;
                break;
            }
            fcl_report(&o->report, "[%d/%d] %s, seed %d: %ld steps", ++n, remaining, sm->name, s, sm->steps);
            st = run_one(rt, models[i], train, test, o, sm, s, dir, run);
            if (st == FCL_SUCCESS)
                st = fcl_sweep_run_write(path, run);
            if (st != FCL_SUCCESS)
                break;
            sm->n_runs++;
            fcl_report(&o->report, "    10-fold %.2f%%  VAL %.1f%% @ FAR %.0e  rank-1 %.2f%%  (training %.1f s at %.0f img/s)",
                       100 * run->accuracy, 100 * run->val, run->far, 100 * run->rank1, run->train_seconds,
                       run->train_images_per_second);
        }
    }
    if (st == FCL_ERR_INTERRUPTED)
        fcl_log(FCL_LOG_WARN, "sweep interrupted: the finished runs and the current run's checkpoint are in %s; the "
                              "same command continues from there", o->out_dir);
    for (int i = 0; i < o->n_models; i++)
        fcl_model_destroy(models[i]);
    return st;
}
