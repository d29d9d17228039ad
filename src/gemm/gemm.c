/* GEMM launches (cl/gemm.cl) with a configuration per shape class, and the per-device
 * tuning database those configurations come from. src/gemm/gemm_tune.c fills it. */
#include "gemm/gemm.h"
#include "runtime/fileio.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DB_MAGIC "facecl-gemm-tuning 3"
/* pb = 1 applies from this many row tiles of C (reads of B) on. */
#define PACK_MIN_ROW_TILES 3

static int size_bucket(int n) { return n <= 16 ? 0 : n <= 64 ? 1 : n <= 256 ? 2 : 3; }
static int k_bucket(double k) { return k <= 256 ? 0 : k <= 2048 ? 1 : 2; }

int fcl_gemm_class(const fcl_gemm_shape *s)
{
    const int mn = size_bucket(s->M) * FCL_GEMM_SIZE_BUCKETS + size_bucket(s->N);
    return ((s->trans_a ? FCL_GEMM_SIZE_BUCKETS * FCL_GEMM_SIZE_BUCKETS : 0) + mn) * FCL_GEMM_K_BUCKETS +
           k_bucket((double)s->K * s->chunks);
}

void fcl_gemm_class_name(int cls, char *buf, size_t size)
{
    static const char *const bucket[FCL_GEMM_SIZE_BUCKETS] = {"<=16", "<=64", "<=256", ">256"};
    static const char *const kb[FCL_GEMM_K_BUCKETS] = {"<=256", "<=2048", ">2048"};
    const int per_trans = FCL_GEMM_SIZE_BUCKETS * FCL_GEMM_SIZE_BUCKETS, mn = cls / FCL_GEMM_K_BUCKETS;
    snprintf(buf, size, "%s M%s N%s K%s", mn >= per_trans ? "TN" : "NN", bucket[mn % per_trans / FCL_GEMM_SIZE_BUCKETS],
             bucket[mn % FCL_GEMM_SIZE_BUCKETS], kb[cls % FCL_GEMM_K_BUCKETS]);
}

/* CPUs: the tile fills three quarters of the vector register file (16 registers with
 * AVX2 or SSE/NEON width, 32 with AVX-512), leaving room for B's row and the broadcast
 * of A; B is packed into panels, and a work-group is 16 work-items down one panel, so
 * it is read from cache 16 times; a weight gradient's images are separate products
 * (more work-items). Measured on PoCL with AVX2 (bench/RESULTS.md): 121 and 134
 * GFLOP/s at n = 1024 and 2048 against 92 and 89 unpacked with 4 x 4 work-groups.
 * AVX-512's 8 x 32 is what issue #5 reports best there; this project's machines have
 * only AVX2, so it is not measured here.
 * GPUs without on-chip local memory (ARM Mali): a small register tile per work-item,
 * B as it is and the driver's work-group; staging through "local" memory that is
 * global memory saves nothing there. */
fcl_gemm_config fcl_gemm_register_default(const fcl_device_info *info)
{
    if (info->type != FCL_DEVICE_CPU)
        return (fcl_gemm_config){.tm = 4, .vw = 4, .wn = 1, .ku = 1, .sk = 1};
    const int vw = info->float_vector_width >= 16 ? 16 : info->float_vector_width >= 8 ? 8 : 4;
    return (fcl_gemm_config){.tm = vw >= 16 ? 8 : 6, .vw = vw, .wn = 2, .ku = 1, .lx = 1, .ly = 16, .sk = 1, .pb = 1};
}

size_t fcl_gemm_tiled_local_bytes(const fcl_gemm_config *c)
{
    const size_t rows = (size_t)c->ly * c->tm, cols = (size_t)c->lx * c->wn;
    return ((size_t)(1 + c->db) * c->kw * (rows + c->pad + cols + c->pad) + rows) * sizeof(float);
}

bool fcl_gemm_tiled_fits(const fcl_gemm_config *c, const fcl_device_info *info)
{
    return (size_t)c->lx * c->ly <= info->max_work_group_size && fcl_gemm_tiled_local_bytes(c) <= info->local_mem_bytes;
}

/* GPUs with local memory, by vendor class: the work-group and block reasoned from
 * each family's SIMD width and register file, not measured (no such GPU on this
 * project's machines; `facecl tune` measures): NVIDIA 256 work-items (8 warps of 32) on
 * a 64 x 64 block, 4 x 4 a work-item, 16 KiB of local memory double-buffered; AMD the
 * same (4 wavefronts of 64); Intel 64 work-items on 32 x 32 (subgroups of 8 to 32 and
 * a smaller register file per lane); any other the Intel shape. Shrunk to what the
 * device's work-group limit and local memory hold, and kept a whole number of its
 * subgroups. */
static const struct gpu_class {
    const char *vendor; /* a word of CL_DEVICE_VENDOR */
    int lx, ly, tm, tn, kw, vw;
} gpu_classes[] = {
    {"NVIDIA", 16, 16, 4, 4, 16, 4},
    {"Advanced Micro Devices", 16, 16, 4, 4, 16, 4},
    {"AMD", 16, 16, 4, 4, 16, 4},
    {"Intel", 8, 8, 4, 4, 16, 4},
    {"", 8, 8, 4, 4, 16, 4}, /* any other */
};

