/* The GEMM auto-tuner: for each shape class a model uses, a staged search over
 * configurations the device can hold: on a GPU the tiled kernel first (work per item,
 * work-group, slice depth, load width, padding and double buffering, K passes), then
 * facecl's register kernel (split chunks or not, packed B or not, register tile,
 * work-group, K passes, unrolling), then CLBlast's Xgemm where the build has it,
 * timing each on the class's largest recorded shape. A candidate that fails
 * to build, fails to run, or disagrees with the C reference is skipped, never chosen. */
#include "gemm/gemm.h"
#include "runtime/clock.h"
#include "runtime/random.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ---- one shape on the device: buffers, a sampled reference check, timing ---- */

typedef struct bench_shape {
    fcl_gemm g;
    float *a, *b;        /* host copies, for the reference */
    size_t na, nb, nc;
} bench_shape;

/* Operands and sampled entries are drawn from a generator each tuning run seeds. */
static float uniform(uint64_t *rng) { return (float)((double)(fcl_splitmix64(rng) >> 11) / 4503599627370496.0 - 1.0); }

static fcl_status read_buffer(fcl_runtime *rt, cl_mem buf, size_t n, float *host)
{
    cl_int err = clEnqueueReadBuffer(rt->queue, buf, CL_TRUE, 0, n * sizeof(float), host, 0, NULL, NULL);
    return err == CL_SUCCESS ? FCL_SUCCESS : FCL_CL_FAIL("clEnqueueReadBuffer", err);
}

