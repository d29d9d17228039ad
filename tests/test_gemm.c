/* The GEMM kernels (facecl's in each configuration, and CLBlast's) against a C
 * reference in double: both layouts of A and of B, reduction chunks, batches, accumulation,
 * both bias modes with and without the ReLU, on sizes that fill whole tiles and leave
 * ragged edges of each register tile. Guard values after C must survive.
 * Tolerance: |device - reference| <= 1e-4 * (1 + sum |a*b|). */
#include "graph/graph.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "support.h"

#define GUARD 12345.0f

static uint64_t rng = 11;
static float uniform(void)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((double)(rng >> 11) / 4503599627370496.0 - 1.0);
}

typedef struct shape {
    int M, N, K, chunks, batch;
    bool trans_a, trans_b, accumulate, relu;
    int bias_mode;
    int m_seg;    /* > 0: rows of A and C in segments of m_seg */
    bool trans_c; /* C stored transposed */
} shape;

/* Where A(i, k), B(k, j) and C(i, j) of product z, chunk q lie (with offset and padded
 * strides: the kernel must honour them). */
typedef struct layout {
    int off, lda, ldb, ldc, a_chunk, b_chunk, a_batch, b_batch, c_batch, a_seg, c_seg;
} layout;

static int segment(const shape *s, int i) { return s->m_seg > 0 ? i / s->m_seg : 0; }
static int in_segment(const shape *s, int i) { return s->m_seg > 0 ? i % s->m_seg : i; }

static size_t a_index(const shape *s, const layout *l, int z, int q, int i, int k)
{
    const size_t row = (size_t)segment(s, i) * l->a_seg + (size_t)in_segment(s, i) * (s->trans_a ? 1 : l->lda);
    return l->off + (size_t)z * l->a_batch + (size_t)q * l->a_chunk + row + (size_t)k * (s->trans_a ? l->lda : 1);
}

static size_t b_index(const shape *s, const layout *l, int z, int q, int k, int j)
{
    return l->off + (size_t)z * l->b_batch + (size_t)q * l->b_chunk +
           (s->trans_b ? (size_t)j * l->ldb + k : (size_t)k * l->ldb + j);
}

static size_t c_index(const shape *s, const layout *l, int z, int i, int j)
{
    const size_t row = (size_t)segment(s, i) * l->c_seg + (size_t)in_segment(s, i) * (s->trans_c ? 1 : l->ldc);
    return l->off + (size_t)z * l->c_batch + row + (size_t)j * (s->trans_c ? l->ldc : 1);
}

static cl_mem upload(float *host, size_t n)
{
    cl_int err;
    cl_mem m = clCreateBuffer(rt->context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, n * sizeof(float),
                              host, &err);
    assert_int_equal(err, CL_SUCCESS);
    return m;
}

