#include "train/step.h"

#include <math.h>

fcl_status fcl_train_check_images(const float *images, size_t n, size_t per_image)
{
    for (size_t i = 0; i < n * per_image; i++)
        if (!isfinite(images[i])) {
            fcl_log(FCL_LOG_ERROR, "image %zu of the batch holds %g: stopping before the parameters change",
                    i / per_image, images[i]);
            return FCL_ERR_NUMERIC;
        }
    return FCL_SUCCESS;
}

fcl_status fcl_train_step(fcl_net *net, fcl_objective *objective, fcl_optimizer *opt, const float *images,
                          const int *labels, float lr, fcl_loss_result *out)
{
    fcl_status st =
        fcl_train_check_images(images, (size_t)net->batch, (size_t)fcl_shape_size(net->model->nodes[0].out));
    if (st == FCL_SUCCESS)
        st = fcl_net_forward(net, images, NULL);
    if (st == FCL_SUCCESS)
        st = fcl_net_fill(net, net->grads, 0, net->model->n_params, 0.0f);
    if (st == FCL_SUCCESS)
        st = fcl_net_begin_backward(net);
    if (st == FCL_SUCCESS)
        st = fcl_objective_compute(objective, labels, true, out);
    if (st == FCL_SUCCESS && !isfinite(out->loss)) {
        fcl_log(FCL_LOG_ERROR, "the %s loss is %g: stopping before the parameters change",
                objective->terms[0].def->name, out->loss);
        return FCL_ERR_NUMERIC;
    }
    if (st == FCL_SUCCESS)
        st = fcl_net_backward_layers(net);
    if (st == FCL_SUCCESS)
        st = fcl_net_check_gradients(net);
    if (st == FCL_SUCCESS)
        st = fcl_optimizer_step(opt, lr);
    return st;
}
