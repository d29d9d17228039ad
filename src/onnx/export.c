/* facecl's graph as ONNX (opset 13): each facecl node becomes the standard ops that
 * compute it (README: the op table), named after the node so that the file reads like
 * the model file and imports back to the same names. A node's ONNX tensor is named after
 * it; its helper nodes and tensors are "<node>:<what>". The graph input takes 0..255
 * pixels and the model's pixel transform is its first nodes; the output is
 * "embedding", batch x embedding size, the batch dimension dynamic. */
#include "onnx/onnx.h"
#include "runtime/fileio.h"
#include "runtime/log.h"

#include "onnx.pb-c.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* protobuf-c's messages hold non-const pointers; what the exporter points them at
 * (names, the parameter arena) is only read by the packer. */
#define MUTABLE(p) ((void *)(uintptr_t)(p))

/* A growing array of pointers in the arena's keeping (the arena frees the old ones). */
typedef struct ptr_list {
    void **items;
    size_t n, cap;
} ptr_list;

static void push(fcl_onnx_arena *a, ptr_list *l, void *item)
{
    if (!item)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        void **items = fcl_onnx_alloc(a, cap * sizeof *items);
        if (!items)
            return;
        if (l->n)
            memcpy(items, l->items, l->n * sizeof *items);
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n++] = item;
}

typedef struct exporter {
    const fcl_model *m;
    const float *params;
    fcl_onnx_arena mem;
    ptr_list nodes, inits;
    const char **tensor; /* per facecl node: the ONNX tensor holding its output */
    int *rank;           /* per facecl node: 4 (N, C, H, W) or 2 (N, C: after fc) */
} exporter;

static char *fmt_name(exporter *ex, const char *node, const char *what)
{
    char buf[2 * FCL_NAME_MAX];
    snprintf(buf, sizeof buf, "%s:%s", node, what); /* ":" is in no facecl name */
    return fcl_onnx_strdup(&ex->mem, buf);
}

static Onnx__AttributeProto *attr(exporter *ex, Onnx__NodeProto *n, const char *name, Onnx__AttributeProto__AttributeType type)
{
    Onnx__AttributeProto *a = fcl_onnx_alloc(&ex->mem, sizeof *a);
    Onnx__AttributeProto **list = n ? fcl_onnx_alloc(&ex->mem, (n->n_attribute + 1) * sizeof *list) : NULL;
    if (!a || !list)
        return NULL;
    onnx__attribute_proto__init(a);
    a->name = MUTABLE(name);
    a->has_type = true;
    a->type = type;
    if (n->n_attribute)
        memcpy(list, n->attribute, n->n_attribute * sizeof *list);
    list[n->n_attribute++] = a;
    n->attribute = list;
    return a;
}

