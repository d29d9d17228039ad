/* A model planned on a device: arenas, kernels, forward and backward on one queue.
 *
 * Memory plan: every node's output lives in a root tensor of the activation arena.
 * A concat input's output is, where it can be, a channel slice of the concat node's
 * tensor, so concatenation costs nothing (inception branches). In training every tensor keeps its own space (backward
 * reads them all); in inference tensors whose lifetimes do not overlap share space. */
#include "graph/graph.h"
#include "runtime/random.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* The kernels the executor itself launches; each layer, loss and optimiser declares
 * its own beside its code. */
static const fcl_kernel_def k_fill = {"tensor.cl", "fill"}, k_count_nonfinite = {"tensor.cl", "count_nonfinite"};
static const fcl_kernel_def k_relu_backward = {"activation.cl", "relu_backward"};
static const fcl_kernel_def k_bias_backward = {"grad_reduce.cl", "bias_backward"};
static const fcl_kernel_def k_add_views = {"tensor.cl", "add_views"};
static const fcl_kernel_def k_accumulate_view = {"tensor.cl", "accumulate_view"};

#define ARENA_ALIGN 32 /* floats */

/* The launcher's hook: a timed launch's milliseconds to the layer being run. */
static void account_layer(void *user, double ms)
{
    fcl_net *net = user;
    if (net->layer_ms && net->profile_node >= 0)
        net->layer_ms[2 * net->profile_node + net->profile_backward] += ms;
}

/* A GPU's 132 units need thousands of work-items; PoCL's 2 cores are busy with a few
 * dozen groups, so there most reductions keep one work-item a group. */
size_t fcl_net_reduction_local(const fcl_net *net, size_t groups, size_t length)
{
    const size_t units = fcl_compute_units(net->rt);
    const size_t max_local = net->rt->info.max_work_group_size < 256 ? net->rt->info.max_work_group_size : 256;
    size_t local = 1;
    while (local * 2 <= max_local && local < length && groups * local < 32 * units)
        local *= 2;
    return local;
}

/* A work-group per channel. */
fcl_status fcl_net_bias_backward(fcl_net *net, int db_off, fcl_view dy, int K, int P)
{
    if (K <= 0)
        return FCL_SUCCESS;
    const size_t local = fcl_net_reduction_local(net, (size_t)K, (size_t)P), global = (size_t)K * local;
    const fcl_arg args[] = {FCL_M(net->grads), FCL_I(db_off), FCL_M(net->dacts), FCL_I(dy.off), FCL_I(dy.ns),
                            FCL_I(net->batch), FCL_I(P), FCL_LOCAL(local * sizeof(cl_float))};
    return fcl_enqueue(&net->launch, &k_bias_backward, NULL, 1, &global, &local, args, sizeof args / sizeof args[0]);
}

