/* One training step, every stage on the device's queue. */
#ifndef FCL_TRAIN_STEP_H
#define FCL_TRAIN_STEP_H
#include "loss/loss.h"
#include "optim/optim.h"

/* forward(images) -> the objective's loss and gradient -> backward -> optimiser step at
 * lr. images: batch x input (host); labels: batch identities; *out: the objective's
 * (src/loss/loss.h: the weighted sum, the first term's counts). A NaN or Inf in the
 * images, an embedding or loss that is not finite, or a parameter gradient that is
 * not, returns FCL_ERR_NUMERIC (naming the image, the count of bad distances or the
 * tensor) before any parameter changes. */
fcl_status fcl_train_step(fcl_net *net, fcl_objective *objective, fcl_optimizer *opt, const float *images,
                          const int *labels, float lr, fcl_loss_result *out);
/* FCL_ERR_NUMERIC, naming the image, when one of the n images (per_image floats each)
 * holds a NaN or Inf: checked before a step changes anything. */
fcl_status fcl_train_check_images(const float *images, size_t n, size_t per_image);
#endif
