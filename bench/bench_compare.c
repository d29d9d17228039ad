/* facecl against its peers on one device, in one run (bench/compare.sh drives it):
 *   GEMM GFLOP/s on square sizes and on NN2's largest layer shapes: facecl's kernel with
 *   the device default and with the tuned configuration, CLBlast with its defaults and
 *   with the best of a few hand-picked parameter sets, and OpenBLAS's sgemm on the host
 *   (the practical ceiling of a CPU);
 *   whole networks (images/s): inference at batch 1 and 16, a training step at batch 16
 *   (forward, semi-hard triplet loss, backward, AdaGrad), next to PyTorch's numbers from
 *   bench/pytorch_peer.py and, for inference, onnxruntime's from bench/onnxruntime_peer.py
 *   (--peer FILE: both scripts' lines), as ratios;
 *   a per-kernel profile of one training step (OpenCL event timing), and the GB/s its
 *   pooling and normalisation layers reach against the device's copy bandwidth;
 *   NN2's k x k convolutions forward through im2col + GEMM and through an implicit GEMM.
 * Prints the tables and writes JSON (--json FILE). */
#include "gemm/gemm.h"
#include "graph/graph.h"
#include "loss/triplet.h"
#include "optim/optim.h"
#include "runtime/clock.h"
#include "train/step.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef FACECL_HAVE_CLBLAST
#include <clblast_c.h>
#endif
#ifdef FACECL_HAVE_OPENBLAS
#include <cblas.h>
#endif

#define MAX_ROWS 32
#define TRAIN_BATCH 16

typedef struct gemm_row {
    char label[80];
    int M, N, K, batch;
    double facecl_default, facecl_tuned, clblast_default, clblast_tuned, openblas; /* GFLOP/s, 0: not run */
} gemm_row;

typedef struct net_row {
    char model[64];
    double macs;
    double infer_b1, infer_b16, train_b16;  /* facecl images/s */
    double peer_b1, peer_b16, peer_train;   /* PyTorch images/s, 0: none */
    double ort_b1, ort_b16;                 /* onnxruntime images/s, 0: none */
} net_row;

static double seconds_budget = 5; /* per network measurement */

/* Best seconds per call of fn over samples lasting >= 0.2 s in all, at least 3 calls. */
typedef fcl_status (*run_fn)(void *ctx);
static fcl_status time_best(run_fn fn, void *ctx, fcl_runtime *rt, double min_total, double *best)
{
    *best = INFINITY;
    fcl_status st = fn(ctx); /* warm-up: builds kernels, touches memory */
    if (st == FCL_SUCCESS)
        st = fcl_runtime_finish(rt);
    const double start = fcl_seconds();
    for (int i = 0; st == FCL_SUCCESS && (i < 3 || fcl_seconds() - start < min_total); i++) {
        const double t0 = fcl_seconds();
        st = fn(ctx);
        if (st == FCL_SUCCESS)
            st = fcl_runtime_finish(rt);
        *best = fmin(*best, fcl_seconds() - t0);
    }
    return st;
}

/* ---- GEMM ---- */

typedef struct gemm_ctx {
    fcl_gemm_ctx *gemm;
    fcl_gemm g;
    fcl_gemm_config config;
    float *ha, *hb, *hc;
} gemm_ctx;

static fcl_status run_facecl(void *p)
{
    gemm_ctx *c = p;
    return fcl_gemm_run_config(c->gemm, &c->g, &c->config);
}

#ifdef FACECL_HAVE_CLBLAST
static fcl_status run_clblast(void *p)
{
    gemm_ctx *c = p;
    const fcl_gemm *g = &c->g;
    cl_command_queue q = c->gemm->rt->queue;
    CLBlastStatusCode s = CLBlastSgemmStridedBatched(
        CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, (size_t)g->M, (size_t)g->N, (size_t)g->K, 1.0f,
        g->a, 0, (size_t)g->lda, (size_t)g->a_batch, g->b, 0, (size_t)g->ldb, (size_t)g->b_batch, 0.0f, g->c, 0,
        (size_t)g->ldc, (size_t)g->c_batch, (size_t)g->batch, &q, NULL);
    if (s != CLBlastSuccess)
        fprintf(stderr, "bench_compare: CLBlast status %d\n", (int)s);
    return s == CLBlastSuccess ? FCL_SUCCESS : FCL_ERR_UNSUPPORTED;
}
#endif