void fcl_net_print_profile(const fcl_net *net, FILE *f)
{
    const fcl_launcher *l = &net->launch;
    double total = 0;
    int *order = malloc((size_t)(l->n_slots ? l->n_slots : 1) * sizeof *order), n = 0;
    for (int i = 0; order && i < l->n_slots; i++)
        if (l->slots[i].calls) {
            total += l->slots[i].ms;
            int j = n++;
            for (; j > 0 && l->slots[order[j - 1]].ms < l->slots[i].ms; j--)
                order[j] = order[j - 1];
            order[j] = i;
        }
    fprintf(f, "%-26s %10s %8s %6s\n", "kernel", "ms", "calls", "share");
    for (int k = 0; k < n; k++) {
        const fcl_launch_slot *slot = &l->slots[order[k]];
        fprintf(f, "%-26s %10.1f %8ld %5.1f%%\n", slot->def->name, slot->ms, slot->calls, 100 * slot->ms / total);
    }
    fprintf(f, "%-26s %10.1f\n", "total", total);
    free(order);
    if (!net->layer_ms)
        return;
    /* Per layer: forward and backward time; forward GFLOP/s from the layer's multiply-adds. */
    const fcl_model *m = net->model;
    int *by_time = malloc((size_t)m->n_nodes * sizeof *by_time), shown = 0;
    for (int i = 1; by_time && i < m->n_nodes; i++) {
        int j = shown++;
        const double t = net->layer_ms[2 * i] + net->layer_ms[2 * i + 1];
        for (; j > 0 && net->layer_ms[2 * by_time[j - 1]] + net->layer_ms[2 * by_time[j - 1] + 1] < t; j--)
            by_time[j] = by_time[j - 1];
        by_time[j] = i;
    }
    fprintf(f, "\n%-26s %-10s %10s %10s %6s %9s\n", "layer (slowest 20)", "type", "forward ms", "backward ms",
            "share", "fwd GF/s");
    for (int k = 0; k < shown && k < 20; k++) {
        const int i = by_time[k];
        const fcl_node *nd = &m->nodes[i];
        const double fwd = net->layer_ms[2 * i], bwd = net->layer_ms[2 * i + 1];
        const double macs = (double)fcl_ops[nd->op]->macs(nd) * net->batch * net->layer_forwards[i];
        fprintf(f, "%-26s %-10s %10.1f %10.1f %5.1f%% %9.1f\n", nd->name, fcl_ops[nd->op]->name, fwd, bwd,
                100 * (fwd + bwd) / total, fwd > 0 ? 2 * macs / fwd / 1e6 : 0.0);
    }
    free(by_time);
}

fcl_status fcl_net_add_views(fcl_net *net, fcl_view y, fcl_view a, const fcl_view *b, float b_scale, bool relu, int M)
{
    const fcl_view none = {0, 0};
    const fcl_view bv = b ? *b : none;
    return FCL_LAUNCH(net, &k_add_views, (size_t)net->batch * M, FCL_M(net->acts), FCL_I(y.off), FCL_I(y.ns),
                      FCL_I(a.off), FCL_I(a.ns), FCL_I(bv.off), FCL_I(bv.ns), FCL_I(b != NULL), FCL_F(b_scale),
                      FCL_I(relu), FCL_I(net->batch), FCL_I(M));
}

fcl_status fcl_net_accumulate_view(fcl_net *net, fcl_view dx, fcl_view dy, float scale, int M)
{
    return FCL_LAUNCH(net, &k_accumulate_view, (size_t)net->batch * M, FCL_M(net->dacts), FCL_I(dx.off),
                      FCL_I(dx.ns), FCL_I(dy.off), FCL_I(dy.ns), FCL_F(scale), FCL_I(net->batch), FCL_I(M));
}

fcl_status fcl_net_fill(fcl_net *net, cl_mem buf, size_t offset, size_t n, float value)
{
    return FCL_LAUNCH(net, &k_fill, (n + 7) / 8, FCL_M(buf), FCL_I(offset), FCL_F(value), FCL_I(n));
}

fcl_view fcl_net_output_view(const fcl_net *net, int node)
{
    const fcl_node *nd = &net->model->nodes[node];
    const fcl_tensor *t = &net->tensors[nd->tensor];
    return (fcl_view){(int)(t->offset + (size_t)nd->c_start * nd->out.h * nd->out.w), fcl_shape_size(t->shape)};
}

/* Root tensors and channel offsets; nodes are in the model (whose planned fields we
 * fill) because a plan is per model and batch. */
