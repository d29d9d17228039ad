/* Optimisers as kernels over the trainable parameter tensors, and learning-rate schedules. */
#ifndef FCL_OPTIM_OPTIM_H
#define FCL_OPTIM_OPTIM_H
#include "graph/graph.h"

/* fcl_optimizer_kind, fcl_optim_config and their defaults: include/facecl.h. */
typedef struct fcl_optimizer fcl_optimizer;
fcl_status fcl_optimizer_create(fcl_net *net, const fcl_optim_config *config, fcl_optimizer **out);
void fcl_optimizer_destroy(fcl_optimizer *opt);
/* One step with learning rate lr on net->grads; batch-norm running statistics and
 * other non-trainable tensors are left alone. */
fcl_status fcl_optimizer_step(fcl_optimizer *opt, float lr);

/* The optimiser's state for checkpoints: `count` buffers of n_params floats (momentum,
 * squared-gradient sums, Adam's moments) and the number of steps taken. */
int fcl_optimizer_state_count(const fcl_optimizer *opt);
/* Whether buffer i sums squares (AdaGrad's, Adam's second moment): never below 0. */
bool fcl_optimizer_state_is_squares(const fcl_optimizer *opt, int i);
cl_mem fcl_optimizer_state(const fcl_optimizer *opt, int i);
long fcl_optimizer_steps(const fcl_optimizer *opt);
void fcl_optimizer_set_steps(fcl_optimizer *opt, long steps);

/* The learning rate at a step (fcl_schedule: include/facecl.h). */
double fcl_schedule_lr(const fcl_schedule *s, long step);
#endif
