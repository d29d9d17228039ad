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
/* A 2-D grid: dimension 0 the positions of one channel's plane (rounded up to the
 * work-group), dimension 1 image x channel, so no work-item divides by the plane size
 * (the divisions made it compute-bound on CPUs). */
__kernel void prelu_forward(__global float *y, const int y_off, const int y_ns, __global const float *x,
                            const int x_off, const int x_ns, __global const float *p, const int a_off,
                            const int N, const int C, const int HW)
{
    const int k = get_global_id(0), nc = get_global_id(1);
    if (k >= HW || nc >= N * C)
        return;
    const int n = nc / C, c = nc - n * C, j = c * HW + k;
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

/* Softmax over the channels at every position (MTCNN's face/no-face heads): one
 * work-item per (image, position), max-subtracted. (N, C, HW) views. */
__kernel void softmax_forward(__global float *y, const int y_off, const int y_ns, __global const float *x,
                              const int x_off, const int x_ns, const int N, const int C, const int HW)
{
    const int i = get_global_id(0);
    if (i >= N * HW)
        return;
    const int n = i / HW, q = i % HW;
    __global const float *xp = x + x_off + n * x_ns + q;
    __global float *yp = y + y_off + n * y_ns + q;
    float m = xp[0];
    for (int c = 1; c < C; c++)
        m = fmax(m, xp[c * HW]);
    float sum = 0.0f;
    for (int c = 0; c < C; c++)
        sum += exp(xp[c * HW] - m);
    for (int c = 0; c < C; c++)
        yp[c * HW] = exp(xp[c * HW] - m) / sum;
}

/* dx += y (dy - sum_c dy_c y_c), per position. */
__kernel void softmax_backward(__global float *dx, const int dx_off, const int dx_ns, __global const float *dy,
                               const int dy_off, const int dy_ns, __global const float *y, const int y_off,
                               const int y_ns, const int N, const int C, const int HW)
{
    const int i = get_global_id(0);
    if (i >= N * HW)
        return;
    const int n = i / HW, q = i % HW;
    __global const float *gp = dy + dy_off + n * dy_ns + q, *yp = y + y_off + n * y_ns + q;
    __global float *dxp = dx + dx_off + n * dx_ns + q;
    float dot = 0.0f;
    for (int c = 0; c < C; c++)
        dot += gp[c * HW] * yp[c * HW];
    for (int c = 0; c < C; c++)
        dxp[c * HW] += yp[c * HW] * (gp[c * HW] - dot);
}
