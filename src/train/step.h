/* One training step, every stage on the device's queue. */
#ifndef FCL_TRAIN_STEP_H
#define FCL_TRAIN_STEP_H
#include "loss/softmax.h"
#include "loss/triplet.h"
#include "optim/optim.h"

/* What a step minimises: the triplet loss with online mining (the paper's), or softmax
 * cross-entropy over a classifier head on the embedding (pre-training, a baseline). */
typedef enum fcl_loss_kind { FCL_LOSS_TRIPLET, FCL_LOSS_SOFTMAX, FCL_LOSS_COUNT } fcl_loss_kind;
const char *fcl_loss_name(fcl_loss_kind kind);
fcl_status fcl_loss_parse(const char *name, fcl_loss_kind *out);

typedef struct fcl_loss {
    fcl_loss_kind kind;
    fcl_triplet *triplet; /* FCL_LOSS_TRIPLET, with mining and alpha */
    fcl_mining mining;
    float alpha;
    fcl_softmax *softmax; /* FCL_LOSS_SOFTMAX, or a joint loss: the network's output is the logits */
    float softmax_weight; /* joint loss: triplet + softmax_weight x cross-entropy (a triplet loss
                             with a softmax object) */
} fcl_loss;

/* forward(images) -> loss and its gradient -> backward -> optimiser step at lr.
 * images: batch x input (host); labels: batch identities. For the softmax loss, *out
 * counts images (triplets) and misclassified ones (active); for a joint loss, its loss
 * is the sum and the counts are the triplets'. A NaN or Inf in the images,
 * an embedding or loss that is not finite, or a parameter gradient that is not, returns
 * FCL_ERR_NUMERIC (naming the image, the count of bad distances or the tensor) before
 * any parameter changes. */
fcl_status fcl_train_step(fcl_net *net, const fcl_loss *loss, fcl_optimizer *opt, const float *images,
                          const int *labels, float lr, fcl_triplet_result *out);
#endif
