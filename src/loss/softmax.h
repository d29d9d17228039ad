/* Softmax cross-entropy over a classifier head: the second loss, for pre-training and
 * as a baseline to the triplet loss. It reads logits (the trainer appends a fully
 * connected `train.classifier` layer to the embedding for them). */
#ifndef FCL_LOSS_SOFTMAX_H
#define FCL_LOSS_SOFTMAX_H
#include "loss/loss.h"

typedef struct fcl_softmax fcl_softmax;

/* Scratch for a network's batch; node's output is the logits, the classes its size. */
fcl_status fcl_softmax_create(fcl_net *net, int node, fcl_softmax **out);
void fcl_softmax_destroy(fcl_softmax *s);

/* Mean cross-entropy L of the network's current output for labels[batch] (each in
 * [0, classes)), and how many images the logits misclassify. A weight other than 0 adds
 * weight x dL/d(logits) into the output's gradient (1: softmax alone; less: its share
 * of a joint loss), between fcl_net_begin_backward and fcl_net_backward_layers. A NaN
 * or Inf logit gives a NaN loss. */
fcl_status fcl_softmax_loss(fcl_softmax *s, const int *labels, float weight, double *loss, long *misclassified);

/* Plain C reference in double over z (B x C): the mean loss and, if dz is not NULL,
 * its gradient (B x C). */
double fcl_softmax_reference(const double *z, const int *labels, int B, int C, double *dz);
#endif
