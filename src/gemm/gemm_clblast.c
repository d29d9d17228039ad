/* CLBlast's Xgemm as the second implementation behind fcl_gemm_run_config (the
 * configuration "clblast"): the tuner times it against facecl's own kernels per shape
 * class and keeps whichever is faster and correct. CLBlast computes C = op(A) op(B) + beta C;
 * the chunks of a reduction are products accumulated with beta = 1, the batch one
 * strided-batched call, and the bias and ReLU a pass of gemm_epilogue afterwards. */
#include "gemm/gemm.h"

#ifdef FACECL_HAVE_CLBLAST
#include <clblast_c.h>
#endif

/* Xgemm parameters for CPUs, which CLBlast's database has no entry for (its defaults
 * assume a GPU's local memory: 11-20 GFLOP/s on PoCL here): no local memory, register
 * tiles of 32-64 floats a work-item. bench_compare times all four; runs use the first
 * (at n = 1024 on PoCL with AVX2 the second and third measured within noise of it,
 * 30-32 GFLOP/s, the fourth 19). */
const size_t fcl_clblast_cpu_sets[FCL_CLBLAST_CPU_SETS][FCL_CLBLAST_PARAMS] = {
    /* GEMMK KREG KWG KWI MDIMA MDIMC MWG NDIMB NDIMC NWG SA SB STRM STRN VWM VWN */
    {0, 1, 32, 2, 4, 4, 32, 8, 8, 64, 0, 0, 0, 0, 8, 8},
    {0, 1, 16, 2, 8, 8, 64, 8, 8, 64, 0, 0, 0, 0, 4, 4},
    {0, 1, 16, 2, 8, 8, 32, 8, 8, 128, 0, 0, 0, 0, 4, 8},
    {0, 1, 32, 2, 16, 16, 64, 8, 8, 64, 0, 0, 0, 0, 4, 8},
};
const char *fcl_clblast_param_names[FCL_CLBLAST_PARAMS] = {
    "GEMMK", "KREG", "KWG", "KWI", "MDIMA", "MDIMC", "MWG", "NDIMB",
    "NDIMC", "NWG",  "SA",  "SB",  "STRM",  "STRN",  "VWM", "VWN"};

bool fcl_gemm_clblast_available(void)
{
#ifdef FACECL_HAVE_CLBLAST
    return true;
#else
    return false;
#endif
}

#ifdef FACECL_HAVE_CLBLAST
/* CLBlast's own codes (below -1000) have no OpenCL name; OpenCL's pass through. */
static fcl_status clblast_status(CLBlastStatusCode s, const char *what)
{
    if (s == CLBlastSuccess)
        return FCL_SUCCESS;
    if (s > -1000) {
        fcl_log(FCL_LOG_ERROR, "CLBlast %s: %s", what, fcl_status_str((fcl_status)s));
        return (fcl_status)s;
    }
    fcl_log(FCL_LOG_ERROR, "CLBlast %s: CLBlast status %d (clblast_c.h names it)", what, (int)s);
    return FCL_ERR_UNSUPPORTED;
}

/* Once per runtime: a CPU gets facecl's parameters (an override lasts for the process
 * and the device; applying the same values again is harmless). */
static fcl_status prepare(fcl_runtime *rt)
{
    if (rt->clblast_used)
        return FCL_SUCCESS;
    rt->clblast_used = true;
    if (rt->info.type != FCL_DEVICE_CPU)
        return FCL_SUCCESS;
    return clblast_status(CLBlastOverrideParameters(rt->device, "Xgemm", CLBlastPrecisionSingle, FCL_CLBLAST_PARAMS,
                                                    fcl_clblast_param_names, fcl_clblast_cpu_sets[0]),
                          "parameters for a CPU");
}
#endif

#ifdef FACECL_HAVE_CLBLAST
/* CLBlast's kernels, timed as one; the bias and ReLU after them. */
static const fcl_kernel_def k_clblast = {NULL, "clblast_sgemm"}, k_epilogue = {"tensor.cl", "gemm_epilogue"};
#endif

fcl_status fcl_gemm_clblast_run(fcl_gemm_ctx *ctx, const fcl_gemm *g)
{
#ifndef FACECL_HAVE_CLBLAST
    (void)ctx, (void)g;
    fcl_log(FCL_LOG_ERROR, "the GEMM configuration 'clblast' needs a facecl built with CLBlast "
                           "(Debian: libclblast-dev, then reconfigure)");
    return FCL_ERR_UNSUPPORTED;
#else
    fcl_runtime *rt = ctx->rt;
    fcl_status st = prepare(rt);
    const CLBlastTranspose ta = g->trans_a ? CLBlastTransposeYes : CLBlastTransposeNo;
    const CLBlastTranspose tb = g->trans_b ? CLBlastTransposeYes : CLBlastTransposeNo;
    for (int q = 0; q < g->chunks && st == FCL_SUCCESS; q++) {
        const float beta = q > 0 || g->accumulate ? 1.0f : 0.0f;
        const size_t a_off = (size_t)g->a_off + (size_t)q * g->a_chunk;
        const size_t b_off = (size_t)g->b_off + (size_t)q * g->b_chunk;
        cl_event ev = NULL, *evp = rt->profiling ? &ev : NULL;
        CLBlastStatusCode s =
            g->batch == 1 /* the plain call: a single product's strides may be 0, which the batched one refuses */
                ? CLBlastSgemm(CLBlastLayoutRowMajor, ta, tb, (size_t)g->M, (size_t)g->N, (size_t)g->K,
                               1.0f, g->a, a_off, (size_t)g->lda, g->b, b_off, (size_t)g->ldb, beta, g->c,
                               (size_t)g->c_off, (size_t)g->ldc, &rt->queue, evp)
                : CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, ta, tb, (size_t)g->M, (size_t)g->N,
                                             (size_t)g->K, 1.0f, g->a, a_off, (size_t)g->lda, (size_t)g->a_batch, g->b,
                                             b_off, (size_t)g->ldb, (size_t)g->b_batch, beta, g->c, (size_t)g->c_off,
                                             (size_t)g->ldc, (size_t)g->c_batch, (size_t)g->batch, &rt->queue, evp);
        st = clblast_status(s, "sgemm");
        if (ev)
            fcl_launcher_account_event(ctx->launch, &k_clblast, ev);
    }
    if (st != FCL_SUCCESS || (!g->bias_mode && !g->relu))
        return st;
    const size_t global[2] = {(size_t)g->M * g->N, (size_t)g->batch};
    return fcl_launch_grid(ctx->launch, &k_epilogue, 2, global,
                           FCL_ARGS(FCL_M(g->c), FCL_I(g->c_off), FCL_I(g->ldc), FCL_I(g->c_batch), FCL_I(g->M),
                                    FCL_I(g->N), FCL_I(g->bias_mode), FCL_M(g->bias_mode ? g->bias : g->c),
                                    FCL_I(g->bias_off), FCL_I(g->relu)));
#endif
}
