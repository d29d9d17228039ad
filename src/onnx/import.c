/* An ONNX file as a facecl model and weights. The graph is read in its (topological)
 * order; every ONNX value becomes one of a few kinds: an activation (the output of a
 * facecl node, at rank 4 or, after a flatten, rank 2), a constant, a shape (what
 * exporters compute a dynamic batch's Reshape target from), or a partial pattern
 * that the next op completes (a scaled activation waiting for its residual Add, a
 * sum of squares waiting for its Sqrt, ...). Each op_type has one handler in a table;
 * what no handler takes is an error naming the node and its op. ReLUs fuse into the
 * conv, fc, batchnorm or add before them, as facecl runs them. */
#include "io/safetensors.h"
#include "onnx/onnx.h"
#include "runtime/fileio.h"
#include "runtime/log.h"

#include "onnx.pb-c.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NODES 100000     /* ONNX nodes; facecl's largest model has ~700 */
#define MAX_TENSOR (1u << 30) /* floats in one initializer (4 GiB) */
#define MAX_DIMS 8
#define BATCH INT64_MIN /* a shape value: the batch dimension */

typedef enum vkind {
    V_ACT,     /* the output of facecl node `node` */
    V_CONST,   /* float or int64 data */
    V_PIXELS,  /* the graph input, as (pixel - mean) / std */
    V_SCALED,  /* `scale` x activation: a residual branch before its Add */
    V_SQUARE,  /* activation squared: an L2 pool's start (Mul(x, x), Pow(x, 2)) */
    V_SQPOOL,  /* `scale` x average of squares over a window: an L2 pool before its Sqrt */
    V_SUMSQ,   /* sum of squares over all but the batch (+ eps): an l2norm's start */
    V_NORM,    /* its square root, or ReduceL2 (clipped, expanded): the l2norm's divisor */
    V_GROUPED, /* activation reshaped to (N, C/g, g, ...): a maxout before its ReduceMax */
    V_UNIT,    /* activation / its ReduceL2 norm (floored): an l2norm, or a cosine layer's start */
    V_WNORM,   /* the row norms of a constant matrix (floored): a cosine layer's weight norms */
    V_UNITW,   /* that matrix divided by them: a cosine layer's unit weights */
    V_PERMUTED, /* activation with C, H, W transposed (`perm`): only a flatten into an fc may follow */
} vkind;

typedef struct value {
    char *name;
    vkind kind;
    int node;         /* the facecl node of every kind but V_CONST and V_PIXELS */
    int rank;         /* V_ACT: 4, or 2 after a flatten */
    float scale;      /* V_SCALED, V_SQPOOL */
    int pool;         /* V_SQPOOL: the ONNX node of its window */
    bool is_int;      /* V_CONST: int64 (shapes, axes) rather than float */
    float *f;         /* V_CONST float data */
    int64_t *i;       /* V_CONST int64 data, BATCH for the batch dimension */
    size_t count;
    int64_t dims[MAX_DIMS];
    int ndims;
    const char *what; /* V_CONST: why it cannot be used, when its data type is another */
    double mean, std; /* V_PIXELS: the input is (pixel - mean) / std */
    int pad_h, pad_w; /* V_SQUARE: zeros a Pad put around it */
    bool summed;      /* V_NORM: the square root of ReduceSumSquare (+ eps), facecl's l2norm exactly */
    int matrix;       /* V_WNORM, V_UNITW: the constant's value index */
    const Onnx__NodeProto *origin; /* V_UNIT: the Div, which names the l2norm it becomes */
    int perm[3];      /* V_PERMUTED, and a V_ACT flattened from one (permuted): C, H, W's order (0, 1, 2) */
    bool permuted;    /* V_ACT of rank 2: its features are in perm's order, for an fc's weights to follow */
} value;

/* Open addressing from a name to an int. */
typedef struct name_map {
    const char **keys;
    int *vals;
    size_t cap, n;
} name_map;

typedef struct importer {
    const char *path;
    const Onnx__GraphProto *g;
    fcl_onnx_arena mem;
    value *values;
    size_t n_values, cap_values;
    struct name_map by_name; /* value name -> index */
    struct name_map readers; /* value name -> how many node inputs and graph outputs read it */
    struct name_map layer_names; /* facecl node names taken -> node index */
    fcl_node *nodes;
    float *(*node_params)[FCL_MAX_PARAMS]; /* per facecl node: its parameter tensors in facecl order */
    int n_nodes, cap_nodes;
    double pixel_mean, pixel_std; /* what the layers reading the input take it as */
    bool input_used;
    value input_act; /* the input as the layers read it: facecl node 0 */
    fcl_strbuf outputs_note; /* which channels of the model's output hold which graph output */
    int output_channels;
    int64_t fixed_batch; /* the graph input's batch size when it is a number (0: dynamic) */
    const Onnx__NodeProto *at; /* the node being translated, for messages */
    int at_index;
} importer;

static fcl_status fail(importer *im, fcl_status st, const char *fmt, ...) FCL_PRINTF(3, 4);
static fcl_status fail(importer *im, fcl_status st, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (im->at)
        fcl_log(FCL_LOG_ERROR, "%s: node %d '%s' (%s): %s", im->path, im->at_index, im->at->name ? im->at->name : "",
                im->at->op_type ? im->at->op_type : "?", msg);
    else
        fcl_log(FCL_LOG_ERROR, "%s: %s", im->path, msg);
    return st;
}

/* ---- names: the value table and the readers of each name ---- */

static size_t hash_of(const char *s)
{
    size_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static int *map_get(const name_map *m, const char *key)
{
    if (!m->cap)
        return NULL;
    for (size_t h = hash_of(key) & (m->cap - 1);; h = (h + 1) & (m->cap - 1)) {
        if (!m->keys[h])
            return NULL;
        if (strcmp(m->keys[h], key) == 0)
            return &m->vals[h];
    }
}

/* key (which must outlive the map) -> val; false when out of memory. */
static bool map_put(name_map *m, const char *key, int val)
{
    if (2 * (m->n + 1) > m->cap) {
        name_map g = {.cap = m->cap ? 2 * m->cap : 1024};
        g.keys = calloc(g.cap, sizeof *g.keys);
        g.vals = calloc(g.cap, sizeof *g.vals);
        if (!g.keys || !g.vals) {
            free(g.keys);
            free(g.vals);
            return false;
        }
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i])
                map_put(&g, m->keys[i], m->vals[i]);
        free(m->keys);
        free(m->vals);
        *m = g;
    }
    size_t h = hash_of(key) & (m->cap - 1);
    while (m->keys[h] && strcmp(m->keys[h], key) != 0)
        h = (h + 1) & (m->cap - 1);
    if (!m->keys[h])
        m->n++;
    m->keys[h] = key;
    m->vals[h] = val;
    return true;
}

static void map_free(name_map *m)
{
    free(m->keys);
    free(m->vals);
    *m = (name_map){0};
}

static value *lookup(const importer *im, const char *name)
{
    const int *at = name ? map_get(&im->by_name, name) : NULL;
    return at ? &im->values[*at] : NULL;
}

/* How many node inputs (and graph outputs) read v. */
static int readers(const importer *im, const value *v)
{
    const int *count = map_get(&im->readers, v->name);
    return count ? *count : 0;
}

/* A new value `name`; a name defined twice is an error (ONNX's single assignment). */
static fcl_status define(importer *im, const char *name, value v, value **out)
{
    if (!name || !*name)
        return fail(im, FCL_ERR_FORMAT, "an output without a name");
    if (lookup(im, name))
        return fail(im, FCL_ERR_FORMAT, "value '%s' is defined twice", name);
    if (im->n_values == im->cap_values) {
        size_t cap = im->cap_values ? 2 * im->cap_values : 256;
        value *grown = realloc(im->values, cap * sizeof *grown);
        if (!grown)
            return FCL_ERR_OUT_OF_HOST_MEMORY;
        im->values = grown;
        im->cap_values = cap;
    }
    v.name = fcl_onnx_strdup(&im->mem, name);
    if (!v.name || !map_put(&im->by_name, v.name, (int)im->n_values))
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    im->values[im->n_values] = v;
    if (out)
        *out = &im->values[im->n_values];
    im->n_values++;
    return FCL_SUCCESS;
}

/* ---- constants ---- */

/* A tensor's name for messages (a Constant's tensor may have none). */
#define TNAME(t) ((t)->name ? (t)->name : "(a Constant's)")

static fcl_status tensor_dims(importer *im, const Onnx__TensorProto *t, value *v)
{
    if (t->n_dims > MAX_DIMS)
        return fail(im, FCL_ERR_FORMAT, "tensor '%s' has %zu dimensions (at most %d)", TNAME(t), t->n_dims, MAX_DIMS);
    uint64_t count = 1;
    for (size_t k = 0; k < t->n_dims; k++) {
        if (t->dims[k] < 0 || (uint64_t)t->dims[k] > MAX_TENSOR)
            return fail(im, FCL_ERR_FORMAT, "tensor '%s' has dimension %" PRId64, TNAME(t), t->dims[k]);
        count *= (uint64_t)t->dims[k];
        if (count > MAX_TENSOR)
            return fail(im, FCL_ERR_FORMAT, "tensor '%s' would hold more than %u values", TNAME(t), MAX_TENSOR);
        v->dims[k] = t->dims[k];
    }
    v->ndims = (int)t->n_dims;
    v->count = (size_t)count;
    return FCL_SUCCESS;
}

/* A TensorProto's data: float or int64, inline (typed field or raw little-endian
 * bytes, copied as they are: little-endian hosts, as for safetensors). */
static fcl_status tensor_value(importer *im, const Onnx__TensorProto *t, value *v)
{
    *v = (value){.kind = V_CONST};
    fcl_status st = tensor_dims(im, t, v);
    if (st != FCL_SUCCESS)
        return st;
    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return fail(im, FCL_ERR_UNSUPPORTED,
                    "tensor '%s' keeps its data in another file (external data): facecl imports self-contained "
                    ".onnx files; save one with onnx.save(model, path, save_as_external_data=False)", TNAME(t));
    const bool is_float = t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
               is_int = t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
    if (!is_float && !is_int) {
        v->what = "its data type is neither float32 nor int64";
        return FCL_SUCCESS; /* an error only where it is used */
    }
    const size_t typed = is_float ? t->n_float_data : t->n_int64_data, size = is_float ? 4 : 8;
    if (t->has_raw_data ? t->raw_data.len != v->count * size : typed != v->count)
        return fail(im, FCL_ERR_FORMAT, "tensor '%s' has %zu values for its %zu elements", TNAME(t),
                    t->has_raw_data ? t->raw_data.len / size : typed, v->count);
    void *data = fcl_onnx_alloc(&im->mem, v->count * size);
    if (!data)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    if (v->count)
        memcpy(data, t->has_raw_data ? (const void *)t->raw_data.data
                                     : is_float ? (const void *)t->float_data : (const void *)t->int64_data,
               v->count * size);
    v->is_int = is_int;
    if (is_float) {
        v->f = data;
        for (size_t k = 0; k < v->count; k++)
            if (!isfinite(v->f[k]))
                return fail(im, FCL_ERR_NUMERIC, "tensor '%s' holds NaN or Inf (value %zu)", TNAME(t), k);
    } else {
        v->i = data;
    }
    return FCL_SUCCESS;
}

/* ---- attributes ---- */

static const Onnx__AttributeProto *attribute(const Onnx__NodeProto *n, const char *name)
{
    for (size_t k = 0; k < n->n_attribute; k++)
        if (n->attribute[k]->name && strcmp(n->attribute[k]->name, name) == 0)
            return n->attribute[k];
    return NULL;
}