static fcl_status assign_tensors(fcl_net *net, fcl_node *nodes, int n)
{
    int *owner = malloc((size_t)n * sizeof *owner);
    net->tensors = calloc((size_t)n, sizeof *net->tensors);
    if (!owner || !net->tensors) {
        free(owner);
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    }
    for (int i = 0; i < n; i++) {
        owner[i] = -1;
        nodes[i].c_start = 0;
    }
    /* A concat input is written in place, as a channel slice of the concat's tensor,
     * unless it is the model's input, another concat, a slice already (of an earlier
     * concat, or of this one: the same input twice); those are copied (src/layers/concat.c). */
    for (int j = 0; j < n; j++)
        if (nodes[j].op == FCL_OP_CONCAT)
            for (int b = 0, c = 0; b < nodes[j].n_inputs; c += nodes[nodes[j].inputs[b]].out.c, b++) {
                const int src = nodes[j].inputs[b];
                if (nodes[src].op == FCL_OP_INPUT || nodes[src].op == FCL_OP_CONCAT || owner[src] >= 0)
                    continue;
                owner[src] = j;
                nodes[src].c_start = c;
            }
    net->n_tensors = 0;
    for (int i = 0; i < n; i++)
        if (owner[i] < 0) {
            fcl_tensor *t = &net->tensors[net->n_tensors];
            t->shape = nodes[i].out;
            t->first = i;
            t->last = i;
            nodes[i].tensor = net->n_tensors++;
        }
    for (int i = 0; i < n; i++)
        if (owner[i] >= 0) {
            nodes[i].tensor = nodes[owner[i]].tensor;
            fcl_tensor *t = &net->tensors[nodes[i].tensor];
            t->first = i < t->first ? i : t->first;
        }
    free(owner);
    /* Last reads; the output stays alive to the end. */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < nodes[i].n_inputs; j++) {
            fcl_tensor *t = &net->tensors[nodes[nodes[i].inputs[j]].tensor];
            t->last = i > t->last ? i : t->last;
        }
    net->tensors[nodes[n - 1].tensor].last = n;
    return FCL_SUCCESS;
}