#ifdef FACECL_HAVE_OPENBLAS
static fcl_status run_openblas(void *p)
{
    gemm_ctx *c = p;
    const fcl_gemm *g = &c->g;
    for (int z = 0; z < g->batch; z++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->M, g->N, g->K, 1.0f, c->ha + (size_t)z * g->a_batch,
                    g->lda, c->hb + (size_t)z * g->b_batch, g->ldb, 0.0f, c->hc + (size_t)z * g->c_batch, g->ldc);
    return FCL_SUCCESS;
}
#endif

/* hand_set < 0: facecl (default and tuned), CLBlast with its own parameters and
 * OpenBLAS; else CLBlast with hand-picked parameter set hand_set only (an override
 * lasts for the process, so those runs come after every default one). Each column
 * keeps its best over calls (the caller runs several rounds). */
static fcl_status measure_gemm(fcl_runtime *rt, fcl_gemm_ctx *gemm, gemm_row *r, int hand_set)
{
    const size_t na = (size_t)r->M * r->K * r->batch, nb = (size_t)r->K * r->N * r->batch,
                 nc = (size_t)r->M * r->N * r->batch;
    gemm_ctx c = {.gemm = gemm,
                  .g = {.M = r->M, .N = r->N, .K = r->K, .chunks = 1, .batch = r->batch, .lda = r->K, .ldb = r->N,
                        .ldc = r->N, .a_chunk = r->M * r->K, .a_batch = r->M * r->K, .b_chunk = r->K * r->N,
                        .b_batch = r->K * r->N, .c_batch = r->M * r->N}};
    cl_mem *bufs[3] = {&c.g.a, &c.g.b, &c.g.c};
    const size_t sizes[3] = {na, nb, nc};
    fcl_status st = FCL_SUCCESS;
    for (int i = 0; i < 3 && st == FCL_SUCCESS; i++)
        st = fcl_runtime_buffer(rt, sizes[i], 0.5f, bufs[i]);
    const double flop = 2.0 * r->M * r->N * (double)r->K * r->batch, min_total = 0.3;
    double t;
    if (st == FCL_SUCCESS && hand_set < 0) {
        c.config = fcl_gemm_device_default(&rt->info);
        if ((st = time_best(run_facecl, &c, rt, min_total, &t)) == FCL_SUCCESS)
            r->facecl_default = fmax(r->facecl_default, flop / t / 1e9);
    }
    if (st == FCL_SUCCESS && hand_set < 0) {
        const fcl_gemm_shape shape = {false, r->M, r->N, r->K, 1, r->batch};
        c.config = gemm->configs[fcl_gemm_class(&shape)];
        if ((st = time_best(run_facecl, &c, rt, min_total, &t)) == FCL_SUCCESS)
            r->facecl_tuned = fmax(r->facecl_tuned, flop / t / 1e9);
    }
#ifdef FACECL_HAVE_CLBLAST
    if (st == FCL_SUCCESS && hand_set >= 0) {
        if (CLBlastOverrideParameters(rt->device, "Xgemm", CLBlastPrecisionSingle, FCL_CLBLAST_PARAMS,
                                      fcl_clblast_param_names,
                                      fcl_clblast_cpu_sets[hand_set]) == CLBlastSuccess &&
            time_best(run_clblast, &c, rt, min_total, &t) == FCL_SUCCESS)
            r->clblast_tuned = fmax(r->clblast_tuned, flop / t / 1e9);
    } else if (st == FCL_SUCCESS && time_best(run_clblast, &c, rt, min_total, &t) == FCL_SUCCESS) {
        r->clblast_default = fmax(r->clblast_default, flop / t / 1e9);
    }
#endif
#ifdef FACECL_HAVE_OPENBLAS
    c.ha = malloc(na * sizeof(float)), c.hb = malloc(nb * sizeof(float)), c.hc = malloc(nc * sizeof(float));
    if (st == FCL_SUCCESS && hand_set < 0 && c.ha && c.hb && c.hc) {
        for (size_t i = 0; i < na; i++)
            c.ha[i] = 0.5f;
        for (size_t i = 0; i < nb; i++)
            c.hb[i] = 0.5f;
        if (time_best(run_openblas, &c, rt, min_total, &t) == FCL_SUCCESS)
            r->openblas = fmax(r->openblas, flop / t / 1e9);
    }
    free(c.ha), free(c.hb), free(c.hc);
#endif
    for (int i = 0; i < 3; i++)
        if (*bufs[i])
            clReleaseMemObject(*bufs[i]);
    return st;
}

/* ---- networks ---- */

