/* Fully connected: y = x W^T + b, optional fused ReLU.  x: (N, I)  W: (O, I)  y: (N, O).
 * Backward kernels add into their outputs. */

__kernel void fc_forward(__global float *y, const int y_off, const int y_ns,
                         __global const float *x, const int x_off, const int x_ns,
                         __global const float *w, const int w_off, const int b_off,
                         const int N, const int I, const int O, const int relu)
{
    const int i = get_global_id(0);
    if (i >= N * O)
        return;
    const int o = i % O, n = i / O;
    __global const float *xn = x + x_off + n * x_ns;
    __global const float *wo = w + w_off + o * I;
    float acc = w[b_off + o];
    for (int j = 0; j < I; j++)
        acc += xn[j] * wo[j];
    y[y_off + n * y_ns + o] = relu && acc < 0.0f ? 0.0f : acc;
}

/* dx += dy W */
__kernel void fc_backward_data(__global float *dx, const int dx_off, const int dx_ns,
                               __global const float *dy, const int dy_off, const int dy_ns,
                               __global const float *w, const int w_off,
                               const int N, const int I, const int O)
{
    const int i = get_global_id(0);
    if (i >= N * I)
        return;
    const int j = i % I, n = i / I;
    float acc = 0.0f;
    for (int o = 0; o < O; o++)
        acc += dy[dy_off + n * dy_ns + o] * w[w_off + o * I + j];
    dx[dx_off + n * dx_ns + j] += acc;
}

/* dW += dy^T x ; db += sum_n dy.  One work-item per weight, then per bias. */
__kernel void fc_backward_weights(__global float *dw, const int dw_off, const int db_off,
                                  __global const float *dy, const int dy_off, const int dy_ns,
                                  __global const float *x, const int x_off, const int x_ns,
                                  const int N, const int I, const int O)
{
    const int i = get_global_id(0);
    if (i >= O * I + O)
        return;
    float acc = 0.0f;
    if (i >= O * I) {
        const int o = i - O * I;
        for (int n = 0; n < N; n++)
            acc += dy[dy_off + n * dy_ns + o];
        dw[db_off + o] += acc;
        return;
    }
    const int j = i % I, o = i / I;
    for (int n = 0; n < N; n++)
        acc += dy[dy_off + n * dy_ns + o] * x[x_off + n * x_ns + j];
    dw[dw_off + i] += acc;
}
