/* The FLOPS-versus-accuracy sweep, the FaceNet paper's Figure 4 on the user's device:
 * every model trained with one recipe for a few seeds, evaluated (10-fold verification,
 * VAL at FAR 1e-3, rank-1), and measured (multiply-adds counted on the device,
 * throughput, achieved GFLOP/s against the device's GEMM ceiling).
 *
 * Everything lives in one output directory: sweep.txt (the configuration; a directory
 * holding another configuration is refused), <model>/calibration.txt (a short timed
 * run), <model>/seed-<s>/ (checkpoint, weights, train.csv, eval/, run.txt). A run with
 * run.txt is done; one with only a checkpoint resumes from it, bit for bit. Under the
 * converged budget a run also keeps validation.csv (step, validation accuracy) and
 * best.safetensors (the weights of its best check), so it resumes between checks too. */
#ifndef FCL_BENCH_SWEEP_H
#define FCL_BENCH_SWEEP_H
#include "facecl.h"

#include <signal.h>
#include <stdio.h>

#define FCL_SWEEP_MAX_MODELS 16
#define FCL_SWEEP_MAX_SEEDS 16
#define FCL_SWEEP_HOLDOUT 30
#define FCL_SWEEP_VALIDATE_EVERY 250
#define FCL_SWEEP_PATIENCE 4

typedef struct fcl_sweep_options {
    const char *models[FCL_SWEEP_MAX_MODELS]; /* model file paths */
    int n_models;
    long steps;     /* > 0: the same number of steps for every model */
    double minutes; /* > 0: the same training time instead (steps from a timed run) */
    double epochs;  /* > 0: the same passes over the training set instead */
    long converged; /* > 0: until converged instead, at most this many steps: the 10-fold accuracy
                     * on a validation split held out of the training set (every
                     * FCL_SWEEP_HOLDOUT-th image of each identity, never trained on) checked every
                     * FCL_SWEEP_VALIDATE_EVERY steps, stopping after FCL_SWEEP_PATIENCE checks
                     * without a better one; the best check's weights are the run's */
    int seeds;      /* seeds 1..seeds */
    int P, K;
    const char *out_dir;
    int far_images, gallery_images; /* evaluation sizes (fcl_eval_options) */
    int progress;                   /* training's lines: 0 quiet, 1 lines, 2 a live line */
    fcl_reporter report;            /* the sweep's own lines (none: quiet) */
    fcl_train_progress_fn train_progress; /* each run's training reports (NULL: none) */
    void *train_progress_user;
    volatile sig_atomic_t *stop;    /* set: checkpoint the current run and return */
} fcl_sweep_options;

/* What one trained model measured: seed-<s>/run.txt. */
typedef struct fcl_sweep_run {
    double seed, steps;
    double macs, macs_counted;         /* per image: facecl info's, and the GEMMs' count on the device */
    double train_macs_counted;         /* per image of a training step (forward + backward) */
    double params;
    double train_images_per_second, train_seconds;
    double infer_images_per_second;    /* embedding the test set, batch 100 */
    double accuracy, accuracy_std, val, far, rank1, ncm, auc, eer, threshold;
} fcl_sweep_run;

/* One model over its seeds. */
typedef struct fcl_sweep_model {
    char name[64];
    fcl_sweep_run runs[FCL_SWEEP_MAX_SEEDS];
    int n_runs;
    double calibration_ips;    /* training images/s of the timed run */
    double train_macs_counted; /* per image of a training step, counted in the timed run */
    long steps;
} fcl_sweep_model;

typedef struct fcl_sweep_report {
    fcl_sweep_model models[FCL_SWEEP_MAX_MODELS];
    int n_models;
    const fcl_sweep_options *options;
    char device[256];
    double gemm_gflops; /* the device's ceiling: facecl's GEMM, best square product */
    int gemm_n;         /* the n that gave it */
} fcl_sweep_report;


/* The whole sweep: trains and evaluates what is not done yet, then fills report.
 * train/test: Fashion-MNIST's splits (or any labelled set). FCL_ERR_INTERRUPTED
 * when o->stop was set (the current run keeps its checkpoint). */
fcl_status fcl_sweep(fcl_runtime *rt, const fcl_dataset *train, const fcl_dataset *test, const fcl_sweep_options *o,
                     fcl_sweep_report *report);

/* run.txt: written atomically; reading fails (FCL_ERR_FORMAT) on a missing, partial or
 * non-finite field, so such a run is simply done again. */
fcl_status fcl_sweep_run_write(const char *path, const fcl_sweep_run *r);
fcl_status fcl_sweep_run_read(const char *path, fcl_sweep_run *r);

/* sweep.txt's text for o, the device and the models' measured sizes. */
fcl_status fcl_sweep_config_text(const fcl_sweep_options *o, const fcl_model *const *models, const char *device,
                                 fcl_strbuf *out);
/* Writes sweep.txt into an empty or new directory; accepts one holding the same text;
 * refuses (FCL_ERR_INVALID_ARGUMENT, saying which line differs) any other. */
fcl_status fcl_sweep_claim_dir(const char *out_dir, const char *config_text);

/* Mean and sample standard deviation of field `offset` (offsetof(fcl_sweep_run, x)) over a model's runs. */
void fcl_sweep_stat(const fcl_sweep_model *m, size_t offset, double *mean, double *std);

/* The results: a table with the Pareto fronts and rank correlations (app/pareto.h), the
 * paper's points beside it, results.json, flops_val.svg (multiply-adds against VAL, log
 * x, the front drawn), time_val.svg (device time per image against VAL, its front) and
 * time_accuracy.svg (training time against 10-fold accuracy) in the output directory. */
void fcl_sweep_print(FILE *f, const fcl_sweep_report *r);
fcl_status fcl_sweep_write_outputs(const fcl_sweep_report *r);

/* A finished (or partly finished) sweep's directory read back: its configuration
 * (sweep.txt), device and GEMM ceiling (measured.txt) and every run.txt. o receives
 * the options the report points to (models are names only). FCL_ERR_FORMAT, naming
 * the file, when dir holds no sweep. */
fcl_status fcl_sweep_load(const char *dir, fcl_sweep_options *o, fcl_sweep_report *r);
/* Several sweeps (devices) in one table, model by model (table.txt), and flops_val.svg
 * and time_val.svg with one series per sweep, in out_dir. */
void fcl_sweep_merge_print(FILE *f, const fcl_sweep_report *const *r, int n);
fcl_status fcl_sweep_merge_outputs(const fcl_sweep_report *const *r, int n, const char *out_dir);
#endif
