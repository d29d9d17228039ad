/* The public API's GEMM tuning (include/facecl.h): the tuning file, first-use tuning,
 * a whole `facecl tune` run on the shapes of several models, and the GEMM ceiling. */
#include "gemm/gemm.h"
#include "graph/graph.h"
#include "runtime/clock.h"
#include "runtime/log.h"
#include "runtime/runtime.h"

#include <math.h>
#include <stdlib.h>

bool fcl_tune_file(const fcl_runtime *rt, char *path, size_t size) { return fcl_gemm_db_path(rt, path, size); }

fcl_status fcl_tune_first_use(fcl_runtime *rt, const fcl_model *model, int batch, bool training, double seconds,
                              const fcl_reporter *report)
{
    return rt && model && batch > 0 ? fcl_gemm_tune_first_use(rt, model, batch, training, seconds, report)
                                    : FCL_ERR_INVALID_ARGUMENT;
}

static void tune_row(int cls, const fcl_gemm_tune_class *r, fcl_tune_row *row)
{
    fcl_gemm_class_name(cls, row->name, sizeof row->name);
    snprintf(row->shape, sizeof row->shape, "%dx%dx%d x %d", r->shape.M, r->shape.N, r->shape.K,
             r->shape.chunks * r->shape.batch);
    fcl_gemm_config_format(&r->start, row->before, sizeof row->before);
    fcl_gemm_config_format(&r->best, row->after, sizeof row->after);
    row->before_gflops = r->start_gflops;
    row->after_gflops = r->best_gflops;
    row->tried = r->tried;
    row->rejected = r->rejected;
    row->complete = r->complete;
}

fcl_status fcl_tune(fcl_runtime *rt, const fcl_model *const *models, int n_models, const fcl_tune_options *o,
                    fcl_tune_row *rows, int max_rows, int *n_rows)
{
    *n_rows = 0;
    char path[4200];
    if (!rt || !models || n_models < 1 || !o || o->batch < 1 || (max_rows > 0 && !rows))
        return FCL_ERR_INVALID_ARGUMENT;
    if (!fcl_gemm_db_path(rt, path, sizeof path)) {
        fcl_log(FCL_LOG_ERROR, "no cache directory to keep the tuning in: set FACECL_CACHE_DIR or HOME");
        return FCL_ERR_IO;
    }
    /* Every model's shapes, from one dry pass each. */
    fcl_gemm_recorder rec = {0};
    fcl_status st = FCL_SUCCESS;
    for (int i = 0; i < n_models && st == FCL_SUCCESS; i++) {
        fcl_report(&o->report, "recording the GEMMs of %s at batch %d (%s)", models[i]->name, o->batch,
                   o->training ? "training" : "inference");
        st = fcl_gemm_record(rt, models[i], o->batch, o->training, &rec);
    }
    fcl_gemm_db db;
    fcl_gemm_tune_class *report = calloc(FCL_GEMM_CLASSES, sizeof *report);
    if (st == FCL_SUCCESS && !report)
        st = FCL_ERR_OUT_OF_HOST_MEMORY;
    if (st == FCL_SUCCESS) {
        const fcl_device_info *dev = fcl_runtime_device(rt);
        fcl_report(&o->report, "tuning on %s (%s); tuning file %s", dev->name, dev->driver_version, path);
        fcl_gemm_db_load(rt, &db); /* entries of classes these models do not use stay */
        const fcl_gemm_tune_options to = {.seconds = o->seconds, .report = o->report};
        st = fcl_gemm_tune(rt, rec.shapes, rec.n, &to, &db, report);
    }
    if (st == FCL_SUCCESS)
        st = fcl_gemm_db_save(rt, &db);
    for (int c = 0; st == FCL_SUCCESS && c < FCL_GEMM_CLASSES; c++)
        if (report[c].used && *n_rows < max_rows)
            tune_row(c, &report[c], &rows[(*n_rows)++]);
    free(rec.shapes);
    free(report);
    return st;
}

fcl_status fcl_gemm_benchmark(fcl_runtime *rt, int n, double *gflops)
{
    *gflops = 0;
    if (!rt || n < 1)
        return FCL_ERR_INVALID_ARGUMENT;
    fcl_gemm_ctx *ctx = NULL;
    fcl_status st = fcl_gemm_ctx_create(rt, NULL, &ctx);
    cl_mem buf[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 3 && st == FCL_SUCCESS; i++)
        st = fcl_runtime_buffer(rt, (size_t)n * n, 0.5f, &buf[i]);
    fcl_gemm g = {.M = n, .N = n, .K = n, .chunks = 1, .batch = 1, .a = buf[0], .lda = n, .b = buf[1], .ldb = n,
                  .c = buf[2], .ldc = n};
    double best = INFINITY;
    for (int rep = 0; rep < 6 && st == FCL_SUCCESS; rep++) { /* the first builds and warms up */
        double t0 = fcl_seconds();
        st = fcl_gemm_run(ctx, &g);
        if (st == FCL_SUCCESS)
            st = fcl_runtime_finish(rt);
        const double t = fcl_seconds() - t0;
        if (rep > 0 && t < best)
            best = t;
    }
    if (st == FCL_SUCCESS)
        *gflops = 2.0 * n * n * (double)n / best / 1e9;
    for (int i = 0; i < 3; i++)
        if (buf[i])
            clReleaseMemObject(buf[i]);
    fcl_gemm_ctx_destroy(ctx);
    return st;
}
