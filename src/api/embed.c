/* The public API's models, embedders and data sets (include/facecl.h): thin handles
 * over the graph, the network and the data loaders, so a program needs nothing but
 * the public header. */
#include "data/dataset.h"
#include "data/image.h"
#include "eval/evaluate.h"
#include "graph/graph.h"
#include "io/safetensors.h"

#include <stdlib.h>
#include <string.h>

struct fcl_embedder {
    fcl_net *net;
    bool has_weights; /* loaded or seeded; else seed 1 at the first use (no work when weights follow) */
    float *input; /* max_batch inputs, for the image paths */
};

fcl_status fcl_embedder_create(fcl_runtime *rt, const fcl_model *model, int max_batch, fcl_embedder **out)
{
    *out = NULL;
    if (!rt || !model || max_batch < 1)
        return FCL_ERR_INVALID_ARGUMENT;
    fcl_embedder *e = calloc(1, sizeof *e);
    if (!e)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    fcl_status st = fcl_net_create(rt, model, max_batch, false, &e->net);
    if (st == FCL_SUCCESS &&
        !(e->input = malloc((size_t)max_batch * fcl_shape_size(model->nodes[0].out) * sizeof *e->input)))
        st = FCL_ERR_OUT_OF_HOST_MEMORY;
    if (st != FCL_SUCCESS) {
        fcl_embedder_destroy(e);
        return st;
    }
    *out = e;
    return FCL_SUCCESS;
}

void fcl_embedder_destroy(fcl_embedder *e)
{
    if (!e)
        return;
    fcl_net_destroy(e->net);
    free(e->input);
    free(e);
}

fcl_status fcl_embedder_load_weights(fcl_embedder *e, const char *path)
{
    if (!e || !path)
        return FCL_ERR_INVALID_ARGUMENT;
    fcl_status st = fcl_net_load_weights(e->net, path);
    e->has_weights = st == FCL_SUCCESS;
    return st;
}

fcl_status fcl_weights_threshold(const char *path, bool *found, double *threshold)
{
    fcl_st_meta meta = {.key = FCL_META_THRESHOLD};
    *found = false;
    fcl_status st = fcl_safetensors_read_meta(path, &meta, 1);
    if (st != FCL_SUCCESS || !meta.found)
        return st;
    char *end;
    const double t = strtod(meta.value, &end);
    if (end == meta.value || *end || !(t >= 0 && t <= 4)) {
        fcl_log(FCL_LOG_ERROR, "%s: %s is '%s', not a squared distance from 0 to 4", path, FCL_META_THRESHOLD,
                meta.value);
        return FCL_ERR_FORMAT;
    }
    *found = true;
    *threshold = t;
    return FCL_SUCCESS;
}

/* input as the network's whole batch: input itself when n fills it, else a copy with
 * the unused images zero (*copy, the caller's to free). */
static fcl_status whole_batch(const fcl_embedder *e, const float *input, int n, const float **x, float **copy)
{
    const size_t per_image = (size_t)fcl_shape_size(e->net->model->nodes[0].out);
    *copy = NULL;
    *x = input;
    if (n == e->net->batch)
        return FCL_SUCCESS;
    if (!(*copy = calloc((size_t)e->net->batch * per_image, sizeof **copy)))
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    memcpy(*copy, input, (size_t)n * per_image * sizeof **copy);
    *x = *copy;
    return FCL_SUCCESS;
}

fcl_status fcl_embedder_init_random(fcl_embedder *e, uint64_t seed)
{
    if (!e)
        return FCL_ERR_INVALID_ARGUMENT;
    fcl_status st = fcl_net_init_params(e->net, seed);
    e->has_weights = st == FCL_SUCCESS;
    return st;
}

/* Weights before the first pass: seeded ones where none were loaded. */
static fcl_status weights_ready(fcl_embedder *e)
{
    return e->has_weights ? FCL_SUCCESS : fcl_embedder_init_random(e, 1);
}

fcl_status fcl_embed(fcl_embedder *e, const float *input, int n, float *embeddings)
{
    if (!e || !input || !embeddings || n < 1 || n > e->net->batch)
        return FCL_ERR_INVALID_ARGUMENT;
    fcl_status st = weights_ready(e);
    if (st != FCL_SUCCESS)
        return st;
    if (n == e->net->batch)
        return fcl_net_forward(e->net, input, embeddings);
    /* A partial batch: the network runs its whole batch, the unused images zero. */
    const size_t dim = (size_t)fcl_shape_size(fcl_model_output(e->net->model)->out);
    const float *x;
    float *copy = NULL, *y = malloc((size_t)e->net->batch * dim * sizeof *y);
    st = y ? whole_batch(e, input, n, &x, &copy) : FCL_ERR_OUT_OF_HOST_MEMORY;
    if (st == FCL_SUCCESS)
        st = fcl_net_forward(e->net, x, y);
    if (st == FCL_SUCCESS)
        memcpy(embeddings, y, (size_t)n * dim * sizeof *y);
    free(copy);
    free(y);
    return st;
}

