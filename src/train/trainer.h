/* The training run: batches from the loader, steps on the device, progress, atomic
 * checkpoints, bit-for-bit resume and a clear stop on NaN. */
#ifndef FCL_TRAIN_TRAINER_H
#define FCL_TRAIN_TRAINER_H
#include "data/dataset.h"
#include "train/step.h"

#include <signal.h>

typedef enum fcl_on_numeric { FCL_ON_NUMERIC_STOP, FCL_ON_NUMERIC_SKIP } fcl_on_numeric;

typedef struct fcl_train_options {
    int P, K;              /* identities per batch, images per identity */
    long steps;
    fcl_loss_kind loss;    /* triplet (the paper's) or softmax over a train.classifier head */
    fcl_mining mining;
    float alpha;           /* triplet margin */
    float softmax_weight;  /* > 0: the triplet loss plus this x softmax cross-entropy over a head */
    fcl_optim_config optim;
    fcl_schedule schedule; /* base_lr is optim.lr; total is steps */
    uint64_t seed;         /* initial weights, sampling, augmentation */
    const char *init;      /* NULL, or weights to start from (e.g. a softmax pre-training) */
    int crop_pad;
    bool flip;
    long checkpoint_every; /* steps; a checkpoint is also written at the end */
    const char *out_dir;   /* checkpoint.safetensors, weights.safetensors, train.csv */
    bool resume;           /* continue from out_dir/checkpoint.safetensors */
    fcl_on_numeric on_numeric;
    int progress;          /* 0: quiet, 1: a line now and then, 2: a live line (terminal) */
    long stop_at;          /* > 0: pause after this step with a checkpoint, as if interrupted */
    bool profile;          /* print per-kernel device times at the end (runtime with profiling) */
    volatile sig_atomic_t *stop; /* when set, checkpoint and return FCL_ERR_INTERRUPTED */
} fcl_train_options;

/* Defaults: P 10, K 8, triplet loss, semi-hard, alpha 0.2, AdaGrad, cosine, checkpoint every 100. */
fcl_train_options fcl_train_defaults(void);

typedef struct fcl_train_summary {
    long first_step, steps_done; /* this run began at first_step and ended at steps_done */
    double last_loss, mean_loss_last; /* last step's loss; mean over the last 10% of steps */
    double seconds, images_per_second;
    double steady_images_per_second; /* from this run's second step on: no start-up costs */
    uint64_t gemm_macs;               /* multiply-adds the device ran in this run's steps */
    long skipped_batches; /* not finite, under FCL_ON_NUMERIC_SKIP */
    int unreadable_images;
} fcl_train_summary;

fcl_status fcl_train(fcl_runtime *rt, const fcl_model *m, const fcl_dataset *data, const fcl_train_options *o,
                     fcl_train_summary *out);

/* out_dir's file names. */
#define FCL_CHECKPOINT_FILE "checkpoint.safetensors"
#define FCL_WEIGHTS_FILE "weights.safetensors"
#define FCL_TRAIN_LOG_FILE "train.csv"
#endif
