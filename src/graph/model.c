/* The model file: one layer per line, `TYPE NAME key=value ...`, '#' comments.
 *
 *   input h=224 w=224 c=3             # mean=0 std=255: the model takes (pixel - mean) / std
 *   conv conv1 k=7 s=2 c=64           # k, s, p: N or HxW; p=valid is 0; p defaults to (k-1)/2;
 *                                     # relu=1 unless relu=0; bias=0; groups=G
 *   maxpool pool1 k=3 s=2             # also l2pool, avgpool (global=1: whole input)
 *   lrn norm1                         # size=5 alpha=1e-4 beta=0.75 bias=1
 *   inception 3a 1x1=64 3x3r=96 3x3=128 5x5r=16 5x5=32 pool=max proj=32 [s=2]
 *   fc fc1 c=8192                     # relu=0 unless relu=1; bias=0
 *   maxout fc1_max g=2
 *   batchnorm bn1 relu=1              # eps=1e-5 momentum=0.1
 *   dropout drop1 rate=0.3            # training only (0.5 unless given); identity for use
 *   prelu act1                        # a learned slope per channel for x < 0
 *   cosine cls c=10                   # cosines to 10 learned class vectors (margin losses)
 *   add res1 in=x,up scale=0.17 relu=1  # x + 0.17 up
 *   concat cat1 in=a,b,c              # along channels
 *   l2norm embedding
 *
 * Every layer reads the previous line's output unless `in=NAME[,NAME...]` names the
 * layers it reads, each defined above it (so the graph has no cycle). An inception
 * line is a macro: it expands into its branches (NAME/1x1, NAME/3x3r, NAME/3x3,
 * NAME/5x5r, NAME/5x5, NAME/pool, NAME/proj) and a concat node NAME. Unknown types or
 * keys, a key given twice, bad values, unknown inputs and shapes that do not fit are
 * errors that name the file and line. */
#include "graph/graph.h"
#include "runtime/fileio.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MASK(op) (1u << (op))
#define WINDOW_OPS (MASK(FCL_OP_CONV) | MASK(FCL_OP_MAXPOOL) | MASK(FCL_OP_L2POOL) | MASK(FCL_OP_AVGPOOL))
#define POOL_OPS (MASK(FCL_OP_MAXPOOL) | MASK(FCL_OP_L2POOL) | MASK(FCL_OP_AVGPOOL))

#define CONV MASK(FCL_OP_CONV)

/* Keys of layer lines: where each value goes and which ops accept it. A KEY_PAIR is
 * N (both) or HxW, into two ints side by side; `in` is not in the table (names). */
typedef enum { KEY_INT, KEY_FLOAT, KEY_PAIR, KEY_GLOBAL } key_kind;
static const struct layer_key {
    const char *key;
    key_kind kind;
    size_t offset;
    unsigned ops;
    double min, max;
} layer_keys[] = {
    {"k", KEY_PAIR, offsetof(fcl_node, kh), WINDOW_OPS, 1, 64},
    {"kh", KEY_INT, offsetof(fcl_node, kh), WINDOW_OPS, 1, 64},
    {"kw", KEY_INT, offsetof(fcl_node, kw), WINDOW_OPS, 1, 64},
    {"s", KEY_PAIR, offsetof(fcl_node, sh), WINDOW_OPS, 1, 64},
    {"p", KEY_PAIR, offsetof(fcl_node, ph), WINDOW_OPS, 0, 63},
    {"global", KEY_GLOBAL, 0, POOL_OPS, 0, 1},
    {"ceil", KEY_INT, offsetof(fcl_node, ceil_mode), POOL_OPS, 0, 1},
    {"c", KEY_INT, offsetof(fcl_node, channels), CONV | MASK(FCL_OP_FC) | MASK(FCL_OP_COSINE), 1, 1 << 20},
    {"relu", KEY_INT, offsetof(fcl_node, relu), CONV | MASK(FCL_OP_FC) | MASK(FCL_OP_BATCHNORM) | MASK(FCL_OP_ADD), 0,
     1},
    {"bias", KEY_INT, offsetof(fcl_node, bias), CONV | MASK(FCL_OP_FC), 0, 1},
    {"groups", KEY_INT, offsetof(fcl_node, groups), CONV, 1, 1 << 20},
    {"scale", KEY_FLOAT, offsetof(fcl_node, scale), MASK(FCL_OP_ADD), -1e6, 1e6},
    {"g", KEY_INT, offsetof(fcl_node, group_size), MASK(FCL_OP_MAXOUT), 2, 1024},
    {"size", KEY_INT, offsetof(fcl_node, size), MASK(FCL_OP_LRN), 1, 63},
    {"alpha", KEY_FLOAT, offsetof(fcl_node, alpha), MASK(FCL_OP_LRN), 0, 1e3},
    {"beta", KEY_FLOAT, offsetof(fcl_node, beta), MASK(FCL_OP_LRN), 0, 10},
    {"bias", KEY_FLOAT, offsetof(fcl_node, k), MASK(FCL_OP_LRN), 1e-6, 1e3},
    {"eps", KEY_FLOAT, offsetof(fcl_node, eps), MASK(FCL_OP_BATCHNORM), 1e-12, 1},
    {"momentum", KEY_FLOAT, offsetof(fcl_node, momentum), MASK(FCL_OP_BATCHNORM), 0, 1},
    {"rate", KEY_FLOAT, offsetof(fcl_node, rate), MASK(FCL_OP_DROPOUT), 0, 0.95},
};

