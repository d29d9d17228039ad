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
    float *input; /* max_batch inputs, for the image paths */
};

fcl_model_summary fcl_model_describe(const fcl_model *m)
{
    const fcl_shape in = m->nodes[0].out;
    return (fcl_model_summary){.name = m->name, .input_channels = in.c, .input_height = in.h, .input_width = in.w,
                               .embedding_size = fcl_shape_size(fcl_model_output(m)->out),
                               .parameters = fcl_model_trainable(m), .multiply_adds = fcl_model_macs(m),
                               .layers = m->n_nodes};
}

fcl_status fcl_embedder_create(fcl_runtime *rt, const fcl_model *model, int max_batch, fcl_embedder **out)
{
    *out = NULL;
    if (!rt || !model || max_batch < 1)
        return FCL_ERR_INVALID_ARGUMENT;
    fcl_embedder *e = calloc(1, sizeof *e);
    if (!e)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    fcl_status st = fcl_net_create(rt, model, max_batch, false, &e->net);
    if (st == FCL_SUCCESS)
        st = fcl_net_init_params(e->net, 1);
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
    return e && path ? fcl_net_load_weights(e->net, path) : FCL_ERR_INVALID_ARGUMENT;
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

fcl_status fcl_embed(fcl_embedder *e, const float *input, int n, float *embeddings)
{
    if (!e || !input || !embeddings || n < 1 || n > e->net->batch)
        return FCL_ERR_INVALID_ARGUMENT;
    const fcl_model *m = e->net->model;
    const size_t per_image = (size_t)fcl_shape_size(m->nodes[0].out);
    const size_t dim = (size_t)fcl_shape_size(fcl_model_output(m)->out);
    if (n == e->net->batch)
        return fcl_net_forward(e->net, input, embeddings);
    /* A partial batch: the network runs its whole batch, the unused images zero. */
    float *x = calloc((size_t)e->net->batch * per_image, sizeof *x);
    float *y = malloc((size_t)e->net->batch * dim * sizeof *y);
    fcl_status st = x && y ? FCL_SUCCESS : FCL_ERR_OUT_OF_HOST_MEMORY;
    if (st == FCL_SUCCESS) {
        memcpy(x, input, (size_t)n * per_image * sizeof *x);
        st = fcl_net_forward(e->net, x, y);
    }
    if (st == FCL_SUCCESS)
        memcpy(embeddings, y, (size_t)n * dim * sizeof *y);
    free(x);
    free(y);
    return st;
}

fcl_status fcl_embed_images(fcl_embedder *e, const fcl_image *images, int n, float *embeddings)
{
    if (!e || !images || n < 1 || n > e->net->batch)
        return FCL_ERR_INVALID_ARGUMENT;
    const fcl_shape in = e->net->model->nodes[0].out;
    for (int i = 0; i < n; i++) {
        const fcl_image *im = &images[i];
        const size_t row = (size_t)im->width * (size_t)im->channels;
        if (!im->pixels || im->width < 1 || im->height < 1 || (im->channels != 1 && im->channels != 3) ||
            (im->stride && im->stride < row)) {
            fcl_log(FCL_LOG_ERROR, "image %d: %dx%d with %d channels (stride %zu) is not an 8-bit grey or RGB image",
                    i, im->width, im->height, im->channels, im->stride);
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
        fcl_status st = fcl_image_to_input(pixels, im->width, im->height, channels, in.h, in.w, in.c,
                                           e->input + (size_t)i * fcl_shape_size(in));
        free(packed);
        if (st != FCL_SUCCESS)
            return st;
    }
    return fcl_embed(e, e->input, n, embeddings);
}

fcl_status fcl_embed_files(fcl_embedder *e, const char *const *paths, int n, float *embeddings)
{
    if (!e || !paths || n < 1 || n > e->net->batch)
        return FCL_ERR_INVALID_ARGUMENT;
    const fcl_shape in = e->net->model->nodes[0].out;
    for (int i = 0; i < n; i++) {
        fcl_status st = fcl_image_load(paths[i], in.h, in.w, in.c, e->input + (size_t)i * fcl_shape_size(in));
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

int fcl_dataset_images(const fcl_dataset *d) { return d->n; }
int fcl_dataset_identities(const fcl_dataset *d) { return d->n_classes; }