fcl_gemm_config fcl_gemm_device_default(const fcl_device_info *info)
{
    if (info->type == FCL_DEVICE_CPU || !info->local_mem_dedicated)
        return fcl_gemm_register_default(info);
    const struct gpu_class *g = gpu_classes;
    while (g->vendor[0] && !strstr(info->vendor, g->vendor))
        g++;
    fcl_gemm_config c = {.impl = FCL_GEMM_TILED, .tm = g->tm, .wn = g->tn, .vw = g->vw, .ku = 1, .lx = g->lx,
                         .ly = g->ly, .kw = g->kw, .pad = 1, .db = 1, .sk = 1};
    const int sub = info->subgroup_width > 0 && info->subgroup_width <= 64 ? (int)info->subgroup_width : 1;
    while (c.lx * c.ly % sub != 0 && c.ly < 64)
        c.ly *= 2;
    while (!fcl_gemm_tiled_fits(&c, info) && c.lx * c.ly > 1)
        if (c.ly >= c.lx)
            c.ly /= 2;
        else
            c.lx /= 2;
    if (!fcl_gemm_tiled_fits(&c, info))
        return fcl_gemm_register_default(info);
    return c;
}

void fcl_gemm_config_format(const fcl_gemm_config *c, char *buf, size_t size)
{
    if (c->impl == FCL_GEMM_CLBLAST) {
        snprintf(buf, size, "clblast");
        return;
    }
    if (c->impl == FCL_GEMM_TILED) {
        snprintf(buf, size, "tiled:tm=%d,tn=%d,lx=%d,ly=%d,kw=%d,vw=%d,pad=%d,db=%d,kc=%d,sk=%d", c->tm, c->wn, c->lx,
                 c->ly, c->kw, c->vw, c->pad, c->db, c->kc, c->sk);
        return;
    }
    snprintf(buf, size, "tm=%d,vw=%d,wn=%d,ku=%d,lx=%d,ly=%d,kc=%d,sk=%d,pb=%d", c->tm, c->vw, c->wn, c->ku, c->lx,
             c->ly, c->kc, c->sk, c->pb);
}

static bool power_of_two(int v) { return v > 0 && (v & (v - 1)) == 0; }

/* The tiled kernel's form; the checks are what cl/gemm_tiled.cl's copies assume (whole
 * vectors in a block's rows, columns and slice). */
static bool parse_tiled(const char *text, fcl_gemm_config *c, char *why, size_t why_size)
{
    *c = (fcl_gemm_config){.impl = FCL_GEMM_TILED, .ku = 1};
    int used = -1;
    if (sscanf(text, "tiled:tm=%d,tn=%d,lx=%d,ly=%d,kw=%d,vw=%d,pad=%d,db=%d,kc=%d,sk=%d%n", &c->tm, &c->wn, &c->lx,
               &c->ly, &c->kw, &c->vw, &c->pad, &c->db, &c->kc, &c->sk, &used) != 10 ||
        used < 0 || text[used] != '\0') {
        snprintf(why, why_size, "expected tiled:tm=T,tn=T,lx=X,ly=Y,kw=K,vw=V,pad=P,db=D,kc=C,sk=S");
        return false;
    }
    const char *bad = c->tm < 1 || c->tm > 16 || c->wn < 1 || c->wn > 16   ? "tm and tn must be 1..16"
                      : c->tm * c->wn > 128                                ? "tm x tn must be at most 128 (registers)"
                      : !power_of_two(c->lx) || !power_of_two(c->ly)       ? "lx and ly must be powers of two"
                      : c->lx * c->ly > 1024                               ? "lx x ly must be at most 1024"
                      : c->kw != 4 && c->kw != 8 && c->kw != 16 && c->kw != 32 && c->kw != 64 ? "kw must be 4, 8, 16, 32 or 64"
                      : c->vw != 1 && c->vw != 2 && c->vw != 4 && c->vw != 8 ? "vw must be 1, 2, 4 or 8"
                      : c->kw % c->vw || c->ly * c->tm % c->vw || c->lx * c->wn % c->vw
                          ? "vw must divide kw, ly x tm and lx x tn"
                      : (c->pad != 0 && c->pad != 1) || (c->db != 0 && c->db != 1) ? "pad and db must be 0 or 1"
                      : c->kc < 0 || c->kc % c->kw ? "kc must be 0 (no split) or a positive multiple of kw"
                      : c->sk != 0 && c->sk != 1   ? "sk must be 0 or 1"
                                                   : NULL;
    if (bad)
        snprintf(why, why_size, "%s", bad);
    return bad == NULL;
}

