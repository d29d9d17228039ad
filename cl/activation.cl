/* ReLU backward for a fused ReLU: dy *= (y > 0), in place on the output's gradient.
 * (N, M) views: M elements per batch item, batch stride ns. */
__kernel void relu_backward(__global float *dy, const int dy_off, const int dy_ns,
                            __global const float *y, const int y_off, const int y_ns,
                            const int N, const int M)
{
    const int i = get_global_id(0);
    if (i >= N * M)
        return;
    const int n = i / M, j = i % M;
    if (!(y[y_off + n * y_ns + j] > 0.0f))
        dy[dy_off + n * dy_ns + j] = 0.0f;
}

/* PReLU with a slope per channel: y = x > 0 ? x : a[c] x.  (N, C, HW) views. */
__kernel void prelu_forward(__global float *y, const int y_off, const int y_ns, __global const float *x,
                            const int x_off, const int x_ns, __global const float *p, const int a_off,
                            const int N, const int C, const int HW)
{
    const int i = get_global_id(0);
    if (i >= N * C * HW)
        return;
    const int n = i / (C * HW), j = i % (C * HW), c = j / HW;
    const float v = x[x_off + n * x_ns + j];
    y[y_off + n * y_ns + j] = v > 0.0f ? v : p[a_off + c] * v;
}

/* dx += dy (x > 0) + a[c] dy (x <= 0). */
__kernel void prelu_backward(__global float *dx, const int dx_off, const int dx_ns, __global const float *dy,
                             const int dy_off, const int dy_ns, __global const float *x, const int x_off,
                             const int x_ns, __global const float *p, const int a_off, const int N, const int C,
                             const int HW)
{
    const int i = get_global_id(0);
    if (i >= N * C * HW)
        return;
    const int n = i / (C * HW), j = i % (C * HW), c = j / HW;
    const float g = dy[dy_off + n * dy_ns + j];
    dx[dx_off + n * dx_ns + j] += x[x_off + n * x_ns + j] > 0.0f ? g : p[a_off + c] * g;
}

/* da[c] += sum over images and positions of dy x where x <= 0: one work-item per
 * channel, in a fixed order (reproducible runs). */
__kernel void prelu_backward_slope(__global float *da, const int da_off, __global const float *dy,
                                   const int dy_off, const int dy_ns, __global const float *x, const int x_off,
                                   const int x_ns, const int N, const int C, const int HW)
{
    const int c = get_global_id(0);
    if (c >= C)
        return;
    float acc = 0.0f;
    for (int n = 0; n < N; n++)
        for (int q = 0; q < HW; q++) {
            const float v = x[x_off + n * x_ns + c * HW + q];
            acc += v > 0.0f ? 0.0f : dy[dy_off + n * dy_ns + c * HW + q] * v;
        }
    da[da_off + c] += acc;
}