typedef struct net_ctx {
    fcl_net *net;
    float *images;
    int *labels;
    fcl_objective loss;
    fcl_optimizer *opt;
} net_ctx;

static fcl_status run_forward(void *p)
{
    net_ctx *c = p;
    return fcl_net_forward(c->net, c->images, NULL);
}

static fcl_status run_train_step(void *p)
{
    net_ctx *c = p;
    fcl_loss_result r;
    return fcl_train_step(c->net, &c->loss, c->opt, c->images, c->labels, 0.05f, &r);
}

/* The device's copy bandwidth (GB/s, bytes read + written): clEnqueueCopyBuffer of
 * 128 MiB, the best of five, the ceiling for kernels that only move data. */
static double copy_bandwidth(fcl_runtime *rt)
{
    const size_t bytes = (size_t)128 << 20;
    cl_int e1, e2;
    cl_mem a = clCreateBuffer(rt->context, CL_MEM_READ_WRITE, bytes, NULL, &e1);
    cl_mem b = clCreateBuffer(rt->context, CL_MEM_READ_WRITE, bytes, NULL, &e2);
    double best = INFINITY;
    const float zero = 0;
    cl_int err = e1 == CL_SUCCESS && e2 == CL_SUCCESS
                     ? clEnqueueFillBuffer(rt->queue, a, &zero, sizeof zero, 0, bytes, 0, NULL, NULL)
                     : CL_OUT_OF_RESOURCES;
    for (int i = 0; i < 6 && err == CL_SUCCESS; i++) { /* the first touches the pages */
        const double t0 = fcl_seconds();
        err = clEnqueueCopyBuffer(rt->queue, a, b, 0, 0, bytes, 0, NULL, NULL);
        if (err == CL_SUCCESS)
            err = clFinish(rt->queue);
        if (i > 0)
            best = fmin(best, fcl_seconds() - t0);
    }
    if (e1 == CL_SUCCESS)
        clReleaseMemObject(a);
    if (e2 == CL_SUCCESS)
        clReleaseMemObject(b);
    return err == CL_SUCCESS ? 2.0 * bytes / best / 1e9 : 0;
}

/* The layers that only move data (pooling, LRN, batch norm, L2 norm), as GB/s of their
 * compulsory traffic against the copy ceiling: forward reads the input and writes the
 * output, backward reads the output's gradient and the input and writes the input's
 * gradient. From a profiled net's per-layer times. */
static void print_bandwidth(const fcl_net *net, double ceiling)
{
    const fcl_model *m = net->model;
    printf("\nlayers that only move data: GB/s of compulsory traffic (copy ceiling %.1f GB/s)\n", ceiling);
    printf("%-24s %-10s %14s %10s %10s %10s %10s\n", "layer", "type", "in -> out MB", "fwd GB/s", "of copy",
           "bwd GB/s", "of copy");
    for (int i = 1; i < m->n_nodes; i++) {
        const fcl_node *nd = &m->nodes[i];
        const fcl_op op = nd->op;
        if (op != FCL_OP_MAXPOOL && op != FCL_OP_L2POOL && op != FCL_OP_AVGPOOL && op != FCL_OP_LRN &&
            op != FCL_OP_BATCHNORM && op != FCL_OP_L2NORM)
            continue;
        const double in = 4.0 * net->batch * fcl_shape_size(nd->in), out = 4.0 * net->batch * fcl_shape_size(nd->out);
        const long passes = net->layer_forwards[i] ? net->layer_forwards[i] : 1;
        const double fwd_ms = net->layer_ms[2 * i] / passes, bwd_ms = net->layer_ms[2 * i + 1] / passes;
        const double fwd = fwd_ms > 0 ? (in + out) / fwd_ms / 1e6 : 0;
        const double bwd = bwd_ms > 0 ? (out + 2 * in) / bwd_ms / 1e6 : 0;
        printf("%-24s %-10s %6.1f -> %5.1f %10.1f %9.0f%% %10.1f %9.0f%%\n", nd->name, fcl_ops[op]->name, in / 1e6,
               out / 1e6, fwd, ceiling > 0 ? 100 * fwd / ceiling : 0, bwd, ceiling > 0 ? 100 * bwd / ceiling : 0);
    }
}

