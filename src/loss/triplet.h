/* Triplet loss with online mining on the device (FaceNet section 3, eq. 3). */
#ifndef FCL_LOSS_TRIPLET_H
#define FCL_LOSS_TRIPLET_H
#include "loss/loss.h"

/* Mining strategies, per anchor a and batch distances d:
 * - semi-hard (the paper's): for every positive p, the closest negative n with
 *   d(a,n) > d(a,p) (a semi-hard one when d(a,n) < d(a,p) + alpha; farther ones give
 *   zero loss); when every negative is closer than p, the farthest of them, the least
 *   hard choice. Loss: mean over (a, p) pairs that have a negative.
 * - batch-hard (Hermans et al. 2017): the farthest positive and the nearest negative;
 *   mean over anchors that have both.
 * - batch-all: every valid (a, p, n); mean over the triplets with loss > 0.
 * Ties go to the lowest index. (fcl_mining is in loss/loss.h, a loss parameter.) */


typedef struct fcl_triplet fcl_triplet;

/* Scratch for a network's batch: distances and coefficients (B x B), stats, labels.
 * node is the embedding the loss reads: the model's output, or the node a classifier
 * head sits on for a joint loss with softmax. */
fcl_status fcl_triplet_create(fcl_net *net, int node, fcl_triplet **out);
void fcl_triplet_destroy(fcl_triplet *t);

/* Loss of the embedding node's current output (after fcl_net_forward) for labels[batch]
 * (out->count: the triplets the strategy formed, active: those with loss > 0). A weight
 * other than 0 adds weight x dL/d(embedding) into its gradient: call it between
 * fcl_net_begin_backward and fcl_net_backward_layers. Only per-anchor sums come back
 * to the host. */
fcl_status fcl_triplet_loss(fcl_triplet *t, const int *labels, fcl_mining mining, float alpha, float weight,
                            fcl_loss_result *out);

/* Mining alone on a given distance matrix (tests): coef gets the B x B coefficients. */
fcl_status fcl_triplet_mine_matrix(fcl_triplet *t, const float *dist, const int *labels, fcl_mining mining,
                                   float alpha, fcl_loss_result *out, float *coef);

/* Plain C reference in double: distances from e (B x D), the same mining, the loss and,
 * if coef is not NULL, the B x B coefficients. */
fcl_status fcl_triplet_reference(const double *e, const int *labels, int B, int D, fcl_mining mining, double alpha,
                                 fcl_loss_result *out, double *coef);
#endif