static int64_t attr_int(const Onnx__NodeProto *n, const char *name, int64_t fallback)
{
    const Onnx__AttributeProto *a = attribute(n, name);
    return a && a->has_i ? a->i : fallback;
}

static float attr_float(const Onnx__NodeProto *n, const char *name, float fallback)
{
    const Onnx__AttributeProto *a = attribute(n, name);
    return a && a->has_f ? a->f : fallback;
}

/* An ints attribute of at most max values into out; false when absent or longer. */
static bool attr_ints(const Onnx__NodeProto *n, const char *name, int64_t *out, size_t max, size_t *count)
{
    const Onnx__AttributeProto *a = attribute(n, name);
    if (!a || a->n_ints > max)
        return false;
    memcpy(out, a->ints, a->n_ints * sizeof *out);
    *count = a->n_ints;
    return true;
}

/* ---- inputs ---- */

static const char *input_name(const Onnx__NodeProto *n, size_t i)
{
    return i < n->n_input && n->input[i] && n->input[i][0] ? n->input[i] : NULL;
}

/* Input i's value; an error when it is missing (empty) or not defined before this node. */
static fcl_status input(importer *im, const Onnx__NodeProto *n, size_t i, value **v)
{
    const char *name = input_name(n, i);
    *v = NULL;
    if (!name)
        return fail(im, FCL_ERR_FORMAT, "input %zu is missing", i + 1);
    if (!(*v = lookup(im, name)))
        return fail(im, FCL_ERR_FORMAT,
                    "reads '%s', which no earlier node produces: the graph is not in topological order, or has a cycle",
                    name);
    return FCL_SUCCESS;
}

static fcl_status input_kind(importer *im, const Onnx__NodeProto *n, size_t i, vkind kind, const char *what, value **v)
{
    fcl_status st = input(im, n, i, v);
    if (st == FCL_SUCCESS && (*v)->kind != kind)
        return fail(im, FCL_ERR_UNSUPPORTED, "input %zu ('%s') must be %s", i + 1, (*v)->name, what);
    return st;
}

/* Inputs 1 and 2, whatever they are. */
static fcl_status two_inputs(importer *im, const Onnx__NodeProto *n, value **a, value **b)
{
    fcl_status st = input(im, n, 0, a);
    return st != FCL_SUCCESS ? st : input(im, n, 1, b);
}

static fcl_status float_const(importer *im, const Onnx__NodeProto *n, size_t i, value **v)
{
    fcl_status st = input_kind(im, n, i, V_CONST, "a constant (an initializer)", v);
    if (st == FCL_SUCCESS && ((*v)->what || (*v)->is_int))
        return fail(im, FCL_ERR_UNSUPPORTED, "input %zu ('%s') must be float32 data", i + 1, (*v)->name);
    return st;
}

static fcl_status int_const(importer *im, const Onnx__NodeProto *n, size_t i, value **v)
{
    fcl_status st = input(im, n, i, v);
    if (st == FCL_SUCCESS && ((*v)->kind != V_CONST || (*v)->what || !(*v)->is_int))
        return fail(im, FCL_ERR_UNSUPPORTED, "input %zu ('%s') must be constant int64 data", i + 1, (*v)->name);
    return st;
}

static fcl_status scalar(importer *im, const Onnx__NodeProto *n, size_t i, float *out)
{
    value *v;
    fcl_status st = float_const(im, n, i, &v);
    if (st == FCL_SUCCESS && v->count != 1)
        return fail(im, FCL_ERR_UNSUPPORTED, "input %zu ('%s') must be one number, not %zu", i + 1, v->name, v->count);
    if (st == FCL_SUCCESS)
        *out = v->f[0];
    return st;
}

static fcl_node *new_node(importer *im, fcl_op op, const Onnx__NodeProto *n, const char *weight, const int *inputs,
                          int n_inputs);
static fcl_status infer(importer *im, fcl_node *nd);

/* A unit-normalised tensor that no cosine layer took: an l2norm node, which every
 * reader of the value then reads. */
static fcl_status unit_as_l2norm(importer *im, value *v)
{
    fcl_node *nd = new_node(im, FCL_OP_L2NORM, v->origin, NULL, &v->node, 1);
    if (!nd)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    fcl_status st = infer(im, nd);
    v->kind = V_ACT;
    v->node = im->n_nodes - 1;
    return st;
}

static fcl_status activation(importer *im, const Onnx__NodeProto *n, size_t i, value **v)
{
    fcl_status st = input(im, n, i, v);
    if (st != FCL_SUCCESS)
        return st;
    if ((*v)->kind == V_PIXELS) { /* the first layer to read the input fixes its transform */
        if (im->input_used && ((*v)->mean != im->pixel_mean || (*v)->std != im->pixel_std))
            return fail(im, FCL_ERR_UNSUPPORTED, "the input is read with two different pixel transforms");
        im->input_used = true;
        im->pixel_mean = (*v)->mean, im->pixel_std = (*v)->std;
        im->input_act = (value){.name = (*v)->name, .kind = V_ACT, .node = 0, .rank = 4};
        *v = &im->input_act;
    }
    if ((*v)->kind == V_UNIT && (st = unit_as_l2norm(im, *v)) != FCL_SUCCESS)
        return st;
    if ((*v)->kind != V_ACT)
        return fail(im, FCL_ERR_UNSUPPORTED,
                    "input %zu ('%s') must be the output of a layer facecl runs (facecl knows it as part of a %s)",
                    i + 1, (*v)->name, (*v)->kind == V_CONST ? "constant" : "pattern");
    if ((*v)->permuted && strcmp(n->op_type, "Gemm") != 0 && strcmp(n->op_type, "MatMul") != 0)
        return fail(im, FCL_ERR_UNSUPPORTED, "input %zu ('%s') is a transposed tensor flattened: facecl takes it "
                    "only into a fully connected layer (Gemm, MatMul), whose weights it reorders", i + 1, (*v)->name);
    return FCL_SUCCESS;
}

/* The single output a facecl translation defines. */
static fcl_status define_output(importer *im, const Onnx__NodeProto *n, value v)
{
    if (n->n_output < 1)
        return fail(im, FCL_ERR_FORMAT, "no output");
    for (size_t k = 1; k < n->n_output; k++)
        if (n->output[k] && n->output[k][0]) {
            /* a second output (MaxPool's indices, Dropout's mask, BatchNormalization's
             * training statistics) is fine as long as nothing reads it */
            value extra = {.kind = V_CONST, .what = "an output facecl does not compute"};
            fcl_status st = define(im, n->output[k], extra, NULL);
            if (st != FCL_SUCCESS)
                return st;
        }
    return define(im, n->output[0], v, NULL);
}

/* ---- facecl nodes ---- */

/* A name for a facecl node from what the exporter called it: a weight "X.weight" gives
 * X (PyTorch's state-dict keys); "/a/b.c/Conv" (PyTorch's scopes) gives a.b.c;
 * otherwise the node's own name, or its output's; then made valid and unique. */
static void choose_name(importer *im, const Onnx__NodeProto *n, const char *weight, int self, char *out)
{
    char raw[256] = "";
    const size_t wlen = weight ? strlen(weight) : 0;
    if (wlen > 7 && strcmp(weight + wlen - 7, ".weight") == 0 && strchr(weight, ':') == NULL) {
        snprintf(raw, sizeof raw, "%.*s", (int)(wlen - 7), weight);
    } else if (n->name && n->name[0] == '/') {
        snprintf(raw, sizeof raw, "%s", n->name + 1);
        char *last = strrchr(raw, '/');
        if (last && strncmp(last + 1, n->op_type, strlen(n->op_type)) == 0)
            *last = '\0';
        for (char *c = raw; *c; c++)
            *c = *c == '/' ? '.' : *c;
    } else if (n->name && n->name[0]) {
        snprintf(raw, sizeof raw, "%s", n->name);
    } else if (n->n_output && n->output[0]) {
        snprintf(raw, sizeof raw, "%s", n->output[0]);
    }
    char base[FCL_NAME_MAX - 24];
    size_t len = 0;
    for (const char *c = raw; *c && len + 1 < sizeof base; c++)
        base[len++] = isalnum((unsigned char)*c) || strchr("_-/.", *c) ? *c : '_';
    base[len] = '\0';
    if (!len || strcmp(base, "input") == 0)
        snprintf(base, sizeof base, "%s%d", len ? "input_" : "layer", im->n_nodes);
    snprintf(out, FCL_NAME_MAX, "%s", base);
    for (int k = 2;; k++) {
        const int *taken = map_get(&im->layer_names, out);
        if (!taken || *taken == self)
            break;
        snprintf(out, FCL_NAME_MAX, "%s.%d", base, k);
    }
    const char *key = fcl_onnx_strdup(&im->mem, out); /* the nodes move as they grow: the map keeps a copy */
    if (!key || !map_put(&im->layer_names, key, self >= 0 ? self : im->n_nodes))
        im->mem.failed = true;
}

/* A new facecl node of op over the given facecl inputs, with facecl's defaults. */
static fcl_node *new_node(importer *im, fcl_op op, const Onnx__NodeProto *n, const char *weight, const int *inputs,
                          int n_inputs)
{
    if (im->n_nodes == im->cap_nodes) {
        int cap = im->cap_nodes ? 2 * im->cap_nodes : 64;
        fcl_node *grown = realloc(im->nodes, (size_t)cap * sizeof *grown);
        float *(*pgrown)[FCL_MAX_PARAMS] = realloc(im->node_params, (size_t)cap * sizeof *pgrown);
        if (grown)
            im->nodes = grown;
        if (pgrown)
            im->node_params = pgrown;
        if (!grown || !pgrown)
            return NULL;
        im->cap_nodes = cap;
    }
    fcl_node *nd = &im->nodes[im->n_nodes];
    memset(nd, 0, sizeof *nd);
    memset(im->node_params[im->n_nodes], 0, sizeof im->node_params[im->n_nodes]);
    if (n)
        choose_name(im, n, weight, -1, nd->name);
    if (im->mem.failed)
        return NULL;
    im->n_nodes++;
    nd->op = op;
    nd->sh = nd->sw = 1;
    nd->groups = 1;
    nd->scale = 1.0f;
    nd->size = 5, nd->alpha = 1e-4f, nd->beta = 0.75f, nd->k = 1.0f;
    nd->eps = 1e-5f, nd->momentum = 0.1f;
    nd->n_inputs = n_inputs;
    for (int j = 0; j < n_inputs; j++)
        nd->inputs[j] = inputs[j];
    return nd;
}

/* Shapes from the inputs, through facecl's own op table (the checks the model parser makes). */
static fcl_status infer(importer *im, fcl_node *nd)
{
    for (int j = 0; j < nd->n_inputs; j++)
        nd->ins[j] = im->nodes[nd->inputs[j]].out;
    nd->in = nd->ins[0];
    char why[256] = "";
    fcl_status st = fcl_ops[nd->op]->infer(nd, why, sizeof why);
    if (st != FCL_SUCCESS)
        return fail(im, st, "as facecl %s '%s': %s", fcl_ops[nd->op]->name, nd->name, why[0] ? why : "shapes do not fit");
    return FCL_SUCCESS;
}

/* Defines the node's output as the last facecl node's, at rank. */
static fcl_status node_output(importer *im, const Onnx__NodeProto *n, int rank)
{
    return define_output(im, n, (value){.kind = V_ACT, .node = im->n_nodes - 1, .rank = rank});
}