static fcl_status net_rate(fcl_runtime *rt, const fcl_model *m, int batch, bool training, bool profile,
                           double *images_per_second)
{
    net_ctx c = {0};
    fcl_status st = fcl_net_create(rt, m, batch, training, &c.net);
    const size_t n = (size_t)batch * fcl_shape_size(m->nodes[0].out);
    c.images = malloc(n * sizeof *c.images);
    c.labels = malloc((size_t)batch * sizeof *c.labels);
    if (st == FCL_SUCCESS && (!c.images || !c.labels))
        st = FCL_ERR_OUT_OF_HOST_MEMORY;
    for (size_t i = 0; st == FCL_SUCCESS && i < n; i++)
        c.images[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    for (int i = 0; st == FCL_SUCCESS && i < batch; i++)
        c.labels[i] = i / 4; /* 4 identities x 4 images at batch 16 */
    if (st == FCL_SUCCESS)
        st = fcl_net_init_params(c.net, 1);
    if (st == FCL_SUCCESS && training) {
        c.net->input_gradient = false; /* as `facecl train` (and PyTorch, whose input needs no gradient) */
        const fcl_optim_config oc = fcl_optim_defaults(FCL_OPT_ADAGRAD);
        const fcl_loss_params params = {.mining = FCL_MINING_SEMI_HARD, .alpha = 0.2f};
        st = fcl_objective_add(&c.loss, c.net, FCL_LOSS_TRIPLET, c.net->model->n_nodes - 1, &params, 1.0f);
        if (st == FCL_SUCCESS)
            st = fcl_optimizer_create(c.net, &oc, &c.opt);
    }
    double t = 0;
    if (st == FCL_SUCCESS)
        st = time_best(training ? run_train_step : run_forward, &c, rt, profile ? 0 : seconds_budget, &t);
    if (st == FCL_SUCCESS && profile) {
        printf("\nwhere one %s training step's device time goes (OpenCL event timing, batch %d):\n", m->name, batch);
        fcl_net_print_profile(c.net, stdout);
        print_bandwidth(c.net, copy_bandwidth(rt));
    }
    *images_per_second = st == FCL_SUCCESS ? batch / t : 0;
    if (c.opt)
        fcl_optimizer_destroy(c.opt);
    fcl_objective_destroy(&c.loss);
    fcl_net_destroy(c.net);
    free(c.images), free(c.labels);
    return st;
}

/* ---- k x k convolutions forward: im2col + GEMM, implicit GEMM, Winograd ---- */

typedef struct conv_row {
    char layer[40], shape[48];
    double ms[FCL_CONV_WAYS]; /* device ms per batch, by fcl_conv_way; 0: that way cannot take it */
} conv_row;

/* Each k x k convolution's forward device time (OpenCL events, the mean of three
 * forwards after a warm-up) every way FACECL_CONV chooses (set for each net made
 * here, as a user would), on a profiling runtime of its own; rows (at most max) per
 * layer. */
static fcl_status compare_conv_ways(const fcl_model *m, int batch, conv_row *rows, int max, int *n_rows)
{
    *n_rows = 0;
    fcl_status st = FCL_SUCCESS;
    const char *env = getenv("FACECL_CONV");
    char *saved = env ? strdup(env) : NULL;
    for (int way = 0; way < FCL_CONV_WAYS && st == FCL_SUCCESS; way++) {
        setenv("FACECL_CONV", fcl_conv_way_names[way], 1);
        fcl_runtime_options po = {.profiling = true};
        fcl_runtime *prt = NULL;
        fcl_net *net = NULL;
        const size_t n = (size_t)batch * fcl_shape_size(m->nodes[0].out);
        float *images = malloc(n * sizeof *images);
        st = images ? fcl_runtime_create(NULL, &po, &prt) : FCL_ERR_OUT_OF_HOST_MEMORY;
        if (st == FCL_SUCCESS)
            st = fcl_net_create(prt, m, batch, false, &net);
        if (st == FCL_SUCCESS)
            st = fcl_net_init_params(net, 1);
        for (size_t i = 0; st == FCL_SUCCESS && i < n; i++)
            images[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
        if (st == FCL_SUCCESS) /* the warm-up builds the kernels; its times are dropped */
            st = fcl_net_forward(net, images, NULL);
        if (st == FCL_SUCCESS)
            memset(net->layer_ms, 0, 2 * (size_t)m->n_nodes * sizeof *net->layer_ms);
        for (int r = 0; r < 3 && st == FCL_SUCCESS; r++)
            st = fcl_net_forward(net, images, NULL);
        int row = 0;
        for (int i = 1; st == FCL_SUCCESS && i < m->n_nodes && row < max; i++) {
            const fcl_node *nd = &m->nodes[i];
            if (nd->op != FCL_OP_CONV || (nd->kh == 1 && nd->kw == 1) || !fcl_conv_implicit_fits(nd))
                continue; /* the implicit kernel cannot take it (1x7, per-axis padding): im2col both ways */
            conv_row *c = &rows[row++];
            snprintf(c->layer, sizeof c->layer, "%.39s", nd->name);
            snprintf(c->shape, sizeof c->shape, "%d->%d %dx%d s%d, %dx%d", nd->in.c, nd->out.c, nd->kh, nd->kw,
                     nd->sh, nd->out.h, nd->out.w);
            const bool takes = way != FCL_CONV_WINOGRAD || fcl_winograd_fits(nd);
            c->ms[way] = takes ? net->layer_ms[2 * i] / 3 : 0;
        }
        *n_rows = row;
        fcl_net_destroy(net);
        fcl_runtime_destroy(prt);
        free(images);
    }
    if (saved)
        setenv("FACECL_CONV", saved, 1);
    else
        unsetenv("FACECL_CONV");
    free(saved);
    return st;
}

/* `key value` lines from bench/pytorch_peer.py; 0 when the key is absent. */
static double peer_value(const char *path, const char *key)
{
    FILE *f = path ? fopen(path, "r") : NULL;
    char line[256], k[128];
    double v, found = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "%127s %lf", k, &v) == 2 && strcmp(k, key) == 0)
            found = v;
    if (f)
        fclose(f);
    return found;
}