static void check_config(const shape *s, const fcl_gemm_config *config)
{
    fcl_gemm_ctx *ctx; /* the GEMM alone: no network */
    assert_int_equal(fcl_gemm_ctx_create(rt, NULL, &ctx), FCL_SUCCESS);
    /* Padded leading dimensions and offsets; segments a little apart. */
    const int rows = s->m_seg > 0 ? s->m_seg : s->M, segs = (s->M + rows - 1) / rows;
    layout l = {.off = 7, .lda = (s->trans_a ? rows : s->K) + 3, .ldb = (s->trans_b ? s->K : s->N) + 5,
                .ldc = (s->trans_c ? rows : s->N) + 2};
    l.a_seg = (s->trans_a ? s->K * l.lda : rows * l.lda) + 1;
    l.c_seg = (s->trans_c ? s->N * l.ldc : rows * l.ldc) + 3;
    l.a_chunk = segs * l.a_seg + 1, l.b_chunk = (s->trans_b ? s->N : s->K) * l.ldb + 2;
    l.a_batch = l.a_chunk * s->chunks, l.b_batch = l.b_chunk * s->chunks, l.c_batch = segs * l.c_seg + 4;
    const size_t na = (size_t)l.off + (size_t)l.a_batch * s->batch, nb = (size_t)l.off + (size_t)l.b_batch * s->batch;
    const size_t nc = (size_t)l.off + (size_t)l.c_batch * s->batch + 16, nbias = (size_t)l.off + s->M + s->N;
    float *a = malloc(na * sizeof *a), *b = malloc(nb * sizeof *b), *c = malloc(nc * sizeof *c);
    float *bias = malloc(nbias * sizeof *bias), *out = malloc(nc * sizeof *out);
    bool *inside = calloc(nc, sizeof *inside);
    for (size_t i = 0; i < na; i++)
        a[i] = uniform();
    for (size_t i = 0; i < nb; i++)
        b[i] = uniform();
    for (size_t i = 0; i < nc; i++)
        c[i] = i >= nc - 16 ? GUARD : uniform();
    for (size_t i = 0; i < nbias; i++)
        bias[i] = uniform();
    fcl_gemm g = {.M = s->M, .N = s->N, .K = s->K, .chunks = s->chunks, .batch = s->batch, .trans_a = s->trans_a,
                  .trans_b = s->trans_b,
                  .a = upload(a, na), .a_off = l.off, .lda = l.lda, .a_chunk = l.a_chunk, .a_batch = l.a_batch,
                  .b = upload(b, nb), .b_off = l.off, .ldb = l.ldb, .b_chunk = l.b_chunk, .b_batch = l.b_batch,
                  .c = upload(c, nc), .c_off = l.off, .ldc = l.ldc, .c_batch = l.c_batch,
                  .accumulate = s->accumulate, .relu = s->relu, .bias_mode = s->bias_mode,
                  .bias = upload(bias, nbias), .bias_off = l.off,
                  .m_seg = s->m_seg, .a_seg = l.a_seg, .c_seg = l.c_seg, .trans_c = s->trans_c};
    assert_int_equal(fcl_gemm_run_config(ctx, &g, config), FCL_SUCCESS);
    assert_int_equal(clEnqueueReadBuffer(rt->queue, g.c, CL_TRUE, 0, nc * sizeof *out, out, 0, NULL, NULL),
                     CL_SUCCESS);
    int bad = 0;
    for (int z = 0; z < s->batch; z++)
        for (int i = 0; i < s->M; i++)
            for (int j = 0; j < s->N; j++) {
                double acc = 0, mag = 0;
                for (int q = 0; q < s->chunks; q++)
                    for (int k = 0; k < s->K; k++) {
                        double t = (double)a[a_index(s, &l, z, q, i, k)] * b[b_index(s, &l, z, q, k, j)];
                        acc += t;
                        mag += fabs(t);
                    }
                const size_t ci = c_index(s, &l, z, i, j);
                inside[ci] = true;
                acc += s->bias_mode == 1 ? bias[l.off + i] : s->bias_mode == 2 ? bias[l.off + j] : 0;
                acc += s->accumulate ? c[ci] : 0;
                if (s->relu && acc < 0)
                    acc = 0;
                if (!(fabs(out[ci] - acc) <= 1e-4 * (1 + mag)) && bad++ < 5)
                    print_error("C[%d][%d][%d] = %g, reference %g\n", z, i, j, out[ci], acc);
            }
    /* Entries of C outside every M x N block keep their values. */
    for (size_t i = 0; i < nc; i++)
        if (!inside[i] && out[i] != c[i] && bad++ < 10)
            print_error("C[%zu] outside the product changed: %g -> %g\n", i, c[i], out[i]);
    if (bad) {
        char name[128];
        fcl_gemm_config_format(config, name, sizeof name);
        print_error("with %s, M=%d N=%d K=%d chunks=%d batch=%d\n", name, s->M, s->N, s->K, s->chunks, s->batch);
    }
    assert_int_equal(bad, 0);
    cl_mem bufs[] = {g.a, g.b, g.c, g.bias};
    for (int i = 0; i < 4; i++)
        clReleaseMemObject(bufs[i]);
    free(a), free(b), free(c), free(bias), free(out), free(inside);
    fcl_gemm_ctx_destroy(ctx);
}

