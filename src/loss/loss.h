/* The loss interface: what a training objective is made of. Each loss is one file in
 * src/loss/ that defines an fcl_loss_def, and one entry in the table of src/loss/loss.c
 * (the way layers have their op table); the trainer, the CLI's --loss and the tests
 * know losses only through that table.
 *
 * A loss reads one node's output for the batch (the embedding, or the logits of the
 * classifier head a loss with `head` set asks for) and adds its gradient, times a
 * weight, into that node's gradient. An objective is a weighted sum of such terms: one
 * loss alone, or the joint loss (triplet on the embedding + W x softmax on the head's
 * logits), whose gradients meet in the embedding. */
#ifndef FCL_LOSS_LOSS_H
#define FCL_LOSS_LOSS_H
#include "graph/graph.h"

typedef enum fcl_loss_kind {
    FCL_LOSS_TRIPLET,
    FCL_LOSS_SOFTMAX,
    FCL_LOSS_NORMFACE,
    FCL_LOSS_COSFACE,
    FCL_LOSS_ARCFACE,
    FCL_LOSS_CONTRASTIVE,
    FCL_LOSS_LSOFTMAX,
    FCL_LOSS_SPHEREFACE,
    FCL_LOSS_ADACOS,
    FCL_LOSS_CENTER,
    FCL_LOSS_COUNT
} fcl_loss_kind;

/* Every loss's settings; each loss reads those it has (fcl_mining: include/facecl.h,
 * src/loss/triplet.h says what each strategy does). */
typedef struct fcl_loss_params {
    fcl_mining mining; /* triplet */
    float alpha;       /* triplet margin */
    float scale;        /* margin losses: s (<= 0: the loss's default) */
    float class_margin; /* margin losses: m (< 0: the loss's default) */
    bool easy_margin;   /* ArcFace */
    float pos_margin, neg_margin; /* contrastive: L2 distances */
    float lambda_base, lambda_gamma, lambda_power, lambda_min; /* L-Softmax, SphereFace */
    float center_weight, center_rate; /* centre loss: lambda, alpha */
} fcl_loss_params;

/* One batch's loss, and what it averaged over. */
typedef struct fcl_loss_result {
    double loss;            /* as the loss normalises it */
    long count;             /* what it averages over: triplets formed, images */
    long active;            /* of those, the ones that contribute: loss > 0, misclassified */
    double active_fraction; /* active / count (0 when none) */
} fcl_loss_result;

typedef struct fcl_loss_def {
    const char *name;
    const char *summary; /* one line for --help */
    const char *active;  /* what `active` counts, for progress lines ("active", "wrong") */
    bool head;           /* reads the logits of a classifier over the identities on the embedding */
    fcl_op head_op;      /* that head: fc (softmax) or cosine (the margin losses) */
    float default_scale, default_margin; /* margin losses: s and m when not given */
    /* Scratch for net's batch, reading node's output. */
    fcl_status (*create)(fcl_net *net, int node, const fcl_loss_params *params, void **state);
    /* The loss of the node's current output for labels[batch] at training step `step`
     * (schedules such as SphereFace's lambda); a weight other than 0
     * adds weight x the gradient into the node's, between fcl_net_begin_backward and
     * fcl_net_backward_layers. A loss that is not finite comes back as NaN. */
    fcl_status (*compute)(void *state, const int *labels, long step, float weight, fcl_loss_result *out);
    /* The option names (`facecl train --NAME`) it takes beyond --loss, space-separated. */
    const char *options;
    void (*destroy)(void *state);
    /* State a loss carries from step to step (AdaCos's scale), as text for checkpoints;
     * NULL: none. */
    fcl_status (*save_state)(void *state, char *text, size_t size);
    fcl_status (*load_state)(void *state, const char *text);
    /* State too large for text (the centre loss's centres): a device buffer of *count
     * floats, kept in checkpoints as the tensor train.loss.NAME. NULL: none. */
    cl_mem (*state_tensor)(void *state, size_t *count);
} fcl_loss_def;

extern const fcl_loss_def *const fcl_losses[FCL_LOSS_COUNT];
/* fcl_loss_takes (whether a loss takes an option): facecl.h. */
const char *fcl_loss_name(fcl_loss_kind kind);
fcl_status fcl_loss_parse(const char *name, fcl_loss_kind *out);

/* What the losses computed a row per image share: the labels on the device, checked
 * against the classes first (classes <= 0: any label >= 0), and two floats per image
 * the kernel writes (its loss, and a count: misclassified, active pairs), summed on
 * the host. */
typedef struct fcl_loss_rows {
    cl_mem labels, stats;
    float *host;
    int batch;
} fcl_loss_rows;
fcl_status fcl_loss_rows_create(fcl_net *net, fcl_loss_rows *r);
void fcl_loss_rows_destroy(fcl_loss_rows *r);
/* Also refuses a gradient (weight != 0) on a network not created for training. */
fcl_status fcl_loss_rows_upload(fcl_net *net, fcl_loss_rows *r, const int *labels, int classes, float weight);
fcl_status fcl_loss_rows_sum(fcl_net *net, fcl_loss_rows *r, double *loss_sum, long *count_sum);

#define FCL_OBJECTIVE_MAX_TERMS 4
typedef struct fcl_objective {
    struct fcl_loss_term {
        const fcl_loss_def *def;
        void *state;
        float weight;
    } terms[FCL_OBJECTIVE_MAX_TERMS];
    int n_terms;
    long step; /* the training step the next compute is for (the trainer sets it) */
} fcl_objective;

/* Adds weight x loss `kind` on node's output (created here, destroyed with the objective). */
fcl_status fcl_objective_add(fcl_objective *o, fcl_net *net, fcl_loss_kind kind, int node,
                             const fcl_loss_params *params, float weight);
/* The weighted sum of the terms' losses, their gradients added (with gradient), and the
 * first term's counts. */
fcl_status fcl_objective_compute(fcl_objective *o, const int *labels, bool gradient, fcl_loss_result *out);
void fcl_objective_destroy(fcl_objective *o);
/* The terms' state as one line ("NAME=TEXT ...", empty without any), and back: the
 * checkpoint's facecl.loss_state. A term whose state the text lacks keeps its start. */
fcl_status fcl_objective_save_state(const fcl_objective *o, char *text, size_t size);
/* The terms' state tensors, at most max: names ("train.loss.NAME"), buffers, counts. */
typedef struct fcl_loss_tensor {
    char name[64];
    cl_mem buf;
    size_t count;
} fcl_loss_tensor;
int fcl_objective_tensors(const fcl_objective *o, fcl_loss_tensor *out, int max);
fcl_status fcl_objective_load_state(fcl_objective *o, const char *text);
#endif
