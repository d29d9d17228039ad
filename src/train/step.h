/* One training step with the triplet loss, every stage on the device's queue. */
#ifndef FCL_TRAIN_STEP_H
#define FCL_TRAIN_STEP_H
#include "loss/triplet.h"
#include "optim/optim.h"

/* forward(images) -> triplet loss and its gradient -> backward -> optimiser step at lr.
 * images: batch x input (host); labels: batch identities. A NaN or Inf in the images,
 * or an embedding or loss that is not finite, returns FCL_ERR_NUMERIC (naming the
 * image, or the count of bad distances) before any parameter changes. */
fcl_status fcl_train_step(fcl_net *net, fcl_triplet *triplet, fcl_optimizer *opt, const float *images,
                          const int *labels, fcl_mining mining, float alpha, float lr, fcl_triplet_result *out);
#endif
