/* The loss table (one entry per fcl_loss_kind, each defined in its loss's file) and
 * objectives made of its entries. */
#include "loss/loss.h"

#include <stdlib.h>
#include <string.h>

extern const fcl_loss_def fcl_loss_triplet, fcl_loss_softmax, fcl_loss_normface, fcl_loss_cosface, fcl_loss_arcface,
    fcl_loss_contrastive, fcl_loss_lsoftmax, fcl_loss_sphereface, fcl_loss_adacos,
    fcl_loss_center;

const fcl_loss_def *const fcl_losses[FCL_LOSS_COUNT] = {
    [FCL_LOSS_TRIPLET] = &fcl_loss_triplet,
    [FCL_LOSS_SOFTMAX] = &fcl_loss_softmax,
    [FCL_LOSS_NORMFACE] = &fcl_loss_normface,
    [FCL_LOSS_COSFACE] = &fcl_loss_cosface,
    [FCL_LOSS_ARCFACE] = &fcl_loss_arcface,
    [FCL_LOSS_CONTRASTIVE] = &fcl_loss_contrastive,
    [FCL_LOSS_LSOFTMAX] = &fcl_loss_lsoftmax,
    [FCL_LOSS_SPHEREFACE] = &fcl_loss_sphereface,
    [FCL_LOSS_ADACOS] = &fcl_loss_adacos,
    [FCL_LOSS_CENTER] = &fcl_loss_center,
};
_Static_assert(sizeof fcl_losses / sizeof fcl_losses[0] == FCL_LOSS_COUNT, "one entry per loss");

bool fcl_loss_takes(const char *loss, const char *option)
{
    fcl_loss_kind kind;
    if (!loss || !option || fcl_loss_parse(loss, &kind) != FCL_SUCCESS)
        return false;
    const fcl_loss_def *def = fcl_losses[kind];
    const size_t n = strlen(option);
    for (const char *at = def->options; at && (at = strstr(at, option)); at += n)
        if ((at == def->options || at[-1] == ' ') && (at[n] == ' ' || at[n] == '\0'))
            return true;
    return false;
}

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

fcl_status fcl_loss_rows_create(fcl_net *net, fcl_loss_rows *r)
{
    memset(r, 0, sizeof *r);
    r->batch = net->batch;
    const size_t b = (size_t)net->batch;
    cl_int err;
    r->stats = clCreateBuffer(net->rt->context, CL_MEM_READ_WRITE, 2 * b * sizeof(float), NULL, &err);
    if (err == CL_SUCCESS)
        r->labels = clCreateBuffer(net->rt->context, CL_MEM_READ_ONLY, b * sizeof(cl_int), NULL, &err);
    r->host = malloc(2 * b * sizeof(float));
    if (err != CL_SUCCESS || !r->host) {
        fcl_loss_rows_destroy(r);
        return err != CL_SUCCESS ? FCL_CL_FAIL("clCreateBuffer", err) : FCL_ERR_OUT_OF_HOST_MEMORY;
    }
    return FCL_SUCCESS;
}

void fcl_loss_rows_destroy(fcl_loss_rows *r)
{
    if (r->stats)
        clReleaseMemObject(r->stats);
    if (r->labels)
        clReleaseMemObject(r->labels);
    free(r->host);
    memset(r, 0, sizeof *r);
}

fcl_status fcl_loss_rows_upload(fcl_net *net, fcl_loss_rows *r, const int *labels, int classes, float weight)
{
    if (weight != 0.0f && !net->training) {
        fcl_log(FCL_LOG_ERROR, "a loss's gradient needs a network created for training");
        return FCL_ERR_INVALID_ARGUMENT;
    }
    for (int i = 0; i < r->batch; i++)
        if (labels[i] < 0 || (classes > 0 && labels[i] >= classes)) {
            fcl_log(FCL_LOG_ERROR, "label %d of image %d is outside the %d classes", labels[i], i, classes);
            return FCL_ERR_INVALID_ARGUMENT;
        }
    cl_int err = clEnqueueWriteBuffer(net->rt->queue, r->labels, CL_TRUE, 0, (size_t)r->batch * sizeof(cl_int),
                                      labels, 0, NULL, NULL);
    return err == CL_SUCCESS ? FCL_SUCCESS : FCL_CL_FAIL("clEnqueueWriteBuffer", err);
}

fcl_status fcl_loss_rows_sum(fcl_net *net, fcl_loss_rows *r, double *loss_sum, long *count_sum)
{
    fcl_status st = fcl_net_read(net, r->stats, 0, 2 * (size_t)r->batch, r->host);
    if (st != FCL_SUCCESS)
        return st;
    double sum = 0;
    long count = 0;
    for (int i = 0; i < r->batch; i++) {
        sum += r->host[2 * i];
        count += (long)r->host[2 * i + 1];
    }
    *loss_sum = sum;
    *count_sum = count;
    return FCL_SUCCESS;
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
        st = o->terms[i].def->compute(o->terms[i].state, labels, o->step, gradient ? o->terms[i].weight : 0.0f, &r);
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

fcl_status fcl_objective_save_state(const fcl_objective *o, char *text, size_t size)
{
    size_t at = 0;
    text[0] = '\0';
    for (int i = 0; i < o->n_terms; i++) {
        const fcl_loss_def *d = o->terms[i].def;
        if (!d->save_state)
            continue;
        const int n = snprintf(text + at, size - at, "%s%s=", at ? " " : "", d->name);
        if (n < 0 || (size_t)n >= size - at)
            return FCL_ERR_INVALID_ARGUMENT;
        at += (size_t)n;
        fcl_status st = d->save_state(o->terms[i].state, text + at, size - at);
        if (st != FCL_SUCCESS)
            return st;
        at += strlen(text + at);
    }
    return FCL_SUCCESS;
}

int fcl_objective_tensors(const fcl_objective *o, fcl_loss_tensor *out, int max)
{
    int n = 0;
    for (int i = 0; i < o->n_terms && n < max; i++)
        if (o->terms[i].def->state_tensor) {
            /* "train." marks training state: a weights loader skips it (io/safetensors.h) */
            snprintf(out[n].name, sizeof out[n].name, "train.loss.%s", o->terms[i].def->name);
            out[n].buf = o->terms[i].def->state_tensor(o->terms[i].state, &out[n].count);
            n++;
        }
    return n;
}

fcl_status fcl_objective_load_state(fcl_objective *o, const char *text)
{
    for (int i = 0; i < o->n_terms; i++) {
        const fcl_loss_def *d = o->terms[i].def;
        const size_t n = strlen(d->name);
        for (const char *at = text; d->load_state && at && *at; at = strchr(at, ' '), at = at ? at + 1 : NULL)
            if (strncmp(at, d->name, n) == 0 && at[n] == '=') {
                char value[128];
                const size_t len = strcspn(at + n + 1, " ");
                if (len >= sizeof value)
                    return FCL_ERR_FORMAT;
                memcpy(value, at + n + 1, len);
                value[len] = '\0';
                fcl_status st = d->load_state(o->terms[i].state, value);
                if (st != FCL_SUCCESS)
                    return st;
                break;
            }
    }
    return FCL_SUCCESS;
}

bool fcl_loss_at(int i, fcl_loss_info *out)
{
    if (i < 0 || i >= FCL_LOSS_COUNT)
        return false;
    const fcl_loss_def *d = fcl_losses[i];
    *out = (fcl_loss_info){.name = d->name, .summary = d->summary, .head = d->head,
                           .options = d->options ? d->options : "", .scale = d->default_scale,
                           .margin = d->default_margin};
    return true;
}