/* Keys of inception lines. */
enum { INC_1X1, INC_3X3R, INC_3X3, INC_5X5R, INC_5X5, INC_PROJ, INC_STRIDE, INC_COUNT };
static const char *const inception_keys[INC_COUNT] = {
    [INC_1X1] = "1x1", [INC_3X3R] = "3x3r", [INC_3X3] = "3x3", [INC_5X5R] = "5x5r",
    [INC_5X5] = "5x5", [INC_PROJ] = "proj", [INC_STRIDE] = "s",
};
static const struct {
    const char *name;
    fcl_op op; /* FCL_OP_COUNT: no pool branch */
} inception_pools[] = {{"max", FCL_OP_MAXPOOL}, {"l2", FCL_OP_L2POOL}, {"avg", FCL_OP_AVGPOOL}, {"none", FCL_OP_COUNT}};

/* An `in=` list waiting for the whole file (a name may be defined below its use, which
 * is an error we want to explain): node, its line, the names. */
typedef struct pending_inputs {
    int node, line;
    char *names;
} pending_inputs;

typedef struct parser {
    const char *source;
    int line;
    fcl_model *m;
    int cap;
    pending_inputs *pending;
    int n_pending, pending_cap;
} parser;

static fcl_status fail(const parser *p, fcl_status st, const char *fmt, ...) FCL_PRINTF(3, 4);
static fcl_status fail(const parser *p, fcl_status st, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fcl_log(FCL_LOG_ERROR, "%s:%d: %s", p->source, p->line, msg);
    return st;
}

static bool parse_number(const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || errno != 0 || !isfinite(v))
        return false;
    *out = v;
    return true;
}

static fcl_node *new_node(parser *p, fcl_op op, const char *name)
{
    fcl_model *m = p->m;
    if (m->n_nodes == p->cap) {
        int cap = p->cap ? p->cap * 2 : 64;
        fcl_node *grown = realloc(m->nodes, (size_t)cap * sizeof *grown);
        if (!grown)
            return NULL;
        m->nodes = grown;
        p->cap = cap;
    }
    fcl_node *nd = &m->nodes[m->n_nodes++];
    memset(nd, 0, sizeof *nd);
    nd->op = op;
    nd->line = p->line;
    nd->tensor = -1;
    snprintf(nd->name, sizeof nd->name, "%s", name);
    /* Defaults; `-1` marks "derive from k". */
    nd->sh = nd->sw = 1;
    nd->ph = nd->pw = -1;
    nd->relu = op == FCL_OP_CONV;
    nd->groups = 1;
    nd->bias = 1;
    nd->scale = 1.0f;
    nd->pixel_mean = 0.0f, nd->pixel_std = 255.0f; /* pixels / 255 */
    nd->size = 5;
    nd->alpha = 1e-4f;
    nd->beta = 0.75f;
    nd->k = 1.0f;
    nd->eps = 1e-5f;
    nd->momentum = 0.1f;
    nd->rate = 0.5f;
    if (m->n_nodes > 1) {
        nd->inputs[0] = m->n_nodes - 2;
        nd->n_inputs = 1;
    }
    return nd;
}

static fcl_status check_name(parser *p, const char *name)
{
    if (strlen(name) >= FCL_NAME_MAX - 16)
        return fail(p, FCL_ERR_PARSE, "layer name '%s' is too long", name);
    for (const char *c = name; *c; c++)
        if (!isalnum((unsigned char)*c) && !strchr("_-/.", *c))
            return fail(p, FCL_ERR_PARSE, "layer name '%s' may hold letters, digits and _-/. only", name);
    for (int i = 0; i < p->m->n_nodes; i++)
        if (strcmp(p->m->nodes[i].name, name) == 0)
            return fail(p, FCL_ERR_PARSE, "layer name '%s' is used twice (first on line %d)", name,
                        p->m->nodes[i].line);
    return FCL_SUCCESS;
}

/* Splits "key=value"; returns false when there is no '='. */
static bool split_pair(char *token, char **key, char **value)
{
    char *eq = strchr(token, '=');
    if (!eq || eq == token || eq[1] == '\0')
        return false;
    *eq = '\0';
    *key = token;
    *value = eq + 1;
    return true;
}