/* Every shape with the device's default and configurations a tuner may choose: each
 * vector width, a k-unrolled A, tiles that divide nothing, fixed work-groups, K split
 * into passes (which must add the bias once and apply the ReLU to the whole sum), and
 * chunks computed as separate products and summed (sk = 1), B packed into panels
 * (pb = 1, K passes reading the panels at an offset); the tiled GPU kernel in blocks
 * larger and smaller than the products (zero-filled slices, edges in every direction). */
static void check(const shape *s)
{
    static const char *const configs[] = {
        "tm=8,vw=16,wn=2,ku=1,lx=0,ly=0,kc=0,sk=0,pb=0", "tm=6,vw=8,wn=2,ku=4,lx=4,ly=2,kc=8,sk=1,pb=1",
        "tm=3,vw=4,wn=3,ku=4,lx=0,ly=0,kc=4,sk=0,pb=1",  "tm=5,vw=16,wn=1,ku=1,lx=1,ly=1,kc=0,sk=1,pb=0",
        "tm=1,vw=2,wn=1,ku=4,lx=8,ly=1,kc=12,sk=1,pb=1", "tm=16,vw=2,wn=4,ku=1,lx=2,ly=8,kc=0,sk=0,pb=0",
        /* the GPU kernel: blocks of 8 x 8, 2 x 32, 32 x 2, 12 x 12 and the NVIDIA default's
         * 64 x 64; each load width, padded and not, double-buffered and not, K passes */
        "tiled:tm=2,tn=2,lx=4,ly=4,kw=4,vw=2,pad=1,db=1,kc=0,sk=0",
        "tiled:tm=1,tn=4,lx=8,ly=2,kw=8,vw=2,pad=0,db=0,kc=8,sk=1",
        "tiled:tm=4,tn=1,lx=2,ly=8,kw=4,vw=1,pad=0,db=1,kc=0,sk=1",
        "tiled:tm=3,tn=3,lx=4,ly=4,kw=8,vw=4,pad=1,db=0,kc=16,sk=0",
        "tiled:tm=4,tn=4,lx=16,ly=16,kw=16,vw=4,pad=1,db=1,kc=0,sk=1",
        "tiled:tm=4,tn=2,lx=8,ly=4,kw=8,vw=8,pad=1,db=1,kc=0,sk=1",
    };
    fcl_gemm_config c = fcl_gemm_device_default(&rt->info);
    check_config(s, &c);
    char why[128];
    for (size_t t = 0; t < sizeof configs / sizeof configs[0]; t++) {
        assert_true(fcl_gemm_config_parse(configs[t], &c, why, sizeof why));
        check_config(s, &c);
    }
    /* CLBlast behind the same call: chunks as accumulated products, the epilogue after. */
    assert_int_equal(fcl_gemm_config_parse("clblast", &c, why, sizeof why), fcl_gemm_clblast_available());
    if (fcl_gemm_clblast_available())
        check_config(s, &c);
}

static void whole_tiles(void **state)
{
    (void)state;
    check(&(shape){.M = 16, .N = 64, .K = 9, .chunks = 1, .batch = 1});
    check(&(shape){.M = 8, .N = 32, .K = 20, .chunks = 1, .batch = 2, .trans_a = true});
}

static void ragged_edges(void **state)
{
    (void)state;
    check(&(shape){.M = 19, .N = 77, .K = 13, .chunks = 1, .batch = 1});
    check(&(shape){.M = 3, .N = 5, .K = 1, .chunks = 1, .batch = 3, .trans_a = true});
    check(&(shape){.M = 33, .N = 31, .K = 40, .chunks = 1, .batch = 1, .trans_a = true});
}

