/* The layer graph: nodes from a model file, shapes, parameters, the op table, and a
 * planned network (arenas + kernels) that runs forward and backward on one queue. */
#ifndef FCL_GRAPH_GRAPH_H
#define FCL_GRAPH_GRAPH_H

#include "data/image.h"
#include "gemm/gemm.h"
#include "runtime/launch.h"

#include <stdint.h>
#include <stdio.h>

typedef enum fcl_op {
    FCL_OP_INPUT,
    FCL_OP_CONV,
    FCL_OP_MAXPOOL,
    FCL_OP_L2POOL,
    FCL_OP_AVGPOOL,
    FCL_OP_LRN,
    FCL_OP_FC,
    FCL_OP_MAXOUT,
    FCL_OP_L2NORM,
    FCL_OP_BATCHNORM,
    FCL_OP_CONCAT,
    FCL_OP_DROPOUT,
    FCL_OP_ADD,
    FCL_OP_PRELU,
    FCL_OP_COSINE,
    FCL_OP_SOFTMAX,
    FCL_OP_COUNT
} fcl_op;

typedef struct fcl_shape {
    int c, h, w;
} fcl_shape;

static inline int fcl_shape_size(fcl_shape s) { return s.c * s.h * s.w; }

#define FCL_MAX_INPUTS 8
#define FCL_NAME_MAX 64

typedef struct fcl_node {
    fcl_op op;
    char name[FCL_NAME_MAX];
    int line;                    /* model-file line, for messages */
    int inputs[FCL_MAX_INPUTS];  /* node indices, each before this one; add and concat take several */
    int n_inputs;
    fcl_shape in, out;           /* in: the first input's shape */
    fcl_shape ins[FCL_MAX_INPUTS]; /* every input's shape */
    /* attributes (which ones apply depends on op) */
    int kh, kw;                  /* window */
    int sh, sw;                  /* stride */
    int ph, pw;                  /* padding */
    int channels;                /* conv: output channels; fc: units */
    int relu;                    /* fused ReLU on the output */
    int groups;                  /* conv: channel groups (1; the input channels: depthwise) */
    int bias;                    /* conv: with a bias (1) or without (0) */
    int group_size;              /* maxout */
    int ceil_mode;               /* pools: the output size rounded up, as PyTorch's ceil_mode (MTCNN) */
    float scale;                 /* add: the factor on its last input */
    int size;                    /* lrn window */
    float alpha, beta, k;        /* lrn */
    float eps, momentum;         /* batchnorm */
    float rate;                  /* dropout: the fraction of activations dropped in training */
    float pixel_mean, pixel_std; /* input: the model takes (pixel - mean) / std of 0..255 pixels */
    /* planned */
    size_t param_off;            /* floats into the parameter arena */
    size_t state_off;            /* floats into the state arena (batchnorm batch stats) */
    int tensor;                  /* root activation tensor of the output */
    int c_start;                 /* first channel of the output inside that tensor */
} fcl_node;

/* How fcl_net_init_params fills a parameter tensor. */
typedef enum fcl_param_init {
    FCL_INIT_AUTO, /* He-normal for a "weight", zeros otherwise */
    FCL_INIT_ZERO,
    FCL_INIT_ONE,
    FCL_INIT_PRELU, /* 0.25, PyTorch's PReLU default */
} fcl_param_init;

/* One named parameter tensor of a node ("conv1.weight"). */
typedef struct fcl_param_desc {
    const char *suffix; /* "weight", "bias", "running_mean", ... */
    size_t count;
    int dims[4];
    int ndims;
    bool trainable;
    fcl_param_init init;
} fcl_param_desc;

#define FCL_MAX_PARAMS 4