static void attr_int(exporter *ex, Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = attr(ex, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    if (a)
        a->has_i = true, a->i = v;
}

static void attr_float(exporter *ex, Onnx__NodeProto *n, const char *name, float v)
{
    Onnx__AttributeProto *a = attr(ex, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    if (a)
        a->has_f = true, a->f = v;
}

static void attr_ints(exporter *ex, Onnx__NodeProto *n, const char *name, const int64_t *v, size_t count)
{
    Onnx__AttributeProto *a = attr(ex, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    int64_t *copy = fcl_onnx_alloc(&ex->mem, count * sizeof *copy);
    if (a && copy) {
        memcpy(copy, v, count * sizeof *copy);
        a->n_ints = count;
        a->ints = copy;
    }
}

/* A node op_type(inputs...) -> output, named `name`; NULL only when out of memory. */
static Onnx__NodeProto *emit(exporter *ex, const char *op_type, const char *name, const char *output, int n_inputs,
                             const char *const *inputs)
{
    for (int i = 0; i < n_inputs; i++)
        if (!inputs[i]) { /* a name or initializer that could not be allocated */
            ex->mem.failed = true;
            return NULL;
        }
    Onnx__NodeProto *n = fcl_onnx_alloc(&ex->mem, sizeof *n);
    char **in = fcl_onnx_alloc(&ex->mem, (size_t)n_inputs * sizeof *in);
    char **out = fcl_onnx_alloc(&ex->mem, sizeof *out);
    if (!n || !in || !out)
        return NULL;
    onnx__node_proto__init(n);
    n->op_type = MUTABLE(op_type);
    n->name = fcl_onnx_strdup(&ex->mem, name);
    for (int i = 0; i < n_inputs; i++)
        in[i] = MUTABLE(inputs[i]);
    n->n_input = (size_t)n_inputs;
    n->input = in;
    out[0] = fcl_onnx_strdup(&ex->mem, output);
    n->n_output = 1;
    n->output = out;
    push(&ex->mem, &ex->nodes, n);
    return n;
}

#define EMIT(ex, op, name, out, ...) \
    emit(ex, op, name, out, (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *)), (const char *[]){__VA_ARGS__})

static Onnx__TensorProto *initializer(exporter *ex, const char *name, const int64_t *dims, size_t ndims)
{
    Onnx__TensorProto *t = fcl_onnx_alloc(&ex->mem, sizeof *t);
    int64_t *d = fcl_onnx_alloc(&ex->mem, (ndims ? ndims : 1) * sizeof *d);
    if (!t || !d)
        return NULL;
    onnx__tensor_proto__init(t);
    t->name = fcl_onnx_strdup(&ex->mem, name);
    if (ndims)
        memcpy(d, dims, ndims * sizeof *d);
    t->n_dims = ndims;
    t->dims = d;
    t->has_data_type = true;
    push(&ex->mem, &ex->inits, t);
    return t;
}

/* Floats the initializer points at (the parameter arena, or the arena's own copy). */
static const char *floats(exporter *ex, const char *name, const int64_t *dims, size_t ndims, const float *data,
                          size_t count)
{
    Onnx__TensorProto *t = initializer(ex, name, dims, ndims);
    if (!t)
        return NULL;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    t->n_float_data = count;
    t->float_data = MUTABLE(data);
    return t->name;
}

static const char *scalar(exporter *ex, const char *name, float v)
{
    float *copy = fcl_onnx_alloc(&ex->mem, sizeof *copy);
    if (!copy)
        return NULL;
    *copy = v;
    return floats(ex, name, NULL, 0, copy, 1);
}

static const char *int64s(exporter *ex, const char *name, const int64_t *v, size_t count)
{
    int64_t dims[1] = {(int64_t)count};
    Onnx__TensorProto *t = initializer(ex, name, dims, 1);
    int64_t *copy = fcl_onnx_alloc(&ex->mem, count * sizeof *copy);
    if (!t || !copy)
        return NULL;
    memcpy(copy, v, count * sizeof *copy);
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
    t->n_int64_data = count;
    t->int64_data = copy;
    return t->name;
}

/* A parameter tensor of nd as an initializer "<node>.<suffix>", with ONNX's dims. */
static const char *param(exporter *ex, const fcl_node *nd, int which, const int64_t *dims, size_t ndims)
{
    fcl_param_desc d[FCL_MAX_PARAMS];
    int np = fcl_ops[nd->op]->params(nd, d);
    size_t at = nd->param_off;
    for (int j = 0; j < which && j < np; j++)
        at += d[j].count;
    char name[2 * FCL_NAME_MAX];
    snprintf(name, sizeof name, "%s.%s", nd->name, d[which].suffix);
    int64_t own[4];
    if (!dims) { /* facecl's dims are ONNX's */
        for (int k = 0; k < d[which].ndims; k++)
            own[k] = d[which].dims[k];
        dims = own;
        ndims = (size_t)d[which].ndims;
    }
    return floats(ex, name, dims, ndims, ex->params + at, d[which].count);
}

/* Input i of nd at rank 4: a rank-2 tensor (after fc) gets 1 x 1 spatial dims. */
static const char *input4(exporter *ex, const fcl_node *nd, int i)
{
    int src = nd->inputs[i];
    if (ex->rank[src] == 4)
        return ex->tensor[src];
    char what[32];
    snprintf(what, sizeof what, "in%d/nchw", i);
    const int64_t shape[4] = {0, ex->m->nodes[src].out.c, 1, 1};
    const char *out = fmt_name(ex, nd->name, what);
    EMIT(ex, "Reshape", out, out, ex->tensor[src], int64s(ex, fmt_name(ex, nd->name, "nchw_shape"), shape, 4));
    return out;
}

/* The ops' translations: emit nodes computing nd's output into `out` (pre: out before
 * the fused ReLU). Return the output's rank. */
typedef int (*translate_fn)(exporter *ex, const fcl_node *nd, int index, const char *out);

static void window_attrs(exporter *ex, Onnx__NodeProto *n, const fcl_node *nd)
{
    const int64_t k[2] = {nd->kh, nd->kw}, s[2] = {nd->sh, nd->sw}, p[4] = {nd->ph, nd->pw, nd->ph, nd->pw};
    attr_ints(ex, n, "kernel_shape", k, 2);
    attr_ints(ex, n, "strides", s, 2);
    attr_ints(ex, n, "pads", p, 4);
}

static int conv_onnx(exporter *ex, const fcl_node *nd, int index, const char *out)
{
    (void)index;
    const char *x = input4(ex, nd, 0), *w = param(ex, nd, 0, NULL, 0);
    Onnx__NodeProto *n = nd->bias ? EMIT(ex, "Conv", nd->name, out, x, w, param(ex, nd, 1, NULL, 0))
                                  : EMIT(ex, "Conv", nd->name, out, x, w);
    if (n) {
        window_attrs(ex, n, nd);
        attr_int(ex, n, "group", nd->groups);
        attr_ints(ex, n, "dilations", (const int64_t[]){1, 1}, 2);
    }
    return 4;
}

static bool global_pool(const fcl_node *nd)
{
    return nd->kh == nd->in.h && nd->kw == nd->in.w && nd->ph == 0 && nd->pw == 0;
}

static int pool_onnx(exporter *ex, const fcl_node *nd, int index, const char *out)
{
    (void)index;
    static const struct {
        fcl_op op;
        const char *windowed, *global;
    } pools[] = {
        {FCL_OP_MAXPOOL, "MaxPool", "GlobalMaxPool"},
        {FCL_OP_AVGPOOL, "AveragePool", "GlobalAveragePool"},
        {FCL_OP_L2POOL, "LpPool", "GlobalLpPool"},
    };
    size_t i = 0;
    while (pools[i].op != nd->op)
        i++;
    const bool global = global_pool(nd);
    Onnx__NodeProto *n = EMIT(ex, global ? pools[i].global : pools[i].windowed, nd->name, out, input4(ex, nd, 0));
    if (!n)
        return 4;
    if (!global)
        window_attrs(ex, n, nd);
    if (nd->op == FCL_OP_L2POOL)
        attr_int(ex, n, "p", 2);
    if (nd->op == FCL_OP_AVGPOOL && !global)
        attr_int(ex, n, "count_include_pad", 0); /* facecl divides by the window's elements inside the input */
    if (nd->ceil_mode)
        attr_int(ex, n, "ceil_mode", 1);
    return 4;
}

static int lrn_onnx(exporter *ex, const fcl_node *nd, int index, const char *out)
{
    (void)index;
    Onnx__NodeProto *n = EMIT(ex, "LRN", nd->name, out, input4(ex, nd, 0));
    if (n) {
        attr_int(ex, n, "size", nd->size);
        attr_float(ex, n, "alpha", nd->alpha); /* both divide alpha by size */
        attr_float(ex, n, "beta", nd->beta);
        attr_float(ex, n, "bias", nd->k);
    }
    return 4;
}

/* The input of fc and cosine as ONNX's Gemm takes it: N x features. */
static const char *flat_input(exporter *ex, const fcl_node *nd)
{
    const char *x = ex->tensor[nd->inputs[0]];
    if (ex->rank[nd->inputs[0]] == 2)
        return x;
    const char *flat = fmt_name(ex, nd->name, "flatten");
    Onnx__NodeProto *f = EMIT(ex, "Flatten", flat, flat, x);
    if (f)
        attr_int(ex, f, "axis", 1);
    return flat;
}

static int fc_onnx(exporter *ex, const fcl_node *nd, int index, const char *out)
{
    (void)index;
    const char *x = flat_input(ex, nd);
    const char *w = param(ex, nd, 0, NULL, 0);
    Onnx__NodeProto *n = nd->bias ? EMIT(ex, "Gemm", nd->name, out, x, w, param(ex, nd, 1, NULL, 0))
                                  : EMIT(ex, "Gemm", nd->name, out, x, w);
    if (n)
        attr_int(ex, n, "transB", 1);
    return 2;
}

static int maxout_onnx(exporter *ex, const fcl_node *nd, int index, const char *out)
{
    const int rank = ex->rank[nd->inputs[0]];
    const int64_t shape[5] = {0, nd->out.c, nd->group_size, nd->in.h, nd->in.w};
    const char *grouped = fmt_name(ex, nd->name, "groups");
    EMIT(ex, "Reshape", grouped, grouped, ex->tensor[nd->inputs[0]],
         int64s(ex, fmt_name(ex, nd->name, "groups_shape"), shape, rank == 4 ? 5 : 3));
    Onnx__NodeProto *n = EMIT(ex, "ReduceMax", nd->name, out, grouped);
    if (n) {
        attr_ints(ex, n, "axes", (const int64_t[]){2}, 1);
        attr_int(ex, n, "keepdims", 0);
    }
    (void)index;
    return rank;
}

/* x / sqrt(sum x^2 + 1e-12) over everything but the batch: facecl's formula exactly. */
static int l2norm_onnx(exporter *ex, const fcl_node *nd, int index, const char *out)
{
    (void)index;
    const int rank = ex->rank[nd->inputs[0]];
    const char *x = ex->tensor[nd->inputs[0]], *ss = fmt_name(ex, nd->name, "sumsq"),
               *eps = fmt_name(ex, nd->name, "plus_eps"), *norm = fmt_name(ex, nd->name, "norm");
    Onnx__NodeProto *r = EMIT(ex, "ReduceSumSquare", ss, ss, x);
    if (r) {
        attr_ints(ex, r, "axes", (const int64_t[]){1, 2, 3}, (size_t)rank - 1);
        attr_int(ex, r, "keepdims", 1);
    }
    EMIT(ex, "Add", eps, eps, ss, scalar(ex, fmt_name(ex, nd->name, "eps"), 1e-12f));
    EMIT(ex, "Sqrt", norm, norm, eps);
    EMIT(ex, "Div", nd->name, out, x, norm);
    return rank;
}

static int batchnorm_onnx(exporter *ex, const fcl_node *nd, int index, const char *out)
{
    (void)index;
    Onnx__NodeProto *n = EMIT(ex, "BatchNormalization", nd->name, out, ex->tensor[nd->inputs[0]],
                              param(ex, nd, 0, NULL, 0), param(ex, nd, 1, NULL, 0), param(ex, nd, 2, NULL, 0),
                              param(ex, nd, 3, NULL, 0));
    if (n) {
        attr_float(ex, n, "epsilon", nd->eps);
        attr_float(ex, n, "momentum", 1.0f - nd->momentum); /* ONNX weighs the running value, facecl the batch's */
    }
    return ex->rank[nd->inputs[0]];
}

/* The rank all of nd's inputs share: 2 when every one is, else 4 (rank-2 ones reshaped). */
static int common_rank(const exporter *ex, const fcl_node *nd)
{
    for (int j = 0; j < nd->n_inputs; j++)
        if (ex->rank[nd->inputs[j]] != 2)
            return 4;
    return 2;
}

static const char *input_at(exporter *ex, const fcl_node *nd, int j, int rank)
{
    return rank == 4 ? input4(ex, nd, j) : ex->tensor[nd->inputs[j]];
}

static int concat_onnx(exporter *ex, const fcl_node *nd, int index, const char *out)
{
    (void)index;
    const int rank = common_rank(ex, nd);
    const char *in[FCL_MAX_INPUTS];
    for (int j = 0; j < nd->n_inputs; j++)
        in[j] = input_at(ex, nd, j, rank);
    Onnx__NodeProto *n = emit(ex, "Concat", nd->name, out, nd->n_inputs, in);
    if (n)
        attr_int(ex, n, "axis", 1);
    return rank;
}

/* in[0] + in[1] + ... + scale * in[last], left to right as facecl adds. */
static int add_onnx(exporter *ex, const fcl_node *nd, int index, const char *out)
{
    (void)index;
    const int rank = common_rank(ex, nd), last = nd->n_inputs - 1;
    const char *acc = input_at(ex, nd, 0, rank);
    for (int j = 1; j <= last; j++) {
        const char *term = input_at(ex, nd, j, rank);
        if (j == last && nd->scale != 1.0f) {
            const char *scaled = fmt_name(ex, nd->name, "scaled");
            EMIT(ex, "Mul", scaled, scaled, term, scalar(ex, fmt_name(ex, nd->name, "scale"), nd->scale));
            term = scaled;
        }
        char what[16];
        snprintf(what, sizeof what, "sum%d", j);
        const char *sum = j == last ? out : fmt_name(ex, nd->name, what);
        EMIT(ex, "Add", j == last ? nd->name : sum, sum, acc, term);
        acc = sum;
    }
    return rank;
}

static int prelu_onnx(exporter *ex, const fcl_node *nd, int index, const char *out)
{
    (void)index;
    const int rank = ex->rank[nd->inputs[0]];
    const int64_t dims[3] = {nd->in.c, 1, 1}; /* broadcast over N (and H, W) */
    EMIT(ex, "PRelu", nd->name, out, ex->tensor[nd->inputs[0]], param(ex, nd, 0, dims, rank == 4 ? 3 : 1));
    return rank;
}

/* cos(x, w_j) for every row w_j: both normalised by max(norm, 1e-6), as facecl does. */
static int cosine_onnx(exporter *ex, const fcl_node *nd, int index, const char *out)
{
    (void)index;
    const char *x = flat_input(ex, nd);
    const char *unit[2] = {NULL, NULL}, *operand[2] = {x, param(ex, nd, 0, NULL, 0)},
               *min_norm = scalar(ex, fmt_name(ex, nd->name, "min_norm"), 1e-6f);
    static const char *const which[2] = {"x", "w"};
    for (int i = 0; i < 2; i++) {
        char what[32];
        snprintf(what, sizeof what, "%s_norm", which[i]);
        const char *norm = fmt_name(ex, nd->name, what);
        Onnx__NodeProto *r = EMIT(ex, "ReduceL2", norm, norm, operand[i]);
        if (r) {
            attr_ints(ex, r, "axes", (const int64_t[]){1}, 1);
            attr_int(ex, r, "keepdims", 1);
        }
        snprintf(what, sizeof what, "%s_clamped", which[i]);
        const char *clamped = fmt_name(ex, nd->name, what);
        EMIT(ex, "Max", clamped, clamped, norm, min_norm);
        snprintf(what, sizeof what, "%s_unit", which[i]);
        unit[i] = fmt_name(ex, nd->name, what);
        EMIT(ex, "Div", unit[i], unit[i], operand[i], clamped);
    }
    Onnx__NodeProto *n = EMIT(ex, "Gemm", nd->name, out, unit[0], unit[1]);
    if (n)
        attr_int(ex, n, "transB", 1);
    return 2;
}

/* Dropout is the identity at inference: its output is its input's tensor. */
static int dropout_onnx(exporter *ex, const fcl_node *nd, int index, const char *out)
{
    (void)out;
    ex->tensor[index] = ex->tensor[nd->inputs[0]];
    return ex->rank[nd->inputs[0]];
}

/* Softmax over the channels: ONNX's along axis 1 (opset 13: that axis alone). */
static int softmax_onnx(exporter *ex, const fcl_node *nd, int index, const char *out)
{
    (void)index;
    Onnx__NodeProto *n = EMIT(ex, "Softmax", nd->name, out, ex->tensor[nd->inputs[0]]);
    if (n)
        attr_int(ex, n, "axis", 1);
    return ex->rank[nd->inputs[0]];
}

static const translate_fn translations[FCL_OP_COUNT] = {
    [FCL_OP_CONV] = conv_onnx,       [FCL_OP_MAXPOOL] = pool_onnx,   [FCL_OP_L2POOL] = pool_onnx,
    [FCL_OP_AVGPOOL] = pool_onnx,    [FCL_OP_LRN] = lrn_onnx,        [FCL_OP_FC] = fc_onnx,
    [FCL_OP_MAXOUT] = maxout_onnx,   [FCL_OP_L2NORM] = l2norm_onnx,  [FCL_OP_BATCHNORM] = batchnorm_onnx,
    [FCL_OP_CONCAT] = concat_onnx,   [FCL_OP_DROPOUT] = dropout_onnx, [FCL_OP_ADD] = add_onnx,
    [FCL_OP_PRELU] = prelu_onnx,     [FCL_OP_COSINE] = cosine_onnx,  [FCL_OP_SOFTMAX] = softmax_onnx,
};

/* The pixel transform: (pixels - mean) / std, the two steps facecl's loader takes. */
static void input_nodes(exporter *ex, const fcl_node *in)
{
    const char *x = FCL_ONNX_INPUT;
    if (in->pixel_mean != 0.0f) {
        const char *out = in->pixel_std != 1.0f ? "input:centred" : in->name;
        EMIT(ex, "Sub", out, out, x, scalar(ex, "input:pixel_mean", in->pixel_mean));
        x = out;
    }
    if (in->pixel_std != 1.0f) {
        EMIT(ex, "Div", in->name, in->name, x, scalar(ex, "input:pixel_std", in->pixel_std));
        x = in->name;
    }
    ex->tensor[0] = x;
    ex->rank[0] = 4;
}

static Onnx__ValueInfoProto *value_info(exporter *ex, const char *name, const int64_t *dims, int ndims)
{
    Onnx__ValueInfoProto *v = fcl_onnx_alloc(&ex->mem, sizeof *v);
    Onnx__TypeProto *t = fcl_onnx_alloc(&ex->mem, sizeof *t);
    Onnx__TypeProto__Tensor *tt = fcl_onnx_alloc(&ex->mem, sizeof *tt);
    Onnx__TensorShapeProto *sh = fcl_onnx_alloc(&ex->mem, sizeof *sh);
    Onnx__TensorShapeProto__Dimension **dim = fcl_onnx_alloc(&ex->mem, (size_t)ndims * sizeof *dim);
    if (!v || !t || !tt || !sh || !dim)
        return NULL;
    onnx__value_info_proto__init(v);
    onnx__type_proto__init(t);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(sh);
    for (int i = 0; i < ndims; i++) {
        dim[i] = fcl_onnx_alloc(&ex->mem, sizeof *dim[i]);
        if (!dim[i])
            return NULL;
        onnx__tensor_shape_proto__dimension__init(dim[i]);
        if (i == 0) {
            dim[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            dim[i]->dim_param = "batch";
        } else {
            dim[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            dim[i]->dim_value = dims[i];
        }
    }
    sh->n_dim = (size_t)ndims;
    sh->dim = dim;
    tt->has_elem_type = true;
    tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tt->shape = sh;
    t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    t->tensor_type = tt;
    v->name = fcl_onnx_strdup(&ex->mem, name);
    v->type = t;
    return v;
}

static fcl_status translate_graph(exporter *ex)
{
    const fcl_model *m = ex->m;
    input_nodes(ex, &m->nodes[0]);
    for (int i = 1; i < m->n_nodes; i++) {
        const fcl_node *nd = &m->nodes[i];
        const bool last = i == m->n_nodes - 1;
        const char *final = last ? FCL_ONNX_OUTPUT : nd->name;
        const char *out = nd->relu ? fmt_name(ex, nd->name, "pre_relu") : fcl_onnx_strdup(&ex->mem, final);
        if (nd->op == FCL_OP_L2POOL && nd->ceil_mode) {
            fcl_log(FCL_LOG_ERROR, "%s: layer '%s': an L2 pool with ceil=1 has no ONNX form at opset %d (LpPool "
                    "gained ceil_mode in opset 18)", m->source, nd->name, FCL_ONNX_OPSET);
            return FCL_ERR_UNSUPPORTED;
        }
        if (nd->op == FCL_OP_LRN && nd->size % 2 == 0) {
            fcl_log(FCL_LOG_ERROR, "%s: layer '%s': an LRN window of even size %d sums %d channels in facecl and %d in "
                    "ONNX: export needs an odd size", m->source, nd->name, nd->size, nd->size + 1, nd->size);
            return FCL_ERR_UNSUPPORTED;
        }
        ex->tensor[i] = out;
        ex->rank[i] = translations[nd->op](ex, nd, i, out);
        if (nd->relu) {
            EMIT(ex, "Relu", fmt_name(ex, nd->name, "relu"), final, out);
            ex->tensor[i] = final;
        }
        if (last && strcmp(ex->tensor[i], FCL_ONNX_OUTPUT) != 0) { /* a dropout at the end */
            EMIT(ex, "Identity", FCL_ONNX_OUTPUT, FCL_ONNX_OUTPUT, ex->tensor[i]);
            ex->tensor[i] = FCL_ONNX_OUTPUT;
        }
    }
    return ex->mem.failed ? FCL_ERR_OUT_OF_HOST_MEMORY : FCL_SUCCESS;
}

fcl_status fcl_onnx_write(const fcl_model *m, const float *params, const char *const (*meta)[2], int n_meta,
                          const char *path)
{
    exporter ex = {.m = m, .params = params};
    ex.tensor = fcl_onnx_alloc(&ex.mem, (size_t)m->n_nodes * sizeof *ex.tensor);
    ex.rank = fcl_onnx_alloc(&ex.mem, (size_t)m->n_nodes * sizeof *ex.rank);
    fcl_status st = ex.mem.failed ? FCL_ERR_OUT_OF_HOST_MEMORY : translate_graph(&ex);
    uint8_t *bytes = NULL;
    if (st == FCL_SUCCESS) {
        Onnx__GraphProto graph = ONNX__GRAPH_PROTO__INIT;
        graph.name = MUTABLE(m->name);
        graph.n_node = ex.nodes.n;
        graph.node = (Onnx__NodeProto **)ex.nodes.items;
        graph.n_initializer = ex.inits.n;
        graph.initializer = (Onnx__TensorProto **)ex.inits.items;
        const fcl_node *in = &m->nodes[0], *out = fcl_model_output(m);
        const int64_t in_dims[4] = {0, in->out.c, in->out.h, in->out.w},
                      out_dims[4] = {0, out->out.c, out->out.h, out->out.w};
        Onnx__ValueInfoProto *gin = value_info(&ex, FCL_ONNX_INPUT, in_dims, 4),
                             *gout = value_info(&ex, FCL_ONNX_OUTPUT, out_dims, ex.rank[m->n_nodes - 1]);
        graph.n_input = graph.n_output = 1;
        graph.input = &gin;
        graph.output = &gout;
        graph.doc_string = "input: 0..255 pixels, N x C x H x W (RGB or grey), as facecl embed reads image files";
        Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT, *opsets = &opset;
        opset.domain = "";
        opset.has_version = true;
        opset.version = FCL_ONNX_OPSET;
        Onnx__StringStringEntryProto *props = fcl_onnx_alloc(&ex.mem, ((size_t)n_meta + 1) * sizeof *props);
        Onnx__StringStringEntryProto **prop_list = fcl_onnx_alloc(&ex.mem, ((size_t)n_meta + 1) * sizeof *prop_list);
        Onnx__ModelProto model = ONNX__MODEL_PROTO__INIT;
        model.has_ir_version = true;
        model.ir_version = 7; /* opset 13's */
        model.n_opset_import = 1;
        model.opset_import = &opsets;
        model.producer_name = "facecl";
        model.producer_version = FACECL_VERSION;
        model.graph = &graph;
        if (!gin || !gout || !props || !prop_list) {
            st = FCL_ERR_OUT_OF_HOST_MEMORY;
        } else {
            for (int i = 0; i < n_meta; i++) {
                onnx__string_string_entry_proto__init(&props[i]);
                props[i].key = MUTABLE(meta[i][0]);
                props[i].value = MUTABLE(meta[i][1]);
                prop_list[i] = &props[i];
            }
            model.n_metadata_props = (size_t)n_meta;
            model.metadata_props = prop_list;
            size_t size = onnx__model_proto__get_packed_size(&model);
            bytes = malloc(size ? size : 1);
            if (!bytes)
                st = FCL_ERR_OUT_OF_HOST_MEMORY;
            else if (onnx__model_proto__pack(&model, bytes) != size)
                st = FCL_ERR_FORMAT;
            else
                st = fcl_write_file_atomic(path, bytes, size);
        }
    }
    free(bytes);
    fcl_onnx_arena_free(&ex.mem);
    return st;
}
