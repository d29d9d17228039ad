/* The contrastive loss of DeepID2 (Sun et al. 2014) on the embedding: every pair of
 * the P x K batch, same identities pulled within pos_margin, different ones pushed
 * beyond neg_margin (L2 distances; cl/contrastive.cl). The loss is the mean over pairs. */
#ifndef FCL_LOSS_CONTRASTIVE_H
#define FCL_LOSS_CONTRASTIVE_H
#include "loss/loss.h"

/* Plain C reference in double over embeddings e (B x D): the mean loss over the
 * B (B - 1) / 2 pairs, the pairs with a loss above 0 in *active (may be NULL), and if de
 * is not NULL the gradient (B x D). */
double fcl_contrastive_reference(const double *e, const int *labels, int B, int D, double pos_margin,
                                 double neg_margin, double *de, long *active);
#endif
