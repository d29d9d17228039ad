/* The cosine-margin family on a cosine head (src/layers/cosine.c): NormFace (Wang et
 * al. 2017), CosFace (Wang et al. 2018) and ArcFace (Deng et al. 2019), softmax
 * cross-entropy over s x cosines with a margin on the label's (cl/margin.cl says how
 * each one sets it). */
#ifndef FCL_LOSS_MARGIN_H
#define FCL_LOSS_MARGIN_H
#include "loss/loss.h"

#include <stddef.h>

typedef enum fcl_margin_variant { FCL_MARGIN_NORMFACE, FCL_MARGIN_COSFACE, FCL_MARGIN_ARCFACE } fcl_margin_variant;

typedef struct fcl_margin_config {
    fcl_margin_variant variant;
    double scale, margin;
    bool easy; /* ArcFace's easy margin */
} fcl_margin_config;

/* AdaCos's first scale, sqrt(2) log(C - 1); each training batch then sets it to
 * log(B_avg) / cos(min(pi/4, median theta_y)), B_avg the mean over images of the sum
 * over the other classes of exp(s cos) at the previous scale. */
double fcl_adacos_start(int C);

/* Plain C reference in double over cosines c (B x C): the mean loss and, if dc is not
 * NULL, its gradient; *wrong (may be NULL) counts rows whose largest cosine is not the
 * label's. The same clamping as the kernel. */
double fcl_margin_reference(const fcl_margin_config *cfg, const double *c, const int *labels, int B, int C,
                            double *dc, long *wrong);
#endif