static void chunks_batches_and_epilogues(void **state)
{
    (void)state;
    check(&(shape){.M = 17, .N = 40, .K = 7, .chunks = 3, .batch = 1, .accumulate = true});
    check(&(shape){.M = 9, .N = 70, .K = 5, .chunks = 2, .batch = 2, .trans_a = true, .accumulate = true});
    check(&(shape){.M = 12, .N = 35, .K = 6, .chunks = 1, .batch = 2, .bias_mode = 1, .relu = true});
    check(&(shape){.M = 10, .N = 33, .K = 8, .chunks = 1, .batch = 1, .bias_mode = 2, .relu = true});
    check(&(shape){.M = 7, .N = 20, .K = 5, .chunks = 2, .batch = 1, .bias_mode = 1, .accumulate = true});
}

/* B read transposed (a weight gradient's columns): always through packing, whatever
 * the configuration says; with chunks, a batch, both layouts of A, ragged sizes. */
static void transposed_b(void **state)
{
    (void)state;
    check(&(shape){.M = 17, .N = 40, .K = 23, .chunks = 3, .batch = 1, .trans_b = true, .accumulate = true});
    check(&(shape){.M = 6, .N = 33, .K = 9, .chunks = 1, .batch = 2, .trans_b = true, .bias_mode = 1, .relu = true});
    check(&(shape){.M = 9, .N = 18, .K = 30, .chunks = 2, .batch = 1, .trans_a = true, .trans_b = true});
    check(&(shape){.M = 2, .N = 5, .K = 3, .chunks = 2, .batch = 2, .trans_b = true, .bias_mode = 2});
}

/* A batch's images as one tall product (a convolution's positions as rows): A and C in
 * segments, C stored transposed; segments that end inside a tile, A in both layouts, the
 * epilogue by column (a channel's bias), K passes; N = 1, which must not take gemv. */
static void segmented_rows(void **state)
{
    (void)state;
    check(&(shape){.M = 39, .N = 20, .K = 11, .chunks = 1, .batch = 1, .m_seg = 13, .trans_c = true,
                   .bias_mode = 2, .relu = true});
    check(&(shape){.M = 50, .N = 37, .K = 9, .chunks = 1, .batch = 1, .m_seg = 25, .trans_a = true});
    check(&(shape){.M = 28, .N = 9, .K = 14, .chunks = 1, .batch = 2, .m_seg = 7, .trans_a = true,
                   .trans_c = true, .accumulate = true});
    check(&(shape){.M = 21, .N = 1, .K = 6, .chunks = 1, .batch = 1, .m_seg = 3, .trans_c = true, .bias_mode = 2});
    check(&(shape){.M = 16, .N = 24, .K = 10, .chunks = 1, .batch = 1, .m_seg = 16, .trans_b = true,
                   .trans_c = true, .bias_mode = 1});
}

/* N = 1 runs as a matrix-vector product: K with and without a tail of eight, both
 * bias modes, accumulation, batches. */
static void matrix_vector(void **state)
{
    (void)state;
    check(&(shape){.M = 37, .N = 1, .K = 21, .chunks = 1, .batch = 2, .bias_mode = 1, .relu = true});
    check(&(shape){.M = 5, .N = 1, .K = 16, .chunks = 1, .batch = 1, .bias_mode = 2, .accumulate = true});
    check(&(shape){.M = 9, .N = 1, .K = 3, .chunks = 1, .batch = 3, .accumulate = true, .relu = true});
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(whole_tiles),
        cmocka_unit_test(ragged_edges),
        cmocka_unit_test(chunks_batches_and_epilogues),
        cmocka_unit_test(matrix_vector),
        cmocka_unit_test(transposed_b),
        cmocka_unit_test(segmented_rows),
    };
    return cmocka_run_group_tests(tests, open_test_runtime, close_test_runtime);
}
