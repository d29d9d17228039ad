/* Optimisers as kernels over the trainable parameter tensors, and learning-rate schedules. */
#ifndef FCL_OPTIM_OPTIM_H
#define FCL_OPTIM_OPTIM_H
#include "graph/graph.h"

typedef enum fcl_optimizer_kind {
    FCL_OPT_SGD = 0,     /* with momentum */
    FCL_OPT_ADAGRAD = 1, /* the FaceNet paper's */
    FCL_OPT_ADAM = 2,
    FCL_OPT_COUNT
} fcl_optimizer_kind;

typedef struct fcl_optim_config {
    fcl_optimizer_kind kind;
    float lr;           /* base learning rate */
    float momentum;     /* SGD */
    float beta1, beta2; /* Adam */
    float eps;          /* AdaGrad, Adam */
    float weight_decay; /* L2, added to the gradient */
} fcl_optim_config;

/* Defaults: SGD lr 0.01 momentum 0.9; AdaGrad lr 0.05 (the paper's) eps 1e-10;
 * Adam lr 1e-3 betas 0.9/0.999 eps 1e-8; no weight decay. */
fcl_optim_config fcl_optim_defaults(fcl_optimizer_kind kind);
const char *fcl_optimizer_name(fcl_optimizer_kind kind);
fcl_status fcl_optimizer_parse(const char *name, fcl_optimizer_kind *out);

typedef struct fcl_optimizer fcl_optimizer;
fcl_status fcl_optimizer_create(fcl_net *net, const fcl_optim_config *config, fcl_optimizer **out);
void fcl_optimizer_destroy(fcl_optimizer *opt);
/* One step with learning rate lr on net->grads; batch-norm running statistics and
 * other non-trainable tensors are left alone. */
fcl_status fcl_optimizer_step(fcl_optimizer *opt, float lr);

/* The optimiser's state for checkpoints: `count` buffers of n_params floats (momentum,
 * squared-gradient sums, Adam's moments) and the number of steps taken. */
int fcl_optimizer_state_count(const fcl_optimizer *opt);
cl_mem fcl_optimizer_state(const fcl_optimizer *opt, int i);
long fcl_optimizer_steps(const fcl_optimizer *opt);
void fcl_optimizer_set_steps(fcl_optimizer *opt, long steps);

/* Learning-rate schedules: warm-up (linear from 0 over `warmup` steps), then constant,
 * step decay (times gamma every `step_every` steps) or cosine to min_lr at `total`. */
typedef enum fcl_schedule_kind { FCL_SCHEDULE_CONSTANT, FCL_SCHEDULE_STEP, FCL_SCHEDULE_COSINE } fcl_schedule_kind;
typedef struct fcl_schedule {
    fcl_schedule_kind kind;
    double base_lr, min_lr, gamma;
    long warmup, step_every, total;
} fcl_schedule;
double fcl_schedule_lr(const fcl_schedule *s, long step);
#endif