/* "N" or "HxW" (and for padding "valid": 0) into two whole numbers within [min, max]. */
static bool parse_pair(const char *key, const char *value, double min, double max, int out[2])
{
    if (strcmp(key, "p") == 0 && strcmp(value, "valid") == 0) {
        out[0] = out[1] = 0;
        return true;
    }
    char first[32];
    const char *x = strchr(value, 'x');
    size_t len = x ? (size_t)(x - value) : strlen(value);
    if (len >= sizeof first)
        return false;
    memcpy(first, value, len);
    first[len] = '\0';
    double a, b;
    if (!parse_number(first, &a) || !parse_number(x ? x + 1 : first, &b))
        return false;
    if (a < min || a > max || b < min || b > max || a != floor(a) || b != floor(b))
        return false;
    out[0] = (int)a;
    out[1] = (int)b;
    return true;
}

/* Keeps node's `in=` list for resolve_inputs. */
static fcl_status defer_inputs(parser *p, int node, const char *names)
{
    if (p->n_pending == p->pending_cap) {
        int cap = p->pending_cap ? 2 * p->pending_cap : 16;
        pending_inputs *grown = realloc(p->pending, (size_t)cap * sizeof *grown);
        if (!grown)
            return FCL_ERR_OUT_OF_HOST_MEMORY;
        p->pending = grown;
        p->pending_cap = cap;
    }
    char *copy = strdup(names);
    if (!copy)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    p->pending[p->n_pending++] = (pending_inputs){node, p->line, copy};
    return FCL_SUCCESS;
}

/* The key given twice on one line, if any (the last one would silently win). */
static const char *repeated_key(char **tokens, int n_tokens)
{
    for (int i = 0; i < n_tokens; i++)
        for (int j = 0; j < i; j++) {
            size_t a = strcspn(tokens[i], "="), b = strcspn(tokens[j], "=");
            if (a == b && strncmp(tokens[i], tokens[j], a) == 0)
                return tokens[i];
        }
    return NULL;
}

static fcl_status parse_layer(parser *p, fcl_op op, const char *name, char **tokens, int n_tokens)
{
    fcl_status st = check_name(p, name);
    if (st != FCL_SUCCESS)
        return st;
    if (p->m->n_nodes == 0)
        return fail(p, FCL_ERR_PARSE, "the first layer must be `input h=H w=W c=C`");
    const char *again = repeated_key(tokens, n_tokens);
    if (again)
        return fail(p, FCL_ERR_PARSE, "key '%.*s' is given twice", (int)strcspn(again, "="), again);
    fcl_node *nd = new_node(p, op, name);
    if (!nd)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    bool global = false;
    for (int t = 0; t < n_tokens; t++) {
        char *key, *value;
        if (!split_pair(tokens[t], &key, &value))
            return fail(p, FCL_ERR_PARSE, "expected key=value, got '%s'", tokens[t]);
        if (strcmp(key, "in") == 0) {
            st = defer_inputs(p, p->m->n_nodes - 1, value);
            if (st != FCL_SUCCESS)
                return st;
            continue;
        }
        const struct layer_key *k = NULL;
        for (size_t i = 0; i < sizeof layer_keys / sizeof layer_keys[0] && !k; i++)
            if (strcmp(layer_keys[i].key, key) == 0 && (layer_keys[i].ops & MASK(op)))
                k = &layer_keys[i];
        if (!k)
            return fail(p, FCL_ERR_PARSE, "unknown key '%s' for %s", key, fcl_ops[op]->name);
        char *field = (char *)nd + k->offset;
        if (k->kind == KEY_PAIR) {
            if (!parse_pair(key, value, k->min, k->max, (int *)field))
                return fail(p, FCL_ERR_PARSE, "bad value '%s' for %s (want N or HxW, whole numbers from %g to %g%s)",
                            value, key, k->min, k->max, strcmp(key, "p") == 0 ? ", or valid" : "");
            continue;
        }
        double v;
        if (!parse_number(value, &v) || v < k->min || v > k->max ||
            (k->kind != KEY_FLOAT && v != floor(v)))
            return fail(p, FCL_ERR_PARSE, "bad value '%s' for %s (want %s from %g to %g)", value, key,
                        k->kind == KEY_FLOAT ? "a number" : "a whole number", k->min, k->max);
        switch (k->kind) {
        case KEY_INT: *(int *)field = (int)v; break;
        case KEY_FLOAT: *(float *)field = (float)v; break;
        case KEY_GLOBAL: global = v != 0; break;
        case KEY_PAIR: break;
        }
    }
    if ((MASK(op) & WINDOW_OPS) && global) {
        nd->kh = nd->kw = 0; /* the pool's infer takes the input's size */
        nd->ph = nd->pw = 0;
    } else if ((MASK(op) & WINDOW_OPS) && (nd->kh == 0 || nd->kw == 0)) {
        return fail(p, FCL_ERR_PARSE, "%s needs a kernel size k= (or kh= and kw=)%s", fcl_ops[op]->name,
                    (MASK(op) & POOL_OPS) ? ", or global=1" : "");
    }
    if ((MASK(op) & WINDOW_OPS) && nd->ph < 0) /* "same" padding for odd kernels, per axis */
        nd->ph = (nd->kh - 1) / 2, nd->pw = (nd->kw - 1) / 2;
    if (op == FCL_OP_MAXOUT && nd->group_size == 0)
        return fail(p, FCL_ERR_PARSE, "maxout needs g= (group size)");
    return FCL_SUCCESS;
}