static const char *ratio(double a, double b, char *buf, size_t size)
{
    if (a > 0 && b > 0)
        snprintf(buf, size, "%.2fx", a / b);
    else
        snprintf(buf, size, "-");
    return buf;
}

static void json_number(FILE *f, const char *key, double v, bool comma)
{
    if (v > 0)
        fprintf(f, "\"%s\": %.3f%s", key, v, comma ? ", " : "");
    else
        fprintf(f, "\"%s\": null%s", key, comma ? ", " : "");
}

int main(int argc, char **argv)
{
    const char *json_path = NULL, *peer_path = NULL, *models_arg = "models/nn2.model,models/nn1.model";
    double tune_seconds = 300;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0 && i + 1 < argc)
            json_path = argv[++i];
        else if (strcmp(argv[i], "--peer") == 0 && i + 1 < argc)
            peer_path = argv[++i];
        else if (strcmp(argv[i], "--models") == 0 && i + 1 < argc)
            models_arg = argv[++i];
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds_budget = atof(argv[++i]);
        else if (strcmp(argv[i], "--tune-seconds") == 0 && i + 1 < argc)
            tune_seconds = atof(argv[++i]);
        else {
            const bool help = strcmp(argv[i], "--help") == 0;
            fprintf(help ? stdout : stderr,
                    "usage: bench_compare [--models A.model,B.model] [--seconds S] [--tune-seconds S]\n"
                    "                     [--peer pytorch.txt] [--json out.json]\n"
                    "  --models        networks to time (default models/nn2.model,models/nn1.model)\n"
                    "  --seconds       per network measurement (default 5)\n"
                    "  --tune-seconds  first-use GEMM tuning budget per model (default 300)\n"
                    "  --peer          bench/pytorch_peer.py's output, for the ratios\n"
                    "  --json          write the results there\n"
                    "bench/compare.sh runs it with the PyTorch peer.\n");
            return help ? 0 : 2;
        }
    }
    fcl_runtime *rt;
    fcl_status st = fcl_runtime_create(NULL, NULL, &rt);
    if (st != FCL_SUCCESS) {
        fprintf(stderr, "bench_compare: %s\n", fcl_status_str(st));
        return 1;
    }
    printf("device: %s (%s), %u compute units\n", rt->info.name, rt->info.driver_version, rt->info.compute_units);

    /* The models, and their tuning on first use (as `facecl train` does). */
    fcl_model *models[4];
    int n_models = 0;
    char *list = strdup(models_arg);
    for (char *save = NULL, *p = strtok_r(list, ",", &save); p && n_models < 4 && st == FCL_SUCCESS;
         p = strtok_r(NULL, ",", &save))
        if ((st = fcl_model_load(p, &models[n_models])) == FCL_SUCCESS)
            n_models++;
    free(list);
    for (int i = 0; i < n_models && st == FCL_SUCCESS; i++) {
        printf("tuning the GEMMs of %s (training, batch %d; at most %.0f s for what the tuning file lacks)\n",
               models[i]->name, TRAIN_BATCH, tune_seconds);
        fflush(stdout);
        st = fcl_gemm_tune_first_use(rt, models[i], TRAIN_BATCH, true, tune_seconds, NULL);
    }

    /* GEMM rows: squares, then NN2's (the first model's) largest forward shapes. */
    gemm_row rows[MAX_ROWS];
    int n_rows = 0;
    static const int squares[] = {512, 1024, 2048};
    for (size_t i = 0; i < sizeof squares / sizeof squares[0]; i++) {
        rows[n_rows] = (gemm_row){.M = squares[i], .N = squares[i], .K = squares[i], .batch = 1};
        snprintf(rows[n_rows++].label, sizeof rows[0].label, "square n=%d", squares[i]);
    }
    fcl_gemm_recorder rec = {0};
    if (st == FCL_SUCCESS && n_models > 0)
        st = fcl_gemm_record(rt, models[0], TRAIN_BATCH, false, &rec);
    for (int pick = 0; pick < 5 && st == FCL_SUCCESS; pick++) {
        int best = -1;
        for (int i = 0; i < rec.n; i++) {
            const fcl_gemm_shape *s = &rec.shapes[i];
            bool seen = false;
            for (int r = 0; r < n_rows; r++)
                seen |= rows[r].M == s->M && rows[r].N == s->N && rows[r].K == s->K;
            if (!seen && !s->trans_a && s->chunks == 1 &&
                (best < 0 || (double)s->M * s->N * s->K > (double)rec.shapes[best].M * rec.shapes[best].N *
                                                               rec.shapes[best].K))
                best = i;
        }
        if (best < 0)
            break;
        const fcl_gemm_shape *s = &rec.shapes[best];
        rows[n_rows] = (gemm_row){.M = s->M, .N = s->N, .K = s->K, .batch = s->batch};
        snprintf(rows[n_rows++].label, sizeof rows[0].label, "%s layer", models[0]->name);
    }
    free(rec.shapes);
    fcl_gemm_ctx *scratch = NULL;
    if (st == FCL_SUCCESS)
        st = fcl_gemm_ctx_create(rt, NULL, &scratch);
    printf("\nGEMM, GFLOP/s (C = A B, row-major; shapes MxNxK x batch)\n");
    printf("%-16s %-22s %9s %9s %9s %9s %9s %10s\n", "", "shape", "facecl", "facecl", "CLBlast", "CLBlast", "OpenBLAS",
           "tuned /");
    printf("%-16s %-22s %9s %9s %9s %9s %9s %10s\n", "", "", "default", "tuned", "default", "hand-set", "(host)",
           "OpenBLAS");
