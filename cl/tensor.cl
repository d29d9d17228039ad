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