static fcl_status parse_input(parser *p, char **tokens, int n_tokens)
{
    if (p->m->n_nodes != 0)
        return fail(p, FCL_ERR_PARSE, "`input` must come first, and only once");
    const char *again = repeated_key(tokens, n_tokens);
    if (again)
        return fail(p, FCL_ERR_PARSE, "key '%.*s' is given twice", (int)strcspn(again, "="), again);
    fcl_node *nd = new_node(p, FCL_OP_INPUT, "input");
    if (!nd)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    /* The shape (whole numbers, required) and the pixel transform (facenet-pytorch's
     * models take (x - 127.5) / 128; the default is x / 255). */
    static const struct {
        const char *key;
        size_t offset;
        bool whole;
        double min, max;
    } input_keys[] = {
        {"h", offsetof(fcl_node, in.h), true, 1, 8192},       {"w", offsetof(fcl_node, in.w), true, 1, 8192},
        {"c", offsetof(fcl_node, in.c), true, 1, 8192},       {"mean", offsetof(fcl_node, pixel_mean), false, -1e4, 1e4},
        {"std", offsetof(fcl_node, pixel_std), false, 1e-3, 1e4},
    };
    const size_t n_keys = sizeof input_keys / sizeof input_keys[0];
    for (int t = 0; t < n_tokens; t++) {
        char *key, *value;
        double v;
        size_t k = 0;
        if (!split_pair(tokens[t], &key, &value))
            return fail(p, FCL_ERR_PARSE, "expected key=value, got '%s'", tokens[t]);
        while (k < n_keys && strcmp(key, input_keys[k].key) != 0)
            k++;
        if (k == n_keys)
            return fail(p, FCL_ERR_PARSE, "unknown key '%s' for input (h, w, c, mean, std)", key);
        const bool whole = input_keys[k].whole;
        if (!parse_number(value, &v) || v < input_keys[k].min || v > input_keys[k].max || (whole && v != floor(v)))
            return fail(p, FCL_ERR_PARSE, "bad value '%s' for %s (want a %s from %g to %g)", value, key,
                        whole ? "whole number" : "number", input_keys[k].min, input_keys[k].max);
        char *field = (char *)nd + input_keys[k].offset;
        if (whole)
            *(int *)field = (int)v;
        else
            *(float *)field = (float)v;
    }
    for (size_t k = 0; k < n_keys; k++)
        if (input_keys[k].whole && *(const int *)((const char *)nd + input_keys[k].offset) == 0)
            return fail(p, FCL_ERR_PARSE, "input needs %s=", input_keys[k].key);
    return FCL_SUCCESS;
}

/* Adds a conv (or pool) branch node reading `from`; returns its index or -1. */
static int add_branch(parser *p, fcl_op op, const char *module, const char *suffix, int from, int channels, int k,
                      int stride)
{
    char name[FCL_NAME_MAX];
    snprintf(name, sizeof name, "%s/%s", module, suffix);
    if (check_name(p, name) != FCL_SUCCESS)
        return -2;
    fcl_node *nd = new_node(p, op, name);
    if (!nd)
        return -1;
    nd->inputs[0] = from;
    nd->n_inputs = 1;
    nd->channels = channels;
    nd->kh = nd->kw = k;
    nd->sh = nd->sw = stride;
    nd->ph = nd->pw = (k - 1) / 2;
    return p->m->n_nodes - 1;
}