#ifdef FACECL_HAVE_CLBLAST
    const int hand_sets = FCL_CLBLAST_CPU_SETS;
#else
    const int hand_sets = 0;
#endif
    /* Three rounds over every row, the best of each kept: the machine's speed drifts over
     * seconds, so a column measured during a slow spell would compare unfairly. */
    for (int round = 0; round < 3 && st == FCL_SUCCESS; round++)
        for (int r = 0; r < n_rows && st == FCL_SUCCESS; r++)
            st = measure_gemm(rt, scratch, &rows[r], -1);
    for (int h = 0; h < hand_sets && st == FCL_SUCCESS; h++)
        for (int r = 0; r < n_rows && st == FCL_SUCCESS; r++)
            st = measure_gemm(rt, scratch, &rows[r], h);
    for (int r = 0; r < n_rows && st == FCL_SUCCESS; r++) {
        char shape[48], q[16];
        snprintf(shape, sizeof shape, "%dx%dx%d x %d", rows[r].M, rows[r].N, rows[r].K, rows[r].batch);
        printf("%-16s %-22s %9.1f %9.1f %9.1f %9.1f %9.1f %10s\n", rows[r].label, shape, rows[r].facecl_default,
               rows[r].facecl_tuned, rows[r].clblast_default, rows[r].clblast_tuned, rows[r].openblas,
               ratio(rows[r].facecl_tuned, rows[r].openblas, q, sizeof q));
        fflush(stdout);
    }
    fcl_gemm_ctx_destroy(scratch);

    /* Whole networks. */
    net_row nets[4] = {0};
    for (int i = 0; i < n_models && st == FCL_SUCCESS; i++) {
        net_row *n = &nets[i];
        snprintf(n->model, sizeof n->model, "%.60s", models[i]->name);
        n->macs = (double)fcl_model_macs(models[i]);
        printf("\nmeasuring %s (%.2fG multiply-adds per image)...\n", n->model, n->macs / 1e9);
        fflush(stdout);
        st = net_rate(rt, models[i], 1, false, false, &n->infer_b1);
        if (st == FCL_SUCCESS)
            st = net_rate(rt, models[i], 16, false, false, &n->infer_b16);
        if (st == FCL_SUCCESS)
            st = net_rate(rt, models[i], TRAIN_BATCH, true, false, &n->train_b16);
        char key[160];
        snprintf(key, sizeof key, "%.60s_infer_b1", n->model), n->peer_b1 = peer_value(peer_path, key);
        snprintf(key, sizeof key, "%.60s_infer_b16", n->model), n->peer_b16 = peer_value(peer_path, key);
        snprintf(key, sizeof key, "%.60s_train_b16", n->model), n->peer_train = peer_value(peer_path, key);
        snprintf(key, sizeof key, "%.60s_ort_infer_b1", n->model), n->ort_b1 = peer_value(peer_path, key);
        snprintf(key, sizeof key, "%.60s_ort_infer_b16", n->model), n->ort_b16 = peer_value(peer_path, key);
    }
    printf("\nwhole networks, images/s (PyTorch: bench/pytorch_peer.py; onnxruntime: bench/onnxruntime_peer.py "
           "running facecl's export; the same cores)\n");
    printf("%-8s %-16s %9s %9s %9s %9s %9s %12s\n", "model", "workload", "facecl", "PyTorch", "facecl /", "onnxrt",
           "facecl /", "facecl");
    printf("%-8s %-16s %9s %9s %9s %9s %9s %12s\n", "", "", "", "", "PyTorch", "", "onnxrt", "GFLOP/s");
    for (int i = 0; i < n_models && st == FCL_SUCCESS; i++) {
        const net_row *n = &nets[i];
        const struct {
            const char *what;
            double ours, peer, ort, macs_factor;
        } lines[] = {{"inference b=1", n->infer_b1, n->peer_b1, n->ort_b1, 1},
                     {"inference b=16", n->infer_b16, n->peer_b16, n->ort_b16, 1},
                     {"train step b=16", n->train_b16, n->peer_train, 0, 3}};
        for (int l = 0; l < 3; l++) {
            char q[16], r[16];
            printf("%-8s %-16s %9.2f %9.2f %9s %9.2f %9s %12.1f\n", n->model, lines[l].what, lines[l].ours,
                   lines[l].peer, ratio(lines[l].ours, lines[l].peer, q, sizeof q), lines[l].ort,
                   ratio(lines[l].ours, lines[l].ort, r, sizeof r), 2 * n->macs * lines[l].macs_factor * lines[l].ours / 1e9);
        }
    }
    /* Where the time goes: one profiled training step of the first model. */
    if (st == FCL_SUCCESS && n_models > 0) {
        fcl_runtime_options po = {.profiling = true};
        fcl_runtime *prt;
        double ignored;
        if (fcl_runtime_create(NULL, &po, &prt) == FCL_SUCCESS) {
            st = net_rate(prt, models[0], TRAIN_BATCH, true, true, &ignored);
            fcl_runtime_destroy(prt);
        }
    }

    /* k x k convolutions forward every way, on the first model. */
    conv_row convs[64];
    int n_convs = 0;
    if (st == FCL_SUCCESS && n_models > 0) {
        st = compare_conv_ways(models[0], TRAIN_BATCH, convs, 64, &n_convs);
        printf("\n%s's k x k convolutions forward, device ms per batch of %d (OpenCL event time, mean of 3)\n",
               models[0]->name, TRAIN_BATCH);
        printf("%-24s %-26s %12s %12s %10s %10s %10s\n", "layer", "channels, kernel, output", "im2col+GEMM",
               "implicit", "implicit /", "Winograd", "Winograd /");
        printf("%-24s %-26s %12s %12s %10s %10s %10s\n", "", "", "", "GEMM", "im2col", "F(2,3)", "im2col");
        /* totals: every layer, and the im2col time of those Winograd takes */
        double total[FCL_CONV_WAYS] = {0}, winograd_base = 0;
        for (int r = 0; r < n_convs; r++) {
            const conv_row *c = &convs[r];
            char q[16], qw[16], w[16] = "-";
            for (int way = 0; way < FCL_CONV_WAYS; way++)
                total[way] += c->ms[way];
            if (c->ms[FCL_CONV_WINOGRAD] > 0)
                winograd_base += c->ms[FCL_CONV_IM2COL], snprintf(w, sizeof w, "%.1f", c->ms[FCL_CONV_WINOGRAD]);
            printf("%-24s %-26s %12.1f %12.1f %10s %10s %10s\n", c->layer, c->shape, c->ms[FCL_CONV_IM2COL],
                   c->ms[FCL_CONV_IMPLICIT], ratio(c->ms[FCL_CONV_IMPLICIT], c->ms[FCL_CONV_IM2COL], q, sizeof q), w,
                   ratio(c->ms[FCL_CONV_WINOGRAD], c->ms[FCL_CONV_IM2COL], qw, sizeof qw));
        }
        char q[16], qw[16], w[16] = "-";
        if (total[FCL_CONV_WINOGRAD] > 0)
            snprintf(w, sizeof w, "%.1f", total[FCL_CONV_WINOGRAD]);
        printf("%-24s %-26s %12.1f %12.1f %10s %10s %10s\n", "all of them", "", total[FCL_CONV_IM2COL],
               total[FCL_CONV_IMPLICIT], ratio(total[FCL_CONV_IMPLICIT], total[FCL_CONV_IM2COL], q, sizeof q), w,
               ratio(total[FCL_CONV_WINOGRAD], winograd_base, qw, sizeof qw));
    }

    if (st == FCL_SUCCESS && json_path) {
        FILE *f = fopen(json_path, "w");
        if (!f) {
            fprintf(stderr, "bench_compare: cannot write %s\n", json_path);
            st = FCL_ERR_IO;
        } else {
            fprintf(f, "{\"device\": \"%s\", \"driver\": \"%s\", \"gemm\": [\n", rt->info.name, rt->info.driver_version);
            for (int r = 0; r < n_rows; r++) {
                fprintf(f, "  {\"label\": \"%s\", \"M\": %d, \"N\": %d, \"K\": %d, \"batch\": %d, ", rows[r].label,
                        rows[r].M, rows[r].N, rows[r].K, rows[r].batch);
                json_number(f, "facecl_default_gflops", rows[r].facecl_default, true);
                json_number(f, "facecl_tuned_gflops", rows[r].facecl_tuned, true);
                json_number(f, "clblast_default_gflops", rows[r].clblast_default, true);
                json_number(f, "clblast_handset_gflops", rows[r].clblast_tuned, true);
                json_number(f, "openblas_gflops", rows[r].openblas, false);
                fprintf(f, "}%s\n", r + 1 < n_rows ? "," : "");
            }
            fprintf(f, "], \"networks\": [\n");
            for (int i = 0; i < n_models; i++) {
                fprintf(f, "  {\"model\": \"%s\", \"macs\": %.0f, ", nets[i].model, nets[i].macs);
                json_number(f, "facecl_infer_b1", nets[i].infer_b1, true);
                json_number(f, "facecl_infer_b16", nets[i].infer_b16, true);
                json_number(f, "facecl_train_b16", nets[i].train_b16, true);
                json_number(f, "pytorch_infer_b1", nets[i].peer_b1, true);
                json_number(f, "pytorch_infer_b16", nets[i].peer_b16, true);
                json_number(f, "pytorch_train_b16", nets[i].peer_train, true);
                json_number(f, "onnxruntime_infer_b1", nets[i].ort_b1, true);
                json_number(f, "onnxruntime_infer_b16", nets[i].ort_b16, false);
                fprintf(f, "}%s\n", i + 1 < n_models ? "," : "");
            }
            fprintf(f, "], \"conv_forward_ms\": [\n");
            for (int r = 0; r < n_convs; r++) {
                fprintf(f, "  {\"layer\": \"%s\", \"shape\": \"%s\", \"im2col_gemm\": %.3f, ", convs[r].layer,
                        convs[r].shape, convs[r].ms[0]);
                fprintf(f, "\"implicit_gemm\": %.3f, ", convs[r].ms[FCL_CONV_IMPLICIT]);
                json_number(f, "winograd", convs[r].ms[FCL_CONV_WINOGRAD], false);
                fprintf(f, "}%s\n", r + 1 < n_convs ? "," : "");
            }
            fprintf(f, "]}\n");
            if (fclose(f) != 0)
                st = FCL_ERR_IO;
        }
    }
    for (int i = 0; i < n_models; i++)
        fcl_model_destroy(models[i]);
    fcl_runtime_destroy(rt);
    if (st != FCL_SUCCESS)
        fprintf(stderr, "bench_compare: %s\n", fcl_status_str(st));
    return st == FCL_SUCCESS ? 0 : 1;
}