static size_t align_up(size_t v) { return (v + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN; }

static size_t tensor_floats(const fcl_net *net, const fcl_tensor *t)
{
    return align_up((size_t)net->batch * fcl_shape_size(t->shape));
}

/* Greedy by size: each tensor takes the lowest offset free of every placed tensor whose
 * lifetime overlaps its own. */
static fcl_status place_tensors(fcl_net *net)
{
    int n = net->n_tensors;
    if (n <= 0)
        return FCL_ERR_INVALID_ARGUMENT;
    net->act_floats_unshared = 0;
    for (int i = 0; i < n; i++)
        net->act_floats_unshared += tensor_floats(net, &net->tensors[i]);
    if (net->training) {
        size_t at = 0;
        for (int i = 0; i < n; i++) {
            net->tensors[i].offset = at;
            at += tensor_floats(net, &net->tensors[i]);
        }
        net->act_floats = at;
        return FCL_SUCCESS;
    }
    int *order = malloc((size_t)n * sizeof *order);
    bool *placed = calloc((size_t)n, sizeof *placed);
    if (!order || !placed) {
        free(order);
        free(placed);
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    }
    for (int i = 0; i < n; i++)
        order[i] = i;
    for (int i = 1; i < n; i++) /* insertion sort by size, largest first: n is small */
        for (int j = i; j > 0 && tensor_floats(net, &net->tensors[order[j]]) >
                                     tensor_floats(net, &net->tensors[order[j - 1]]);
             j--) {
            int tmp = order[j];
            order[j] = order[j - 1];
            order[j - 1] = tmp;
        }
    net->act_floats = 0;
    for (int a = 0; a < n; a++) {
        fcl_tensor *t = &net->tensors[order[a]];
        size_t size = tensor_floats(net, t), at = 0;
        for (bool moved = true; moved;) {
            moved = false;
            for (int b = 0; b < n; b++) {
                const fcl_tensor *u = &net->tensors[b];
                if (!placed[b] || u->last < t->first || t->last < u->first)
                    continue;
                size_t usize = tensor_floats(net, u);
                if (at < u->offset + usize && u->offset < at + size) {
                    at = u->offset + usize;
                    moved = true;
                }
            }
        }
        t->offset = at;
        placed[order[a]] = true;
        if (at + size > net->act_floats)
            net->act_floats = at + size;
    }
    free(order);
    free(placed);
    return FCL_SUCCESS;
}

static fcl_status alloc_buffer(fcl_net *net, size_t floats, cl_mem *out, const char *what)
{
    size_t bytes = (floats ? floats : 1) * sizeof(float);
    if (bytes > net->rt->info.max_alloc_bytes) {
        fcl_log(FCL_LOG_ERROR, "%s needs %.1f MiB in one buffer; %s allows at most %.1f MiB (try a smaller batch)",
                what, bytes / 1048576.0, net->rt->info.name, net->rt->info.max_alloc_bytes / 1048576.0);
        return CL_MEM_OBJECT_ALLOCATION_FAILURE;
    }
    cl_int err;
    *out = clCreateBuffer(net->rt->context, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS)
        fcl_log(FCL_LOG_ERROR, "allocating %s (%.1f MiB) on %s: %s", what, bytes / 1048576.0, net->rt->info.name,
                fcl_status_str(err));
    return err;
}

/* On a CPU device the buffers are this process's memory: under an address-space limit
 * (ulimit -v), what is left of it in bytes (PoCL asserts and aborts when an allocation
 * behind a buffer fails). False: no limit, or not a CPU. */
static bool address_space_left(const fcl_runtime *rt, double *room)
{
    struct rlimit lim;
    if (!(rt->info.type & FCL_DEVICE_CPU) || getrlimit(RLIMIT_AS, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY)
        return false;
    unsigned long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%lu", &pages) != 1)
            pages = 0;
        fclose(f);
    }
    const double used = (double)pages * (double)sysconf(_SC_PAGESIZE);
    *room = (double)lim.rlim_cur - used;
    return true;
}

fcl_status fcl_net_create(fcl_runtime *rt, const fcl_model *model, int batch, bool training, fcl_net **out)
{
    *out = NULL;
    if (batch < 1)
        return FCL_ERR_INVALID_ARGUMENT;
    fcl_net *net = calloc(1, sizeof *net);
    if (!net)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    net->rt = rt;
    net->model = model;
    net->batch = batch;
    net->training = training;
    net->input_gradient = true;
    net->profile_node = -1;
    if (rt->profiling) {
        net->layer_ms = calloc(2 * (size_t)model->n_nodes, sizeof *net->layer_ms);
        net->layer_forwards = calloc((size_t)model->n_nodes, sizeof *net->layer_forwards);
        if (!net->layer_ms || !net->layer_forwards) {
            fcl_net_destroy(net);
            return FCL_ERR_OUT_OF_HOST_MEMORY;
        }
    }
    fcl_launcher_init(&net->launch, rt);
    net->launch.account = account_layer;
    net->launch.account_user = net;
    net->conv_way = fcl_gemm_conv_way_chosen(rt);
    fcl_status st = fcl_gemm_ctx_create(rt, &net->launch, &net->gemm);
    if (st == FCL_SUCCESS)
        st = assign_tensors(net, model->nodes, model->n_nodes);
    if (st == FCL_SUCCESS)
        st = place_tensors(net);
    for (int i = 0; st == FCL_SUCCESS && i < model->n_nodes; i++) {
        const fcl_op_def *op = fcl_ops[model->nodes[i].op];
        size_t need_i = op->workspace ? op->workspace(net, &model->nodes[i], batch, training) : 0;
        if (need_i > net->work_floats)
            net->work_floats = need_i;
    }
    double copies = training ? 2.0 : 1.0; /* values and gradients */
    double need = copies * ((double)model->n_params + (double)net->act_floats) * 4 + (double)net->work_floats * 4;
    /* PoCL's compiler and pools take about half as much again as the buffers (NN2 under
     * a 2 GB limit: buffers of 852 MiB ran, of 1051 MiB aborted with 1563 MiB left). */
    double room;
    if (st == FCL_SUCCESS && address_space_left(rt, &room) && 1.5 * need > room) {
        fcl_log(FCL_LOG_ERROR, "%s at batch %d needs about %.1f MiB of memory (%.1f MiB of buffers and the driver's "
                               "share); this process may use %.1f MiB more (its limit, ulimit -v): raise the limit "
                               "or try a smaller batch", model->name, batch, 1.5 * need / 1048576.0,
                need / 1048576.0, room / 1048576.0);
        st = CL_MEM_OBJECT_ALLOCATION_FAILURE;
    } else if (st == FCL_SUCCESS && need > (double)rt->info.global_mem_bytes) {
        fcl_log(FCL_LOG_ERROR, "%s at batch %d needs %.1f MiB of device memory; %s has %.1f MiB (try a smaller batch)",
                model->name, batch, need / 1048576.0, rt->info.name, rt->info.global_mem_bytes / 1048576.0);
        st = CL_MEM_OBJECT_ALLOCATION_FAILURE;
    } else if (st == FCL_SUCCESS && net->act_floats >= (size_t)1 << 31) { /* kernels index with 32-bit ints */
        fcl_log(FCL_LOG_ERROR, "%s at batch %d needs %.1f MiB of activations: more than facecl's 8 GiB per arena "
                               "(try a smaller batch)", model->name, batch, net->act_floats * 4 / 1048576.0);
        st = CL_MEM_OBJECT_ALLOCATION_FAILURE;
    }
    if (st == FCL_SUCCESS)
        st = alloc_buffer(net, model->n_params, &net->params, "parameters");
    if (st == FCL_SUCCESS)
        st = alloc_buffer(net, net->act_floats, &net->acts, "activations");
    if (st == FCL_SUCCESS)
        st = alloc_buffer(net, model->n_state, &net->state, "batch statistics");
    if (st == FCL_SUCCESS && training)
        st = alloc_buffer(net, model->n_params, &net->grads, "gradients");
    if (st == FCL_SUCCESS && training)
        st = alloc_buffer(net, net->act_floats, &net->dacts, "activation gradients");
    if (st == FCL_SUCCESS)
        st = alloc_buffer(net, net->work_floats, &net->work, "workspace");
    if (st != FCL_SUCCESS) {
        fcl_net_destroy(net);
        return st;
    }
    *out = net;
    return FCL_SUCCESS;
}

void fcl_net_destroy(fcl_net *net)
{
    if (!net)
        return;
    clFinish(net->rt->queue); /* after an error, commands may still be queued against these buffers */
    fcl_gemm_ctx_destroy(net->gemm);
    fcl_launcher_release(&net->launch);
    free(net->layer_ms);
    free(net->layer_forwards);
    cl_mem bufs[] = {net->params, net->grads, net->acts, net->dacts, net->state, net->work, net->nonfinite};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i])
            clReleaseMemObject(bufs[i]);
    free(net->tensors);
    free(net);
}

