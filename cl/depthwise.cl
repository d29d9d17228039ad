/* Depthwise convolutions computed directly (src/layers/depthwise.c): every group has one
 * input channel c and M output channels k = c*M .. c*M + M-1 (M, the channel multiplier),
 * so a GEMM per group would have K = KH*KW (9 for 3x3) and a handful of columns: far too
 * small a product to keep any device busy. Here a work-item owns one output (forward)
 * or one input pixel (input gradient); the weight gradient, a work-group a weight, is
 * cl/grad_reduce.cl's depthwise_backward_weight.
 * Layouts: x (N, C, H, W) and y (N, C*M, OH, OW), images x_ns and y_ns apart; weights
 * (C*M, 1, KH, KW) as PyTorch's grouped convolutions store them. */

/* y = x (*) w + bias, then ReLU (`v < 0 ? 0 : v` keeps a NaN). One work-item per output
 * (n, k, oy, ox): its window's taps inside the image. */
__kernel void depthwise_forward(__global float *y, const int y_off, const int y_ns, __global const float *x,
                                const int x_off, const int x_ns, __global const float *p, const int w_off,
                                const int bias, const int b_off, const int relu, const int N, const int C,
                                const int M, const int H, const int W, const int OH, const int OW, const int KH,
                                const int KW, const int SH, const int SW, const int PH, const int PW)
{
    const int i = get_global_id(0), Q = OH * OW, K = C * M;
    if (i >= N * K * Q)
        return;
    const int ox = i % OW, oy = i / OW % OH, k = i / Q % K, n = i / (Q * K);
    const int iy0 = oy * SH - PH, ix0 = ox * SW - PW;
    __global const float *xc = x + x_off + n * x_ns + k / M * H * W, *wk = p + w_off + k * KH * KW;
    float acc = bias ? p[b_off + k] : 0.0f;
    for (int ky = max(0, -iy0); ky < min(KH, H - iy0); ky++)
        for (int kx = max(0, -ix0); kx < min(KW, W - ix0); kx++)
            acc = fma(xc[(iy0 + ky) * W + ix0 + kx], wk[ky * KW + kx], acc);
    y[y_off + n * y_ns + k * Q + oy * OW + ox] = relu && acc < 0.0f ? 0.0f : acc;
}

/* The taps k of a window (KT of them, stride S, O outputs) that read padded input
 * coordinate t: from first_tap(t, S, O) up to min(t, KT - 1) in steps of S, tap k
 * reading output (t - k) / S (cl/im2col.cl's col2im walks them the same way). */
static int first_tap(const int t, const int S, const int O)
{
    const int lo = max(t - S * (O - 1), 0);
    return lo + (t - lo) % S;
}

/* dx += dy (*)^T w: one work-item per input pixel (n, c, iy, ix) gathers, for each of
 * its M output channels, the outputs whose windows read it. No work-item writes
 * another's pixel, so no atomics and no fold pass. */
__kernel void depthwise_backward_input(__global float *dx, const int dx_off, const int dx_ns,
                                       __global const float *dy, const int dy_off, const int dy_ns,
                                       __global const float *p, const int w_off, const int N, const int C,
                                       const int M, const int H, const int W, const int OH, const int OW,
                                       const int KH, const int KW, const int SH, const int SW, const int PH,
                                       const int PW)
{
    const int i = get_global_id(0);
    if (i >= N * C * H * W)
        return;
    const int ix = i % W, iy = i / W % H, c = i / (H * W) % C, n = i / (H * W * C), Q = OH * OW;
    const int ty = iy + PH, tx = ix + PW;
    const int ky0 = first_tap(ty, SH, OH), ky1 = min(ty, KH - 1), kx0 = first_tap(tx, SW, OW), kx1 = min(tx, KW - 1);
    float acc = 0.0f;
    for (int m = 0; m < M; m++) {
        const int k = c * M + m;
        __global const float *dyk = dy + dy_off + n * dy_ns + k * Q + (ty - ky0) / SH * OW + (tx - kx0) / SW;
        __global const float *wk = p + w_off + k * KH * KW;
        for (int ky = ky0; ky <= ky1; ky += SH, dyk -= OW) {
            __global const float *d = dyk;
            for (int kx = kx0; kx <= kx1; kx += SW, d--)
                acc = fma(*d, wk[ky * KW + kx], acc);
        }
    }
    dx[dx_off + n * dx_ns + i % (C * H * W)] += acc;
}