static fcl_status parse_inception(parser *p, const char *name, char **tokens, int n_tokens)
{
    fcl_status st = check_name(p, name);
    if (st != FCL_SUCCESS)
        return st;
    if (p->m->n_nodes == 0)
        return fail(p, FCL_ERR_PARSE, "the first layer must be `input h=H w=W c=C`");
    const char *again = repeated_key(tokens, n_tokens);
    if (again)
        return fail(p, FCL_ERR_PARSE, "key '%.*s' is given twice", (int)strcspn(again, "="), again);
    int v[INC_COUNT] = {[INC_STRIDE] = 1};
    fcl_op pool = FCL_OP_COUNT;
    const char *in_names = NULL;
    for (int t = 0; t < n_tokens; t++) {
        char *key, *value;
        if (!split_pair(tokens[t], &key, &value))
            return fail(p, FCL_ERR_PARSE, "expected key=value, got '%s'", tokens[t]);
        if (strcmp(key, "in") == 0) {
            if (strchr(value, ','))
                return fail(p, FCL_ERR_PARSE, "an inception module reads one input (in=NAME), got '%s'", value);
            in_names = value;
            continue;
        }
        if (strcmp(key, "pool") == 0) {
            size_t i = 0, n = sizeof inception_pools / sizeof inception_pools[0];
            while (i < n && strcmp(inception_pools[i].name, value) != 0)
                i++;
            if (i == n)
                return fail(p, FCL_ERR_PARSE, "bad value '%s' for pool (max, l2, avg or none)", value);
            pool = inception_pools[i].op;
            continue;
        }
        int which = -1;
        for (int i = 0; i < INC_COUNT; i++)
            if (strcmp(inception_keys[i], key) == 0)
                which = i;
        if (which < 0)
            return fail(p, FCL_ERR_PARSE, "unknown key '%s' for inception (1x1 3x3r 3x3 5x5r 5x5 pool proj s in)",
                        key);
        double d;
        if (!parse_number(value, &d) || d < 0 || d > (1 << 20) || d != floor(d) ||
            (which == INC_STRIDE && (d < 1 || d > 8)))
            return fail(p, FCL_ERR_PARSE, "bad value '%s' for %s", value, key);
        v[which] = (int)d;
    }
    if (v[INC_PROJ] && pool == FCL_OP_COUNT)
        return fail(p, FCL_ERR_PARSE, "proj= needs a pool= branch");
    if ((v[INC_3X3R] && !v[INC_3X3]) || (v[INC_5X5R] && !v[INC_5X5]))
        return fail(p, FCL_ERR_PARSE, "a reduction (3x3r/5x5r) needs its convolution (3x3/5x5)");
    const int in = p->m->n_nodes - 1, s = v[INC_STRIDE];
    int branches[4], nb = 0;
    if (v[INC_1X1]) {
        if (s != 1)
            return fail(p, FCL_ERR_PARSE, "a 1x1 branch cannot be strided (drop 1x1= or s=)");
        branches[nb++] = add_branch(p, FCL_OP_CONV, name, "1x1", in, v[INC_1X1], 1, 1);
    }
    static const struct {
        int reduce, conv, k;
        const char *reduce_name, *conv_name;
    } spatial[] = {{INC_3X3R, INC_3X3, 3, "3x3r", "3x3"}, {INC_5X5R, INC_5X5, 5, "5x5r", "5x5"}};
    for (size_t b = 0; b < 2; b++) {
        if (!v[spatial[b].conv])
            continue;
        int from = in;
        if (v[spatial[b].reduce])
            from = add_branch(p, FCL_OP_CONV, name, spatial[b].reduce_name, in, v[spatial[b].reduce], 1, 1);
        branches[nb++] = from < 0 ? from : add_branch(p, FCL_OP_CONV, name, spatial[b].conv_name, from,
                                                       v[spatial[b].conv], spatial[b].k, s);
    }
    if (pool != FCL_OP_COUNT) {
        int pooled = add_branch(p, pool, name, "pool", in, 0, 3, s);
        branches[nb++] = v[INC_PROJ] && pooled >= 0 ? add_branch(p, FCL_OP_CONV, name, "proj", pooled, v[INC_PROJ], 1, 1)
                                                    : pooled;
    }
    if (nb == 0)
        return fail(p, FCL_ERR_PARSE, "inception %s has no branch", name);
    for (int b = 0; b < nb; b++)
        if (branches[b] < 0) /* -2: a generated name is taken (check_name said so) */
            return branches[b] == -2 ? FCL_ERR_PARSE : FCL_ERR_OUT_OF_HOST_MEMORY;
    /* The branches that read the module's input read the named layer instead. */
    for (int j = in + 1; in_names && j < p->m->n_nodes && st == FCL_SUCCESS; j++)
        if (p->m->nodes[j].inputs[0] == in)
            st = defer_inputs(p, j, in_names);
    if (st != FCL_SUCCESS)
        return st;
    fcl_node *cat = new_node(p, FCL_OP_CONCAT, name);
    if (!cat)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    memcpy(cat->inputs, branches, sizeof(int) * (size_t)nb);
    cat->n_inputs = nb;
    return FCL_SUCCESS;
}

static int find_node(const fcl_model *m, const char *name)
{
    for (int i = 0; i < m->n_nodes; i++)
        if (strcmp(m->nodes[i].name, name) == 0)
            return i;
    return -1;
}

/* Whether `from` reaches `to` along inputs: a depth-first walk with a stack of its own
 * (a long file must not exhaust the C stack), each node visited once. */
static fcl_status reaches(const fcl_model *m, int from, int to, bool *out)
{
    bool *seen = calloc((size_t)m->n_nodes, sizeof *seen);
    int *stack = malloc((size_t)m->n_nodes * FCL_MAX_INPUTS * sizeof *stack);
    if (!seen || !stack) {
        free(seen);
        free(stack);
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    }
    int top = 0;
    stack[top++] = from;
    *out = false;
    while (top > 0 && !*out) {
        const int i = stack[--top];
        if (i == to)
            *out = true;
        else if (!seen[i]) {
            seen[i] = true;
            for (int j = 0; j < m->nodes[i].n_inputs; j++)
                if (!seen[m->nodes[i].inputs[j]])
                    stack[top++] = m->nodes[i].inputs[j];
        }
    }
    free(seen);
    free(stack);
    return FCL_SUCCESS;
}

/* Turns every `in=` list into input indices; each input must be defined above its
 * reader, which keeps the nodes in an order that runs (and the graph acyclic). */