bool fcl_gemm_config_parse(const char *text, fcl_gemm_config *c, char *why, size_t why_size)
{
    *c = (fcl_gemm_config){.impl = FCL_GEMM_FACECL};
    if (strcmp(text, "clblast") == 0) {
        c->impl = FCL_GEMM_CLBLAST;
        if (!fcl_gemm_clblast_available())
            snprintf(why, why_size, "this facecl was built without CLBlast (Debian: libclblast-dev, then reconfigure)");
        return fcl_gemm_clblast_available();
    }
    if (strncmp(text, "tiled:", 6) == 0)
        return parse_tiled(text, c, why, why_size);
    int used = -1;
    if (sscanf(text, "tm=%d,vw=%d,wn=%d,ku=%d,lx=%d,ly=%d,kc=%d,sk=%d,pb=%d%n", &c->tm, &c->vw, &c->wn, &c->ku,
               &c->lx, &c->ly, &c->kc, &c->sk, &c->pb, &used) != 9 ||
        used < 0 || text[used] != '\0') {
        snprintf(why, why_size, "expected tm=T,vw=V,wn=W,ku=U,lx=X,ly=Y,kc=C,sk=S,pb=P, tiled:... or clblast");
        return false;
    }
    const bool vw_ok = c->vw == 2 || c->vw == 4 || c->vw == 8 || c->vw == 16;
    const char *bad = c->tm < 1 || c->tm > 16          ? "tm must be 1..16"
                      : !vw_ok                         ? "vw must be 2, 4, 8 or 16"
                      : c->wn < 1 || c->wn > 4         ? "wn must be 1..4"
                      : c->ku != 1 && c->ku != 4       ? "ku must be 1 or 4"
                      : c->lx < 0 || c->ly < 0 || c->lx > 1024 || c->ly > 1024 ? "lx and ly must be 0..1024"
                      : (c->lx == 0) != (c->ly == 0)   ? "lx and ly are both 0 (the driver's) or both set"
                      : c->kc < 0 || c->kc % 4         ? "kc must be 0 (no split) or a positive multiple of 4"
                      : c->sk != 0 && c->sk != 1       ? "sk must be 0 or 1"
                      : c->pb != 0 && c->pb != 1       ? "pb must be 0 or 1"
                                                       : NULL;
    if (bad)
        snprintf(why, why_size, "%s", bad);
    return bad == NULL;
}

void fcl_gemm_config_options(const fcl_gemm_config *c, bool trans_a, char *buf, size_t size)
{
    if (c->impl == FCL_GEMM_TILED)
        snprintf(buf, size, "-DTRANS_A=%d -DTM=%d -DTN=%d -DLX=%d -DLY=%d -DKW=%d -DVW=%d -DPAD=%d -DDBUF=%d",
                 trans_a ? 1 : 0, c->tm, c->wn, c->lx, c->ly, c->kw, c->vw, c->pad, c->db);
    else
        snprintf(buf, size, "-DTRANS_A=%d -DTM=%d -DVW=%d -DWN=%d -DKU=%d -DPB=%d", trans_a ? 1 : 0, c->tm, c->vw,
                 c->wn, c->ku, c->pb);
}

/* ---- launching ---- */

/* The kernels products launch (built per configuration by the context; the slots name
 * them in profiles). */
static const fcl_kernel_def k_gemm_nn = {"gemm.cl", "gemm"}, k_gemm_tn = {"gemm.cl", "gemm"};
static const fcl_kernel_def k_pack_b = {"gemm.cl", "gemm_pack_b"}, k_gemm_conv = {"gemm.cl", "gemm_conv"};
static const fcl_kernel_def k_tiled_nn = {"gemm_tiled.cl", "gemm_tiled"}, k_tiled_tn = {"gemm_tiled.cl", "gemm_tiled"};
static const fcl_kernel_def k_tiled_conv = {"gemm_tiled.cl", "gemm_tiled_conv"};
static const fcl_kernel_def k_sum_chunks = {"tensor.cl", "gemm_sum_chunks"}, k_gemv = {"tensor.cl", "gemv"};

fcl_status fcl_gemm_ctx_create(fcl_runtime *rt, fcl_launcher *launch, fcl_gemm_ctx **out)
{
    fcl_gemm_ctx *ctx = calloc(1, sizeof *ctx);
    *out = ctx;
    if (!ctx)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    ctx->rt = rt;
    fcl_launcher_init(&ctx->own_launch, rt);
    ctx->launch = launch ? launch : &ctx->own_launch;
    fcl_gemm_choose_configs(rt, ctx->configs);
    return FCL_SUCCESS;
}

void fcl_gemm_ctx_destroy(fcl_gemm_ctx *ctx)
{
    if (!ctx)
        return;
    for (int i = 0; i < ctx->n_kernels; i++) {
        clReleaseKernel(ctx->kernels[i].kernel);
        if (ctx->kernels[i].pack)
            clReleaseKernel(ctx->kernels[i].pack);
        if (ctx->kernels[i].conv)
            clReleaseKernel(ctx->kernels[i].conv);
    }
    free(ctx->kernels);
    if (ctx->scratch)
        clReleaseMemObject(ctx->scratch);
    if (ctx->pack)
        clReleaseMemObject(ctx->pack);
    fcl_launcher_release(&ctx->own_launch);
    free(ctx);
}

/* Whether a and b build the same kernel (the register kernel's work-group and K passes
 * are launch settings; the tiled kernel's work-group is compiled in). */
static bool same_config(const fcl_gemm_config *a, const fcl_gemm_config *b)
{
    const bool tiled_same = a->impl != FCL_GEMM_TILED || (a->lx == b->lx && a->ly == b->ly && a->kw == b->kw &&
                                                          a->pad == b->pad && a->db == b->db);
    return a->impl == b->impl && a->tm == b->tm && a->vw == b->vw && a->wn == b->wn && a->ku == b->ku &&
           a->pb == b->pb && tiled_same;
}

