/* The loss table (one entry per fcl_loss_kind, each defined in its loss's file) and
 * objectives made of its entries. */
#include "loss/loss.h"

#include <string.h>

extern const fcl_loss_def fcl_loss_triplet, fcl_loss_softmax, fcl_loss_normface, fcl_loss_cosface, fcl_loss_arcface;

const fcl_loss_def *const fcl_losses[FCL_LOSS_COUNT] = {
    [FCL_LOSS_TRIPLET] = &fcl_loss_triplet,
    [FCL_LOSS_SOFTMAX] = &fcl_loss_softmax,
    [FCL_LOSS_NORMFACE] = &fcl_loss_normface,
    [FCL_LOSS_COSFACE] = &fcl_loss_cosface,
    [FCL_LOSS_ARCFACE] = &fcl_loss_arcface,
};
_Static_assert(sizeof fcl_losses / sizeof fcl_losses[0] == FCL_LOSS_COUNT, "one entry per loss");

const char *fcl_loss_name(fcl_loss_kind kind)
{
    return kind >= 0 && kind < FCL_LOSS_COUNT ? fcl_losses[kind]->name : "?";
}

fcl_status fcl_loss_parse(const char *name, fcl_loss_kind *out)
{
    for (int i = 0; i < FCL_LOSS_COUNT; i++)
        if (strcmp(name, fcl_losses[i]->name) == 0) {
            *out = (fcl_loss_kind)i;
            return FCL_SUCCESS;
        }
    return FCL_ERR_INVALID_ARGUMENT;
}

fcl_status fcl_objective_add(fcl_objective *o, fcl_net *net, fcl_loss_kind kind, int node,
                             const fcl_loss_params *params, float weight)
{
    if (kind < 0 || kind >= FCL_LOSS_COUNT || o->n_terms == FCL_OBJECTIVE_MAX_TERMS)
        return FCL_ERR_INVALID_ARGUMENT;
    struct fcl_loss_term *t = &o->terms[o->n_terms];
    t->def = fcl_losses[kind];
    t->weight = weight;
    fcl_status st = t->def->create(net, node, params, &t->state);
    if (st == FCL_SUCCESS)
        o->n_terms++;
    return st;
}

fcl_status fcl_objective_compute(fcl_objective *o, const int *labels, bool gradient, fcl_loss_result *out)
{
    fcl_status st = o->n_terms > 0 ? FCL_SUCCESS : FCL_ERR_INVALID_ARGUMENT;
    double total = 0;
    for (int i = 0; i < o->n_terms && st == FCL_SUCCESS; i++) {
        fcl_loss_result r = {0};
        st = o->terms[i].def->compute(o->terms[i].state, labels, gradient ? o->terms[i].weight : 0.0f, &r);
        if (i == 0)
            *out = r;
        total += o->terms[i].weight * r.loss;
    }
    out->loss = total;
    return st;
}

void fcl_objective_destroy(fcl_objective *o)
{
    for (int i = 0; i < o->n_terms; i++)
        o->terms[i].def->destroy(o->terms[i].state);
    o->n_terms = 0;
}

bool fcl_loss_at(int i, fcl_loss_info *out)
{
    if (i < 0 || i >= FCL_LOSS_COUNT)
        return false;
    const fcl_loss_def *d = fcl_losses[i];
    *out = (fcl_loss_info){.name = d->name, .summary = d->summary, .head = d->head,
                           .margin_loss = d->head_op == FCL_OP_COSINE, .scale = d->default_scale,
                           .margin = d->default_margin};
    return true;
}
