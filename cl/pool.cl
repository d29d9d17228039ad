/* Pooling over KxK windows with stride S and padding P, NCHW views.
 * MODE 0 = max, 1 = L2 (sqrt of the sum of squares), 2 = average over the window's
 * elements inside the input (padding not counted). Backward gathers per input
 * element over the windows that cover it and adds into dx. */

/* The window of output (oy, ox), clipped to the input. */
#define WINDOW(oy, ox)                                   \
    const int y0 = max((oy) * S - P, 0), x0 = max((ox) * S - P, 0); \
    const int y1 = min((oy) * S - P + KH, H), x1 = min((ox) * S - P + KW, W)

__kernel void pool_forward(__global float *y, const int y_off, const int y_ns,
                           __global const float *x, const int x_off, const int x_ns,
                           const int N, const int C, const int H, const int W, const int OH, const int OW,
                           const int KH, const int KW, const int S, const int P, const int mode)
{
    const int i = get_global_id(0);
    if (i >= N * C * OH * OW)
        return;
    const int ox = i % OW, oy = (i / OW) % OH, c = (i / (OW * OH)) % C, n = i / (OW * OH * C);
    __global const float *xc = x + x_off + n * x_ns + c * H * W;
    WINDOW(oy, ox);
    float acc = mode == 0 ? -INFINITY : 0.0f;
    for (int iy = y0; iy < y1; iy++)
        for (int ix = x0; ix < x1; ix++) {
            const float v = xc[iy * W + ix];
            acc = mode == 0 ? (isnan(acc) || v <= acc ? acc : v) /* a NaN stays */ : mode == 1 ? acc + v * v : acc + v;
        }
    const int count = (y1 - y0) * (x1 - x0);
    if (mode == 1)
        acc = sqrt(acc);
    else if (mode == 2)
        acc /= (float)count;
    y[y_off + n * y_ns + (c * OH + oy) * OW + ox] = acc;
}

__kernel void pool_backward(__global float *dx, const int dx_off, const int dx_ns,
                            __global const float *dy, const int dy_off, const int dy_ns,
                            __global const float *x, const int x_off, const int x_ns,
                            __global const float *y, const int y_off, const int y_ns,
                            const int N, const int C, const int H, const int W, const int OH, const int OW,
                            const int KH, const int KW, const int S, const int P, const int mode)
{
    const int i = get_global_id(0);
    if (i >= N * C * H * W)
        return;
    const int ix = i % W, iy = (i / W) % H, c = (i / (W * H)) % C, n = i / (W * H * C);
    __global const float *xc = x + x_off + n * x_ns + c * H * W;
    const int yc = n * y_ns + c * OH * OW, dyc = dy_off + n * dy_ns + c * OH * OW;
    const float v = xc[iy * W + ix];
    /* Outputs whose window covers (iy, ix): oy*S - P <= iy < oy*S - P + KH. */
    const int oy0 = max((iy + P - KH + S) / S, 0), oy1 = min((iy + P) / S, OH - 1);
    const int ox0 = max((ix + P - KW + S) / S, 0), ox1 = min((ix + P) / S, OW - 1);
    float acc = 0.0f;
    for (int oy = oy0; oy <= oy1; oy++)
        for (int ox = ox0; ox <= ox1; ox++) {
            if (iy + P - oy * S < 0 || iy + P - oy * S >= KH || ix + P - ox * S < 0 || ix + P - ox * S >= KW)
                continue;
            const float g = dy[dyc + oy * OW + ox];
            WINDOW(oy, ox);
            if (mode == 0) {
                /* The gradient goes to the first maximum of the window only. */
                const float m = y[y_off + yc + oy * OW + ox];
                int first = -1;
                for (int ty = y0; ty < y1 && first < 0; ty++)
                    for (int tx = x0; tx < x1 && first < 0; tx++)
                        if (xc[ty * W + tx] == m)
                            first = ty * W + tx;
                if (first == iy * W + ix)
                    acc += g;
            } else if (mode == 1) {
                const float out = y[y_off + yc + oy * OW + ox];
                if (out > 0.0f)
                    acc += g * v / out;
            } else {
                acc += g / (float)((y1 - y0) * (x1 - x0));
            }
        }
    dx[dx_off + n * dx_ns + (c * H + iy) * W + ix] += acc;
}