/* Room for one more item in a growing array of n (capacity *cap, doubled when full). */
static bool grow(void **items, int n, int *cap, size_t item_size)
{
    if (n < *cap)
        return true;
    const int bigger = *cap ? 2 * *cap : 16;
    void *grown = realloc(*items, (size_t)bigger * item_size);
    if (!grown)
        return false;
    *items = grown, *cap = bigger;
    return true;
}

/* The context keeps one kernel per (configuration, transpose), and its B packer (for
 * the tiled kernel, cl/gemm.cl's packer in its default build: only its rows-of-B form
 * is used there). A tiled kernel the device cannot run with its work-group (too many
 * registers for so many work-items) is an error the tuner skips. */
static fcl_status gemm_kernel(fcl_gemm_ctx *ctx, const fcl_gemm_config *c, bool trans_a, struct fcl_gemm_kernel **out)
{
    for (int i = 0; i < ctx->n_kernels; i++)
        if (ctx->kernels[i].trans_a == trans_a && same_config(&ctx->kernels[i].config, c)) {
            *out = &ctx->kernels[i];
            return FCL_SUCCESS;
        }
    if (!grow((void **)&ctx->kernels, ctx->n_kernels, &ctx->kernels_cap, sizeof *ctx->kernels))
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    const bool tiled = c->impl == FCL_GEMM_TILED;
    char options[200];
    fcl_gemm_config_options(c, trans_a, options, sizeof options);
    struct fcl_gemm_kernel k = {*c, trans_a, NULL, NULL, NULL};
    fcl_status st = fcl_kernel_create(ctx->rt, tiled ? "gemm_tiled.cl" : "gemm.cl", options,
                                      tiled ? "gemm_tiled" : "gemm", &k.kernel);
    if (st == FCL_SUCCESS)
        st = fcl_kernel_create(ctx->rt, "gemm.cl", tiled ? "" : options, "gemm_pack_b", &k.pack);
    size_t most = 0;
    if (st == FCL_SUCCESS && tiled &&
        clGetKernelWorkGroupInfo(k.kernel, ctx->rt->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof most, &most, NULL) ==
            CL_SUCCESS &&
        most < (size_t)c->lx * c->ly) {
        fcl_log(FCL_LOG_ERROR, "the tiled GEMM with %d x %d work-items does not run on %s (at most %zu there)", c->lx,
                c->ly, ctx->rt->info.name, most);
        st = FCL_ERR_UNSUPPORTED;
    }
    if (st != FCL_SUCCESS) {
        if (k.kernel)
            clReleaseKernel(k.kernel);
        if (k.pack)
            clReleaseKernel(k.pack);
        return st;
    }
    ctx->kernels[ctx->n_kernels] = k;
    *out = &ctx->kernels[ctx->n_kernels++];
    return FCL_SUCCESS;
}

/* A work-item per TM x TN tile of C, the batch along dimension 2; with a work-group set,
 * rounded up to whole work-groups (the kernels skip tiles beyond M and N). */
/* lx = 0 leaves the work-group to the device, except on a CPU: PoCL then makes one
 * work-group of a whole small grid (4 x 648 tiles of 8 x 48 for Inception-ResNet-v1's
 * 20736x192x720), whose tiles overflow its worker thread's 8 MB stack (a segfault in
 * `facecl tune`); there a tile is its own work-group, as lx = ly = 1. The tiled kernel:
 * lx x ly work-items per block of (ly*tm) x (lx*tn), whole blocks. */
static void tile_grid(const fcl_gemm_ctx *ctx, const fcl_gemm_config *c, const fcl_gemm *g, size_t global[3],
                      size_t local[3], bool *device_chooses)
{
    const bool tiled = c->impl == FCL_GEMM_TILED;
    const int rows = tiled ? c->ly * c->tm : c->tm, cols = tiled ? c->lx * c->wn : fcl_gemm_config_tn(c);
    global[0] = (size_t)(g->N + cols - 1) / cols * (tiled ? (size_t)c->lx : 1);
    global[1] = (size_t)(g->M + rows - 1) / rows * (tiled ? (size_t)c->ly : 1);
    global[2] = (size_t)g->batch;
    const bool cpu = ctx->rt->info.type == FCL_DEVICE_CPU;
    *device_chooses = c->lx == 0 && !cpu;
    local[0] = c->lx ? (size_t)c->lx : 1, local[1] = c->lx ? (size_t)c->ly : 1, local[2] = 1;
    for (int d = 0; d < 2 && !*device_chooses; d++)
        global[d] = (global[d] + local[d] - 1) / local[d] * local[d];
}

/* Launches g with kernel (configuration c), K in passes of c->kc; b_k_stride is the
 * distance between B's rows (ldb, or TN when packed). */
