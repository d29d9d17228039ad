#include "train/step.h"

#include <math.h>
#include <string.h>

static const char *const loss_names[FCL_LOSS_COUNT] = {"triplet", "softmax"};

const char *fcl_loss_name(fcl_loss_kind kind)
{
    return kind >= 0 && kind < FCL_LOSS_COUNT ? loss_names[kind] : "?";
}

fcl_status fcl_loss_parse(const char *name, fcl_loss_kind *out)
{
    for (int i = 0; i < FCL_LOSS_COUNT; i++)
        if (strcmp(name, loss_names[i]) == 0) {
            *out = (fcl_loss_kind)i;
            return FCL_SUCCESS;
        }
    return FCL_ERR_INVALID_ARGUMENT;
}

static fcl_status loss_and_gradient(const fcl_net *net, const fcl_loss *loss, const int *labels, fcl_triplet_result *out)
{
    long wrong = 0;
    if (loss->kind == FCL_LOSS_TRIPLET) {
        fcl_status st = fcl_triplet_loss(loss->triplet, labels, loss->mining, loss->alpha, true, out);
        double xent = 0;
        if (st == FCL_SUCCESS && loss->softmax) /* joint: both gradients meet in the embedding's */
            st = fcl_softmax_loss(loss->softmax, labels, loss->softmax_weight, &xent, &wrong);
        out->loss += loss->softmax_weight * xent;
        return st;
    }
    fcl_status st = fcl_softmax_loss(loss->softmax, labels, 1.0f, &out->loss, &wrong);
    out->triplets = net->batch;
    out->active = wrong;
    out->active_fraction = (double)wrong / net->batch;
    return st;
}

fcl_status fcl_train_step(fcl_net *net, const fcl_loss *loss, fcl_optimizer *opt, const float *images,
                          const int *labels, float lr, fcl_triplet_result *out)
{
    const size_t per_image = (size_t)fcl_shape_size(net->model->nodes[0].out);
    for (size_t i = 0; i < (size_t)net->batch * per_image; i++)
        if (!isfinite(images[i])) {
            fcl_log(FCL_LOG_ERROR, "image %zu of the batch holds %g: stopping before the parameters change",
                    i / per_image, images[i]);
            return FCL_ERR_NUMERIC;
        }
    fcl_status st = fcl_net_forward(net, images, NULL);
    if (st == FCL_SUCCESS)
        st = fcl_net_fill(net, net->grads, 0, net->model->n_params, 0.0f);
    if (st == FCL_SUCCESS)
        st = fcl_net_begin_backward(net);
    if (st == FCL_SUCCESS)
        st = loss_and_gradient(net, loss, labels, out);
    if (st == FCL_SUCCESS && !isfinite(out->loss)) {
        fcl_log(FCL_LOG_ERROR, "the %s loss is %g: stopping before the parameters change", fcl_loss_name(loss->kind),
                out->loss);
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