/* Parameter tensor k of the newest node: `count` floats, checked against what facecl's op wants. */
static fcl_status set_param(importer *im, int k, float *data, size_t count, const char *from)
{
    fcl_node *nd = &im->nodes[im->n_nodes - 1];
    fcl_param_desc d[FCL_MAX_PARAMS];
    int np = fcl_ops[nd->op]->params(nd, d);
    if (k >= np || d[k].count != count)
        return fail(im, FCL_ERR_SHAPE, "'%s' holds %zu values where facecl's %s '%s' takes %zu for its %s", from,
                    count, fcl_ops[nd->op]->name, nd->name, k < np ? d[k].count : 0, k < np ? d[k].suffix : "?");
    im->node_params[im->n_nodes - 1][k] = data;
    return FCL_SUCCESS;
}

/* ---- handlers: one per op_type ---- */
typedef fcl_status (*handler_fn)(importer *im, const Onnx__NodeProto *n);

static fcl_status alias(importer *im, const Onnx__NodeProto *n)
{
    value *v;
    fcl_status st = input(im, n, 0, &v);
    return st != FCL_SUCCESS ? st : define_output(im, n, *v);
}

static fcl_status constant_op(importer *im, const Onnx__NodeProto *n)
{
    const Onnx__AttributeProto *a = attribute(n, "value");
    value v = {.kind = V_CONST};
    if (a && a->t) {
        fcl_status st = tensor_value(im, a->t, &v);
        if (st != FCL_SUCCESS)
            return st;
    } else if ((a = attribute(n, "value_float")) && a->has_f) {
        v.f = fcl_onnx_alloc(&im->mem, sizeof *v.f);
        if (!v.f)
            return FCL_ERR_OUT_OF_HOST_MEMORY;
        v.f[0] = a->f, v.count = 1;
    } else if ((a = attribute(n, "value_int")) && a->has_i) {
        v.i = fcl_onnx_alloc(&im->mem, sizeof *v.i);
        if (!v.i)
            return FCL_ERR_OUT_OF_HOST_MEMORY;
        v.i[0] = a->i, v.count = 1, v.is_int = true;
    } else if ((a = attribute(n, "value_ints"))) {
        v.i = fcl_onnx_alloc(&im->mem, (a->n_ints + 1) * sizeof *v.i);
        if (!v.i)
            return FCL_ERR_OUT_OF_HOST_MEMORY;
        memcpy(v.i, a->ints, a->n_ints * sizeof *v.i);
        v.count = a->n_ints, v.is_int = true, v.ndims = 1, v.dims[0] = (int64_t)a->n_ints;
    } else {
        return fail(im, FCL_ERR_UNSUPPORTED, "a Constant facecl can read holds a tensor, value_float, value_int or value_ints");
    }
    return define_output(im, n, v);
}

/* Shape(x): (BATCH, C, H, W) of an activation (or BATCH, F after a flatten). */
static fcl_status shape_op(importer *im, const Onnx__NodeProto *n)
{
    value *x;
    fcl_status st = input(im, n, 0, &x);
    if (st != FCL_SUCCESS)
        return st;
    if (x->kind != V_ACT && x->kind != V_PIXELS && x->kind != V_PERMUTED)
        return fail(im, FCL_ERR_UNSUPPORTED, "Shape of '%s', which is no layer output", x->name);
    const fcl_shape s = x->kind == V_PIXELS ? im->nodes[0].out : im->nodes[x->node].out;
    const int rank = x->kind == V_PIXELS ? 4 : x->rank;
    value v = {.kind = V_CONST, .is_int = true, .ndims = 1, .count = (size_t)rank};
    v.dims[0] = rank;
    if (!(v.i = fcl_onnx_alloc(&im->mem, 4 * sizeof *v.i)))
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    v.i[0] = BATCH;
    v.i[1] = rank == 4 ? s.c : fcl_shape_size(s);
    v.i[2] = s.h, v.i[3] = s.w;
    if (x->kind == V_PERMUTED) { /* the transposed sizes */
        const int64_t size[3] = {s.c, s.h, s.w};
        for (int k = 0; k < 3; k++)
            v.i[k + 1] = size[x->perm[k]];
    }
    int64_t start = attr_int(n, "start", 0), end = attr_int(n, "end", rank);
    start = start < 0 ? start + rank : start, end = end < 0 ? end + rank : end;
    start = start < 0 ? 0 : start > rank ? rank : start, end = end < start ? start : end > rank ? rank : end;
    memmove(v.i, v.i + start, (size_t)(end - start) * sizeof *v.i);
    v.count = (size_t)(end - start), v.dims[0] = end - start;
    return define_output(im, n, v);
}

/* Gather, Unsqueeze, Squeeze, Concat and Cast on int64 constants and shapes: the
 * arithmetic around a dynamic batch's Reshape. */
static fcl_status gather_op(importer *im, const Onnx__NodeProto *n)
{
    value *data, *idx;
    fcl_status st = int_const(im, n, 0, &data);
    if (st == FCL_SUCCESS)
        st = int_const(im, n, 1, &idx);
    if (st != FCL_SUCCESS)
        return st;
    if (attr_int(n, "axis", 0) != 0 || data->ndims != 1)
        return fail(im, FCL_ERR_UNSUPPORTED, "facecl gathers from one-dimensional shapes only");
    value v = {.kind = V_CONST, .is_int = true, .count = idx->count, .ndims = idx->ndims};
    memcpy(v.dims, idx->dims, sizeof v.dims);
    if (!(v.i = fcl_onnx_alloc(&im->mem, (idx->count + 1) * sizeof *v.i)))
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    for (size_t k = 0; k < idx->count; k++) {
        int64_t j = idx->i[k] < 0 ? idx->i[k] + (int64_t)data->count : idx->i[k];
        if (j < 0 || j >= (int64_t)data->count)
            return fail(im, FCL_ERR_FORMAT, "index %" PRId64 " outside the %zu values of '%s'", idx->i[k],
                        data->count, data->name);
        v.i[k] = data->i[j];
    }
    return define_output(im, n, v);
}

/* The axes of a Squeeze, Unsqueeze or reduction: an attribute, or input 1 from opset 13 (18 for reductions). */
static fcl_status axes_of(importer *im, const Onnx__NodeProto *n, int64_t *axes, size_t *count)
{
    if (attr_ints(n, "axes", axes, 8, count))
        return FCL_SUCCESS;
    *count = 0;
    if (!input_name(n, 1))
        return FCL_SUCCESS;
    value *v;
    fcl_status st = int_const(im, n, 1, &v);
    if (st == FCL_SUCCESS && v->count > 8)
        return fail(im, FCL_ERR_UNSUPPORTED, "%zu axes", v->count);
    if (st == FCL_SUCCESS)
        memcpy(axes, v->i, v->count * sizeof *axes), *count = v->count;
    return st;
}

/* Unsqueeze and Squeeze of an activation: only of trailing 1 x 1 dimensions, (N, C) <-> (N, C, 1, 1). */
static fcl_status squeeze_act(importer *im, const Onnx__NodeProto *n, value *x)
{
    int64_t axes[8];
    size_t count;
    fcl_status st = axes_of(im, n, axes, &count);
    if (st != FCL_SUCCESS)
        return st;
    const bool unsqueeze = strcmp(n->op_type, "Unsqueeze") == 0;
    const fcl_shape s = im->nodes[x->node].out;
    const int rank = unsqueeze ? x->rank + (int)count : x->rank - (int)count;
    bool trailing = count > 0 && rank >= 2 && rank <= 4 && fcl_shape_size(s) == s.c;
    for (size_t k = 0; trailing && k < count; k++) {
        const int64_t a = axes[k] < 0 ? axes[k] + (unsqueeze ? rank : x->rank) : axes[k];
        trailing = a >= 2 && a < (unsqueeze ? rank : x->rank);
    }
    if (!trailing)
        return fail(im, FCL_ERR_UNSUPPORTED, "facecl %s only trailing 1 x 1 dimensions of a C x 1 x 1 tensor",
                    unsqueeze ? "adds" : "removes");
    value v = *x;
    v.rank = rank;
    return define_output(im, n, v);
}

static fcl_status reshape_ints(importer *im, const Onnx__NodeProto *n)
{
    value *data;
    fcl_status st = input(im, n, 0, &data);
    if (st == FCL_SUCCESS && (data->kind == V_ACT || data->kind == V_PIXELS) && strcmp(n->op_type, "Reshape") != 0) {
        if ((st = activation(im, n, 0, &data)) != FCL_SUCCESS)
            return st;
        return squeeze_act(im, n, data);
    }
    if (st == FCL_SUCCESS)
        st = int_const(im, n, 0, &data);
    if (st != FCL_SUCCESS)
        return st;
    value v = *data;
    v.name = NULL;
    v.ndims = 1, v.dims[0] = (int64_t)v.count; /* as one dimension: all that shape arithmetic needs */
    if (strcmp(n->op_type, "Squeeze") == 0 && v.count == 1)
        v.ndims = 0;
    return define_output(im, n, v);
}

static fcl_status concat_ints(importer *im, const Onnx__NodeProto *n)
{
    size_t total = 0;
    for (size_t k = 0; k < n->n_input; k++) {
        value *p;
        fcl_status st = int_const(im, n, k, &p);
        if (st != FCL_SUCCESS)
            return st;
        total += p->count;
    }
    value v = {.kind = V_CONST, .is_int = true, .count = total, .ndims = 1};
    v.dims[0] = (int64_t)total;
    if (!(v.i = fcl_onnx_alloc(&im->mem, (total + 1) * sizeof *v.i)))
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    for (size_t k = 0, at = 0; k < n->n_input; k++) {
        const value *p = lookup(im, n->input[k]);
        memcpy(v.i + at, p->i, p->count * sizeof *v.i);
        at += p->count;
    }
    return define_output(im, n, v);
}