/* What each op provides; one table entry per op, one source file per layer. */
typedef struct fcl_net fcl_net;
typedef struct fcl_op_def {
    const char *name;
    int min_inputs, max_inputs; /* how many inputs the op takes (0 and 0: one) */
    /* Sets node->out from node->in; a non-empty *why (with a non-OK return) says what is wrong. */
    fcl_status (*infer)(fcl_node *node, char *why, size_t why_size);
    /* Parameter tensors in arena order; returns how many. */
    int (*params)(const fcl_node *node, fcl_param_desc out[FCL_MAX_PARAMS]);
    uint64_t (*macs)(const fcl_node *node); /* multiply-adds per image */
    size_t state_floats;                   /* per output channel */
    fcl_status (*forward)(fcl_net *net, const fcl_node *node);
    fcl_status (*backward)(fcl_net *net, const fcl_node *node);
    /* backward applies the fused ReLU's mask itself (one pass less over the gradient);
     * otherwise the graph runs relu_backward on the output's gradient first. */
    bool backward_masks_relu;
    /* Plain C reference in double precision: y = f(x[0], x[1], ...; params), one batch of n. */
    void (*reference)(const fcl_node *node, int n, const double *const *x, const double *params, double *y);
    /* Scratch floats the forward (and, in training, backward) pass needs on net (its
     * conv_way set); NULL: none. */
    size_t (*workspace)(const fcl_net *net, const fcl_node *node, int batch, bool training);
} fcl_op_def;

extern const fcl_op_def *const fcl_ops[FCL_OP_COUNT];
const fcl_op_def *fcl_op_lookup(const char *name, fcl_op *op);

/* A parsed model: nodes in execution order (every input precedes its user). */
typedef struct fcl_model {
    char name[FCL_NAME_MAX];
    char source[256]; /* file name, for messages */
    fcl_node *nodes;
    int n_nodes;
    size_t n_params;  /* floats in the parameter arena */
    size_t n_state;   /* floats of batch statistics per forward */
} fcl_model;

/* fcl_model_parse, fcl_model_load, fcl_model_destroy: include/facecl.h. */
/* fcl_model_format: include/facecl.h (src/graph/model.c). */
/* A copy of model with a layer `op` (fc or cosine) of `units` outputs after its output (a
 * classifier head for training; name it FCL_ST_STATE_PREFIX-style, "train.classifier",
 * and weights loaders of the plain model skip it). */
fcl_status fcl_model_with_head(const fcl_model *model, const char *name, fcl_op op, int units, fcl_model **out);
/* A model of one node: model's output as its input (what a loss computed apart from
 * the network reads: data-parallel training's global batch of embeddings). */
fcl_status fcl_model_output_as_input(const fcl_model *model, fcl_model **out);
uint64_t fcl_model_macs(const fcl_model *model);
size_t fcl_model_trainable(const fcl_model *model);
/* Index of the output node: the last one. */
static inline const fcl_node *fcl_model_output(const fcl_model *m) { return &m->nodes[m->n_nodes - 1]; }
/* What the input node takes from an image. */
static inline fcl_input_form fcl_model_input_form(const fcl_model *m)
{
    const fcl_node *in = &m->nodes[0];
    return (fcl_input_form){in->out.c, in->out.h, in->out.w, in->pixel_mean, in->pixel_std};
}

/* Activation storage: root tensors; a node's output is a channel slice of one. */
typedef struct fcl_tensor {
    fcl_shape shape;
    size_t offset;    /* floats into the activation arena (the whole batch) */
    int first, last;  /* node indices of first write and last read */
} fcl_tensor;

/* Batch statistics shared by the replicas of one data-parallel batch (src/train/parallel.c).
 * sum replaces v[0..n) with the sum of every replica's v, the same bits for each; mine:
 * this replica's status so far (a failed one still comes, with v NULL, so that none
 * waits for it), and the worst any replica had comes back. images: the batch over all
 * the replicas. */
typedef struct fcl_net_sync {
    fcl_status (*sum)(void *ctx, fcl_status mine, float *v, size_t n);
    void *ctx;
    int images;
} fcl_net_sync;