fcl_status fcl_embedder_nonfinite_layer(fcl_embedder *e, const float *input, int n, const char **layer,
                                        const char **type)
{
    *layer = *type = NULL;
    if (!e || !input || n < 1 || n > e->net->batch)
        return FCL_ERR_INVALID_ARGUMENT;
    const float *x;
    float *copy = NULL;
    int node = -1;
    fcl_status st = weights_ready(e);
    if (st == FCL_SUCCESS)
        st = whole_batch(e, input, n, &x, &copy);
    if (st == FCL_SUCCESS)
        st = fcl_net_first_nonfinite(e->net, x, &node);
    free(copy);
    if (st == FCL_SUCCESS && node >= 0) {
        const fcl_node *bad = &e->net->model->nodes[node];
        *layer = bad->name;
        *type = fcl_ops[bad->op]->name;
    }
    return st;
}

uint64_t fcl_embedder_device_macs(const fcl_embedder *e) { return e ? e->net->gemm->macs : 0; }

fcl_status fcl_image_to_model_input(const fcl_model *m, const fcl_image *im, float *input)
{
    if (!m || !im || !input)
        return FCL_ERR_INVALID_ARGUMENT;
    const fcl_shape in = m->nodes[0].out;
    const fcl_input_form form = fcl_model_input_form(m);
    const size_t row = (size_t)im->width * (size_t)im->channels;
    if (!im->pixels || im->width < 1 || im->height < 1 || (im->channels != 1 && im->channels != 3) ||
        (im->stride && im->stride < row)) {
        fcl_log(FCL_LOG_ERROR, "%dx%d with %d channels (stride %zu) is not an 8-bit grey or RGB image", im->width,
                im->height, im->channels, im->stride);
        return FCL_ERR_INVALID_ARGUMENT;
    }
    /* fcl_image_to_input reads packed rows of 1 or the model's channels: repack
     * strided rows, and turn RGB into grey for a grey model as stb_image does. */
    const bool grey = im->channels == 3 && in.c == 1, strided = im->stride && im->stride != row;
    const int channels = grey ? 1 : im->channels;
    const unsigned char *pixels = im->pixels;
    unsigned char *packed = NULL;
    if (grey || strided) {
        if (!(packed = malloc((size_t)im->width * channels * (size_t)im->height)))
            return FCL_ERR_OUT_OF_HOST_MEMORY;
        for (int y = 0; y < im->height; y++) {
            const unsigned char *src = im->pixels + (im->stride ? im->stride : row) * (size_t)y;
            unsigned char *dst = packed + (size_t)im->width * channels * (size_t)y;
            if (!grey)
                memcpy(dst, src, row);
            for (int x = 0; grey && x < im->width; x++, src += 3)
                dst[x] = (unsigned char)((src[0] * 77 + src[1] * 150 + src[2] * 29) >> 8);
        }
        pixels = packed;
    }
    fcl_status st = fcl_image_to_input(pixels, im->width, im->height, channels, &form, input);
    free(packed);
    return st;
}

fcl_status fcl_embed_images(fcl_embedder *e, const fcl_image *images, int n, float *embeddings)
{
    if (!e || !images || n < 1 || n > e->net->batch)
        return FCL_ERR_INVALID_ARGUMENT;
    const size_t per_image = (size_t)fcl_shape_size(e->net->model->nodes[0].out);
    for (int i = 0; i < n; i++) {
        fcl_status st = fcl_image_to_model_input(e->net->model, &images[i], e->input + (size_t)i * per_image);
        if (st != FCL_SUCCESS) {
            fcl_log(FCL_LOG_ERROR, "image %d of %d could not be prepared as the model's input", i, n);
            return st;
        }
    }
    return fcl_embed(e, e->input, n, embeddings);
}

fcl_status fcl_embed_files(fcl_embedder *e, const char *const *paths, int n, float *embeddings)
{
    if (!e || !paths || n < 1 || n > e->net->batch)
        return FCL_ERR_INVALID_ARGUMENT;
    const fcl_shape in = e->net->model->nodes[0].out;
    const fcl_input_form form = fcl_model_input_form(e->net->model);
    for (int i = 0; i < n; i++) {
        fcl_status st = fcl_image_load(paths[i], &form, e->input + (size_t)i * fcl_shape_size(in));
        if (st != FCL_SUCCESS)
            return st; /* fcl_image_load named the file and the reason */
    }
    return fcl_embed(e, e->input, n, embeddings);
}