/* Cast: int64 <-> int64 and float <-> float change nothing facecl sees. */
static fcl_status cast_op(importer *im, const Onnx__NodeProto *n)
{
    value *x;
    fcl_status st = input(im, n, 0, &x);
    if (st != FCL_SUCCESS)
        return st;
    const int64_t to = attr_int(n, "to", 0);
    const bool same = x->kind == V_CONST ? (x->is_int ? to == ONNX__TENSOR_PROTO__DATA_TYPE__INT64
                                                      : to == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
                                         : to == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    if (!same)
        return fail(im, FCL_ERR_UNSUPPORTED, "a Cast to data type %" PRId64 ": facecl computes in float32", to);
    return define_output(im, n, *x);
}

static fcl_status concat_op(importer *im, const Onnx__NodeProto *n)
{
    value *first;
    fcl_status st = input(im, n, 0, &first);
    if (st != FCL_SUCCESS)
        return st;
    if (first->kind == V_CONST)
        return concat_ints(im, n);
    if (n->n_input > FCL_MAX_INPUTS)
        return fail(im, FCL_ERR_UNSUPPORTED, "a Concat of %zu inputs: facecl's concat takes at most %d", n->n_input,
                    FCL_MAX_INPUTS);
    int inputs[FCL_MAX_INPUTS], rank = 0;
    for (size_t k = 0; k < n->n_input; k++) {
        value *v;
        if ((st = activation(im, n, k, &v)) != FCL_SUCCESS)
            return st;
        inputs[k] = v->node;
        if (k && v->rank != rank)
            return fail(im, FCL_ERR_UNSUPPORTED, "a Concat of tensors of different ranks");
        rank = v->rank;
    }
    const int64_t axis = attr_int(n, "axis", 1);
    if (axis != 1 && axis != 1 - rank)
        return fail(im, FCL_ERR_UNSUPPORTED, "a Concat along axis %" PRId64 ": facecl concatenates channels (axis 1)", axis);
    fcl_node *nd = new_node(im, FCL_OP_CONCAT, n, NULL, inputs, (int)n->n_input);
    if (!nd)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    if (rank == 2)
        for (size_t k = 0; k < n->n_input; k++)
            if (fcl_shape_size(im->nodes[inputs[k]].out) != im->nodes[inputs[k]].out.c)
                return fail(im, FCL_ERR_UNSUPPORTED, "a Concat of flattened C x H x W tensors");
    if ((st = infer(im, nd)) != FCL_SUCCESS)
        return st;
    return node_output(im, n, rank);
}

/* The symmetric padding and the window of Conv and the pools. */
static fcl_status window(importer *im, const Onnx__NodeProto *n, fcl_node *nd, int kh, int kw)
{
    int64_t v[8];
    size_t count;
    const Onnx__AttributeProto *ap = attribute(n, "auto_pad");
    if (ap && ap->has_s && !(ap->s.len == 6 && memcmp(ap->s.data, "NOTSET", 6) == 0) &&
        !(ap->s.len == 5 && memcmp(ap->s.data, "VALID", 5) == 0))
        return fail(im, FCL_ERR_UNSUPPORTED, "auto_pad %.*s: facecl takes explicit pads (export with auto_pad NOTSET)",
                    (int)ap->s.len, (const char *)ap->s.data);
    if (attr_ints(n, "kernel_shape", v, 8, &count)) {
        if (count != 2)
            return fail(im, FCL_ERR_UNSUPPORTED, "a %zu-d window: facecl's are 2-d", count);
        kh = (int)v[0], kw = (int)v[1];
    }
    if (kh < 1 || kw < 1 || kh > 64 || kw > 64)
        return fail(im, FCL_ERR_UNSUPPORTED, "a %dx%d window (facecl: 1 to 64)", kh, kw);
    nd->kh = kh, nd->kw = kw;
    if (attr_ints(n, "strides", v, 8, &count)) {
        if (count != 2 || v[0] < 1 || v[1] < 1 || v[0] > 64 || v[1] > 64)
            return fail(im, FCL_ERR_UNSUPPORTED, "strides must be two numbers from 1 to 64");
        nd->sh = (int)v[0], nd->sw = (int)v[1];
    }
    if (attr_ints(n, "pads", v, 8, &count)) {
        if (count != 4 || v[0] != v[2] || v[1] != v[3] || v[0] < 0 || v[1] < 0 || v[0] > 63 || v[1] > 63)
            return fail(im, FCL_ERR_UNSUPPORTED, "pads must be symmetric (top = bottom, left = right) and 0 to 63");
        nd->ph = (int)v[0], nd->pw = (int)v[1];
    }
    if (attr_ints(n, "dilations", v, 8, &count))
        for (size_t k = 0; k < count; k++)
            if (v[k] != 1)
                return fail(im, FCL_ERR_UNSUPPORTED, "dilation %" PRId64 ": facecl's windows are dense", v[k]);
    return FCL_SUCCESS;
}

static fcl_status conv_op(importer *im, const Onnx__NodeProto *n)
{
    value *x, *w, *b = NULL;
    fcl_status st = activation(im, n, 0, &x);
    if (st == FCL_SUCCESS)
        st = float_const(im, n, 1, &w);
    if (st == FCL_SUCCESS && input_name(n, 2))
        st = float_const(im, n, 2, &b);
    if (st != FCL_SUCCESS)
        return st;
    if (x->rank != 4 || w->ndims != 4)
        return fail(im, FCL_ERR_UNSUPPORTED, "facecl convolves N x C x H x W inputs with O x I x KH x KW weights");
    fcl_node *nd = new_node(im, FCL_OP_CONV, n, w->name, &x->node, 1);
    if (!nd)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    nd->channels = (int)w->dims[0];
    nd->groups = (int)attr_int(n, "group", 1);
    nd->bias = b != NULL;
    if ((st = window(im, n, nd, (int)w->dims[2], (int)w->dims[3])) != FCL_SUCCESS)
        return st;
    if (nd->kh != w->dims[2] || nd->kw != w->dims[3])
        return fail(im, FCL_ERR_SHAPE, "kernel_shape differs from the weight's");
    if (nd->groups < 1 || nd->channels < 1)
        return fail(im, FCL_ERR_FORMAT, "group %d and %d output channels", nd->groups, nd->channels);
    if ((st = infer(im, nd)) != FCL_SUCCESS || (st = set_param(im, 0, w->f, w->count, w->name)) != FCL_SUCCESS)
        return st;
    if (b && (st = set_param(im, 1, b->f, b->count, b->name)) != FCL_SUCCESS)
        return st;
    return node_output(im, n, 4);
}

/* MaxPool, AveragePool, LpPool and their Global forms; an AveragePool of squares is an L2 pool's middle. */
static fcl_status pool_op(importer *im, const Onnx__NodeProto *n)
{
    static const struct {
        const char *op_type;
        fcl_op op;
        bool global;
    } pools[] = {
        {"MaxPool", FCL_OP_MAXPOOL, false},          {"AveragePool", FCL_OP_AVGPOOL, false},
        {"LpPool", FCL_OP_L2POOL, false},            {"GlobalMaxPool", FCL_OP_MAXPOOL, true},
        {"GlobalAveragePool", FCL_OP_AVGPOOL, true}, {"GlobalLpPool", FCL_OP_L2POOL, true},
    };
    size_t kind = 0;
    while (strcmp(pools[kind].op_type, n->op_type) != 0)
        kind++;
    value *x;
    fcl_status st = input(im, n, 0, &x);
    if (st != FCL_SUCCESS)
        return st;
    const bool squares = x->kind == V_SQUARE && pools[kind].op == FCL_OP_AVGPOOL;
    if (!squares && (st = activation(im, n, 0, &x)) != FCL_SUCCESS)
        return st;
    if (!squares && x->rank != 4)
        return fail(im, FCL_ERR_UNSUPPORTED, "facecl pools N x C x H x W tensors");
    if (pools[kind].op == FCL_OP_L2POOL && attr_int(n, "p", 2) != 2)
        return fail(im, FCL_ERR_UNSUPPORTED, "an Lp pool with p = %" PRId64 ": facecl's is the L2 pool", attr_int(n, "p", 2));
    if (attr_int(n, "storage_order", 0) != 0)
        return fail(im, FCL_ERR_UNSUPPORTED, "storage_order 1");
    fcl_node *nd = new_node(im, pools[kind].op, n, NULL, &x->node, 1);
    if (!nd)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    const fcl_shape in = im->nodes[x->node].out;
    if (pools[kind].global)
        nd->kh = in.h, nd->kw = in.w;
    else if ((st = window(im, n, nd, 0, 0)) != FCL_SUCCESS)
        return st;
    if (!pools[kind].global && !attribute(n, "kernel_shape"))
        return fail(im, FCL_ERR_FORMAT, "no kernel_shape");
    const bool pads = nd->ph || nd->pw;
    const int64_t include_pad = attr_int(n, "count_include_pad", 0);
    if (squares) { /* sum over the window = average x window size, padding included */
        if (pads && !include_pad)
            return fail(im, FCL_ERR_UNSUPPORTED, "an average of squares over padding left out: no L2 pool");
        nd->op = FCL_OP_L2POOL;
        nd->ph += x->pad_h, nd->pw += x->pad_w; /* an explicit Pad's zeros before it */
    } else if (pools[kind].op == FCL_OP_AVGPOOL && pads && include_pad) {
        return fail(im, FCL_ERR_UNSUPPORTED,
                    "count_include_pad=1 with padding: facecl's average leaves the padding out (count_include_pad=0)");
    }
    nd->ceil_mode = attr_int(n, "ceil_mode", 0) != 0;
    if (nd->ceil_mode && nd->op == FCL_OP_AVGPOOL && (pads || include_pad))
        return fail(im, FCL_ERR_UNSUPPORTED, "ceil_mode=1 with padding: facecl's ceil-rounded average is over the "
                    "input's elements only");
    if ((st = infer(im, nd)) != FCL_SUCCESS)
        return st;
    if (squares) {
        /* waits for a Mul by the window size (the average made a sum) and its Sqrt */
        return define_output(im, n, (value){.kind = V_SQPOOL, .node = im->n_nodes - 1, .scale = 1.0f});
    }
    return node_output(im, n, 4);
}

static fcl_status lrn_op(importer *im, const Onnx__NodeProto *n)
{
    value *x;
    fcl_status st = activation(im, n, 0, &x);
    if (st != FCL_SUCCESS)
        return st;
    const int64_t size = attr_int(n, "size", 0);
    if (size < 1 || size > 63 || size % 2 == 0)
        return fail(im, FCL_ERR_UNSUPPORTED, "an LRN of size %" PRId64 ": facecl's windows are odd, 1 to 63", size);
    fcl_node *nd = new_node(im, FCL_OP_LRN, n, NULL, &x->node, 1);
    if (!nd)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    nd->size = (int)size;
    nd->alpha = attr_float(n, "alpha", 1e-4f);
    nd->beta = attr_float(n, "beta", 0.75f);
    nd->k = attr_float(n, "bias", 1.0f);
    return (st = infer(im, nd)) != FCL_SUCCESS ? st : node_output(im, n, x->rank);
}

/* Gemm (A x B^T + C, or A x B + C) and MatMul by a constant: facecl's fc. */
static fcl_status linear(importer *im, const Onnx__NodeProto *n, value *x, value *w, bool transposed, value *b)
{
    if (w->ndims != 2)
        return fail(im, FCL_ERR_UNSUPPORTED, "weight '%s' must be a matrix", w->name);
    const int64_t out = transposed ? w->dims[0] : w->dims[1], in = transposed ? w->dims[1] : w->dims[0];
    fcl_node *nd = new_node(im, FCL_OP_FC, n, w->name, &x->node, 1);
    if (!nd)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    nd->channels = (int)out;
    nd->bias = b != NULL;
    fcl_status st = infer(im, nd);
    if (st != FCL_SUCCESS)
        return st;
    if (in != fcl_shape_size(nd->in))
        return fail(im, FCL_ERR_SHAPE, "weight '%s' takes %" PRId64 " inputs, its input has %d", w->name, in,
                    fcl_shape_size(nd->in));
    float *wt = w->f;
    if (!transposed || x->permuted) { /* facecl keeps [out, in], in C, H, W order */
        if (!(wt = fcl_onnx_alloc(&im->mem, w->count * sizeof *wt)))
            return FCL_ERR_OUT_OF_HOST_MEMORY;
        const fcl_shape s = nd->in;
        const int size[3] = {s.c, s.h, s.w};
        const int *p = x->permuted ? x->perm : (const int[3]){0, 1, 2};
        for (int c = 0; c < s.c; c++)
            for (int h = 0; h < s.h; h++)
                for (int q = 0; q < s.w; q++) {
                    const int at[3] = {c, h, q};
                    const int64_t mine = ((int64_t)c * s.h + h) * s.w + q, /* facecl's feature index */
                        theirs = ((int64_t)at[p[0]] * size[p[1]] + at[p[1]]) * size[p[2]] + at[p[2]];
                    for (int64_t o = 0; o < out; o++)
                        wt[o * in + mine] = transposed ? w->f[o * in + theirs] : w->f[theirs * out + o];
                }
    }
    if ((st = set_param(im, 0, wt, w->count, w->name)) != FCL_SUCCESS)
        return st;
    if (b && (st = set_param(im, 1, b->f, b->count, b->name)) != FCL_SUCCESS)
        return st;
    return node_output(im, n, 2);
}

/* Gemm(x / ||x||, W / ||W rows||, transB): facecl's cosine layer. */
static fcl_status cosine_gemm(importer *im, const Onnx__NodeProto *n, value *x, value *w)
{
    const value *m = &im->values[w->matrix];
    if (!attr_int(n, "transB", 0) || input_name(n, 2) || attr_int(n, "transA", 0) || attr_float(n, "alpha", 1) != 1)
        return fail(im, FCL_ERR_UNSUPPORTED, "a Gemm of unit vectors facecl runs is its cosine layer: x W^T, no bias");
    fcl_node *nd = new_node(im, FCL_OP_COSINE, n, m->name, &x->node, 1);
    if (!nd)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    nd->channels = (int)m->dims[0];
    fcl_status st = infer(im, nd);
    if (st == FCL_SUCCESS && m->dims[1] != fcl_shape_size(nd->in))
        return fail(im, FCL_ERR_SHAPE, "weight '%s' takes %" PRId64 " inputs, its input has %d", m->name, m->dims[1],
                    fcl_shape_size(nd->in));
    if (st == FCL_SUCCESS)
        st = set_param(im, 0, m->f, m->count, m->name);
    return st != FCL_SUCCESS ? st : node_output(im, n, 2);
}

static fcl_status gemm_op(importer *im, const Onnx__NodeProto *n)
{
    value *x, *w, *b = NULL;
    fcl_status st = input(im, n, 0, &x);
    if (st == FCL_SUCCESS && x->kind == V_UNIT && (st = input(im, n, 1, &w)) == FCL_SUCCESS && w->kind == V_UNITW)
        return cosine_gemm(im, n, x, w);
    if (st == FCL_SUCCESS)
        st = activation(im, n, 0, &x);
    if (st == FCL_SUCCESS)
        st = float_const(im, n, 1, &w);
    if (st == FCL_SUCCESS && input_name(n, 2))
        st = float_const(im, n, 2, &b);
    if (st != FCL_SUCCESS)
        return st;
    if (attr_int(n, "transA", 0) || attr_float(n, "alpha", 1.0f) != 1.0f || (b && attr_float(n, "beta", 1.0f) != 1.0f))
        return fail(im, FCL_ERR_UNSUPPORTED, "a Gemm with transA, alpha or beta: facecl's fc is x W^T + b");
    return linear(im, n, x, w, attr_int(n, "transB", 0) != 0, b);
}

static fcl_status matmul_op(importer *im, const Onnx__NodeProto *n)
{
    value *x, *w;
    fcl_status st = activation(im, n, 0, &x);
    if (st == FCL_SUCCESS)
        st = float_const(im, n, 1, &w);
    return st != FCL_SUCCESS ? st : linear(im, n, x, w, false, NULL);
}

/* A transposed tensor flattened: an activation whose features are in another order. */
static fcl_status flatten_permuted(importer *im, const Onnx__NodeProto *n, const value *x)
{
    value v = *x;
    v.name = NULL;
    v.kind = V_ACT;
    v.rank = 2;
    v.permuted = true;
    return define_output(im, n, v);
}

static fcl_status flatten_op(importer *im, const Onnx__NodeProto *n)
{
    value *x;
    fcl_status st = input(im, n, 0, &x);
    if (st == FCL_SUCCESS && x->kind == V_PERMUTED && attr_int(n, "axis", 1) == 1)
        return flatten_permuted(im, n, x);
    if (st == FCL_SUCCESS)
        st = activation(im, n, 0, &x);
    if (st != FCL_SUCCESS)
        return st;
    if (attr_int(n, "axis", 1) != 1)
        return fail(im, FCL_ERR_UNSUPPORTED, "a Flatten at axis %" PRId64 ": facecl flattens all but the batch", attr_int(n, "axis", 1));
    value v = *x;
    v.rank = 2;
    return define_output(im, n, v);
}

/* Reshape: a flatten (N, C*H*W), back to (N, C, 1, 1), or maxout's groups (N, C/g, g, ...). */
static fcl_status reshape_op(importer *im, const Onnx__NodeProto *n)
{
    value *x, *shape;
    fcl_status st = input(im, n, 0, &x);
    if (st == FCL_SUCCESS && x->kind == V_CONST)
        return reshape_ints(im, n);
    const bool permuted = st == FCL_SUCCESS && x->kind == V_PERMUTED;
    if (st == FCL_SUCCESS && !permuted)
        st = activation(im, n, 0, &x);
    if (st == FCL_SUCCESS)
        st = int_const(im, n, 1, &shape);
    if (st != FCL_SUCCESS)
        return st;
    const fcl_shape s = im->nodes[x->node].out;
    const int64_t size = fcl_shape_size(s), in_dims[4] = {BATCH, x->rank == 4 ? s.c : size, s.h, s.w};
    int64_t t[MAX_DIMS];
    if (shape->count < 2 || shape->count > 5)
        return fail(im, FCL_ERR_UNSUPPORTED, "a Reshape to %zu dimensions", shape->count);
    int64_t known = 1;
    int infer_at = -1;
    for (size_t k = 0; k < shape->count; k++) {
        t[k] = shape->i[k];
        if (t[k] == 0 && k < (size_t)x->rank && !attr_int(n, "allowzero", 0))
            t[k] = in_dims[k];
        if (k == 0 && im->fixed_batch && t[k] == im->fixed_batch)
            t[k] = BATCH;
        if (k == 0 && t[k] == BATCH)
            continue;
        if (t[k] == -1 && infer_at < 0)
            infer_at = (int)k;
        else if (t[k] < 1)
            return fail(im, FCL_ERR_UNSUPPORTED, "a Reshape target [%zu values] facecl cannot follow", shape->count);
        else
            known *= t[k];
    }
    if (t[0] != BATCH && !(t[0] == -1 && infer_at == 0))
        return fail(im, FCL_ERR_UNSUPPORTED, "a Reshape that changes the batch dimension");
    if (infer_at > 0) {
        if (size % known)
            return fail(im, FCL_ERR_SHAPE, "a Reshape of %" PRId64 " values per image to a multiple of %" PRId64, size, known);
        t[infer_at] = size / known;
        known = size;
    }
    if (infer_at == 0)
        known = size;
    if (known != size)
        return fail(im, FCL_ERR_SHAPE, "a Reshape of %" PRId64 " values per image to %" PRId64, size, known);
    if (permuted && shape->count != 2)
        return fail(im, FCL_ERR_UNSUPPORTED, "a transposed tensor reshaped other than flat (N, -1)");
    if (permuted)
        return flatten_permuted(im, n, x);
    value v = *x;
    v.name = NULL;
    if (shape->count == 2) { /* a flatten */
        v.rank = 2;
    } else if (shape->count == 4 && t[2] == s.h && t[3] == s.w && t[1] == (x->rank == 4 ? s.c : size)) {
        v.rank = 4; /* no change, or a rank-2 C back at (C, 1, 1) */
        if (x->rank == 2 && fcl_shape_size(s) != s.c)
            return fail(im, FCL_ERR_UNSUPPORTED, "a Reshape of a flattened C x H x W tensor");
    } else if ((shape->count == 5 && x->rank == 4 && t[3] == s.h && t[4] == s.w && t[1] * t[2] == s.c) ||
               (shape->count == 3 && x->rank == 2 && t[1] * t[2] == size)) {
        v.kind = V_GROUPED; /* maxout's channel groups: waits for its ReduceMax */
        v.scale = (float)t[2];
    } else {
        return fail(im, FCL_ERR_UNSUPPORTED, "a Reshape facecl cannot express (a flatten, (N, C, 1, 1) or maxout's groups)");
    }
    return define_output(im, n, v);
}

static fcl_status reduce_max_op(importer *im, const Onnx__NodeProto *n)
{
    value *x;
    fcl_status st = input_kind(im, n, 0, V_GROUPED, "channels reshaped into groups (N, C/g, g, ...)", &x);
    if (st != FCL_SUCCESS)
        return st;
    int64_t axes[8];
    size_t count;
    if ((st = axes_of(im, n, axes, &count)) != FCL_SUCCESS)
        return st;
    if (count != 1 || axes[0] != 2 || attr_int(n, "keepdims", 1) != 0)
        return fail(im, FCL_ERR_UNSUPPORTED, "a ReduceMax facecl knows is maxout's: axes=[2], keepdims=0");
    const int rank = x->rank;
    fcl_node *nd = new_node(im, FCL_OP_MAXOUT, n, NULL, &x->node, 1);
    if (!nd)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    nd->group_size = (int)x->scale;
    return (st = infer(im, nd)) != FCL_SUCCESS ? st : node_output(im, n, rank);
}

/* ReduceSumSquare over all but the batch, keepdims: an l2norm's start. */
static fcl_status reduce_sumsq_op(importer *im, const Onnx__NodeProto *n)
{
    value *x;
    int64_t axes[8];
    size_t count = 0;
    fcl_status st = input(im, n, 0, &x);
    if (st == FCL_SUCCESS)
        st = axes_of(im, n, axes, &count);
    if (st != FCL_SUCCESS)
        return st;
    const bool reduce_l2 = strcmp(n->op_type, "ReduceL2") == 0;
    if (x->kind == V_CONST && reduce_l2 && !x->is_int && !x->what && x->ndims == 2 && count == 1 &&
        (axes[0] == 1 || axes[0] == -1) && attr_int(n, "keepdims", 1)) /* a cosine layer's weight norms */
        return define_output(im, n, (value){.kind = V_WNORM, .matrix = (int)(x - im->values)});
    if ((st = activation(im, n, 0, &x)) != FCL_SUCCESS)
        return st;
    bool all = count == (size_t)x->rank - 1;
    for (size_t k = 0; all && k < count; k++)
        all = axes[k] == (int64_t)k + 1 || axes[k] == (int64_t)k + 1 - x->rank;
    if (!all && !(reduce_l2 && count == 1 && (axes[0] == 1 || axes[0] == -1) && fcl_shape_size(im->nodes[x->node].out) ==
                                                                                    im->nodes[x->node].out.c))
        return fail(im, FCL_ERR_UNSUPPORTED, "facecl's l2norm reduces over every axis but the batch");
    if (!attr_int(n, "keepdims", 1))
        return fail(im, FCL_ERR_UNSUPPORTED, "keepdims=0: no l2norm");
    return define_output(im, n, (value){.kind = reduce_l2 ? V_NORM : V_SUMSQ, .node = x->node});
}

static fcl_status l2norm_node(importer *im, const Onnx__NodeProto *n, const value *x)
{
    fcl_node *nd = new_node(im, FCL_OP_L2NORM, n, NULL, &x->node, 1);
    if (!nd)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    fcl_status st = infer(im, nd);
    return st != FCL_SUCCESS ? st : node_output(im, n, x->rank);
}

static fcl_status lpnorm_op(importer *im, const Onnx__NodeProto *n)
{
    value *x;
    fcl_status st = activation(im, n, 0, &x);
    if (st != FCL_SUCCESS)
        return st;
    const int64_t axis = attr_int(n, "axis", -1);
    if (attr_int(n, "p", 2) != 2 || x->rank != 2 || (axis != 1 && axis != -1))
        return fail(im, FCL_ERR_UNSUPPORTED, "facecl's l2norm is LpNormalization p=2 of an N x D tensor along D");
    return l2norm_node(im, n, x);
}

/* Sqrt: of a sum of squares (+ eps), the l2norm's divisor; of a window's sum of squares, the L2 pool. */
static fcl_status sqrt_op(importer *im, const Onnx__NodeProto *n)
{
    value *x;
    fcl_status st = input(im, n, 0, &x);
    if (st != FCL_SUCCESS)
        return st;
    if (x->kind == V_SUMSQ)
        return define_output(im, n, (value){.kind = V_NORM, .node = x->node, .summed = true});
    if (x->kind == V_SQPOOL) {
        const fcl_node *pool = &im->nodes[x->node];
        const float window_size = (float)(pool->kh * pool->kw);
        if (fabsf(x->scale - window_size) > 1e-5f * window_size)
            return fail(im, FCL_ERR_UNSUPPORTED, "the square root of %g x a window's average of squares: an L2 pool's "
                        "is of %g x it (the sum)", (double)x->scale, (double)window_size);
        return define_output(im, n, (value){.kind = V_ACT, .node = x->node, .rank = 4});
    }
    return fail(im, FCL_ERR_UNSUPPORTED, "a Sqrt facecl knows ends an l2norm or an L2 pool");
}

/* Clip or Max of the l2norm's divisor at a small floor; Expand of it to the input's shape. */
static fcl_status norm_floor_op(importer *im, const Onnx__NodeProto *n)
{
    value *x;
    fcl_status st = input(im, n, 0, &x);
    if (st != FCL_SUCCESS)
        return st;
    if (x->kind != V_NORM && x->kind != V_WNORM)
        return fail(im, FCL_ERR_UNSUPPORTED, "facecl takes a %s only on an l2norm's divisor", n->op_type);
    float floor_value = 0;
    if (strcmp(n->op_type, "Expand") != 0) {
        if (strcmp(n->op_type, "Clip") == 0 && !input_name(n, 1))
            floor_value = attr_float(n, "min", 0);
        else if ((st = scalar(im, n, 1, &floor_value)) != FCL_SUCCESS)
            return st;
        if (input_name(n, 2) || attribute(n, "max") || floor_value < 0 || floor_value > 1e-3f)
            return fail(im, FCL_ERR_UNSUPPORTED, "a floor of %g on the norm (facecl's l2norm adds 1e-12 to the sum of squares)",
                        (double)floor_value);
    }
    value v = *x;
    v.name = NULL;
    v.summed = false;
    return define_output(im, n, v);
}

/* Transpose of C, H, W (the batch stays first): for a flatten into an fc, as MTCNN's
 * R-Net and O-Net do (permute(0, 3, 2, 1) before their dense layers). */
static fcl_status transpose_op(importer *im, const Onnx__NodeProto *n)
{
    value *x;
    fcl_status st = activation(im, n, 0, &x);
    if (st != FCL_SUCCESS)
        return st;
    int64_t perm[8];
    size_t count = 0;
    if (!attr_ints(n, "perm", perm, 8, &count) || count != 4 || perm[0] != 0 || x->rank != 4)
        return fail(im, FCL_ERR_UNSUPPORTED, "facecl transposes the C, H, W axes of an N x C x H x W tensor only "
                    "(perm = [0, ...]), ahead of a flatten into an fc");
    value v = {.kind = V_PERMUTED, .node = x->node, .rank = 4};
    bool seen[3] = {false, false, false};
    for (int k = 0; k < 3; k++) {
        if (perm[k + 1] < 1 || perm[k + 1] > 3 || seen[perm[k + 1] - 1])
            return fail(im, FCL_ERR_FORMAT, "perm is no permutation");
        seen[perm[k + 1] - 1] = true;
        v.perm[k] = (int)perm[k + 1] - 1;
    }
    return define_output(im, n, v);
}

/* Softmax along the channels (axis 1; opset < 13 flattened from its axis: the same for N x C). */
static fcl_status softmax_op(importer *im, const Onnx__NodeProto *n)
{
    value *x;
    fcl_status st = activation(im, n, 0, &x);
    if (st != FCL_SUCCESS)
        return st;
    const int64_t axis = attr_int(n, "axis", -1);
    const bool channels = axis == 1 || (axis == -1 && x->rank == 2) || axis == 1 - x->rank;
    if (!channels || (x->rank != 2 && x->rank != 4) ||
        (x->rank == 2 && fcl_shape_size(im->nodes[x->node].out) != im->nodes[x->node].out.c))
        return fail(im, FCL_ERR_UNSUPPORTED, "a Softmax along axis %" PRId64 ": facecl's is over the channels (axis 1)",
                    axis);
    fcl_node *nd = new_node(im, FCL_OP_SOFTMAX, n, NULL, &x->node, 1);
    if (!nd)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    return (st = infer(im, nd)) != FCL_SUCCESS ? st : node_output(im, n, x->rank);
}

static fcl_status relu_op(importer *im, const Onnx__NodeProto *n)
{
    value *x;
    fcl_status st = activation(im, n, 0, &x);
    if (st != FCL_SUCCESS)
        return st;
    fcl_node *nd = &im->nodes[x->node];
    const bool fusable = nd->op == FCL_OP_CONV || nd->op == FCL_OP_FC || nd->op == FCL_OP_BATCHNORM || nd->op == FCL_OP_ADD;
    if (!fusable || nd->relu || readers(im, x) != 1 || x->node != im->n_nodes - 1)
        return fail(im, FCL_ERR_UNSUPPORTED,
                    "a ReLU facecl cannot fuse: it follows the conv, fc, batchnorm or add whose only reader it is "
                    "(here: %s '%s')", fcl_ops[nd->op]->name, nd->name);
    nd->relu = 1;
    return define_output(im, n, *x);
}

static fcl_status prelu_op(importer *im, const Onnx__NodeProto *n)
{
    value *x, *slope;
    fcl_status st = activation(im, n, 0, &x);
    if (st == FCL_SUCCESS)
        st = float_const(im, n, 1, &slope);
    if (st != FCL_SUCCESS)
        return st;
    fcl_node *nd = new_node(im, FCL_OP_PRELU, n, slope->name, &x->node, 1);
    if (!nd)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    if ((st = infer(im, nd)) != FCL_SUCCESS)
        return st;
    if (x->rank == 2 && fcl_shape_size(nd->in) != nd->in.c)
        return fail(im, FCL_ERR_UNSUPPORTED, "a PReLU of a flattened C x H x W tensor: facecl's slopes are per channel");
    /* (C), (C, 1, 1) or (1, C, 1, 1): one slope a channel, which set_param counts */
    return (st = set_param(im, 0, slope->f, slope->count, slope->name)) != FCL_SUCCESS ? st : node_output(im, n, x->rank);
}

static fcl_status batchnorm_op(importer *im, const Onnx__NodeProto *n)
{
    value *x, *p[4];
    fcl_status st = activation(im, n, 0, &x);
    for (int k = 0; k < 4 && st == FCL_SUCCESS; k++)
        st = float_const(im, n, (size_t)k + 1, &p[k]);
    if (st != FCL_SUCCESS)
        return st;
    if (attr_int(n, "training_mode", 0))
        return fail(im, FCL_ERR_UNSUPPORTED, "training_mode=1: export the model in inference mode");
    fcl_node *nd = new_node(im, FCL_OP_BATCHNORM, n, p[0]->name, &x->node, 1);
    if (!nd)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    nd->eps = attr_float(n, "epsilon", 1e-5f);
    /* ONNX weighs the running value by momentum, facecl the batch's: 6 digits, so that
     * facecl's 0.1 comes back as 0.1 after 1 - 0.9 in float */
    nd->momentum = (float)(round((1.0 - (double)attr_float(n, "momentum", 0.9f)) * 1e6) / 1e6);
    if (nd->eps < 1e-12f || nd->eps > 1 || nd->momentum < 0 || nd->momentum > 1)
        return fail(im, FCL_ERR_UNSUPPORTED, "epsilon %g or momentum out of facecl's range", (double)nd->eps);
    if ((st = infer(im, nd)) != FCL_SUCCESS)
        return st;
    if (x->rank == 2 && fcl_shape_size(nd->in) != nd->in.c)
        return fail(im, FCL_ERR_UNSUPPORTED, "a BatchNormalization of a flattened C x H x W tensor: facecl's is per channel");
    for (int k = 0; k < 4 && st == FCL_SUCCESS; k++)
        st = set_param(im, k, p[k]->f, p[k]->count, p[k]->name);
    return st != FCL_SUCCESS ? st : node_output(im, n, x->rank);
}

/* The pixel transform: Sub, Add, Mul, Div of the graph input by one number each. */
static fcl_status pixel_step(importer *im, const Onnx__NodeProto *n, value x, float c)
{
    const char *op = n->op_type;
    if (strcmp(op, "Sub") == 0)
        x.mean += c * x.std;
    else if (strcmp(op, "Add") == 0)
        x.mean -= c * x.std;
    else if (strcmp(op, "Mul") == 0)
        x.std /= c;
    else
        x.std *= c;
    if (!isfinite(x.std) || x.std == 0 || !isfinite(x.mean))
        return fail(im, FCL_ERR_UNSUPPORTED, "the input scaled by %g", (double)c);
    return define_output(im, n, x);
}

/* A residual Add: a + b (one of them scaled: facecl's scale is on the last input). A
 * chain of plain adds whose inner sums nothing else reads becomes one add of several
 * inputs, as facecl's own exports are. */
static fcl_status residual_add(importer *im, const Onnx__NodeProto *n, value a, value b)
{
    if (a.kind == V_SCALED && b.kind == V_SCALED)
        return fail(im, FCL_ERR_UNSUPPORTED, "an Add of two scaled tensors: facecl's add scales its last input only");
    if (a.kind == V_SCALED) {
        value t = a;
        a = b, b = t;
    }
    if (a.rank != b.rank)
        return fail(im, FCL_ERR_UNSUPPORTED, "an Add of tensors of different ranks");
    const float scale = b.kind == V_SCALED ? b.scale : 1.0f;
    fcl_node *prev = &im->nodes[a.node];
    fcl_status st;
    if (prev->op == FCL_OP_ADD && !prev->relu && prev->scale == 1.0f && a.node == im->n_nodes - 1 &&
        readers(im, &a) == 1 && prev->n_inputs < FCL_MAX_INPUTS && b.node != a.node) {
        prev->inputs[prev->n_inputs++] = b.node;
        prev->scale = scale;
        choose_name(im, n, NULL, a.node, prev->name); /* named after the chain's last Add */
        st = infer(im, prev);
    } else {
        const int inputs[2] = {a.node, b.node};
        fcl_node *nd = new_node(im, FCL_OP_ADD, n, NULL, inputs, 2);
        if (!nd)
            return FCL_ERR_OUT_OF_HOST_MEMORY;
        nd->scale = scale;
        st = infer(im, nd);
    }
    return st != FCL_SUCCESS ? st : node_output(im, n, a.rank);
}

/* Pad with zeros of squares: the padding of the L2 pool's average that follows (PyTorch
 * writes avg_pool2d's count_include_pad padding as a Pad). */
static fcl_status pad_op(importer *im, const Onnx__NodeProto *n)
{
    value *x, *pads;
    fcl_status st = input(im, n, 0, &x);
    if (st != FCL_SUCCESS)
        return st;
    int64_t p[8];
    size_t count = 0;
    if (attr_ints(n, "pads", p, 8, &count)) {
    } else if ((st = int_const(im, n, 1, &pads)) != FCL_SUCCESS) {
        return st;
    } else if (pads->count <= 8) {
        memcpy(p, pads->i, pads->count * sizeof *p), count = pads->count;
    }
    const Onnx__AttributeProto *mode = attribute(n, "mode");
    float fill = attr_float(n, "value", 0);
    if (input_name(n, 2) && (st = scalar(im, n, 2, &fill)) != FCL_SUCCESS)
        return st;
    if ((mode && mode->has_s && !(mode->s.len == 8 && memcmp(mode->s.data, "constant", 8) == 0)) || fill != 0 ||
        input_name(n, 3) || count != 8 || p[0] || p[1] || p[4] || p[5] || p[2] != p[6] || p[3] != p[7] || p[2] < 0 ||
        p[3] < 0 || p[2] > 63 || p[3] > 63)
        return fail(im, FCL_ERR_UNSUPPORTED, "facecl pads with zeros, symmetrically, H and W only");
    if (!p[2] && !p[3]) /* no padding at all (PyTorch writes one for avg_pool2d even so) */
        return define_output(im, n, *x);
    if (x->kind != V_SQUARE)
        return fail(im, FCL_ERR_UNSUPPORTED, "a Pad facecl takes is of squares before an L2 pool's average; pad "
                    "inside the convolution or pool instead (its pads attribute)");
    value v = *x;
    v.name = NULL;
    v.pad_h += (int)p[2], v.pad_w += (int)p[3];
    return define_output(im, n, v);
}

/* Pow(x, 2): an L2 pool's squares. */
static fcl_status pow_op(importer *im, const Onnx__NodeProto *n)
{
    value *x;
    float e = 0;
    fcl_status st = activation(im, n, 0, &x);
    if (st == FCL_SUCCESS)
        st = scalar(im, n, 1, &e);
    if (st != FCL_SUCCESS)
        return st;
    if (e != 2.0f)
        return fail(im, FCL_ERR_UNSUPPORTED, "a Pow to %g (facecl knows the squares of an L2 pool)", (double)e);
    return define_output(im, n, (value){.kind = V_SQUARE, .node = x->node});
}

/* Add, Sub, Mul, Div of int64 constants (shape arithmetic: C / g of a maxout's
 * Reshape); the batch dimension passes through a product or quotient by 1 only. */
static fcl_status int_arith(importer *im, const Onnx__NodeProto *n, const value *a, const value *b)
{
    if (b->count != 1 && a->count != 1 && a->count != b->count)
        return fail(im, FCL_ERR_UNSUPPORTED, "%s of %zu and %zu values", n->op_type, a->count, b->count);
    const value *big = a->count >= b->count ? a : b;
    value v = {.kind = V_CONST, .is_int = true, .count = big->count, .ndims = big->ndims};
    memcpy(v.dims, big->dims, sizeof v.dims);
    if (!(v.i = fcl_onnx_alloc(&im->mem, (v.count + 1) * sizeof *v.i)))
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    const char op = n->op_type[0];
    for (size_t k = 0; k < v.count; k++) {
        const int64_t x = a->i[a->count == 1 ? 0 : k], y = b->i[b->count == 1 ? 0 : k];
        if (x == BATCH || y == BATCH) {
            if ((op == 'M' || op == 'D') && y == 1)
                v.i[k] = x;
            else if (op == 'M' && x == 1)
                v.i[k] = y;
            else
                return fail(im, FCL_ERR_UNSUPPORTED, "arithmetic on the batch dimension");
            continue;
        }
        if ((op == 'D' && y == 0) || x > INT32_MAX || x < INT32_MIN || y > INT32_MAX || y < INT32_MIN)
            return fail(im, FCL_ERR_UNSUPPORTED, "%s of %" PRId64 " and %" PRId64, n->op_type, x, y);
        v.i[k] = op == 'A' ? x + y : op == 'S' ? x - y : op == 'M' ? x * y : x / y;
    }
    return define_output(im, n, v);
}

/* Add, Sub, Mul, Div: the pixel transform, residual adds and their scales, biases after
 * a MatMul, the l2norm's eps and division, the L2 pool's squares and window size. */
static fcl_status arith_op(importer *im, const Onnx__NodeProto *n)
{
    value *a, *b;
    fcl_status st = two_inputs(im, n, &a, &b);
    if (st != FCL_SUCCESS)
        return st;
    const bool add = strcmp(n->op_type, "Add") == 0, mul = strcmp(n->op_type, "Mul") == 0,
               div = strcmp(n->op_type, "Div") == 0, commutes = add || mul;
    if (commutes && a->kind == V_CONST && b->kind != V_CONST) { /* the constant second */
        value *t = a;
        a = b, b = t;
    }
    if (a->kind == V_CONST && b->kind == V_CONST && a->is_int && b->is_int && !a->what && !b->what)
        return int_arith(im, n, a, b);
    const bool number = b->kind == V_CONST && !b->is_int && !b->what && b->count == 1;
    if (a->kind == V_PIXELS && number && (commutes || a == lookup(im, input_name(n, 0))))
        return pixel_step(im, n, *a, b->f[0]);
    if (a->kind == V_ACT && mul && number) /* a residual branch's scale */
        return define_output(im, n, (value){.kind = V_SCALED, .node = a->node, .rank = a->rank, .scale = b->f[0]});
    if (a->kind == V_ACT && mul && b->kind == V_ACT && a->node == b->node)
        return define_output(im, n, (value){.kind = V_SQUARE, .node = a->node});
    if (a->kind == V_SQPOOL && mul && number) {
        value v = *a;
        v.name = NULL;
        v.scale *= b->f[0];
        return define_output(im, n, v);
    }
    if (a->kind == V_SUMSQ && add && number && b->f[0] >= 0 && b->f[0] <= 1e-6f)
        return define_output(im, n, *a);
    if (a->kind == V_ACT && div && b->kind == V_NORM && b->node == a->node) {
        if (b->summed) /* x / sqrt(sum x^2 + eps): facecl's l2norm, now */
            return l2norm_node(im, n, a);
        /* x / max(||x||, eps): an l2norm, unless a cosine layer's Gemm takes it */
        return define_output(im, n, (value){.kind = V_UNIT, .node = a->node, .rank = a->rank, .origin = n});
    }
    if (a->kind == V_CONST && div && b->kind == V_WNORM && b->matrix == (int)(a - im->values))
        return define_output(im, n, (value){.kind = V_UNITW, .matrix = b->matrix});
    if (a->kind == V_ACT && add && b->kind == V_CONST && !b->is_int && !b->what) { /* a bias after MatMul */
        fcl_node *nd = &im->nodes[a->node];
        if (nd->op != FCL_OP_FC || nd->bias || nd->relu || a->node != im->n_nodes - 1 ||
            readers(im, a) != 1 || b->count != (size_t)nd->channels)
            return fail(im, FCL_ERR_UNSUPPORTED, "an Add of a constant facecl takes only as the bias of the fc before it");
        nd->bias = 1;
        if ((st = set_param(im, 1, b->f, b->count, b->name)) != FCL_SUCCESS)
            return st;
        return define_output(im, n, *a);
    }
    if (add && (a->kind == V_ACT || a->kind == V_SCALED) && (b->kind == V_ACT || b->kind == V_SCALED))
        return residual_add(im, n, *a, *b);
    return fail(im, FCL_ERR_UNSUPPORTED, "a %s of a %s and a %s facecl has no layer for", n->op_type,
                a->kind == V_CONST ? "constant" : "tensor", b->kind == V_CONST ? "constant" : "tensor");
}

static const struct {
    const char *op_type;
    handler_fn handle;
} handlers[] = {
    {"Add", arith_op},
    {"AveragePool", pool_op},
    {"BatchNormalization", batchnorm_op},
    {"Cast", cast_op},
    {"Clip", norm_floor_op},
    {"Concat", concat_op},
    {"Constant", constant_op},
    {"Conv", conv_op},
    {"Div", arith_op},
    {"Dropout", alias}, /* the identity at inference */
    {"Expand", norm_floor_op},
    {"Flatten", flatten_op},
    {"Gather", gather_op},
    {"Gemm", gemm_op},
    {"GlobalAveragePool", pool_op},
    {"GlobalLpPool", pool_op},
    {"GlobalMaxPool", pool_op},
    {"Identity", alias},
    {"LRN", lrn_op},
    {"LpNormalization", lpnorm_op},
    {"LpPool", pool_op},
    {"MatMul", matmul_op},
    {"Max", norm_floor_op},
    {"MaxPool", pool_op},
    {"Mul", arith_op},
    {"PRelu", prelu_op},
    {"Pad", pad_op},
    {"Pow", pow_op},
    {"ReduceL2", reduce_sumsq_op},
    {"ReduceMax", reduce_max_op},
    {"ReduceSumSquare", reduce_sumsq_op},
    {"Relu", relu_op},
    {"Reshape", reshape_op},
    {"Shape", shape_op},
    {"Softmax", softmax_op},
    {"Sqrt", sqrt_op},
    {"Squeeze", reshape_ints},
    {"Sub", arith_op},
    {"Transpose", transpose_op},
    {"Unsqueeze", reshape_ints},
};

static handler_fn handler_of(const char *op_type)
{
    for (size_t k = 0; k < sizeof handlers / sizeof handlers[0]; k++)
        if (strcmp(handlers[k].op_type, op_type) == 0)
            return handlers[k].handle;
    return NULL;
}

/* ---- the graph ---- */

static fcl_status check_opset(importer *im, const Onnx__ModelProto *model)
{
    for (size_t k = 0; k < model->n_opset_import; k++) {
        const Onnx__OperatorSetIdProto *o = model->opset_import[k];
        if ((!o->domain || !o->domain[0] || strcmp(o->domain, "ai.onnx") == 0) &&
            (o->version < FCL_ONNX_MIN_OPSET || o->version > FCL_ONNX_MAX_OPSET))
            return fail(im, FCL_ERR_UNSUPPORTED, "opset %" PRId64 ": facecl imports opsets %d to %d", o->version,
                        FCL_ONNX_MIN_OPSET, FCL_ONNX_MAX_OPSET);
    }
    return FCL_SUCCESS;
}

/* The one input that is no initializer: N x C x H x W, C, H, W fixed. */
static fcl_status graph_input(importer *im, const fcl_onnx_import_options *o)
{
    const Onnx__GraphProto *g = im->g;
    const Onnx__ValueInfoProto *in = NULL;
    for (size_t k = 0; k < g->n_input; k++) {
        if (!g->input[k]->name)
            return fail(im, FCL_ERR_FORMAT, "a graph input without a name");
        const value *v = lookup(im, g->input[k]->name);
        if (v && v->kind == V_CONST)
            continue; /* an initializer listed as an input (IR < 4) */
        if (in)
            return fail(im, FCL_ERR_UNSUPPORTED, "two graph inputs ('%s', '%s'): facecl models take one image batch",
                        in->name, g->input[k]->name);
        in = g->input[k];
    }
    if (!in)
        return fail(im, FCL_ERR_FORMAT, "no graph input");
    const Onnx__TypeProto *t = in->type;
    const Onnx__TensorShapeProto *shape = t && t->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && t->tensor_type
                                              ? t->tensor_type->shape
                                              : NULL;
    if (!shape || t->tensor_type->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT || shape->n_dim != 4)
        return fail(im, FCL_ERR_UNSUPPORTED, "input '%s' must be a float32 tensor N x C x H x W", in->name);
    if (shape->dim[0]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && shape->dim[0]->dim_value > 0)
        im->fixed_batch = shape->dim[0]->dim_value; /* a Reshape to (that, -1) is a flatten too */
    int dims[3];
    for (int k = 0; k < 3; k++) {
        const Onnx__TensorShapeProto__Dimension *d = shape->dim[k + 1];
        if (d->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE || d->dim_value < 1 ||
            d->dim_value > 8192)
            return fail(im, FCL_ERR_UNSUPPORTED, "input '%s': C, H and W must be fixed sizes (1 to 8192)", in->name);
        dims[k] = (int)d->dim_value;
    }
    fcl_node *nd = new_node(im, FCL_OP_INPUT, NULL, NULL, NULL, 0);
    if (!nd)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    snprintf(nd->name, sizeof nd->name, "input");
    if (!map_put(&im->layer_names, "input", 0))
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    nd->out = (fcl_shape){dims[0], dims[1], dims[2]};
    return define(im, in->name, (value){.kind = V_PIXELS, .mean = o->pixel_mean, .std = o->pixel_std}, NULL);
}

static fcl_status count_readers(importer *im)
{
    const Onnx__GraphProto *g = im->g;
    for (size_t k = 0; k < g->n_node; k++)
        for (size_t i = 0; i < g->node[k]->n_input; i++) {
            const char *name = g->node[k]->input[i];
            if (!name || !name[0])
                continue;
            int *c = map_get(&im->readers, name);
            if (c)
                (*c)++;
            else if (!map_put(&im->readers, name, 1))
                return FCL_ERR_OUT_OF_HOST_MEMORY;
        }
    for (size_t k = 0; k < g->n_output; k++) {
        const char *name = g->output[k]->name;
        int *c = name ? map_get(&im->readers, name) : NULL;
        if (c)
            (*c)++;
        else if (name && !map_put(&im->readers, name, 1))
            return FCL_ERR_OUT_OF_HOST_MEMORY;
    }
    return FCL_SUCCESS;
}

static fcl_status translate(importer *im, const Onnx__ModelProto *model, const fcl_onnx_import_options *o)
{
    const Onnx__GraphProto *g = im->g = model->graph;
    fcl_status st = check_opset(im, model);
    if (st != FCL_SUCCESS)
        return st;
    if (!g)
        return fail(im, FCL_ERR_FORMAT, "no graph");
    if (g->n_node > MAX_NODES)
        return fail(im, FCL_ERR_UNSUPPORTED, "%zu nodes (facecl imports at most %d)", g->n_node, MAX_NODES);
    if (g->n_sparse_initializer)
        return fail(im, FCL_ERR_UNSUPPORTED, "sparse initializers");
    for (size_t k = 0; k < g->n_initializer; k++) {
        value v;
        if (!g->initializer[k]->name)
            return fail(im, FCL_ERR_FORMAT, "an initializer without a name");
        if ((st = tensor_value(im, g->initializer[k], &v)) != FCL_SUCCESS ||
            (st = define(im, g->initializer[k]->name, v, NULL)) != FCL_SUCCESS)
            return st;
    }
    if ((st = count_readers(im)) != FCL_SUCCESS || (st = graph_input(im, o)) != FCL_SUCCESS)
        return st;
    for (size_t k = 0; k < g->n_node; k++) {
        const Onnx__NodeProto *n = g->node[k];
        im->at = n, im->at_index = (int)k;
        if (!n->op_type)
            return fail(im, FCL_ERR_FORMAT, "no op_type");
        if (n->domain && n->domain[0] && strcmp(n->domain, "ai.onnx") != 0)
            return fail(im, FCL_ERR_UNSUPPORTED, "op domain '%s': facecl imports standard ONNX ops", n->domain);
        handler_fn h = handler_of(n->op_type);
        if (!h)
            return fail(im, FCL_ERR_UNSUPPORTED, "facecl has no layer for %s (README: \"ONNX\" lists the ops it imports)",
                        n->op_type);
        if ((st = h(im, n)) != FCL_SUCCESS)
            return st;
        if (im->n_nodes > MAX_NODES)
            return fail(im, FCL_ERR_UNSUPPORTED, "more than %d layers", MAX_NODES);
    }
    im->at = NULL;
    if (g->n_output < 1 || g->n_output > FCL_MAX_INPUTS)
        return fail(im, FCL_ERR_UNSUPPORTED, "%zu graph outputs (facecl: 1 to %d)", g->n_output, FCL_MAX_INPUTS);
    int outputs[FCL_MAX_INPUTS];
    for (size_t k = 0; k < g->n_output; k++) {
        value *out = g->output[k]->name ? lookup(im, g->output[k]->name) : NULL;
        if (!out)
            return fail(im, FCL_ERR_FORMAT, "graph output %zu ('%s') is never computed", k + 1,
                        g->output[k]->name ? g->output[k]->name : "");
        if (out->kind == V_UNIT && (st = unit_as_l2norm(im, out)) != FCL_SUCCESS)
            return st;
        if (out->kind != V_ACT || out->node == 0 || out->permuted)
            return fail(im, FCL_ERR_UNSUPPORTED, "the graph output '%s' is no layer's output", out->name);
        outputs[k] = out->node;
        fcl_strbuf_printf(&im->outputs_note, "%s%s = channels %d-%d", k ? ", " : "", out->name, im->output_channels,
                          im->output_channels + im->nodes[out->node].out.c - 1);
        im->output_channels += im->nodes[out->node].out.c;
    }
    if (g->n_output > 1) { /* several heads (MTCNN's): one output, their channels side by side */
        fcl_node *nd = new_node(im, FCL_OP_CONCAT, NULL, NULL, outputs, (int)g->n_output);
        if (!nd)
            return FCL_ERR_OUT_OF_HOST_MEMORY;
        snprintf(nd->name, sizeof nd->name, "outputs");
        for (int k = 2; map_get(&im->layer_names, nd->name); k++)
            snprintf(nd->name, sizeof nd->name, "outputs.%d", k);
        if ((st = infer(im, nd)) != FCL_SUCCESS)
            return fail(im, st, "the %zu graph outputs cannot be joined into facecl's one output: their sizes "
                        "differ other than in channels", g->n_output);
    } else if (outputs[0] != im->n_nodes - 1) {
        return fail(im, FCL_ERR_UNSUPPORTED, "the graph output '%s' is not the last layer computed",
                    g->output[0]->name);
    }
    if (!im->input_used)
        return fail(im, FCL_ERR_UNSUPPORTED, "no layer reads the input");
    im->nodes[0].pixel_mean = (float)im->pixel_mean;
    im->nodes[0].pixel_std = (float)im->pixel_std;
    return FCL_SUCCESS;
}

/* The model's name: given, or the one facecl's export stored, or the graph's, or the file's. */
static void model_name(const Onnx__ModelProto *model, const fcl_onnx_import_options *o, const char *path, char *out)
{
    const char *name = o->name;
    for (size_t k = 0; !name && k < model->n_metadata_props; k++)
        if (model->metadata_props[k]->key && strcmp(model->metadata_props[k]->key, "facecl.model") == 0)
            name = model->metadata_props[k]->value;
    if (!name && model->graph && model->graph->name && model->graph->name[0] && strcmp(model->graph->name, "main_graph") != 0 &&
        strcmp(model->graph->name, "torch_jit") != 0)
        name = model->graph->name;
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t len = 0;
    if (!name) {
        name = base;
        const char *dot = strrchr(base, '.');
        len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    } else {
        len = strlen(name);
    }
    size_t k = 0;
    for (; k < len && k + 1 < FCL_NAME_MAX; k++)
        out[k] = isalnum((unsigned char)name[k]) || strchr("_-.", name[k]) ? name[k] : '_';
    out[k] = '\0';
    if (!k)
        snprintf(out, FCL_NAME_MAX, "imported");
}

static const char *meta_value(const Onnx__ModelProto *model, const char *key)
{
    for (size_t k = 0; k < model->n_metadata_props; k++)
        if (model->metadata_props[k]->key && model->metadata_props[k]->value &&
            strcmp(model->metadata_props[k]->key, key) == 0)
            return model->metadata_props[k]->value;
    return NULL;
}

/* The translated nodes as a model file (parsed back, so it is checked as any model
 * file is) and its parameters in the parsed model's arena. */
static fcl_status write_outputs(importer *im, const Onnx__ModelProto *model, const fcl_onnx_import_options *o,
                                const char *model_path, const char *weights_path)
{
    fcl_model draft = {.nodes = im->nodes, .n_nodes = im->n_nodes};
    model_name(model, o, im->path, draft.name);
    char *body = NULL;
    fcl_status st = fcl_model_format(&draft, &body);
    if (st != FCL_SUCCESS)
        return st;
    fcl_strbuf text = {0};
    const char *base = strrchr(im->path, '/') ? strrchr(im->path, '/') + 1 : im->path;
    fcl_strbuf_printf(&text, "# Imported by facecl import from %s (producer: %s %s).\n", base,
                      model->producer_name ? model->producer_name : "unknown",
                      model->producer_version ? model->producer_version : "");
    if (model->graph->n_output > 1)
        fcl_strbuf_printf(&text, "# Its %zu outputs, side by side in the last layer's: %s.\n", model->graph->n_output,
                          im->outputs_note.text ? im->outputs_note.text : "");
    fcl_strbuf_printf(&text, "%s", body);
    free(body);
    if ((st = fcl_strbuf_status(&text)) != FCL_SUCCESS) {
        free(text.text);
        return st;
    }
    fcl_model *m = NULL;
    st = fcl_model_parse(text.text, model_path, &m);
    float *params = st == FCL_SUCCESS ? calloc(m->n_params ? m->n_params : 1, sizeof *params) : NULL;
    if (st == FCL_SUCCESS && !params)
        st = FCL_ERR_OUT_OF_HOST_MEMORY;
    for (int i = 0; st == FCL_SUCCESS && i < m->n_nodes; i++) {
        fcl_param_desc d[FCL_MAX_PARAMS];
        const int np = fcl_ops[m->nodes[i].op]->params(&m->nodes[i], d);
        size_t at = m->nodes[i].param_off;
        for (int k = 0; k < np; k++) {
            if (!im->node_params[i][k]) {
                st = fail(im, FCL_ERR_FORMAT, "no data for %s.%s", m->nodes[i].name, d[k].suffix);
                break;
            }
            memcpy(params + at, im->node_params[i][k], d[k].count * sizeof *params);
            at += d[k].count;
        }
    }
    const char *threshold = meta_value(model, FCL_META_THRESHOLD);
    fcl_st_meta meta[2] = {{.key = "facecl.imported_from"}, {.key = FCL_META_THRESHOLD}};
    snprintf(meta[0].value, sizeof meta[0].value, "%s", base);
    if (threshold)
        snprintf(meta[1].value, sizeof meta[1].value, "%s", threshold);
    if (st == FCL_SUCCESS)
        st = fcl_safetensors_save(m, params, NULL, 0, meta, threshold ? 2 : 1, weights_path);
    if (st == FCL_SUCCESS)
        st = fcl_write_file_atomic(model_path, text.text, text.len);
    free(params);
    fcl_model_destroy(m);
    free(text.text);
    return st;
}

fcl_status fcl_onnx_import(const char *onnx_path, const fcl_onnx_import_options *options, const char *model_path,
                           const char *weights_path)
{
    if (!onnx_path || !model_path || !weights_path)
        return FCL_ERR_INVALID_ARGUMENT;
    const fcl_onnx_import_options defaults = {.pixel_mean = 0, .pixel_std = 1};
    const fcl_onnx_import_options *o = options ? options : &defaults;
    if (!isfinite(o->pixel_mean) || !isfinite(o->pixel_std) || o->pixel_std == 0)
        return FCL_ERR_INVALID_ARGUMENT;
    char *data;
    size_t size;
    fcl_status st = fcl_read_file(onnx_path, &data, &size);
    if (st != FCL_SUCCESS) {
        fcl_log(FCL_LOG_ERROR, "cannot read %s: %s", onnx_path,
                st == FCL_ERR_IO ? strerror(errno) : fcl_status_str(st));
        return st;
    }
    importer im = {.path = onnx_path};
    Onnx__ModelProto *model = onnx__model_proto__unpack(NULL, size, (const uint8_t *)data);
    free(data);
    if (!model) {
        fcl_log(FCL_LOG_ERROR, "%s: not an ONNX model (the protobuf message is malformed or truncated)", onnx_path);
        return FCL_ERR_FORMAT;
    }
    st = translate(&im, model, o);
    if (st == FCL_SUCCESS)
        st = write_outputs(&im, model, o, model_path, weights_path);
    onnx__model_proto__free_unpacked(model, NULL);
    map_free(&im.by_name);
    map_free(&im.readers);
    map_free(&im.layer_names);
    free(im.outputs_note.text);
    free(im.values);
    free(im.nodes);
    free(im.node_params);
    fcl_onnx_arena_free(&im.mem);
    return st;
}