struct fcl_net {
    fcl_runtime *rt;
    const fcl_model *model;
    int batch;
    bool training;
    fcl_tensor *tensors;
    int n_tensors;
    size_t act_floats;          /* activation arena size (planned) */
    size_t act_floats_unshared; /* what it would be without lifetime reuse */
    cl_mem params, grads, acts, dacts, state;
    cl_mem work; /* shared scratch: im2col columns, transposed weights */
    cl_mem nonfinite; /* partial counts of fcl_net_check_gradients (made on first use) */
    size_t work_floats;
    /* Every kernel the net's layers, losses and optimiser launch, and with a profiling
     * runtime their device times (launch.dry_run: built, not run). */
    fcl_launcher launch;
    fcl_gemm_ctx *gemm;   /* the products, launched through launch (src/gemm/) */
    uint32_t dropout_key; /* which masks a training forward's dropout draws: the trainer's step */
    int first_image;      /* where this batch starts in the global one a data-parallel run splits
                           * (dropout's masks follow the image); 0 otherwise */
    fcl_conv_way conv_way; /* how k x k convolutions run forward (FACECL_CONV) */
    bool input_gradient;  /* backward fills the model input's gradient (true; training turns it off) */
    const fcl_net_sync *sync; /* training batch statistics summed over replicas; NULL: this batch's */
    /* With a profiling runtime, device time per layer: [2 i] forward, [2 i + 1]
     * backward (ReLU's included), and forward passes, charged to the node the executor
     * is running. */
    double *layer_ms;
    long *layer_forwards;
    int profile_node;
    bool profile_backward;
};

/* The per-kernel device times, largest first, then the slowest layers (needs a runtime
 * opened with profiling). */
void fcl_net_print_profile(const fcl_net *net, FILE *f);

/* Whether a convolution's forward can run as an implicit GEMM (FACECL_CONV=implicit):
 * one stride and one padding for both axes, no groups (src/layers/conv.c). */
bool fcl_conv_implicit_fits(const fcl_node *nd);
/* A convolution's weight count, (out.c, in.c / groups, KH, KW); its bias follows. */
size_t fcl_conv_weight_count(const fcl_node *nd);

/* A node's output (or input i) as a view: offset and batch stride in floats. */
typedef struct fcl_view {
    int off, ns;
} fcl_view;
fcl_view fcl_net_output_view(const fcl_net *net, int node);
static inline fcl_view fcl_net_input_view(const fcl_net *net, const fcl_node *node, int i)
{
    return fcl_net_output_view(net, node->inputs[i]);
}

/* Launches through the net's launcher: FCL_LAUNCH(net, &kernel_def, n, FCL_I(3), ...). */
#define FCL_LAUNCH(net, k, n, ...) FCL_LAUNCH_ON(&(net)->launch, (k), (n), __VA_ARGS__)
/* grads[db_off + k] += the sum of the output gradient dy over the batch's images and
 * the P positions of channel k, for k < K (the bias of conv and fc). */
fcl_status fcl_net_bias_backward(fcl_net *net, int db_off, fcl_view dy, int K, int P);
/* The local size (a power of two) for `groups` work-groups that each reduce `length`
 * terms: as wide as it takes to give every compute unit 32 work-items. */
size_t fcl_net_reduction_local(const fcl_net *net, size_t groups, size_t length);

/* Depthwise convolutions (one input channel a group: src/layers/depthwise.c), computed
 * directly instead of as a GEMM a group; conv.c hands them over. */
bool fcl_depthwise_fits(const fcl_node *nd);
fcl_status fcl_depthwise_forward(fcl_net *net, const fcl_node *nd, fcl_view x, fcl_view y);
/* The input gradient (added into dacts at x, when dx), the weights' (added into
 * grads) and the bias's. */
fcl_status fcl_depthwise_backward(fcl_net *net, const fcl_node *nd, fcl_view x, fcl_view y, bool dx);

/* 3x3 stride-1 convolutions forward by Winograd F(2x2, 3x3) (FACECL_CONV=winograd:
 * src/layers/winograd.c), with the workspace floats they need at batch. */
bool fcl_winograd_fits(const fcl_node *nd);
size_t fcl_winograd_workspace(const fcl_node *nd, int batch);
fcl_status fcl_winograd_forward(fcl_net *net, const fcl_node *nd, fcl_view x, fcl_view y);

/* The net's products (fcl_gemm_run on its GEMM context). */
static inline fcl_status fcl_net_gemm(fcl_net *net, const fcl_gemm *g) { return fcl_gemm_run(net->gemm, g); }

/* Records the shape of every GEMM one forward (and with training, backward) pass of
 * model at batch runs, without running it (a dry run: the kernels are built, none is
 * launched). rec's shapes are the caller's to free(). */
fcl_status fcl_gemm_record(fcl_runtime *rt, const fcl_model *model, int batch, bool training, fcl_gemm_recorder *rec);
/* On a model's first use on a device: tunes the classes its shapes use that the tuning
 * file lacks, within `seconds` (<= 0 does nothing, as does FACECL_GEMM_CONFIG), and
 * saves the file; says so to report (may be NULL) first. */