fcl_status fcl_net_write(fcl_net *net, cl_mem buf, size_t offset, size_t n, const float *host)
{
    cl_int err = clEnqueueWriteBuffer(net->rt->queue, buf, CL_TRUE, offset * sizeof(float), n * sizeof(float), host,
                                      0, NULL, NULL);
    return err == CL_SUCCESS ? FCL_SUCCESS : FCL_CL_FAIL("clEnqueueWriteBuffer", err);
}

fcl_status fcl_net_read(fcl_net *net, cl_mem buf, size_t offset, size_t n, float *host)
{
    cl_int err = clEnqueueReadBuffer(net->rt->queue, buf, CL_TRUE, offset * sizeof(float), n * sizeof(float), host,
                                     0, NULL, NULL);
    return err == CL_SUCCESS ? FCL_SUCCESS : FCL_CL_FAIL("clEnqueueReadBuffer", err);
}

/* The partial counts of count_nonfinite: 256 per compute unit, so a GPU's units all
 * take part (with 256 in all, an H200 spent 10 ms a step on NN2's gradients). */
static size_t nonfinite_parts(const fcl_net *net)
{
    const size_t units = fcl_compute_units(net->rt);
    return units < 256 ? 256 * units : 65536;
}

/* Names the first parameter tensor whose gradient (host copy g) is not finite. */
static void name_nonfinite_gradient(const fcl_model *m, const float *g)
{
    for (int i = 0; i < m->n_nodes; i++) {
        fcl_param_desc d[FCL_MAX_PARAMS];
        int np = fcl_ops[m->nodes[i].op]->params(&m->nodes[i], d);
        size_t at = m->nodes[i].param_off;
        for (int k = 0; k < np; at += d[k].count, k++) {
            size_t bad = 0, first = 0;
            for (size_t j = 0; j < d[k].count; j++)
                if (!isfinite(g[at + j]) && bad++ == 0)
                    first = j;
            if (bad) {
                fcl_log(FCL_LOG_ERROR, "the gradient of %s.%s holds %g at %zu (%zu of its %zu values are NaN or Inf): "
                                       "stopping before the parameters change", m->nodes[i].name, d[k].suffix,
                        g[at + first], first, bad, d[k].count);
                return;
            }
        }
    }
}