double fcl_squared_distance(const float *a, const float *b, int dim)
{
    double d = 0;
    for (int i = 0; i < dim; i++)
        d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return d;
}

fcl_status fcl_dataset_load(const char *dir, const char *split, fcl_dataset **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    fcl_status st = fcl_dataset_open(dir, split ? split : "train", *out);
    if (st != FCL_SUCCESS) {
        free(*out);
        *out = NULL;
    }
    return st;
}

void fcl_dataset_destroy(fcl_dataset *d)
{
    if (!d)
        return;
    fcl_dataset_free(d);
    free(d);
}

fcl_status fcl_dataset_split(const fcl_dataset *d, int every, fcl_dataset **kept, fcl_dataset **held_out)
{
    *kept = *held_out = NULL;
    if (every < 2 || d->n_classes < 1) {
        fcl_log(FCL_LOG_ERROR, "%s: a split holds out every N-th image (N >= 2, not %d) of each identity of a "
                               "labelled set", d->source, every);
        return FCL_ERR_INVALID_ARGUMENT;
    }
    bool *held = malloc((size_t)(d->n ? d->n : 1) * sizeof *held);
    int *seen = calloc((size_t)d->n_classes, sizeof *seen);
    *kept = calloc(1, sizeof **kept);
    *held_out = calloc(1, sizeof **held_out);
    fcl_status st = held && seen && *kept && *held_out ? FCL_SUCCESS : FCL_ERR_OUT_OF_HOST_MEMORY;
    for (int i = 0; st == FCL_SUCCESS && i < d->n; i++)
        held[i] = ++seen[d->labels[i]] % every == 0;
    if (st == FCL_SUCCESS)
        st = fcl_dataset_subset(d, held, *held_out);
    for (int i = 0; st == FCL_SUCCESS && i < d->n; i++)
        held[i] = !held[i];
    if (st == FCL_SUCCESS)
        st = fcl_dataset_subset(d, held, *kept);
    free(held);
    free(seen);
    if (st != FCL_SUCCESS) {
        fcl_dataset_destroy(*kept);
        fcl_dataset_destroy(*held_out);
        *kept = *held_out = NULL;
    }
    return st;
}

int fcl_dataset_images(const fcl_dataset *d) { return d->n; }
int fcl_dataset_identities(const fcl_dataset *d) { return d->n_classes; }

fcl_status fcl_dataset_load_images(const char *dir, fcl_dataset **out)
{
    if (!(*out = calloc(1, sizeof **out)))
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    fcl_status st = fcl_dataset_open_images(dir, *out);
    if (st != FCL_SUCCESS) {
        free(*out);
        *out = NULL;
    }
    return st;
}

const char *fcl_dataset_source(const fcl_dataset *d) { return d->source; }
const char *fcl_dataset_image_path(const fcl_dataset *d, int i)
{
    return d->paths && i >= 0 && i < d->n ? d->paths[i] : NULL;
}
int fcl_dataset_label(const fcl_dataset *d, int i) { return i >= 0 && i < d->n ? d->labels[i] : -1; }
const char *fcl_dataset_identity_name(const fcl_dataset *d, int identity)
{
    return identity >= 0 && identity < d->n_classes ? d->class_names[identity] : NULL;
}
int fcl_dataset_skipped(const fcl_dataset *d) { return d->skipped; }

fcl_status fcl_dataset_input(const fcl_dataset *d, int i, const fcl_model *m, float *input)
{
    if (i < 0 || i >= d->n)
        return FCL_ERR_INVALID_ARGUMENT;
    const fcl_input_form form = fcl_model_input_form(m);
    return fcl_dataset_image(d, i, &form, input);
}

fcl_status fcl_embed_dataset(fcl_embedder *e, const fcl_dataset *d, const int *idx, int n, float *out,
                             const fcl_reporter *report)
{
    if (!e || !d || !out || n < 0)
        return FCL_ERR_INVALID_ARGUMENT;
    fcl_status st = weights_ready(e);
    return st == FCL_SUCCESS ? fcl_embed_dataset_images(e->net, d, idx, n, out, report) : st;
}

fcl_status fcl_evaluate(fcl_embedder *e, const fcl_dataset *test, const fcl_dataset *gallery,
                        const fcl_eval_options *o, fcl_eval_result *r)
{
    if (!e || !test || !o || !r)
        return FCL_ERR_INVALID_ARGUMENT;
    fcl_status st = weights_ready(e);
    return st == FCL_SUCCESS ? fcl_evaluate_net(e->net, test, gallery, o, r) : st;
}

fcl_status fcl_weights_set_meta(const char *path, const char *key, const char *value)
{
    return path && key && value ? fcl_safetensors_set_meta(path, key, value) : FCL_ERR_INVALID_ARGUMENT;
}
