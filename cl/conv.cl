/* Direct convolution, NCHW, weights OIHW, bias, optional fused ReLU.
 * The fused ReLU is `v < 0 ? 0 : v`, never fmax(v, 0): fmax drops a NaN, which would hide
 * a broken weight from the loss's NaN check.
 * Every tensor is a view: (offset, batch stride) into an arena buffer, so a branch of
 * an inception module reads and writes its channel slice of a larger tensor in place.
 * Backward kernels gather (one work-item per output element), so they need no atomics
 * and add into their outputs: gradients accumulate and are zeroed once per step. */

/* y: (N,K,OH,OW)  x: (N,C,H,W)  w: (K,C,KH,KW)  b: (K) */
__kernel void conv_forward(__global float *y, const int y_off, const int y_ns,
                           __global const float *x, const int x_off, const int x_ns,
                           __global const float *w, const int w_off, const int b_off,
                           const int N, const int C, const int H, const int W,
                           const int K, const int OH, const int OW,
                           const int KH, const int KW, const int S, const int P, const int relu)
{
    const int i = get_global_id(0);
    if (i >= N * K * OH * OW)
        return;
    const int ox = i % OW, oy = (i / OW) % OH, k = (i / (OW * OH)) % K, n = i / (OW * OH * K);
    float acc = w[b_off + k];
    __global const float *xn = x + x_off + n * x_ns;
    __global const float *wk = w + w_off + k * C * KH * KW;
    for (int c = 0; c < C; c++)
        for (int ky = 0; ky < KH; ky++) {
            const int iy = oy * S - P + ky;
            if (iy < 0 || iy >= H)
                continue;
            for (int kx = 0; kx < KW; kx++) {
                const int ix = ox * S - P + kx;
                if (ix >= 0 && ix < W)
                    acc += xn[(c * H + iy) * W + ix] * wk[(c * KH + ky) * KW + kx];
            }
        }
    y[y_off + n * y_ns + (k * OH + oy) * OW + ox] = relu && acc < 0.0f ? 0.0f : acc;
}

/* dx += conv_transpose(dy, w)   dx: (N,C,H,W) */
__kernel void conv_backward_data(__global float *dx, const int dx_off, const int dx_ns,
                                 __global const float *dy, const int dy_off, const int dy_ns,
                                 __global const float *w, const int w_off,
                                 const int N, const int C, const int H, const int W,
                                 const int K, const int OH, const int OW,
                                 const int KH, const int KW, const int S, const int P)
{
    const int i = get_global_id(0);
    if (i >= N * C * H * W)
        return;
    const int ix = i % W, iy = (i / W) % H, c = (i / (W * H)) % C, n = i / (W * H * C);
    float acc = 0.0f;
    __global const float *dyn = dy + dy_off + n * dy_ns;
    for (int ky = 0; ky < KH; ky++) {
        const int ty = iy + P - ky;
        if (ty < 0 || ty % S != 0 || ty / S >= OH)
            continue;
        const int oy = ty / S;
        for (int kx = 0; kx < KW; kx++) {
            const int tx = ix + P - kx;
            if (tx < 0 || tx % S != 0 || tx / S >= OW)
                continue;
            const int ox = tx / S;
            for (int k = 0; k < K; k++)
                acc += dyn[(k * OH + oy) * OW + ox] * w[w_off + ((k * C + c) * KH + ky) * KW + kx];
        }
    }
    dx[dx_off + n * dx_ns + (c * H + iy) * W + ix] += acc;
}

/* dw += sum_n,oy,ox dy * x ; db += sum dy.  One work-item per weight, then per bias. */
__kernel void conv_backward_weights(__global float *dw, const int dw_off, const int db_off,
                                    __global const float *dy, const int dy_off, const int dy_ns,
                                    __global const float *x, const int x_off, const int x_ns,
                                    const int N, const int C, const int H, const int W,
                                    const int K, const int OH, const int OW,
                                    const int KH, const int KW, const int S, const int P)
{
    const int i = get_global_id(0);
    const int nw = K * C * KH * KW;
    if (i >= nw + K)
        return;
    if (i >= nw) { /* bias */
        const int k = i - nw;
        float acc = 0.0f;
        for (int n = 0; n < N; n++)
            for (int j = 0; j < OH * OW; j++)
                acc += dy[dy_off + n * dy_ns + k * OH * OW + j];
        dw[db_off + k] += acc;
        return;
    }
    const int kx = i % KW, ky = (i / KW) % KH, c = (i / (KW * KH)) % C, k = i / (KW * KH * C);
    float acc = 0.0f;
    for (int n = 0; n < N; n++)
        for (int oy = 0; oy < OH; oy++) {
            const int iy = oy * S - P + ky;
            if (iy < 0 || iy >= H)
                continue;
            for (int ox = 0; ox < OW; ox++) {
                const int ix = ox * S - P + kx;
                if (ix >= 0 && ix < W)
                    acc += dy[dy_off + n * dy_ns + (k * OH + oy) * OW + ox] *
                           x[x_off + n * x_ns + (c * H + iy) * W + ix];
            }
        }
    dw[dw_off + i] += acc;
}