static fcl_status resolve_inputs(parser *p)
{
    fcl_model *m = p->m;
    for (int q = 0; q < p->n_pending; q++) { /* every list first, so a cycle can be named */
        fcl_node *nd = &m->nodes[p->pending[q].node];
        p->line = p->pending[q].line;
        nd->n_inputs = 0;
        for (char *save = NULL, *name = strtok_r(p->pending[q].names, ",", &save); name;
             name = strtok_r(NULL, ",", &save)) {
            int j = find_node(m, name);
            if (j < 0)
                return fail(p, FCL_ERR_PARSE, "%s: unknown input '%s' (no layer of that name)", nd->name, name);
            if (nd->n_inputs == FCL_MAX_INPUTS)
                return fail(p, FCL_ERR_PARSE, "%s: more than %d inputs", nd->name, FCL_MAX_INPUTS);
            nd->inputs[nd->n_inputs++] = j;
        }
        if (nd->n_inputs == 0)
            return fail(p, FCL_ERR_PARSE, "%s: in= names no layer", nd->name);
    }
    for (int i = 1; i < m->n_nodes; i++) {
        fcl_node *nd = &m->nodes[i];
        p->line = nd->line;
        for (int j = 0; j < nd->n_inputs; j++) {
            if (nd->inputs[j] < i)
                continue;
            const fcl_node *src = &m->nodes[nd->inputs[j]];
            bool cycle;
            if (reaches(m, nd->inputs[j], i, &cycle) != FCL_SUCCESS)
                return FCL_ERR_OUT_OF_HOST_MEMORY;
            if (cycle)
                return fail(p, FCL_ERR_PARSE, "%s: reading '%s' makes a cycle (%s depends on %s)", nd->name,
                            src->name, src->name, nd->name);
            return fail(p, FCL_ERR_PARSE, "%s: input '%s' is used before it is defined (line %d); a layer reads "
                                          "only layers above it", nd->name, src->name, src->line);
        }
        const fcl_op_def *op = fcl_ops[nd->op];
        const int lo = op->min_inputs ? op->min_inputs : 1, hi = op->max_inputs ? op->max_inputs : 1;
        if (nd->n_inputs < lo || nd->n_inputs > hi)
            return fail(p, FCL_ERR_PARSE, "%s (%s) reads %s%d input%s; in= names %d", nd->name, op->name,
                        lo == hi ? "" : "at least ", lo, lo == 1 ? "" : "s", nd->n_inputs);
    }
    return FCL_SUCCESS;
}

/* Shapes, parameter offsets and state offsets, in node order. */
static fcl_status infer_shapes(parser *p)
{
    fcl_model *m = p->m;
    size_t params = 0, state = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        fcl_node *nd = &m->nodes[i];
        p->line = nd->line;
        for (int j = 0; j < nd->n_inputs; j++)
            nd->ins[j] = m->nodes[nd->inputs[j]].out;
        if (nd->op != FCL_OP_INPUT)
            nd->in = nd->ins[0];
        char why[256] = "";
        fcl_status st = fcl_ops[nd->op]->infer(nd, why, sizeof why);
        if (st != FCL_SUCCESS)
            return fail(p, st, "%s (%s): %s", nd->name, fcl_ops[nd->op]->name, why[0] ? why : "shape does not fit");
        if (nd->out.c < 1 || nd->out.h < 1 || nd->out.w < 1)
            return fail(p, FCL_ERR_SHAPE, "%s: output %dx%dx%d is empty", nd->name, nd->out.h, nd->out.w, nd->out.c);
        if ((double)nd->out.c * nd->out.h * nd->out.w > 1e9)
            return fail(p, FCL_ERR_SHAPE, "%s: output is too large", nd->name);
        fcl_param_desc desc[FCL_MAX_PARAMS];
        int np = fcl_ops[nd->op]->params(nd, desc);
        nd->param_off = params;
        for (int j = 0; j < np; j++)
            params += desc[j].count;
        nd->state_off = state;
        state += fcl_ops[nd->op]->state_floats * (size_t)nd->out.c;
    }
    if (params >= (size_t)1 << 31)
        return fail(p, FCL_ERR_SHAPE, "the model has %zu parameters: more than facecl's 2^31 limit", params);
    m->n_params = params;
    m->n_state = state;
    return FCL_SUCCESS;
}

#define MAX_TOKENS 32

