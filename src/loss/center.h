/* The centre loss (Wen et al. 2016): softmax cross-entropy over a classifier head plus
 * lambda x 1/2 the mean squared distance of each embedding to its identity's centre;
 * the centres (zero at the start) move towards their images by the paper's rule with
 * rate alpha after each training batch, and are kept in checkpoints. */
#ifndef FCL_LOSS_CENTER_H
#define FCL_LOSS_CENTER_H
#include "loss/loss.h"

/* Plain C reference in double: the centre term's mean 1/2 |x_i - c_y|^2 over the batch
 * (B x D embeddings x, C x D centres c); if dx is not NULL, its gradient (B x D); if
 * next is not NULL, the centres after the update with rate alpha (C x D). */
double fcl_center_reference(const double *x, const double *c, const int *labels, int B, int C, int D, double alpha,
                            double *dx, double *next);
#endif