static fcl_status launch_passes(fcl_gemm_ctx *ctx, const fcl_gemm *g, const fcl_gemm_config *c, cl_kernel kernel,
                                int b_k_stride)
{
    size_t global[3], local[3];
    bool device_chooses;
    tile_grid(ctx, c, g, global, local, &device_chooses);
    /* Split K into passes of kc: each pass's slices of A and B stay in cache, the passes
     * after the first accumulate into C, the bias goes in once and the ReLU last. */
    const int passes = c->kc && g->K > c->kc ? (g->K + c->kc - 1) / c->kc : 1;
    for (int p = 0; p < passes; p++) {
        const int k0 = p * (passes > 1 ? c->kc : 0), kn = passes > 1 && p < passes - 1 ? c->kc : g->K - k0;
        const int a_off = g->a_off + (g->trans_a ? k0 * g->lda : k0), b_off = g->b_off + k0 * b_k_stride;
        const fcl_arg args[] = {
            FCL_I(g->M), FCL_I(g->N), FCL_I(kn), FCL_I(g->chunks),
            FCL_M(g->a), FCL_I(a_off), FCL_I(g->lda), FCL_I(g->a_chunk), FCL_I(g->a_batch),
            FCL_M(g->b), FCL_I(b_off), FCL_I(g->ldb), FCL_I(g->b_chunk), FCL_I(g->b_batch),
            FCL_M(g->c), FCL_I(g->c_off), FCL_I(g->ldc), FCL_I(g->c_batch),
            FCL_I(p > 0 || g->accumulate), FCL_I(p == 0 ? g->bias_mode : 0), FCL_M(g->bias_mode ? g->bias : g->c),
            FCL_I(g->bias_off), FCL_I(p == passes - 1 && g->relu),
            FCL_I(g->m_seg > 0 ? g->m_seg : g->M), FCL_I(g->a_seg), FCL_I(g->c_seg), FCL_I(g->trans_c),
        };
        const fcl_kernel_def *def = c->impl == FCL_GEMM_TILED ? (g->trans_a ? &k_tiled_tn : &k_tiled_nn)
                                                              : (g->trans_a ? &k_gemm_tn : &k_gemm_nn);
        fcl_status st = fcl_enqueue(ctx->launch, def, kernel, 3, global,
                                    device_chooses ? NULL : local, args, sizeof args / sizeof args[0]);
        if (st != FCL_SUCCESS)
            return st;
    }
    return FCL_SUCCESS;
}

/* A workspace of the context's, grown on demand. A device that cannot hold it makes
 * the caller fall back to the way without it (with one warning per context), or, when
 * there is none (required), fail with an error that says so. */
static bool workspace(fcl_gemm_ctx *ctx, cl_mem *buf, size_t *have, size_t floats, const char *what, bool required)
{
    if (floats <= *have)
        return true;
    if (*buf)
        clReleaseMemObject(*buf);
    *buf = NULL, *have = 0;
    cl_int err = CL_INVALID_BUFFER_SIZE;
    if (floats <= (size_t)INT_MAX && floats * sizeof(float) <= ctx->rt->info.max_alloc_bytes)
        *buf = clCreateBuffer(ctx->rt->context, CL_MEM_READ_WRITE, floats * sizeof(float), NULL, &err);
    if (!*buf) {
        if (required || !ctx->workspace_warned)
            fcl_log(required ? FCL_LOG_ERROR : FCL_LOG_WARN,
                    "no device memory for a %.1f MiB GEMM workspace (%s: %s); %s", floats * 4 / 1048576.0, what,
                    fcl_status_str(err),
                    required ? "a smaller batch needs less" : "continuing without it, which is slower");
        ctx->workspace_warned |= !required;
        return false;
    }
    *have = floats;
    return true;
}

/* B into contiguous panels (cl/gemm.cl): TN wide for a packed product (pb = 1), else a
 * transposed B into plain rows (one panel N wide); g rewritten to read them. */
static fcl_status pack_b(fcl_gemm_ctx *ctx, fcl_gemm *g, const fcl_gemm_config *c, cl_kernel pack)
{
    const int width = c->pb ? fcl_gemm_config_tn(c) : g->N, panels = (g->N + width - 1) / width;
    const int count = g->chunks * g->batch;
    const size_t per = (size_t)panels * g->K * width;
    const fcl_status st = fcl_launch_kernel(
        ctx->launch, &k_pack_b, pack, (size_t)count * panels * g->K,
        FCL_ARGS(FCL_M(ctx->pack), FCL_M(g->b), FCL_I(g->b_off), FCL_I(g->ldb), FCL_I(g->b_chunk), FCL_I(g->b_batch),
                 FCL_I(g->K), FCL_I(g->N), FCL_I(g->chunks), FCL_I(count), FCL_I(g->trans_b), FCL_I(width)));
    g->b = ctx->pack, g->b_off = 0, g->ldb = c->pb ? g->K * width : g->N;
    g->b_chunk = (int)per, g->b_batch = (int)per * g->chunks;
    g->trans_b = false;
    return st;
}