static fcl_status parse_line(parser *p, char *text)
{
    char *hash = strchr(text, '#');
    if (hash)
        *hash = '\0';
    char *tokens[MAX_TOKENS];
    int n = 0;
    for (char *tok = strtok(text, " \t\r"); tok; tok = strtok(NULL, " \t\r")) {
        if (n == MAX_TOKENS)
            return fail(p, FCL_ERR_PARSE, "too many fields (at most %d)", MAX_TOKENS);
        tokens[n++] = tok;
    }
    if (n == 0)
        return FCL_SUCCESS;
    if (strcmp(tokens[0], "model") == 0) {
        if (n != 2)
            return fail(p, FCL_ERR_PARSE, "expected `model NAME`");
        snprintf(p->m->name, sizeof p->m->name, "%s", tokens[1]);
        return FCL_SUCCESS;
    }
    if (strcmp(tokens[0], "input") == 0)
        return parse_input(p, tokens + 1, n - 1);
    if (n < 2)
        return fail(p, FCL_ERR_PARSE, "expected `%s NAME key=value ...`", tokens[0]);
    if (strcmp(tokens[0], "inception") == 0)
        return parse_inception(p, tokens[1], tokens + 2, n - 2);
    fcl_op op;
    if (!fcl_op_lookup(tokens[0], &op) || op == FCL_OP_INPUT)
        return fail(p, FCL_ERR_PARSE,
                    "unknown layer type '%s' (conv, maxpool, l2pool, avgpool, lrn, fc, maxout, batchnorm, "
                    "dropout, prelu, add, concat, l2norm, cosine, inception)",
                    tokens[0]);
    return parse_layer(p, op, tokens[1], tokens + 2, n - 2);
}

fcl_status fcl_model_parse(const char *text, const char *source, fcl_model **out)
{
    *out = NULL;
    fcl_model *m = calloc(1, sizeof *m);
    char *copy = strdup(text);
    if (!m || !copy) {
        free(m);
        free(copy);
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    }
    parser p = {.source = source, .m = m};
    snprintf(m->source, sizeof m->source, "%s", source);
    const char *base = strrchr(source, '/');
    snprintf(m->name, sizeof m->name, "%.*s", (int)strcspn(base ? base + 1 : source, "."), base ? base + 1 : source);
    fcl_status st = FCL_SUCCESS;
    char *line = copy;
    if (strncmp(line, "\xEF\xBB\xBF", 3) == 0) /* a UTF-8 byte order mark, as some editors write */
        line += 3;
    while (line && st == FCL_SUCCESS) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        p.line++;
        st = parse_line(&p, line);
        line = next;
    }
    free(copy);
    if (st == FCL_SUCCESS && m->n_nodes < 2)
        st = fail(&p, FCL_ERR_PARSE, "a model needs an input line and at least one layer");
    if (st == FCL_SUCCESS)
        st = resolve_inputs(&p);
    for (int q = 0; q < p.n_pending; q++)
        free(p.pending[q].names);
    free(p.pending);
    if (st == FCL_SUCCESS)
        st = infer_shapes(&p);
    if (st != FCL_SUCCESS) {
        fcl_model_destroy(m);
        return st;
    }
    *out = m;
    return FCL_SUCCESS;
}

/* One node as a model-file line: every key of its op with the value it holds, and its
 * inputs by name (the DAG form, which parses back into the same node). */
/* A pool whose window is its whole (unpadded) input: `global=1` in the file. */
static bool is_global_pool(const fcl_node *nd)
{
    return (MASK(nd->op) & POOL_OPS) && nd->kh == nd->in.h && nd->kw == nd->in.w && nd->ph == 0 && nd->pw == 0;
}

static void format_node(FILE *f, const fcl_model *m, const fcl_node *nd)
{
    if (nd->op == FCL_OP_INPUT) {
        fprintf(f, "input h=%d w=%d c=%d mean=%.9g std=%.9g\n", nd->out.h, nd->out.w, nd->out.c,
                (double)nd->pixel_mean, (double)nd->pixel_std);
        return;
    }
    fprintf(f, "%s %s in=", fcl_ops[nd->op]->name, nd->name);
    for (int j = 0; j < nd->n_inputs; j++)
        fprintf(f, "%s%s", j ? "," : "", m->nodes[nd->inputs[j]].name);
    const bool global = is_global_pool(nd);
    for (size_t i = 0; i < sizeof layer_keys / sizeof layer_keys[0]; i++) {
        const struct layer_key *k = &layer_keys[i];
        if (!(k->ops & MASK(nd->op)) || strcmp(k->key, "kh") == 0 || strcmp(k->key, "kw") == 0 ||
            (global && strcmp(k->key, "k") == 0) || (global && strcmp(k->key, "p") == 0) ||
            (strcmp(k->key, "ceil") == 0 && !nd->ceil_mode)) /* only where it is on: older files stay as they were */
            continue;
        const char *field = (const char *)nd + k->offset;
        switch (k->kind) {
        case KEY_INT: fprintf(f, " %s=%d", k->key, *(const int *)field); break;
        case KEY_FLOAT: fprintf(f, " %s=%.9g", k->key, (double)*(const float *)field); break;
        case KEY_PAIR: fprintf(f, " %s=%dx%d", k->key, ((const int *)field)[0], ((const int *)field)[1]); break;
        case KEY_GLOBAL: fprintf(f, " global=%d", global); break;
        }
    }
    fputc('\n', f);
}