fcl_status fcl_net_check_gradients(fcl_net *net)
{
    const size_t n = net->model->n_params;
    cl_int err = CL_SUCCESS;
    const size_t parts = nonfinite_parts(net);
    if (!net->nonfinite)
        net->nonfinite = clCreateBuffer(net->rt->context, CL_MEM_READ_WRITE, parts * sizeof(cl_uint), NULL, &err);
    if (err != CL_SUCCESS)
        return FCL_CL_FAIL("clCreateBuffer", err);
    cl_uint *counts = malloc(parts * sizeof *counts);
    if (!counts)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    fcl_status st = FCL_LAUNCH(net, &k_count_nonfinite, parts, FCL_M(net->nonfinite), FCL_M(net->grads), FCL_I(n),
                               FCL_I(parts));
    if (st == FCL_SUCCESS)
        err = clEnqueueReadBuffer(net->rt->queue, net->nonfinite, CL_TRUE, 0, parts * sizeof *counts, counts, 0, NULL,
                                  NULL);
    if (st == FCL_SUCCESS && err != CL_SUCCESS)
        st = FCL_CL_FAIL("clEnqueueReadBuffer", err);
    unsigned long total = 0;
    for (size_t i = 0; i < parts && st == FCL_SUCCESS; i++)
        total += counts[i];
    free(counts);
    if (st != FCL_SUCCESS || total == 0)
        return st;
    float *g = malloc(n * sizeof *g);
    if (g && fcl_net_read(net, net->grads, 0, n, g) == FCL_SUCCESS)
        name_nonfinite_gradient(net->model, g);
    else
        fcl_log(FCL_LOG_ERROR, "%lu parameter gradients are NaN or Inf: stopping before the parameters change", total);
    free(g);
    return FCL_ERR_NUMERIC;
}

/* Box-Muller over splitmix64: a seeded, platform-independent normal generator. */

