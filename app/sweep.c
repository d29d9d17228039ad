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
#define SWEEP_CONFIG_VERSION "facecl bench flops-accuracy, configuration 2"
#define SWEEP_MEASURED_FILE "measured.txt"
#define SWEEP_RUN_FILE "run.txt"
#define SWEEP_CALIBRATION_FILE "calibration.txt"
#define SWEEP_VALIDATION_FILE "validation.csv"
#define SWEEP_BEST_FILE "best.safetensors"
#define CALIBRATION_STEPS 12
#define CALIBRATION_SECONDS 5.0 /* a fast model's 12 steps are over before its rate settles */

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

fcl_status fcl_sweep_config_text(const fcl_sweep_options *o, const fcl_model *const *models, const char *device,
                                 fcl_strbuf *out)
{
    /* 2: the device joined the configuration: a sweep's throughputs are one device's */
    fcl_strbuf_printf(out, "%s\ndevice %s\n", SWEEP_CONFIG_VERSION, device);
    for (int i = 0; i < o->n_models; i++)
        fcl_strbuf_printf(out, "model %s multiply-adds %llu parameters %zu\n", fcl_model_describe(models[i]).name,
                          (unsigned long long)fcl_model_describe(models[i]).multiply_adds, fcl_model_describe(models[i]).parameters);
    if (o->minutes > 0)
        fcl_strbuf_printf(out, "budget minutes %g\n", o->minutes);
    else if (o->epochs > 0)
        fcl_strbuf_printf(out, "budget epochs %g\n", o->epochs);
    else if (o->converged > 0)
        fcl_strbuf_printf(out, "budget converged at most %ld steps, validation 1 in %d images every %d steps, "
                               "patience %d\n", o->converged, FCL_SWEEP_HOLDOUT, FCL_SWEEP_VALIDATE_EVERY,
                          FCL_SWEEP_PATIENCE);
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
    const int B = o->P * o->K;
    if (st == FCL_SUCCESS && sum.seconds < CALIBRATION_SECONDS / 2) { /* again, for about CALIBRATION_SECONDS */
        t.steps = (long)fmin(5000, fmax(2 * CALIBRATION_STEPS, CALIBRATION_SECONDS * sum.steady_images_per_second / B));
        st = fcl_train(rt, m, train, &t, &sum);
    }
    if (st != FCL_SUCCESS)
        return st;
    sm->calibration_ips = sum.steady_images_per_second;
    sm->train_macs_counted = (double)sum.gemm_macs / ((double)t.steps * B);
    sm->steps = o->minutes > 0  ? (long)fmax(1, floor(o->minutes * 60 * sm->calibration_ips / B))
                : o->epochs > 0 ? (long)fmax(1, ceil(o->epochs * fcl_dataset_images(train) / B))
                : o->converged > 0 ? o->converged /* the cap: the learning-rate schedule's length */
                                : o->steps;
    values[0] = sm->calibration_ips;
    values[1] = (double)sm->steps;
    values[2] = sm->train_macs_counted;
    return write_record(path, "facecl bench flops-accuracy: a short timed run, and the steps the sweep uses",
                        keys, values, 3);
}

static bool file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* The 10-fold verification accuracy of the weights in `weights` on the validation split. */
static fcl_status validate(fcl_runtime *rt, const fcl_model *m, const fcl_dataset *val, const fcl_sweep_options *o,
                           const char *weights, double *accuracy)
{
    fcl_embedder *e = NULL;
    fcl_status st = fcl_embedder_create(rt, m, 100, &e);
    if (st == FCL_SUCCESS)
        st = fcl_embedder_load_weights(e, weights);
    fcl_eval_options eo = fcl_eval_defaults();
    eo.out_dir = NULL;
    eo.far_images = o->far_images;
    eo.gallery_images = 0;
    eo.report = (fcl_reporter){0};
    fcl_eval_result r = {0};
    if (st == FCL_SUCCESS)
        st = fcl_evaluate(e, val, NULL, &eo, &r);
    *accuracy = r.accuracy;
    fcl_eval_result_free(&r);
    fcl_embedder_destroy(e);
    return st;
}

static fcl_status copy_file(const char *from, const char *to)
{
    char *data;
    size_t length;
    fcl_status st = fcl_read_file(from, &data, &length);
    if (st != FCL_SUCCESS)
        return st;
    st = fcl_write_file_atomic(to, data, length);
    free(data);
    return st;
}