fcl_status fcl_gemm_tune_first_use(fcl_runtime *rt, const fcl_model *model, int batch, bool training, double seconds,
                                   const fcl_reporter *report);

/* After backward: FCL_SUCCESS when every parameter gradient is finite; otherwise logs
 * the first tensor whose gradient holds NaN or Inf, by name ("conv1.weight"), and
 * returns FCL_ERR_NUMERIC. One reduction on the device; the host reads the gradients
 * only when something is wrong. */
fcl_status fcl_net_check_gradients(fcl_net *net);

/* Zeroes n floats of buf from offset. */
fcl_status fcl_net_fill(fcl_net *net, cl_mem buf, size_t offset, size_t n, float value);

/* The activation plan alone (no device): floats with lifetime reuse, and without. */
fcl_status fcl_plan_activations(const fcl_model *model, int batch, bool training, size_t *planned, size_t *unshared);

fcl_status fcl_net_create(fcl_runtime *rt, const fcl_model *model, int batch, bool training, fcl_net **out);
void fcl_net_destroy(fcl_net *net);
/* He-normal weights for conv/fc (std sqrt(2/fan_in)), zero biases, BN gamma 1: into
 * the host arena (m->n_params floats), or the net's parameters. */
void fcl_model_init_params(const fcl_model *m, uint64_t seed, float *host);
fcl_status fcl_net_init_params(fcl_net *net, uint64_t seed);
/* input: batch x input shape (host, NCHW; NULL: already in the input node's tensor on
 * the device); output: batch x output size (host, may be NULL). */
fcl_status fcl_net_forward(fcl_net *net, const float *input, float *output);
/* Backward from d(output) (host): fcl_net_begin_backward, the upload, then
 * fcl_net_backward_layers. Parameter gradients accumulate into net->grads (zero them
 * with fcl_net_fill); activation gradients are zeroed here. */
fcl_status fcl_net_backward(fcl_net *net, const float *d_output);
/* The two halves, for a loss that writes d(output) on the device in between. */
fcl_status fcl_net_begin_backward(fcl_net *net);
fcl_status fcl_net_backward_layers(fcl_net *net);
fcl_status fcl_net_read(fcl_net *net, cl_mem buf, size_t offset, size_t n, float *host);
/* When a forward pass gave outputs that are not finite: runs it again layer by layer
 * and gives the first node whose output holds NaN or Inf (0: the input already did;
 * -1: none, this time). */
fcl_status fcl_net_first_nonfinite(fcl_net *net, const float *input, int *node);
fcl_status fcl_net_write(fcl_net *net, cl_mem buf, size_t offset, size_t n, const float *host);

/* Host reference executor in double precision (tests): params as in the arena. */
fcl_status fcl_model_reference_forward(const fcl_model *model, int n, const double *input, const double *params,
                                       double *output);

/* Whether backward must compute the gradient of node's input i: not for the model's
 * input unless net->input_gradient asks for it. */
static inline bool fcl_net_needs_input_gradient(const fcl_net *net, const fcl_node *node, int i)
{
    return net->input_gradient || net->model->nodes[node->inputs[i]].op != FCL_OP_INPUT;
}

/* Element-wise on (N, M) views: y = a + b_scale * b (b NULL: y = a), ReLU if relu; and
 * dx += scale * dy (the gradient of either). The residual add and concat's copies. */
fcl_status fcl_net_add_views(fcl_net *net, fcl_view y, fcl_view a, const fcl_view *b, float b_scale, bool relu,
                             int M);
fcl_status fcl_net_accumulate_view(fcl_net *net, fcl_view dx, fcl_view dy, float scale, int M);

/* Shared helpers for ops. */
int fcl_no_params(const fcl_node *node, fcl_param_desc out[FCL_MAX_PARAMS]);
uint64_t fcl_no_macs(const fcl_node *node);
fcl_status fcl_infer_same(fcl_node *node, char *why, size_t why_size);
fcl_status fcl_infer_window(fcl_node *node, int out_channels, char *why, size_t why_size);
/* Shape of a layer with c= outputs over its flattened input (fc, cosine): c x 1 x 1. */
fcl_status fcl_infer_units(fcl_node *node, char *why, size_t why_size);
#endif
