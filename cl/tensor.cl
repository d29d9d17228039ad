/* Whole-tensor utilities: fill, scaled accumulate, copy of a channel slice.
 * Offsets are in floats into the arena buffers the graph planner hands out. */

__kernel void fill(__global float *x, const uint x_off, const float value, const uint n)
{
    uint i = get_global_id(0);
    if (i < n)
        x[x_off + i] = value;
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
    if (bias_mode == 1)
        r += bias[bias_off + m];
    else if (bias_mode == 2)
        r += bias[bias_off + n];
    __global float *c = C + c_off + m * ldc + n;
    if (accumulate)
        r += *c;
    *c = relu && r < 0.0f ? 0.0f : r;
}