fcl_status fcl_gemm_run_config(fcl_gemm_ctx *ctx, const fcl_gemm *g, const fcl_gemm_config *c)
{
    ctx->macs += (uint64_t)g->M * g->N * g->K * g->chunks * g->batch;
    if (ctx->recorder) {
        fcl_gemm_recorder *r = ctx->recorder;
        if (!grow((void **)&r->shapes, r->n, &r->cap, sizeof *r->shapes))
            return FCL_ERR_OUT_OF_HOST_MEMORY;
        r->shapes[r->n++] = (fcl_gemm_shape){g->trans_a, g->M, g->N, g->K, g->chunks, g->batch};
    }
    if (ctx->launch->dry_run) /* recording only: no workspaces, no kernels */
        return FCL_SUCCESS;
    const bool plain_rows = g->m_seg <= 0 && !g->trans_c; /* what CLBlast, gemv and a split can write */
    const bool matrix_vector = g->N == 1 && !g->trans_a && !g->trans_b && g->chunks == 1 && plain_rows; /* gemv */
    fcl_gemm_config own;
    if (c->impl == FCL_GEMM_CLBLAST && !matrix_vector) {
        if (plain_rows)
            return fcl_gemm_clblast_run(ctx, g);
        own = fcl_gemm_device_default(&ctx->rt->info); /* rows in segments or C transposed: facecl's */
        c = &own;
    }
    if (matrix_vector) {
        const size_t global[2] = {(size_t)g->M, (size_t)g->batch};
        return fcl_launch_grid(ctx->launch, &k_gemv, 2, global,
                               FCL_ARGS(FCL_I(g->M), FCL_I(g->K), FCL_M(g->a), FCL_I(g->a_off), FCL_I(g->lda),
                                        FCL_I(g->a_batch), FCL_M(g->b), FCL_I(g->b_off), FCL_I(g->ldb),
                                        FCL_I(g->b_batch), FCL_M(g->c), FCL_I(g->c_off), FCL_I(g->ldc),
                                        FCL_I(g->c_batch), FCL_I(g->accumulate), FCL_I(g->bias_mode),
                                        FCL_M(g->bias_mode ? g->bias : g->c), FCL_I(g->bias_off), FCL_I(g->relu)));
    }
    const int tn = fcl_gemm_config_tn(c);
    const size_t mn = (size_t)g->M * g->N;
    const size_t packed_floats = (size_t)((g->N + tn - 1) / tn) * tn * g->K * g->chunks * g->batch;
    fcl_gemm_config cfg = *c;
    /* Packing reads and writes B once; it pays when the product then reads B several
     * times (once per row tile of C), not for a fully connected layer at batch 1. A
     * transposed B is always rearranged first (into panels, or rows when pb = 0): the
     * kernel streams only rows of B or panels. */
    if (cfg.impl == FCL_GEMM_TILED || (cfg.pb && (g->M + c->tm - 1) / c->tm < PACK_MIN_ROW_TILES))
        cfg.pb = 0; /* the tiled kernel reads rows of B (a work-group reads each once) */
    bool pack = cfg.pb || g->trans_b;
    if (pack && !workspace(ctx, &ctx->pack, &ctx->pack_floats, packed_floats, "packing B", g->trans_b)) {
        if (g->trans_b)
            return CL_MEM_OBJECT_ALLOCATION_FAILURE;
        cfg.pb = 0, pack = false;
    }
    const bool split = cfg.sk && g->chunks > 1 && g->batch == 1 && plain_rows &&
                       workspace(ctx, &ctx->scratch, &ctx->scratch_floats, mn * g->chunks, "split chunks", false);
    struct fcl_gemm_kernel *k;
    fcl_status st = gemm_kernel(ctx, &cfg, g->trans_a, &k);
    fcl_gemm gg = *g;
    if (st == FCL_SUCCESS && pack)
        st = pack_b(ctx, &gg, &cfg, k->pack);
    const int b_k_stride = cfg.pb ? tn : gg.ldb;
    if (st != FCL_SUCCESS || !split)
        return st == FCL_SUCCESS ? launch_passes(ctx, &gg, &cfg, k->kernel, b_k_stride) : st;
    /* Each chunk a product of its own into the workspace, then their sum with the epilogue. */
    fcl_gemm part = gg;
    part.chunks = 1, part.batch = g->chunks, part.a_batch = g->a_chunk, part.b_batch = gg.b_chunk;
    part.c = ctx->scratch, part.c_off = 0, part.ldc = g->N, part.c_batch = (int)mn;
    part.accumulate = false, part.bias_mode = 0, part.relu = false;
    st = launch_passes(ctx, &part, &cfg, k->kernel, b_k_stride);
    if (st == FCL_SUCCESS)
        st = FCL_LAUNCH_ON(ctx->launch, &k_sum_chunks, mn, FCL_M(g->c), FCL_I(g->c_off), FCL_I(g->ldc),
                           FCL_M(ctx->scratch), FCL_I(g->chunks), FCL_I(g->M), FCL_I(g->N), FCL_I(g->accumulate),
                           FCL_I(g->bias_mode), FCL_M(g->bias_mode ? g->bias : g->c), FCL_I(g->bias_off),
                           FCL_I(g->relu));
    return st;
}