static fcl_status upload(fcl_runtime *rt, const float *host, size_t n, cl_mem *out)
{
    cl_int err;
    *out = clCreateBuffer(rt->context, CL_MEM_READ_WRITE, (n ? n : 1) * sizeof(float), NULL, &err);
    if (err == CL_SUCCESS && host && n)
        err = clEnqueueWriteBuffer(rt->queue, *out, CL_TRUE, 0, n * sizeof(float), host, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        fcl_log(FCL_LOG_ERROR, "tuning needs a %.1f MiB buffer: %s", n * 4 / 1048576.0, fcl_status_str(err));
    return err;
}

static void bench_shape_free(bench_shape *s)
{
    cl_mem bufs[] = {s->g.a, s->g.b, s->g.c, s->g.bias};
    for (int i = 0; i < 4; i++)
        if (bufs[i])
            clReleaseMemObject(bufs[i]);
    free(s->a), free(s->b);
    memset(s, 0, sizeof *s);
}

/* Dense operands for shape sh (leading dimensions as tight as the layout allows); with
 * epilogue, a per-row bias and the ReLU, which K passes must apply exactly once. */
static fcl_status bench_shape_make(fcl_runtime *rt, uint64_t *rng, const fcl_gemm_shape *sh, bool epilogue,
                                   bench_shape *s)
{
    memset(s, 0, sizeof *s);
    fcl_gemm *g = &s->g;
    *g = (fcl_gemm){.M = sh->M, .N = sh->N, .K = sh->K, .chunks = sh->chunks, .batch = sh->batch,
                    .trans_a = sh->trans_a, .lda = sh->trans_a ? sh->M : sh->K, .ldb = sh->N, .ldc = sh->N,
                    .bias_mode = epilogue ? 1 : 0, .relu = epilogue};
    g->a_chunk = sh->M * sh->K, g->a_batch = g->a_chunk * sh->chunks;
    g->b_chunk = sh->K * sh->N, g->b_batch = g->b_chunk * sh->chunks;
    g->c_batch = sh->M * sh->N;
    s->na = (size_t)g->a_batch * sh->batch, s->nb = (size_t)g->b_batch * sh->batch;
    s->nc = (size_t)g->c_batch * sh->batch;
    s->a = malloc((s->na ? s->na : 1) * sizeof *s->a), s->b = malloc((s->nb ? s->nb : 1) * sizeof *s->b);
    float *bias = malloc((size_t)sh->M * sizeof *bias);
    fcl_status st = s->a && s->b && bias ? FCL_SUCCESS : FCL_ERR_OUT_OF_HOST_MEMORY;
    for (size_t i = 0; st == FCL_SUCCESS && i < s->na; i++)
        s->a[i] = uniform(rng);
    for (size_t i = 0; st == FCL_SUCCESS && i < s->nb; i++)
        s->b[i] = uniform(rng);
    for (int i = 0; st == FCL_SUCCESS && i < sh->M; i++)
        bias[i] = uniform(rng);
    if (st == FCL_SUCCESS)
        st = upload(rt, s->a, s->na, &g->a);
    if (st == FCL_SUCCESS)
        st = upload(rt, s->b, s->nb, &g->b);
    if (st == FCL_SUCCESS)
        st = upload(rt, NULL, s->nc, &g->c);
    if (st == FCL_SUCCESS)
        st = upload(rt, bias, (size_t)sh->M, &g->bias);
    free(bias);
    if (st != FCL_SUCCESS)
        bench_shape_free(s);
    return st;
}

/* C(z, i, j) in double, with the epilogue. */
static double reference_entry(const bench_shape *s, const float *bias, int z, int i, int j, double *magnitude)
{
    const fcl_gemm *g = &s->g;
    double acc = 0, mag = 0;
    for (int q = 0; q < g->chunks; q++)
        for (int k = 0; k < g->K; k++) {
            const size_t ai = (size_t)z * g->a_batch + (size_t)q * g->a_chunk +
                              (g->trans_a ? (size_t)k * g->lda + i : (size_t)i * g->lda + k);
            const double t = (double)s->a[ai] * s->b[(size_t)z * g->b_batch + (size_t)q * g->b_chunk +
                                                      (size_t)k * g->ldb + j];
            acc += t, mag += fabs(t);
        }
    if (g->bias_mode == 1)
        acc += bias[i];
    *magnitude = mag;
    return g->relu && acc < 0 ? 0 : acc;
}

/* Runs config c and compares `samples` entries of C (every entry when samples <= 0)
 * with the reference: |device - reference| <= 1e-4 (1 + sum |a b|), the tests' bound. */
static fcl_status check_config(fcl_gemm_ctx *ctx, uint64_t *rng, bench_shape *s, const fcl_gemm_config *c,
                               int samples, bool *correct)
{
    *correct = false;
    float *out = malloc((s->nc ? s->nc : 1) * sizeof *out), *bias = malloc((size_t)s->g.M * sizeof *bias);
    fcl_status st = out && bias ? FCL_SUCCESS : FCL_ERR_OUT_OF_HOST_MEMORY;
    for (size_t i = 0; st == FCL_SUCCESS && i < s->nc; i++) /* NaN wherever the product fails to write */
        out[i] = NAN;
    if (st == FCL_SUCCESS && s->nc) {
        cl_int err = clEnqueueWriteBuffer(ctx->rt->queue, s->g.c, CL_TRUE, 0, s->nc * sizeof *out, out, 0, NULL, NULL);
        st = err == CL_SUCCESS ? FCL_SUCCESS : FCL_CL_FAIL("clEnqueueWriteBuffer", err);
    }
    if (st == FCL_SUCCESS)
        st = fcl_gemm_run_config(ctx, &s->g, c);
    if (st == FCL_SUCCESS)
        st = read_buffer(ctx->rt, s->g.c, s->nc, out);
    if (st == FCL_SUCCESS)
        st = read_buffer(ctx->rt, s->g.bias, (size_t)s->g.M, bias);
    const long total = (long)s->nc, n = samples > 0 && samples < total ? samples : total;
    bool ok = st == FCL_SUCCESS;
    for (long t = 0; ok && t < n; t++) {
        const long e = n == total ? t : (long)(fcl_splitmix64(rng) % (uint64_t)total);
        const int z = (int)(e / s->g.c_batch), i = (int)(e % s->g.c_batch / s->g.N), j = (int)(e % s->g.N);
        double mag;
        const double want = reference_entry(s, bias, z, i, j, &mag);
        ok = fabs(out[e] - want) <= 1e-4 * (1 + mag);
    }
    *correct = ok;
    free(out), free(bias);
    return st;
}

/* Seconds per call: the best of three samples, each of enough calls to last 20 ms. */
static fcl_status time_config(fcl_gemm_ctx *ctx, const fcl_gemm *g, const fcl_gemm_config *c, double *seconds)
{
    int calls = 1;
    double best = INFINITY;
    fcl_status st = FCL_SUCCESS;
    for (int sample = 0; sample < 3 && st == FCL_SUCCESS;) {
        const double t0 = fcl_seconds();
        for (int i = 0; i < calls && st == FCL_SUCCESS; i++)
            st = fcl_gemm_run_config(ctx, g, c);
        if (st == FCL_SUCCESS)
            st = fcl_runtime_finish(ctx->rt);
        const double t = fcl_seconds() - t0;
        if (t < 0.02 && calls < 1 << 16) {
            calls *= t > 0 ? (int)fmin(64, ceil(0.02 / t)) : 64; /* too short to time: more calls */
            continue;
        }
        best = fmin(best, t / calls);
        sample++;
    }
    *seconds = best;
    return st;
}

/* ---- the search ---- */

enum { MAX_CANDIDATES = 64 };

/* Register tiles the device can hold: on a CPU the accumulators take a quarter to three
 * quarters of the vector registers, in vectors no wider than 8 floats or the native
 * width (wider ones are split, and PoCL prints ABI warnings for them); on a GPU at
 * most 64 floats a work-item. */
static int tile_candidates(const fcl_device_info *info, const fcl_gemm_shape *sh, fcl_gemm_config base,
                           fcl_gemm_config *out)
{
    (void)sh;
    static const int tms[] = {1, 2, 3, 4, 6, 8, 12, 16};
    const bool cpu = info->type == FCL_DEVICE_CPU;
    const int w = info->float_vector_width >= 16 ? 16 : info->float_vector_width >= 8 ? 8 : 4;
    const int regs = w >= 16 ? 32 : 16;
    int n = 0;
    for (int vw = cpu ? w : 2; vw <= (cpu ? (w > 8 ? w : 8) : 4); vw *= 2)
        for (int wn = 1; wn <= 3; wn++)
            for (size_t t = 0; t < sizeof tms / sizeof tms[0] && n < MAX_CANDIDATES; t++) {
                const int floats = tms[t] * wn * vw;
                const bool fits = cpu ? floats >= regs * w / 4 && floats <= regs * w * 3 / 4 : floats <= 64;
                if (fits) {
                    fcl_gemm_config c = base;
                    c.tm = tms[t], c.vw = vw, c.wn = wn;
                    out[n++] = c;
                }
            }
    return n;
}

static int local_candidates(const fcl_device_info *info, const fcl_gemm_shape *sh, fcl_gemm_config base,
                            fcl_gemm_config *out)
{
    (void)sh;
    /* No {0, 0} on a CPU: it runs as {1, 1} there (tile_grid in gemm.c). */
    static const int cpu_locals[][2] = {{1, 1}, {4, 4}, {2, 8}, {8, 2}, {1, 16}, {16, 1}, {8, 8}};
    static const int gpu_locals[][2] = {{0, 0}, {8, 8}, {16, 4}, {16, 16}, {32, 4}, {32, 8}, {64, 1}};
    const bool cpu = info->type == FCL_DEVICE_CPU;
    const int count = 7;
    int n = 0;
    for (int i = 0; i < count; i++) {
        const int *l = cpu ? cpu_locals[i] : gpu_locals[i];
        if ((size_t)(l[0] * l[1]) <= info->max_work_group_size) {
            out[n] = base;
            out[n].lx = l[0], out[n].ly = l[1];
            n++;
        }
    }
    return n;
}

static int kc_candidates(const fcl_device_info *info, const fcl_gemm_shape *sh, fcl_gemm_config base,
                         fcl_gemm_config *out)
{
    (void)info;
    static const int kcs[] = {0, 128, 256, 512, 1024};
    int n = 0;
    for (size_t i = 0; i < sizeof kcs / sizeof kcs[0]; i++)
        if (kcs[i] < sh->K) { /* kc >= K is one pass, the same as 0 */
            out[n] = base;
            out[n++].kc = kcs[i];
        }
    return n;
}

/* The base with an on/off setting (at offsetof field) off, and on where it applies. */
static int on_off(fcl_gemm_config base, size_t field, bool applies, fcl_gemm_config *out)
{
    out[0] = out[1] = base;
    *(int *)((char *)&out[0] + field) = 0;
    *(int *)((char *)&out[1] + field) = 1;
    return applies ? 2 : 1;
}

static int pb_candidates(const fcl_device_info *info, const fcl_gemm_shape *sh, fcl_gemm_config base,
                         fcl_gemm_config *out)
{
    (void)info, (void)sh;
    return on_off(base, offsetof(fcl_gemm_config, pb), true, out);
}

/* Splitting a chunked reduction into products (sk) matters only when there are chunks. */
static int sk_candidates(const fcl_device_info *info, const fcl_gemm_shape *sh, fcl_gemm_config base,
                         fcl_gemm_config *out)
{
    (void)info;
    return on_off(base, offsetof(fcl_gemm_config, sk), sh->chunks > 1 && sh->batch == 1, out);
}

/* ku: 1 or 4; cl/gemm.cl unrolls only rows of a plain A. */
static int ku_candidates(const fcl_device_info *info, const fcl_gemm_shape *sh, fcl_gemm_config base,
                         fcl_gemm_config *out)
{
    (void)info;
    out[0] = out[1] = base;
    out[0].ku = 1, out[1].ku = 4;
    return sh->trans_a ? 1 : 2;
}

/* CLBlast's Xgemm, last: it has no settings to vary per class (its parameters are the
 * device's: CLBlast's database, or facecl's set for CPUs). */
static int impl_candidates(const fcl_device_info *info, const fcl_gemm_shape *sh, fcl_gemm_config base,
                           fcl_gemm_config *out)
{
    (void)info, (void)sh, (void)base;
    out[0] = (fcl_gemm_config){.impl = FCL_GEMM_CLBLAST};
    return fcl_gemm_clblast_available() ? 1 : 0;
}

/* ---- the tiled GPU kernel's stages (devices with on-chip local memory) ---- */

/* Appends c when the kernel takes it (the parser's checks) and the device holds it. */
static void keep_tiled(const fcl_device_info *info, fcl_gemm_config c, fcl_gemm_config *out, int *n)
{
    char text[128], why[128];
    fcl_gemm_config parsed;
    fcl_gemm_config_format(&c, text, sizeof text);
    if (*n < MAX_CANDIDATES && fcl_gemm_config_parse(text, &parsed, why, sizeof why) &&
        fcl_gemm_tiled_fits(&parsed, info))
        out[(*n)++] = parsed;
}

/* The largest load width (8 down to 1) that the block's rows, columns and slice take. */
static int widest_load(const fcl_gemm_config *c, int at_most)
{
    int vw = at_most;
    while (vw > 1 && (c->kw % vw || c->ly * c->tm % vw || c->lx * c->wn % vw))
        vw /= 2;
    return vw;
}

/* The base with fields (at offsetof first and second) set to each pair of values, the
 * copy width narrowed to what the new block takes. */
static int tiled_pairs(const fcl_device_info *info, fcl_gemm_config base, const int (*values)[2], int count,
                       size_t first, size_t second, fcl_gemm_config *out)
{
    int n = 0;
    for (int i = 0; i < count; i++) {
        fcl_gemm_config c = base;
        *(int *)((char *)&c + first) = values[i][0];
        *(int *)((char *)&c + second) = values[i][1];
        c.vw = widest_load(&c, base.vw);
        keep_tiled(info, c, out, &n);
    }
    return n;
}

/* Outputs a work-item computes: 4 to 64 floats of registers. */
static int tiled_item_candidates(const fcl_device_info *info, const fcl_gemm_shape *sh, fcl_gemm_config base,
                                 fcl_gemm_config *out)
{
    (void)sh;
    static const int items[][2] = {{2, 2}, {4, 4}, {8, 4}, {4, 8}, {8, 8}, {2, 8}, {8, 2}, {4, 2}, {2, 4}};
    return tiled_pairs(info, base, items, (int)(sizeof items / sizeof items[0]), offsetof(fcl_gemm_config, tm),
                       offsetof(fcl_gemm_config, wn), out);
}

/* Work-groups of 64 to 512 work-items. */
static int tiled_group_candidates(const fcl_device_info *info, const fcl_gemm_shape *sh, fcl_gemm_config base,
                                  fcl_gemm_config *out)
{
    (void)sh;
    static const int groups[][2] = {{8, 8}, {16, 8}, {8, 16}, {16, 16}, {32, 8}, {16, 32}, {32, 16}};
    return tiled_pairs(info, base, groups, (int)(sizeof groups / sizeof groups[0]), offsetof(fcl_gemm_config, lx),
                       offsetof(fcl_gemm_config, ly), out);
}

/* The slice depth, then the load width, then padding and double buffering. */
static int tiled_slice_candidates(const fcl_device_info *info, const fcl_gemm_shape *sh, fcl_gemm_config base,
                                  fcl_gemm_config *out)
{
    (void)sh;
    int n = 0;
    for (int kw = 8; kw <= 32; kw *= 2) {
        fcl_gemm_config c = base;
        c.kw = kw, c.kc = 0;
        c.vw = widest_load(&c, base.vw);
        keep_tiled(info, c, out, &n);
    }
    return n;
}

static int tiled_load_candidates(const fcl_device_info *info, const fcl_gemm_shape *sh, fcl_gemm_config base,
                                 fcl_gemm_config *out)
{
    (void)sh;
    int n = 0;
    for (int vw = 1; vw <= 8; vw *= 2) {
        fcl_gemm_config c = base;
        c.vw = vw;
        keep_tiled(info, c, out, &n);
    }
    return n;
}

static int tiled_layout_candidates(const fcl_device_info *info, const fcl_gemm_shape *sh, fcl_gemm_config base,
                                   fcl_gemm_config *out)
{
    (void)sh;
    int n = 0;
    for (int v = 0; v < 4; v++) {
        fcl_gemm_config c = base;
        c.pad = v & 1, c.db = v >> 1;
        keep_tiled(info, c, out, &n);
    }
    return n;
}

/* The search's stages in order; each varies one setting of the best so far of its
 * kernel (or of that kernel's default when another kernel leads). On a device with
 * on-chip local memory the tiled GPU kernel is searched first, then facecl's register
 * kernel, then CLBlast. The CPU's search has no tiled stages: on PoCL the tiled
 * kernel runs at a fraction of the register kernel's speed (bench/RESULTS.md). */
typedef int (*stage_fn)(const fcl_device_info *info, const fcl_gemm_shape *sh, fcl_gemm_config base,
                        fcl_gemm_config *out);
static const struct stage {
    stage_fn candidates;
    int impl;        /* the kernel whose settings it varies */
    bool local_only; /* only on devices with on-chip local memory */
} stages[] = {
    {tiled_item_candidates, FCL_GEMM_TILED, true},  {tiled_group_candidates, FCL_GEMM_TILED, true},
    {tiled_slice_candidates, FCL_GEMM_TILED, true}, {tiled_load_candidates, FCL_GEMM_TILED, true},
    {tiled_layout_candidates, FCL_GEMM_TILED, true}, {kc_candidates, FCL_GEMM_TILED, true},
    {sk_candidates, FCL_GEMM_TILED, true},
    {sk_candidates, FCL_GEMM_FACECL, false},        {pb_candidates, FCL_GEMM_FACECL, false},
    {tile_candidates, FCL_GEMM_FACECL, false},      {local_candidates, FCL_GEMM_FACECL, false},
    {kc_candidates, FCL_GEMM_FACECL, false},        {ku_candidates, FCL_GEMM_FACECL, false},
    {impl_candidates, FCL_GEMM_CLBLAST, false},
};

/* Where a stage of kernel `impl` starts: the best so far if it is that kernel's, else
 * the kernel's default on the device. */
static fcl_gemm_config stage_base(const fcl_device_info *info, int impl, const fcl_gemm_config *best)
{
    if (best->impl == impl)
        return *best;
    const fcl_gemm_config d = fcl_gemm_device_default(info);
    if (impl == FCL_GEMM_TILED)
        return d.impl == FCL_GEMM_TILED ? d
                                        : (fcl_gemm_config){.impl = FCL_GEMM_TILED, .tm = 4, .wn = 4, .vw = 4, .ku = 1,
                                                            .lx = 8, .ly = 8, .kw = 16, .pad = 1, .db = 1, .sk = 1};
    return fcl_gemm_register_default(info);
}

static bool same(const fcl_gemm_config *a, const fcl_gemm_config *b) { return memcmp(a, b, sizeof *a) == 0; }

typedef struct search {
    fcl_gemm_ctx *ctx;
    uint64_t *rng;
    bench_shape timed, ragged;
    double deadline;
    bool out_of_time;
    fcl_gemm_tune_class *r;
    const fcl_gemm_tune_options *o;
} search;

/* Checks and times candidate c; a faster correct one becomes r->best. Build and launch
 * failures of a candidate are skipped (logged at debug level), not errors. */
static fcl_status try_candidate(search *s, const fcl_gemm_config *c)
{
    if (s->r->tried && same(c, &s->r->best))
        return FCL_SUCCESS;
    if (s->o->seconds > 0 && fcl_seconds() > s->deadline) {
        s->out_of_time = true;
        return FCL_SUCCESS;
    }
    s->r->tried++;
    char name[96];
    fcl_gemm_config_format(c, name, sizeof name);
    bool correct = false;
    double seconds = INFINITY;
    const fcl_log_level saved = fcl_get_log_level();
    fcl_set_log_level((fcl_log_level)(FCL_LOG_ERROR + 1)); /* a candidate that does not build is expected */
    fcl_status st = check_config(s->ctx, s->rng, &s->ragged, c, 0, &correct);
    if (st == FCL_SUCCESS && correct)
        st = check_config(s->ctx, s->rng, &s->timed, c, 64, &correct);
    if (st == FCL_SUCCESS && correct)
        st = time_config(s->ctx, &s->timed.g, c, &seconds);
    fcl_set_log_level(saved);
    if (st == CL_MEM_OBJECT_ALLOCATION_FAILURE || st == CL_OUT_OF_HOST_MEMORY || st == FCL_ERR_OUT_OF_HOST_MEMORY)
        return st;
    if (st != FCL_SUCCESS || !correct) {
        s->r->rejected++;
        fcl_log(FCL_LOG_DEBUG, "tune: %s skipped (%s)", name, st != FCL_SUCCESS ? fcl_status_str(st) : "wrong results");
        fcl_runtime_finish(s->ctx->rt); /* clear what a failed launch left; its error is the candidate's */
        return FCL_SUCCESS;
    }
    const double gflops = 2.0 * s->r->shape.M * s->r->shape.N * (double)s->r->shape.K * s->r->shape.chunks *
                          s->r->shape.batch / seconds / 1e9;
    fcl_log(FCL_LOG_DEBUG, "tune: %s %.2f GFLOP/s", name, gflops);
    if (gflops > s->r->best_gflops)
        s->r->best_gflops = gflops, s->r->best = *c;
    return FCL_SUCCESS;
}

static fcl_status tune_class(fcl_gemm_ctx *ctx, uint64_t *rng, const fcl_gemm_tune_options *o, double deadline,
                             fcl_gemm_tune_class *r)
{
    search s = {.ctx = ctx, .rng = rng, .deadline = deadline, .r = r, .o = o};
    /* Odd sizes, two chunks, and a batch only if the class has one (a split needs none). */
    const fcl_gemm_shape ragged = {r->shape.trans_a, 13, 37, 11, 2, r->shape.batch > 1 ? 2 : 1};
    fcl_status st = bench_shape_make(ctx->rt, rng, &r->shape, false, &s.timed);
    if (st == FCL_SUCCESS)
        st = bench_shape_make(ctx->rt, rng, &ragged, true, &s.ragged);
    /* The starting point is the configuration in use; its speed is what tuning gains on. */
    if (st == FCL_SUCCESS)
        st = try_candidate(&s, &r->start);
    r->start_gflops = r->best_gflops;
    fcl_gemm_config cands[MAX_CANDIDATES];
    const fcl_device_info *info = &ctx->rt->info;
    for (size_t i = 0; i < sizeof stages / sizeof stages[0] && st == FCL_SUCCESS && !s.out_of_time; i++) {
        if (stages[i].local_only && (info->type == FCL_DEVICE_CPU || !info->local_mem_dedicated))
            continue;
        const fcl_gemm_config base = stage_base(info, stages[i].impl, r->best_gflops > 0 ? &r->best : &r->start);
        const int n = stages[i].candidates(info, &r->shape, base, cands);
        for (int c = 0; c < n && st == FCL_SUCCESS && !s.out_of_time; c++)
            st = try_candidate(&s, &cands[c]);
    }
    r->complete = !s.out_of_time;
    bench_shape_free(&s.timed);
    bench_shape_free(&s.ragged);
    return st;
}

static double shape_macs(const fcl_gemm_shape *s) { return (double)s->M * s->N * s->K * s->chunks * s->batch; }

fcl_status fcl_gemm_tune(fcl_runtime *rt, const fcl_gemm_shape *shapes, int n_shapes, const fcl_gemm_tune_options *o,
                         fcl_gemm_db *db, fcl_gemm_tune_class report[FCL_GEMM_CLASSES])
{
    memset(report, 0, FCL_GEMM_CLASSES * sizeof *report);
    for (int i = 0; i < n_shapes; i++) { /* each class is timed on its largest shape */
        fcl_gemm_tune_class *r = &report[fcl_gemm_class(&shapes[i])];
        r->macs += shape_macs(&shapes[i]);
        if (!r->used || shape_macs(&shapes[i]) > shape_macs(&r->shape))
            r->shape = shapes[i];
        r->used = true;
    }
    fcl_gemm_ctx *ctx;
    uint64_t rng = 0x9e3779b97f4a7c15ULL;
    fcl_status st = fcl_gemm_ctx_create(rt, NULL, &ctx);
    const double deadline = fcl_seconds() + o->seconds;
    for (int c = 0; c < FCL_GEMM_CLASSES && st == FCL_SUCCESS; c++) {
        fcl_gemm_tune_class *r = &report[c];
        if (!r->used)
            continue;
        r->start = ctx->configs[c];
        char name[64];
        fcl_gemm_class_name(c, name, sizeof name);
        fcl_report(&o->report, "tuning %-18s on %s M=%d N=%d K=%d x %d ...", name, r->shape.trans_a ? "TN" : "NN",
                   r->shape.M, r->shape.N, r->shape.K, r->shape.chunks * r->shape.batch);
        st = tune_class(ctx, &rng, o, deadline, r);
        if (st == FCL_SUCCESS && r->best_gflops > 0) {
            db->has[c] = true;
            db->config[c] = r->best;
            db->gflops[c] = r->best_gflops;
        }
    }
    fcl_gemm_ctx_destroy(ctx);
    return st;
}

bool fcl_gemm_tune_wanted(const fcl_runtime *rt, double seconds)
{
    char path[4200];
    return seconds > 0 && !getenv("FACECL_GEMM_CONFIG") && fcl_gemm_db_path(rt, path, sizeof path);
}

fcl_status fcl_gemm_tune_missing(fcl_runtime *rt, fcl_gemm_shape *shapes, int n_shapes, double seconds,
                                 const fcl_reporter *notes)
{
    fcl_gemm_db db;
    fcl_gemm_tune_class report[FCL_GEMM_CLASSES];
    char path[4200];
    if (!fcl_gemm_tune_wanted(rt, seconds) || !fcl_gemm_db_path(rt, path, sizeof path))
        return FCL_SUCCESS; /* turned off, overridden, or nowhere to keep the result */
    fcl_status st = fcl_gemm_db_load(rt, &db);
    int missing = 0; /* keep only the shapes of classes the file lacks */
    for (int i = 0; st == FCL_SUCCESS && i < n_shapes; i++)
        if (!db.has[fcl_gemm_class(&shapes[i])])
            shapes[missing++] = shapes[i];
    if (st == FCL_SUCCESS && missing > 0) {
        fcl_report(notes, "first use of %s for these shapes: tuning the GEMM kernels (at most %.0f s; kept in %s;\n"
                           "--tune-seconds 0 skips this, `facecl tune` tunes at length)", rt->info.name, seconds, path);
        const fcl_gemm_tune_options o = {.seconds = seconds};
        st = fcl_gemm_tune(rt, shapes, missing, &o, &db, report);
        /* Classes the budget did not reach keep their configuration, recorded (0 GFLOP/s:
         * not measured) so that first use happens once; `facecl tune` searches them all. */
        for (int c = 0; st == FCL_SUCCESS && c < FCL_GEMM_CLASSES; c++)
            if (report[c].used && !db.has[c])
                db.has[c] = true, db.config[c] = report[c].start, db.gflops[c] = 0;
        if (st == FCL_SUCCESS && fcl_gemm_db_save(rt, &db) != FCL_SUCCESS)
            fcl_log(FCL_LOG_WARN, "the tuning is used in this run only");
    }
    return st;
}
