/* Pooling over KxK windows with stride S and padding P, NCHW views.
 * MODE 0 = max, 1 = L2 (sqrt of the sum of squares), 2 = average over the window's
 * elements inside the input (padding not counted). Backward adds into dx. */

/* The window of output (oy, ox), clipped to the input. */
#define WINDOW(oy, ox)                                   \
    const int y0 = max((oy) * S - P, 0), x0 = max((ox) * S - P, 0); \
    const int y1 = min((oy) * S - P + KH, H), x1 = min((ox) * S - P + KW, W)

/* Output (ox) of row yr from window rows y0..y1 of plane xc, clipped at the edges. */
static float pool_one(__global const float *xc, const int W, const int y0, const int y1, const int ox,
                      const int KW, const int S, const int P, const int mode)
{
    const int x0 = max(ox * S - P, 0), x1 = min(ox * S - P + KW, W);
    float acc = mode == 0 ? -INFINITY : 0.0f;
    for (int iy = y0; iy < y1; iy++)
        for (int ix = x0; ix < x1; ix++) {
            const float v = xc[iy * W + ix];
            if (mode == 0)
                acc = isnan(acc) || v <= acc ? acc : v; /* a NaN stays */
            else
                acc += mode == 1 ? v * v : v;
        }
    return mode == 0 ? acc : mode == 1 ? sqrt(acc) : acc / (float)((y1 - y0) * (x1 - x0));
}

/* One work-item per output row (oy, plane = n*C + c). Where a window lies inside the
 * row (columns), eight outputs at a time in float8 for strides 1 and 2 (the CPU's
 * vector registers; work-items next to each other would gather); edges and other
 * strides one by one. */
__kernel void pool_forward(__global float *y, const int y_off, const int y_ns,
                           __global const float *x, const int x_off, const int x_ns,
                           const int N, const int C, const int H, const int W, const int OH, const int OW,
                           const int KH, const int KW, const int S, const int P, const int mode)
{
    const int i = get_global_id(0);
    if (i >= N * C * OH)
        return;
    const int oy = i % OH, plane = i / OH, n = plane / C, c = plane - n * C;
    __global const float *xc = x + x_off + n * x_ns + c * H * W;
    __global float *yr = y + y_off + n * y_ns + (c * OH + oy) * OW;
    const int y0 = max(oy * S - P, 0), y1 = min(oy * S - P + KH, H);
    /* Outputs lo..hi-1 have their whole window inside the row. */
    const int lo = min((P + S - 1) / S, OW), hi = max(min(W - KW + P >= 0 ? (W - KW + P) / S + 1 : 0, OW), lo);
    int ox = 0;
    for (; ox < lo; ox++)
        yr[ox] = pool_one(xc, W, y0, y1, ox, KW, S, P, mode);
    if (S <= 2) {
        const float count = (float)((y1 - y0) * KW);
        for (; ox + 8 <= hi; ox += 8) {
            float8 acc = mode == 0 ? (float8)(-INFINITY) : (float8)(0.0f);
            for (int iy = y0; iy < y1; iy++) {
                __global const float *row = xc + iy * W + ox * S - P;
                for (int kx = 0; kx < KW; kx++) {
                    /* stride 2: the even lanes of 16 (two float8 loads: float16 is not native with AVX2) */
                    const float8 v = S == 1 ? vload8(0, row + kx)
                                            : (float8)(vload8(0, row + kx).even, vload8(1, row + kx).even);
                    if (mode == 0)
                        acc = select(v, acc, isnan(acc) | (v <= acc));
                    else
                        acc += mode == 1 ? v * v : v;
                }
            }
            vstore8(mode == 0 ? acc : mode == 1 ? sqrt(acc) : acc / count, 0, yr + ox);
        }
    }
    for (; ox < OW; ox++)
        yr[ox] = pool_one(xc, W, y0, y1, ox, KW, S, P, mode);
}

/* Backward by scattering each output's gradient over its window. Windows of output
 * rows oy and oy + RS (RS = ceil(KH / S)) never share an input row, so one launch per
 * phase (oy % RS) lets every work-item walk one output row alone, race-free; the row's
 * own overlapping windows are added in order. */
__kernel void pool_backward(__global float *dx, const int dx_off, const int dx_ns,
                            __global const float *dy, const int dy_off, const int dy_ns,
                            __global const float *x, const int x_off, const int x_ns,
                            __global const float *y, const int y_off, const int y_ns,
                            const int N, const int C, const int H, const int W, const int OH, const int OW,
                            const int KH, const int KW, const int S, const int P, const int mode, const int phase)
{
    const int RS = (KH + S - 1) / S, rows = (OH - phase + RS - 1) / RS;
    const int i = get_global_id(0);
    if (i >= N * C * rows)
        return;
    const int oy = phase + (i % rows) * RS, c = (i / rows) % C, n = i / (rows * C);
    __global const float *xc = x + x_off + n * x_ns + c * H * W;
    __global float *dxc = dx + dx_off + n * dx_ns + c * H * W;
    const int yrow = n * y_ns + (c * OH + oy) * OW, dyrow = dy_off + n * dy_ns + (c * OH + oy) * OW;
    for (int ox = 0; ox < OW; ox++) {
        const float g = dy[dyrow + ox];
        WINDOW(oy, ox);
        if (mode == 0) {
            /* The gradient goes to the window's first maximum only (none when it is NaN). */
            const float m = y[y_off + yrow + ox];
            int first = -1;
            for (int ty = y0; ty < y1 && first < 0; ty++)
                for (int tx = x0; tx < x1 && first < 0; tx++)
                    if (xc[ty * W + tx] == m)
                        first = ty * W + tx;
            if (first >= 0)
                dxc[first] += g;
        } else {
            const float out = y[y_off + yrow + ox], share = g / (float)((y1 - y0) * (x1 - x0));
            for (int ty = y0; ty < y1; ty++)
                for (int tx = x0; tx < x1; tx++)
                    if (mode == 2)
                        dxc[ty * W + tx] += share;
                    else if (out > 0.0f)
                        dxc[ty * W + tx] += g * xc[ty * W + tx] / out;
        }
    }
}