static double normal(uint64_t *s)
{
    double u1 = ((fcl_splitmix64(s) >> 11) + 1.0) / 9007199254740993.0, u2 = (fcl_splitmix64(s) >> 11) / 9007199254740992.0;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void fcl_model_init_params(const fcl_model *m, uint64_t seed, float *host)
{
    uint64_t state = seed;
    for (int i = 0; i < m->n_nodes; i++) {
        const fcl_node *nd = &m->nodes[i];
        fcl_param_desc d[FCL_MAX_PARAMS];
        int np = fcl_ops[nd->op]->params(nd, d);
        size_t at = nd->param_off;
        for (int j = 0; j < np; j++) {
            float *p = host + at;
            static const float constant[] = {[FCL_INIT_ZERO] = 0.0f, [FCL_INIT_ONE] = 1.0f, [FCL_INIT_PRELU] = 0.25f};
            if (d[j].init != FCL_INIT_AUTO) {
                for (size_t q = 0; q < d[j].count; q++)
                    p[q] = constant[d[j].init];
            } else if (strcmp(d[j].suffix, "weight") == 0) {
                double fan_in = (double)d[j].count / d[j].dims[0], std = sqrt(2.0 / fan_in);
                for (size_t q = 0; q < d[j].count; q++)
                    p[q] = (float)(std * normal(&state));
            } else {
                memset(p, 0, d[j].count * sizeof *p);
            }
            at += d[j].count;
        }
    }
}

fcl_status fcl_net_init_params(fcl_net *net, uint64_t seed)
{
    const fcl_model *m = net->model;
    float *host = calloc(m->n_params ? m->n_params : 1, sizeof *host);
    if (!host)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    fcl_model_init_params(m, seed, host);
    fcl_status st = fcl_net_write(net, net->params, 0, m->n_params, host);
    free(host);
    return st;
}

/* The batch's images into the input node's tensor. */
static fcl_status upload_input(fcl_net *net, const float *input)
{
    const fcl_view in = fcl_net_output_view(net, 0);
    return fcl_net_write(net, net->acts, (size_t)in.off, (size_t)net->batch * fcl_shape_size(net->model->nodes[0].out),
                         input);
}

fcl_status fcl_net_forward(fcl_net *net, const float *input, float *output)
{
    const fcl_model *m = net->model;
    fcl_status st = input ? upload_input(net, input) : FCL_SUCCESS;
    for (int i = 1; i < m->n_nodes && st == FCL_SUCCESS; i++) {
        net->profile_node = i, net->profile_backward = false;
        st = fcl_ops[m->nodes[i].op]->forward(net, &m->nodes[i]);
        if (net->layer_ms)
            net->layer_forwards[i]++;
    }
    net->profile_node = -1;
    if (st == FCL_SUCCESS && output) {
        const fcl_node *last = fcl_model_output(m);
        fcl_view out = fcl_net_output_view(net, m->n_nodes - 1);
        st = fcl_net_read(net, net->acts, (size_t)out.off, (size_t)net->batch * fcl_shape_size(last->out), output);
    }
    return st;
}

/* Whether a node's outputs for the whole batch are finite (read from the arena). */
static fcl_status output_finite(fcl_net *net, int node, bool *finite)
{
    const fcl_view v = fcl_net_output_view(net, node);
    const size_t size = (size_t)fcl_shape_size(net->model->nodes[node].out);
    const size_t span = (size_t)(net->batch - 1) * (size_t)v.ns + size;
    float *host = malloc(span * sizeof *host);
    if (!host)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    fcl_status st = fcl_net_read(net, net->acts, (size_t)v.off, span, host);
    *finite = true;
    for (int n = 0; st == FCL_SUCCESS && n < net->batch && *finite; n++)
        for (size_t j = 0; j < size && *finite; j++)
            *finite = isfinite(host[(size_t)n * (size_t)v.ns + j]);
    free(host);
    return st;
}

fcl_status fcl_net_first_nonfinite(fcl_net *net, const float *input, int *node)
{
    const fcl_model *m = net->model;
    *node = -1;
    fcl_status st = upload_input(net, input);
    bool finite = true;
    for (int i = 0; i < m->n_nodes && st == FCL_SUCCESS; i++) {
        if (i > 0) /* each output is read right after it is made: a later layer may reuse its memory */
            st = fcl_ops[m->nodes[i].op]->forward(net, &m->nodes[i]);
        if (st == FCL_SUCCESS)
            st = output_finite(net, i, &finite);
        if (st == FCL_SUCCESS && !finite) {
            *node = i;
            break;
        }
    }
    return st;
}

fcl_status fcl_net_begin_backward(fcl_net *net)
{
    if (!net->training) {
        fcl_log(FCL_LOG_ERROR, "backward needs a network created for training");
        return FCL_ERR_INVALID_ARGUMENT;
    }
    return fcl_net_fill(net, net->dacts, 0, net->act_floats, 0.0f);
}

fcl_status fcl_net_backward_layers(fcl_net *net)
{
    const fcl_model *m = net->model;
    fcl_status st = FCL_SUCCESS;
    for (int i = m->n_nodes - 1; i >= 1 && st == FCL_SUCCESS; i--) {
        const fcl_node *nd = &m->nodes[i];
        net->profile_node = i, net->profile_backward = true;
        if (nd->relu && !fcl_ops[nd->op]->backward_masks_relu) {
            fcl_view y = fcl_net_output_view(net, i);
            st = FCL_LAUNCH(net, &k_relu_backward, (size_t)net->batch * fcl_shape_size(nd->out), FCL_M(net->dacts),
                            FCL_I(y.off), FCL_I(y.ns), FCL_M(net->acts), FCL_I(y.off), FCL_I(y.ns), FCL_I(net->batch),
                            FCL_I(fcl_shape_size(nd->out)));
        }
        if (st == FCL_SUCCESS)
            st = fcl_ops[nd->op]->backward(net, nd);
    }
    net->profile_node = -1;
    return st;
}

fcl_status fcl_net_backward(fcl_net *net, const float *d_output)
{
    const fcl_model *m = net->model;
    fcl_view out = fcl_net_output_view(net, m->n_nodes - 1);
    fcl_status st = fcl_net_begin_backward(net);
    if (st == FCL_SUCCESS)
        st = fcl_net_write(net, net->dacts, (size_t)out.off, (size_t)net->batch * fcl_shape_size(fcl_model_output(m)->out),
                           d_output);
    return st == FCL_SUCCESS ? fcl_net_backward_layers(net) : st;
}

fcl_status fcl_model_reference_forward(const fcl_model *m, int n, const double *input, const double *params,
                                       double *output)
{
    double **outs = calloc((size_t)m->n_nodes, sizeof *outs);
    if (!outs)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    fcl_status st = FCL_SUCCESS;
    for (int i = 0; i < m->n_nodes && st == FCL_SUCCESS; i++) {
        const fcl_node *nd = &m->nodes[i];
        size_t size = (size_t)n * fcl_shape_size(nd->out);
        if (!(outs[i] = malloc(size * sizeof(double)))) {
            st = FCL_ERR_OUT_OF_HOST_MEMORY;
        } else if (nd->op == FCL_OP_INPUT) {
            memcpy(outs[i], input, size * sizeof(double));
        } else {
            const double *ins[FCL_MAX_INPUTS];
            for (int j = 0; j < nd->n_inputs; j++)
                ins[j] = outs[nd->inputs[j]];
            fcl_ops[nd->op]->reference(nd, n, ins, params + nd->param_off, outs[i]);
        }
    }
    if (st == FCL_SUCCESS)
        memcpy(output, outs[m->n_nodes - 1], (size_t)n * fcl_shape_size(fcl_model_output(m)->out) * sizeof(double));
    for (int i = 0; i < m->n_nodes; i++)
        free(outs[i]);
    free(outs);
    return st;
}

fcl_status fcl_plan_activations(const fcl_model *model, int batch, bool training, size_t *planned, size_t *unshared)
{
    fcl_net plan = {.model = model, .batch = batch, .training = training};
    fcl_status st = assign_tensors(&plan, model->nodes, model->n_nodes);
    if (st == FCL_SUCCESS)
        st = place_tensors(&plan);
    *planned = plan.act_floats;
    *unshared = plan.act_floats_unshared;
    free(plan.tensors);
    return st;
}
