/* The multiplicative angular margin on a cosine head: L-Softmax (Liu et al. 2016:
 * logits |x| |w_j| cos theta_j) and A-Softmax / SphereFace (Liu et al. 2017: |w_j| = 1),
 * the label's cos theta_y replaced by (lambda cos theta_y + psi(theta_y)) / (1 + lambda)
 * with an integer margin m (cl/angular.cl), and lambda annealed from base to its
 * minimum as SphereFace trains: lambda = max(min, base (1 + gamma step)^-power). */
#ifndef FCL_LOSS_ANGULAR_H
#define FCL_LOSS_ANGULAR_H
#include "loss/loss.h"

typedef struct fcl_angular_config {
    bool weight_norms; /* L-Softmax: |w_j| in the logits; SphereFace: not */
    int m;             /* 1..4 */
    double lambda;
} fcl_angular_config;

/* SphereFace's annealing of lambda at a step. */
double fcl_angular_lambda(const fcl_loss_params *p, long step);

/* Plain C reference in double from the head's input x (B x D) and class vectors w
 * (C x D): the mean loss (cosines with norms max(|v|, 1e-6), as the cosine layer). */
double fcl_angular_reference(const fcl_angular_config *cfg, const double *x, const double *w, const int *labels,
                             int B, int C, int D);
#endif
