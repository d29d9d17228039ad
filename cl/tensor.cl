/* Whole-tensor utilities: fill, scaled accumulate, copy of a channel slice.
 * Offsets are in floats into the arena buffers the graph planner hands out. */

/* x[x_off .. x_off + n) = value, eight floats per work-item (a float8 store: a third of
 * the work-items and vector stores, which PoCL keeps as such); the last one stores the
 * tail. At least ceil(n / 8) work-items. */
__kernel void fill(__global float *x, const uint x_off, const float value, const uint n)
{
    const uint i = get_global_id(0) * 8;
    if (i + 8 <= n)
        vstore8((float8)(value), 0, x + x_off + i);
    else
        for (uint j = i; j < n; j++)
            x[x_off + j] = value;
}

/* y += alpha * x */
__kernel void axpy(__global float *y, const uint y_off, __global const float *x, const uint x_off,
                   const float alpha, const uint n)
{
    uint i = get_global_id(0);
    if (i < n)
        y[y_off + i] += alpha * x[x_off + i];
}

/* counts[i] = how many of x[i], x[i + stride], ... below n are NaN or Inf: a partial
 * count per work-item, summed on the host, so no atomics are needed. */
__kernel void count_nonfinite(__global uint *counts, __global const float *x, const uint n, const uint stride)
{
    const uint i = get_global_id(0);
    if (i >= stride)
        return;
    uint c = 0;
    for (uint j = i; j < n; j += stride)
        c += isfinite(x[j]) ? 0 : 1;
    counts[i] = c;
}

/* The GEMM epilogue of the kernels below: *c = [*c +] r [+ bias(m) or bias(n)], then
 * the ReLU. */
static void store_epilogue(__global float *c, float r, const int m, const int n, const int accumulate,
                           const int bias_mode, __global const float *bias, const int bias_off, const int relu)
{
    if (bias_mode == 1)
        r += bias[bias_off + m];
    else if (bias_mode == 2)
        r += bias[bias_off + n];
    if (accumulate)
        r += *c;
    *c = relu && r < 0.0f ? 0.0f : r;
}

/* The epilogue of a GEMM whose reduction chunks ran as separate products (src/graph/
 * gemm.c, sk = 1): C(m,n) = [C(m,n) +] sum_j P[j](m,n) [+ bias] [ReLU], P dense M x N. */
__kernel void gemm_sum_chunks(__global float *C, const int c_off, const int ldc, __global const float *P,
                              const int chunks, const int M, const int N, const int accumulate, const int bias_mode,
                              __global const float *bias, const int bias_off, const int relu)
{
    const int i = get_global_id(0);
    if (i >= M * N)
        return;
    const int m = i / N, n = i % N;
    float r = 0.0f;
    for (int j = 0; j < chunks; j++)
        r += P[j * M * N + i];
    store_epilogue(C + c_off + m * ldc + n, r, m, n, accumulate, bias_mode, bias, bias_off, relu);
}

/* C += bias, then the ReLU, over `batch` matrices of C (c_batch apart): the epilogue of
 * a product another library (CLBlast) computed. */
__kernel void gemm_epilogue(__global float *C, const int c_off, const int ldc, const int c_batch, const int M,
                            const int N, const int bias_mode, __global const float *bias, const int bias_off,
                            const int relu)
{
    const int i = get_global_id(0), z = get_global_id(1);
    if (i >= M * N)
        return;
    const int m = i / N, n = i % N;
    store_epilogue(C + c_off + z * c_batch + m * ldc + n, 0.0f, m, n, 1, bias_mode, bias, bias_off, relu);
}

/* C = op(A) B for N = 1 (a matrix-vector product: a fully connected layer at batch 1),
 * A not transposed, with the GEMM's epilogue: one work-item per row of A, streamed
 * eight k at a time; B's column (ldb apart) is read as scalars. */
__kernel void gemv(const int M, const int K, __global const float *A, const int a_off, const int lda,
                   const int a_batch, __global const float *B, const int b_off, const int ldb, const int b_batch,
                   __global float *C, const int c_off, const int ldc, const int c_batch, const int accumulate,
                   const int bias_mode, __global const float *bias, const int bias_off, const int relu)
{
    const int m = get_global_id(0), z = get_global_id(1);
    if (m >= M)
        return;
    __global const float *a = A + a_off + z * a_batch + m * lda, *b = B + b_off + z * b_batch;
    float8 acc8 = (float8)(0.0f);
    int k = 0;
    for (; k + 8 <= K; k += 8) {
        __global const float *bk = b + k * ldb;
        const float8 bv = (float8)(bk[0], bk[ldb], bk[2 * ldb], bk[3 * ldb], bk[4 * ldb], bk[5 * ldb],
                                   bk[6 * ldb], bk[7 * ldb]);
        acc8 = fma(vload8(0, a + k), bv, acc8);
    }
    float r = ((acc8.s0 + acc8.s1) + (acc8.s2 + acc8.s3)) + ((acc8.s4 + acc8.s5) + (acc8.s6 + acc8.s7));
    for (; k < K; k++)
        r = fma(a[k], b[k * ldb], r);
    store_epilogue(C + c_off + z * c_batch + m * ldc, r, m, 0, accumulate, bias_mode, bias, bias_off, relu);
}

/* (N, M) views of one arena: y = a + b_scale * b (has_b = 0: y = a), then ReLU if relu.
 * The residual add (and its chains) and concat's copies of inputs it cannot hold as
 * slices. y may be a itself (an add of more than two inputs accumulates in place). */
__kernel void add_views(__global float *t, const int y_off, const int y_ns, const int a_off, const int a_ns,
                        const int b_off, const int b_ns, const int has_b, const float b_scale, const int relu,
                        const int N, const int M)
{
    const int i = get_global_id(0);
    if (i >= N * M)
        return;
    const int n = i / M, j = i % M;
    float v = t[a_off + n * a_ns + j];
    if (has_b)
        v += b_scale * t[b_off + n * b_ns + j];
    t[y_off + n * y_ns + j] = relu && !(v > 0.0f) && !isnan(v) ? 0.0f : v;
}

/* dx += scale * dy on (N, M) views of one arena (the gradients of add and concat). */
__kernel void accumulate_view(__global float *t, const int dx_off, const int dx_ns, const int dy_off,
                              const int dy_ns, const float scale, const int N, const int M)
{
    const int i = get_global_id(0);
    if (i >= N * M)
        return;
    const int n = i / M, j = i % M;
    t[dx_off + n * dx_ns + j] += scale * t[dy_off + n * dy_ns + j];
}