fcl_status fcl_model_format(const fcl_model *m, char **text)
{
    size_t size;
    *text = NULL;
    FILE *f = open_memstream(text, &size);
    if (!f)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    fprintf(f, "model %s\n", m->name);
    for (int i = 0; i < m->n_nodes; i++)
        format_node(f, m, &m->nodes[i]);
    if (fclose(f) != 0) {
        free(*text);
        *text = NULL;
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    }
    return FCL_SUCCESS;
}

/* A copy of m with room for `spare` more nodes; NULL without memory. */
static fcl_model *copy_model(const fcl_model *m, int spare)
{
    fcl_model *c = calloc(1, sizeof *c);
    fcl_node *nodes = malloc(((size_t)m->n_nodes + (size_t)spare) * sizeof *nodes);
    if (!c || !nodes) {
        free(c);
        free(nodes);
        return NULL;
    }
    *c = *m;
    memcpy(nodes, m->nodes, (size_t)m->n_nodes * sizeof *nodes);
    c->nodes = nodes;
    return c;
}

fcl_status fcl_model_with_head(const fcl_model *m, const char *name, fcl_op op, int units, fcl_model **out)
{
    *out = NULL;
    fcl_model *h = copy_model(m, 1);
    if (!h)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    parser p = {.source = m->source, .line = 0, .m = h, .cap = m->n_nodes + 1};
    fcl_status st = check_name(&p, name);
    if (st == FCL_SUCCESS) {
        fcl_node *nd = new_node(&p, op, name);
        nd->channels = units;
        nd->relu = 0;
        st = infer_shapes(&p);
    }
    if (st != FCL_SUCCESS) {
        fcl_model_destroy(h);
        return st;
    }
    *out = h;
    return FCL_SUCCESS;
}

fcl_status fcl_model_output_as_input(const fcl_model *m, fcl_model **out)
{
    *out = NULL;
    fcl_model *r = copy_model(m, 0);
    if (!r)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    r->nodes[0].in = r->nodes[0].out = fcl_model_output(m)->out; /* the input node, reshaped */
    r->n_nodes = 1;
    parser p = {.source = m->source, .line = 0, .m = r, .cap = m->n_nodes};
    fcl_status st = infer_shapes(&p);
    if (st != FCL_SUCCESS) {
        fcl_model_destroy(r);
        return st;
    }
    *out = r;
    return FCL_SUCCESS;
}

fcl_status fcl_model_for_input(const fcl_model *m, int height, int width, fcl_model **out)
{
    *out = NULL;
    if (!m || height < 1 || width < 1 || height > 8192 || width > 8192)
        return FCL_ERR_INVALID_ARGUMENT;
    fcl_model *r = copy_model(m, 0);
    if (!r)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    fcl_node *nodes = r->nodes;
    for (int i = 1; i < m->n_nodes; i++) /* a global pool stays global: its window follows the input */
        if (is_global_pool(&nodes[i]))
            nodes[i].kh = nodes[i].kw = 0; /* as the parser leaves it: pool_infer takes the input's size */
    nodes[0].in.h = nodes[0].out.h = height;
    nodes[0].in.w = nodes[0].out.w = width;
    parser p = {.source = m->source, .line = 0, .m = r, .cap = m->n_nodes};
    fcl_status st = infer_shapes(&p);
    for (int i = 0; st == FCL_SUCCESS && i < m->n_nodes; i++) /* node i's parameters end where i + 1's start */
        if ((i + 1 < m->n_nodes ? nodes[i + 1].param_off : r->n_params) !=
            (i + 1 < m->n_nodes ? m->nodes[i + 1].param_off : m->n_params)) {
            fcl_log(FCL_LOG_ERROR, "%s: %s (%s) has parameters that depend on the input size: the model runs at "
                                   "%dx%d only, not %dx%d", m->source, nodes[i].name, fcl_ops[nodes[i].op]->name,
                    m->nodes[0].out.h, m->nodes[0].out.w, height, width);
            st = FCL_ERR_SHAPE;
        }
    if (st != FCL_SUCCESS) {
        fcl_model_destroy(r);
        return st;
    }
    *out = r;
    return FCL_SUCCESS;
}

fcl_status fcl_model_load(const char *path, fcl_model **out)
{
    char *text;
    *out = NULL;
    fcl_status st = fcl_read_text_file(path, "model file", &text);
    if (st != FCL_SUCCESS)
        return st;
    st = fcl_model_parse(text, path, out);
    free(text);
    return st;
}

void fcl_model_destroy(fcl_model *m)
{
    if (!m)
        return;
    free(m->nodes);
    free(m);
}

uint64_t fcl_model_macs(const fcl_model *m)
{
    uint64_t total = 0;
    for (int i = 0; i < m->n_nodes; i++)
        total += fcl_ops[m->nodes[i].op]->macs(&m->nodes[i]);
    return total;
}

size_t fcl_model_trainable(const fcl_model *m)
{
    size_t total = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        fcl_param_desc d[FCL_MAX_PARAMS];
        int np = fcl_ops[m->nodes[i].op]->params(&m->nodes[i], d);
        for (int j = 0; j < np; j++)
            total += d[j].trainable ? d[j].count : 0;
    }
    return total;
}