/* The validation checks a run has made: validation.csv's "step,accuracy" rows. */
typedef struct checks {
    fcl_strbuf csv;
    long last, best_step;
    double best;
} checks;

/* path NULL: none made yet. */
static void read_checks(const char *path, checks *c)
{
    *c = (checks){.best = -1};
    char *text;
    size_t length;
    fcl_strbuf_printf(&c->csv, "step,validation_accuracy\n");
    if (!path || fcl_read_file(path, &text, &length) != FCL_SUCCESS)
        return;
    for (char *line = strchr(text, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        long step;
        double accuracy;
        if (sscanf(line + 1, "%ld,%lf", &step, &accuracy) != 2 || step <= c->last || !isfinite(accuracy))
            break; /* a damaged tail: those checks are made again */
        fcl_strbuf_printf(&c->csv, "%ld,%.17g\n", step, accuracy);
        c->last = step;
        if (accuracy > c->best)
            c->best = accuracy, c->best_step = step;
    }
    free(text);
}

/* The converged budget: training in rounds of FCL_SWEEP_VALIDATE_EVERY steps, each a
 * pause of one run of t->steps (so the rounds are the uninterrupted run, bit for bit),
 * a validation check after each, until FCL_SWEEP_PATIENCE checks bring no better one
 * or the cap is reached. The best check's weights go to best.safetensors before the
 * check is recorded, so a sweep killed anywhere resumes to the same result. total:
 * the steps and time trained in this process; *best_step, *last_step: where the best
 * check and the last were. */
static fcl_status train_until_converged(fcl_runtime *rt, const fcl_model *m, const fcl_dataset *train,
                                        const fcl_dataset *val, const fcl_sweep_options *o, fcl_train_options *t,
                                        const char *dir, fcl_train_summary *total, long *best_step, long *last_step)
{
    char csv_path[4400], best_path[4400], checkpoint[4400], weights[4400];
    snprintf(csv_path, sizeof csv_path, "%s/%s", dir, SWEEP_VALIDATION_FILE);
    snprintf(best_path, sizeof best_path, "%s/%s", dir, SWEEP_BEST_FILE);
    snprintf(checkpoint, sizeof checkpoint, "%s/%s", dir, FCL_CHECKPOINT_FILE);
    snprintf(weights, sizeof weights, "%s/%s", dir, FCL_WEIGHTS_FILE);
    checks c; /* checks without the best one's weights are made again */
    read_checks(file_exists(best_path) ? csv_path : NULL, &c);
    memset(total, 0, sizeof *total);
    fcl_status st = fcl_strbuf_status(&c.csv);
    while (st == FCL_SUCCESS && c.last < t->steps &&
           (c.best < 0 || c.last - c.best_step < (long)FCL_SWEEP_PATIENCE * FCL_SWEEP_VALIDATE_EVERY)) {
        const long next = c.last + FCL_SWEEP_VALIDATE_EVERY < t->steps ? c.last + FCL_SWEEP_VALIDATE_EVERY : t->steps;
        t->stop_at = next < t->steps ? next : 0;
        t->resume = file_exists(checkpoint);
        fcl_train_summary sum;
        st = fcl_train(rt, m, train, t, &sum);
        if (st == FCL_ERR_INTERRUPTED && !(o->stop && *o->stop))
            st = FCL_SUCCESS; /* the planned pause */
        if (st != FCL_SUCCESS)
            break;
        total->seconds += sum.seconds;
        total->gemm_macs += sum.gemm_macs;
        total->steps_done += sum.steps_done - sum.first_step;
        double accuracy;
        st = validate(rt, m, val, o, next == t->steps ? weights : checkpoint, &accuracy);
        if (!isfinite(accuracy)) /* no verification at all: worth nothing, but a check all the same */
            accuracy = 0;
        if (st == FCL_SUCCESS && accuracy > c.best) {
            st = copy_file(next == t->steps ? weights : checkpoint, best_path);
            c.best = accuracy, c.best_step = next;
        }
        fcl_strbuf_printf(&c.csv, "%ld,%.17g\n", next, accuracy);
        if (st == FCL_SUCCESS && (st = fcl_strbuf_status(&c.csv)) == FCL_SUCCESS)
            st = fcl_write_file_atomic(csv_path, c.csv.text, c.csv.len);
        c.last = next;
        if (st == FCL_SUCCESS)
            fcl_report(&o->report, "    step %ld: validation 10-fold %.2f%% (best %.2f%% at step %ld)", next,
                       100 * accuracy, 100 * c.best, c.best_step);
    }
    free(c.csv.text);
    *best_step = c.best_step;
    *last_step = c.last;
    /* total's rate: this process's steps over their time (no start-up per round) */
    total->steady_images_per_second = total->seconds > 0 ? (double)total->steps_done * t->P * t->K / total->seconds : 0;
    return st;
}

/* Trains (or resumes) one model with one seed, evaluates it and measures it. val: the
 * validation split (the converged budget; train is then the rest). */
static fcl_status run_one(fcl_runtime *rt, const fcl_model *m, const fcl_dataset *train, const fcl_dataset *val,
                          const fcl_dataset *test, const fcl_sweep_options *o, const fcl_sweep_model *sm, int seed,
                          const char *dir, fcl_sweep_run *out)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, FCL_CHECKPOINT_FILE);
    fcl_train_options t = fcl_train_defaults();
    t.P = o->P;
    t.K = o->K;
    t.steps = sm->steps;
    t.seed = (uint64_t)seed;
    t.crop_pad = 0; /* the demo's short-run recipe (bench/RESULTS.md) */
    t.flip = false;
    t.out_dir = dir;
    t.resume = file_exists(path);
    t.progress = o->train_progress;
    t.progress_user = o->train_progress_user;
    t.progress_seconds = o->progress == 2 ? 0.5 : 15;
    t.stop = o->stop;
    fcl_train_summary sum;
    long best_step = sm->steps, last_step = sm->steps;
    fcl_status st = o->converged > 0 ? train_until_converged(rt, m, train, val, o, &t, dir, &sum, &best_step, &last_step)
                                     : fcl_train(rt, m, train, &t, &sum);
    if (st != FCL_SUCCESS)
        return st;
    const long trained = sum.steps_done - sum.first_step;
    const int B = o->P * o->K;
    memset(out, 0, sizeof *out);
    out->seed = seed;
    out->steps = (double)best_step; /* the steps of the weights evaluated */
    const fcl_model_summary ms = fcl_model_describe(m);
    out->macs = (double)ms.multiply_adds;
    out->params = (double)ms.parameters;
    /* A run resumed for its last step or two has no steady rate of its own. */
    out->train_images_per_second = trained >= 10 ? sum.steady_images_per_second : sm->calibration_ips;
    out->train_seconds = (double)last_step * B / out->train_images_per_second;
    out->train_macs_counted = trained > 0 ? (double)sum.gemm_macs / ((double)trained * B) : sm->train_macs_counted;

    fcl_embedder *e = NULL;
    enum { EVAL_BATCH = 100 };
    st = fcl_embedder_create(rt, m, EVAL_BATCH, &e);
    snprintf(path, sizeof path, "%s/%s", dir, o->converged > 0 ? SWEEP_BEST_FILE : FCL_WEIGHTS_FILE);
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
        (o->steps > 0) + (o->minutes > 0) + (o->epochs > 0) + (o->converged > 0) != 1) {
        fcl_log(FCL_LOG_ERROR, "a sweep needs 1 to %d models, 1 to %d seeds, and one budget: steps, minutes, epochs "
                               "or converged",
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
        st = fcl_sweep_config_text(o, (const fcl_model *const *)models, report->device, &config);
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
    if (st == FCL_SUCCESS) { /* for fcl_sweep_load (bench merge) */
        char path[4300];
        snprintf(path, sizeof path, "%s/%s", o->out_dir, SWEEP_MEASURED_FILE);
        static const char *const keys[] = {"gemm_gflops", "gemm_n"};
        const double values[] = {report->gemm_gflops, report->gemm_n};
        st = write_record(path, "facecl bench flops-accuracy: the device's GEMM ceiling in this sweep's last run",
                          keys, values, 2);
    }
    if (st == FCL_SUCCESS)
        fcl_report(&o->report, "device GEMM ceiling (facecl's GEMM, best of n = 512 and 1024): %.1f GFLOP/s",
                   report->gemm_gflops);

    /* The converged budget's validation split: never trained on. */
    fcl_dataset *kept = NULL, *held_out = NULL;
    if (st == FCL_SUCCESS && o->converged > 0)
        st = fcl_dataset_split(train, FCL_SWEEP_HOLDOUT, &kept, &held_out);

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
            fcl_report(&o->report, "[%d/%d] %s, seed %d: %s%ld steps", ++n, remaining, sm->name, s,
                       o->converged > 0 ? "until converged, at most " : "", sm->steps);
            st = run_one(rt, models[i], kept ? kept : train, held_out, test, o, sm, s, dir, run);
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
    fcl_dataset_destroy(kept);
    fcl_dataset_destroy(held_out);
    return st;
}

/* One sweep.txt line into o and r; false for a line it does not know. */
static bool parse_config_line(const char *line, fcl_sweep_options *o, fcl_sweep_report *r)
{
    char name[64];
    if (strncmp(line, "device ", 7) == 0) {
        snprintf(r->device, sizeof r->device, "%s", line + 7);
        return true;
    }
    if (sscanf(line, "model %63s multiply-adds", name) == 1 && r->n_models < FCL_SWEEP_MAX_MODELS) {
        snprintf(r->models[r->n_models++].name, sizeof r->models[0].name, "%s", name);
        return true;
    }
    return sscanf(line, "budget minutes %lf", &o->minutes) == 1 || sscanf(line, "budget epochs %lf", &o->epochs) == 1 ||
           sscanf(line, "budget converged at most %ld", &o->converged) == 1 ||
           sscanf(line, "budget steps %ld", &o->steps) == 1 || sscanf(line, "seeds %d", &o->seeds) == 1 ||
           sscanf(line, "batch %d x %d", &o->P, &o->K) == 2 ||
           sscanf(line, "evaluation far-images %d gallery %d", &o->far_images, &o->gallery_images) == 2 || !*line;
}

fcl_status fcl_sweep_load(const char *dir, fcl_sweep_options *o, fcl_sweep_report *r)
{
    memset(o, 0, sizeof *o);
    memset(r, 0, sizeof *r);
    o->out_dir = dir;
    r->options = o;
    char path[4400], *text;
    size_t length;
    snprintf(path, sizeof path, "%s/%s", dir, SWEEP_CONFIG_FILE);
    if (fcl_read_file(path, &text, &length) != FCL_SUCCESS) {
        fcl_log(FCL_LOG_ERROR, "%s: cannot read it: %s is not a sweep's directory (`facecl bench flops-accuracy "
                               "--out %s` makes one)", path, dir, dir);
        return FCL_ERR_FORMAT;
    }
    fcl_status st = strncmp(text, SWEEP_CONFIG_VERSION "\n", strlen(SWEEP_CONFIG_VERSION) + 1) == 0 &&
                            strlen(text) == length ? FCL_SUCCESS : FCL_ERR_FORMAT;
    char *line = strchr(text, '\n');
    for (char *next; st == FCL_SUCCESS && line && *++line; line = next) {
        if ((next = strchr(line, '\n')))
            *next = '\0';
        if (!parse_config_line(line, o, r))
            st = FCL_ERR_FORMAT;
        if (!next)
            break;
    }
    free(text);
    if (st == FCL_SUCCESS && (r->n_models < 1 || o->seeds < 1 || o->seeds > FCL_SWEEP_MAX_SEEDS || !r->device[0]))
        st = FCL_ERR_FORMAT;
    if (st != FCL_SUCCESS) {
        fcl_log(FCL_LOG_ERROR, "%s: not a sweep configuration this version of facecl reads: the line '%s', then "
                               "a device, models, a budget, seeds (1 to %d), batch and evaluation lines, as "
                               "`facecl bench flops-accuracy` writes them", path, SWEEP_CONFIG_VERSION,
                FCL_SWEEP_MAX_SEEDS);
        return st;
    }
    static const char *const keys[] = {"gemm_gflops", "gemm_n"};
    double values[2] = {0, 0};
    snprintf(path, sizeof path, "%s/%s", dir, SWEEP_MEASURED_FILE);
    if (read_record(path, keys, values, 2) == FCL_SUCCESS)
        r->gemm_gflops = values[0], r->gemm_n = (int)values[1];
    for (int i = 0; i < r->n_models; i++) {
        fcl_sweep_model *m = &r->models[i];
        for (int s = 1; s <= o->seeds; s++) {
            snprintf(path, sizeof path, "%s/%s/seed-%d/%s", dir, m->name, s, SWEEP_RUN_FILE);
            if (fcl_sweep_run_read(path, &m->runs[m->n_runs]) == FCL_SUCCESS)
                m->n_runs++;
        }
        m->steps = m->n_runs ? (long)m->runs[0].steps : 0;
    }
    return FCL_SUCCESS;
}
