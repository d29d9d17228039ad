/* Data-parallel training: one replica of the network per device, on this process's
 * devices and, through comm, on every rank's; each takes its share of the P x K batch.
 * The batch stays one batch: the embeddings are gathered, the loss (mining included) is
 * the global batch's, computed once on rank 0's first device and its gradient sent to
 * every replica, which back-propagates its own images' part; the parameter gradients
 * are summed (over the local replicas in order, then over the ranks), and every
 * replica takes the same optimiser step, so all hold the same weights.
 *
 * Batch normalisation's statistics are the global batch's too: each batch-norm layer's
 * sums (forward: of x and x^2; backward: of dy and dy (x - mean)) are added over the
 * replicas, in the gradients' order, before they are used (synchronised batch norm).
 *
 * Losses on the embedding alone (triplet, contrastive): one with a classifier head
 * would need the head replicated too. */
#ifndef FCL_TRAIN_PARALLEL_H
#define FCL_TRAIN_PARALLEL_H
#include "loss/loss.h"
#include "optim/optim.h"
#include "train/comm.h"

typedef struct fcl_parallel fcl_parallel;
#define FCL_PARALLEL_MAX_LOCAL 16 /* devices one process drives */

/* Replicas of m on rts[0..n_local) for a global batch of `batch` images split over
 * comm's ranks (NULL: this process alone), each with optimiser `optim`. */
fcl_status fcl_parallel_create(fcl_runtime *const *rts, int n_local, const fcl_comm *comm, const fcl_model *m,
                               int batch, const fcl_optim_config *optim, fcl_parallel **out);
void fcl_parallel_destroy(fcl_parallel *p);
/* The replicas over all ranks. */
int fcl_parallel_replicas(const fcl_parallel *p);
/* The first replica (checkpoints are read from and written to it) and its optimiser. */
fcl_net *fcl_parallel_net(const fcl_parallel *p);
fcl_optimizer *fcl_parallel_optimizer(const fcl_parallel *p);
/* The net the loss is computed on: the global batch's embeddings as its input node
 * (node 0). */
fcl_net *fcl_parallel_loss_net(const fcl_parallel *p);
/* Copies the first replica's parameters and optimiser state to the others (after
 * initialising or loading it). */
fcl_status fcl_parallel_sync(fcl_parallel *p);
/* One step on the global batch (images and labels of all `batch` images, the same on
 * every rank): the loss comes back on every rank. dropout_key as fcl_net's. */
fcl_status fcl_parallel_step(fcl_parallel *p, fcl_objective *objective, const float *images, const int *labels,
                             float lr, uint32_t dropout_key, fcl_loss_result *out);
/* Where a step's time went on this rank, summed over the steps so far (seconds). */
typedef struct fcl_parallel_times {
    double compute, gather, loss, reduce; /* forward + backward + update; embeddings; the loss; gradients */
    double statistics; /* of compute: the first replica at batch-norm meetings (waiting for the others included) */
    double reduce_bytes;                  /* gradient bytes each rank sent into the sum per step */
    long steps;
} fcl_parallel_times;
fcl_parallel_times fcl_parallel_timing(const fcl_parallel *p);
#endif