fcl_status fcl_gemm_conv_run(fcl_gemm_ctx *ctx, const fcl_gemm *g, const fcl_conv_geometry *cv)
{
    ctx->macs += (uint64_t)g->M * g->N * g->K * g->batch;
    if (ctx->launch->dry_run)
        return FCL_SUCCESS;
    const fcl_gemm_shape shape = {false, g->M, g->N, g->K, 1, g->batch};
    fcl_gemm_config cfg = ctx->configs[fcl_gemm_class(&shape)];
    if (cfg.impl == FCL_GEMM_CLBLAST) /* the class went to CLBlast: facecl's default tile */
        cfg = fcl_gemm_device_default(&ctx->rt->info);
    cfg.pb = 0, cfg.kc = 0, cfg.sk = 0; /* B is read in place, K in one pass, no chunks */
    const bool tiled = cfg.impl == FCL_GEMM_TILED;
    struct fcl_gemm_kernel *k;
    fcl_status st = gemm_kernel(ctx, &cfg, false, &k);
    if (st == FCL_SUCCESS && !k->conv) {
        char options[220];
        fcl_gemm_config_options(&cfg, false, options, sizeof options);
        if (tiled) /* its own build: see cl/gemm_tiled.cl */
            strcat(options, " -DTILED_CONV=1");
        st = fcl_kernel_create(ctx->rt, tiled ? "gemm_tiled.cl" : "gemm.cl", options,
                               tiled ? "gemm_tiled_conv" : "gemm_conv", &k->conv);
    }
    if (st != FCL_SUCCESS)
        return st;
    size_t global[3], local[3];
    bool device_chooses;
    tile_grid(ctx, &cfg, g, global, local, &device_chooses);
    const fcl_arg args[] = {
        FCL_I(g->M), FCL_I(g->N), FCL_I(g->K), FCL_M(g->a), FCL_I(g->a_off), FCL_I(g->lda),
        FCL_M(g->b), FCL_I(g->b_off), FCL_I(g->b_batch), FCL_I(cv->H), FCL_I(cv->W), FCL_I(cv->OW),
        FCL_I(cv->KH), FCL_I(cv->KW), FCL_I(cv->S), FCL_I(cv->P),
        FCL_M(g->c), FCL_I(g->c_off), FCL_I(g->ldc), FCL_I(g->c_batch),
        FCL_I(g->bias_mode), FCL_M(g->bias_mode ? g->bias : g->c), FCL_I(g->bias_off), FCL_I(g->relu),
    };
    return fcl_enqueue(ctx->launch, tiled ? &k_tiled_conv : &k_gemm_conv, k->conv, 3, global, device_chooses ? NULL : local, args,
                       sizeof args / sizeof args[0]);
}

fcl_status fcl_gemm_run(fcl_gemm_ctx *ctx, const fcl_gemm *g)
{
    if (g->M <= 0 || g->N <= 0 || g->batch <= 0)
        return FCL_SUCCESS;
    const fcl_gemm_shape shape = {g->trans_a, g->M, g->N, g->K, g->chunks, g->batch};
    return fcl_gemm_run_config(ctx, g, &ctx->configs[fcl_gemm_class(&shape)]);
}

/* ---- the tuning database ---- */

bool fcl_gemm_db_path(const fcl_runtime *rt, char *buf, size_t size)
{
    if (!rt->cache_dir)
        return false;
    char key[512];
    int n = snprintf(key, sizeof key, "%s\n%s\n%s\n%s", rt->info.name, rt->info.driver_version, rt->info.platform,
                     rt->info.platform_version);
    snprintf(buf, size, "%s/gemm-tuning-%016llx.txt", rt->cache_dir,
             (unsigned long long)fcl_hash64(key, (size_t)n, FCL_HASH_SEED));
    return true;
}

fcl_status fcl_gemm_db_format(const fcl_runtime *rt, const fcl_gemm_db *db, char **text)
{
    fcl_strbuf b = {0};
    fcl_strbuf_printf(&b, "%s\ndevice %s\ndriver %s\nplatform %s %s\n", DB_MAGIC, rt->info.name,
                      rt->info.driver_version, rt->info.platform, rt->info.platform_version);
    for (int c = 0; c < FCL_GEMM_CLASSES; c++)
        if (db->has[c]) {
            char name[64], config[96];
            fcl_gemm_class_name(c, name, sizeof name);
            fcl_gemm_config_format(&db->config[c], config, sizeof config);
            fcl_strbuf_printf(&b, "# %s\nclass %d %s %.2f\n", name, c, config, db->gflops[c]);
        }
    if (b.text)
        fcl_strbuf_printf(&b, "checksum %016llx\n", (unsigned long long)fcl_hash64(b.text, b.len, FCL_HASH_SEED));
    fcl_status st = fcl_strbuf_status(&b);
    if (st != FCL_SUCCESS)
        free(b.text), b.text = NULL;
    *text = b.text;
    return st;
}

/* Line `prefix value` must equal the device's: a database from another device or driver
 * would hold tiles measured elsewhere. */
static const char *expect_line(const char *p, const char *prefix, const char *value, bool *ok)
{
    const size_t np = strlen(prefix), nv = strlen(value);
    *ok = *ok && strncmp(p, prefix, np) == 0 && strncmp(p + np, value, nv) == 0 && p[np + nv] == '\n';
    const char *end = strchr(p, '\n');
    return end ? end + 1 : p + strlen(p);
}

fcl_status fcl_gemm_db_parse(const fcl_runtime *rt, const char *text, fcl_gemm_db *db, char *why, size_t why_size)
{
    memset(db, 0, sizeof *db);
    const char *sum = strstr(text, "\nchecksum ");
    unsigned long long want;
    int used = -1;
    if (!sum || sscanf(sum + 10, "%16llx\n%n", &want, &used) != 1 || used < 0 || sum[10 + used] != '\0' ||
        fcl_hash64(text, (size_t)(sum + 1 - text), FCL_HASH_SEED) != want) {
        snprintf(why, why_size, "is corrupt (its checksum does not match)");
        return FCL_ERR_FORMAT;
    }
    char platform[300];
    snprintf(platform, sizeof platform, "%s %s", rt->info.platform, rt->info.platform_version);
    bool ok = true;
    const char *p = expect_line(text, DB_MAGIC, "", &ok);
    if (!ok) {
        snprintf(why, why_size, "is not a GEMM tuning file of this facecl version (first line '%s' expected)",
                 DB_MAGIC);
        return FCL_ERR_FORMAT;
    }
    p = expect_line(p, "device ", rt->info.name, &ok);
    p = expect_line(p, "driver ", rt->info.driver_version, &ok);
    p = expect_line(p, "platform ", platform, &ok);
    if (!ok) {
        snprintf(why, why_size, "was written for another device, driver or platform");
        return FCL_ERR_FORMAT;
    }
    for (; p < sum + 1; p = strchr(p, '\n') + 1) {
        if (*p == '#')
            continue;
        int cls, n = -1;
        char config[96];
        double gflops;
        fcl_gemm_config c;
        char reason[96];
        if (sscanf(p, "class %d %95s %lf\n%n", &cls, config, &gflops, &n) != 3 || n < 0 || cls < 0 ||
            cls >= FCL_GEMM_CLASSES || !fcl_gemm_config_parse(config, &c, reason, sizeof reason)) {
            snprintf(why, why_size, "has a malformed line: %.*s", (int)(strchr(p, '\n') - p), p);
            memset(db, 0, sizeof *db);
            return FCL_ERR_FORMAT;
        }
        db->has[cls] = true;
        db->config[cls] = c;
        db->gflops[cls] = gflops;
    }
    return FCL_SUCCESS;
}

static const char bad_db_said[] = "a bad GEMM tuning file", bad_config_said[] = "a bad FACECL_GEMM_CONFIG";
static const char bad_conv_said[] = "a bad FACECL_CONV";

fcl_status fcl_gemm_db_load(fcl_runtime *rt, fcl_gemm_db *db)
{
    memset(db, 0, sizeof *db);
    char path[4200];
    if (!fcl_gemm_db_path(rt, path, sizeof path))
        return FCL_SUCCESS;
    char *text;
    size_t length;
    if (access(path, F_OK) != 0)
        return FCL_SUCCESS; /* not tuned yet */
    fcl_status st = fcl_read_file(path, &text, &length);
    char why[300] = "cannot be read";
    if (st == FCL_SUCCESS) {
        if (strlen(text) != length)
            snprintf(why, sizeof why, "holds a NUL byte"), st = FCL_ERR_FORMAT;
        else
            st = fcl_gemm_db_parse(rt, text, db, why, sizeof why);
        free(text);
    }
    if (st != FCL_SUCCESS && fcl_runtime_first_time(rt, bad_db_said)) /* once per device, not per net */
        fcl_log(FCL_LOG_WARN, "GEMM tuning file %s %s; using the default kernels (`facecl tune` rebuilds it)", path,
                why);
    return FCL_SUCCESS;
}

fcl_status fcl_gemm_db_save(const fcl_runtime *rt, const fcl_gemm_db *db)
{
    char path[4200], *text;
    if (!fcl_gemm_db_path(rt, path, sizeof path)) {
        fcl_log(FCL_LOG_ERROR, "no cache directory to keep the GEMM tuning in (set FACECL_CACHE_DIR)");
        return FCL_ERR_INVALID_ARGUMENT;
    }
    fcl_status st = fcl_mkdir_p(rt->cache_dir);
    if (st == FCL_SUCCESS)
        st = fcl_gemm_db_format(rt, db, &text);
    if (st == FCL_SUCCESS) {
        st = fcl_write_file_atomic(path, text, strlen(text));
        free(text);
    }
    if (st != FCL_SUCCESS)
        fcl_log(FCL_LOG_ERROR, "writing the GEMM tuning file %s: %s (FACECL_CACHE_DIR names a writable directory "
                               "to keep it in)", path, fcl_status_str(st));
    return st;
}

void fcl_gemm_choose_configs(fcl_runtime *rt, fcl_gemm_config configs[FCL_GEMM_CLASSES])
{
    const fcl_gemm_config fallback = fcl_gemm_device_default(&rt->info);
    const char *env = getenv("FACECL_GEMM_CONFIG");
    fcl_gemm_config forced;
    char why[128];
    if (env && fcl_gemm_config_parse(env, &forced, why, sizeof why)) {
        for (int c = 0; c < FCL_GEMM_CLASSES; c++)
            configs[c] = forced;
        return;
    }
    if (env && fcl_runtime_first_time(rt, bad_config_said))
        fcl_log(FCL_LOG_WARN, "FACECL_GEMM_CONFIG=%s: %s; ignored", env, why);
    fcl_gemm_db db;
    fcl_gemm_db_load(rt, &db);
    for (int c = 0; c < FCL_GEMM_CLASSES; c++)
        configs[c] = db.has[c] ? db.config[c] : fallback;
}

const char *const fcl_conv_way_names[FCL_CONV_WAYS] = {"im2col", "implicit", "winograd"};

fcl_conv_way fcl_gemm_conv_way_chosen(fcl_runtime *rt)
{
    const char *env = getenv("FACECL_CONV");
    if (!env)
        return FCL_CONV_IM2COL;
    for (int w = 0; w < FCL_CONV_WAYS; w++)
        if (strcmp(env, fcl_conv_way_names[w]) == 0)
            return (fcl_conv_way)w;
    if (fcl_runtime_first_time(rt, bad_conv_said))
        fcl_log(FCL_LOG_WARN, "FACECL_CONV=%s: expected im2col, implicit or winograd; using im2col", env);
    return FCL_CONV_IM2COL;
}
