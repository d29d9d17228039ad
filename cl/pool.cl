/* Pooling over KxK windows with stride S and padding P, NCHW views.
 * MODE 0 = max, 1 = L2 (sqrt of the sum of squares), 2 = average over the window's
 * elements inside the input (padding not counted). Backward adds into dx. */

/* The window of output (oy, ox), clipped to the input. */
#define WINDOW(oy, ox)                                   \
    const int y0 = max((oy) * S - P, 0), x0 = max((ox) * S - P, 0); \
    const int y1 = min((oy) * S - P + KH, H), x1 = min((ox) * S - P + KW, W)

/* One work-item per output (ox, oy, plane = n*C + c) on a 3-D grid: no index divisions,
 * and one loop per mode instead of a select per element. */
__kernel void pool_forward(__global float *y, const int y_off, const int y_ns,
                           __global const float *x, const int x_off, const int x_ns,
                           const int N, const int C, const int H, const int W, const int OH, const int OW,
                           const int KH, const int KW, const int S, const int P, const int mode)
{
    const int ox = get_global_id(0), oy = get_global_id(1), plane = get_global_id(2);
    if (ox >= OW || oy >= OH || plane >= N * C)
        return;
    const int n = plane / C, c = plane - n * C;
    __global const float *xc = x + x_off + n * x_ns + c * H * W;
    WINDOW(oy, ox);
    float acc;
    if (mode == 0) {
        acc = -INFINITY;
        for (int iy = y0; iy < y1; iy++)
            for (int ix = x0; ix < x1; ix++) {
                const float v = xc[iy * W + ix];
                acc = isnan(acc) || v <= acc ? acc : v; /* a NaN stays */
            }
    } else {
        acc = 0.0f;
        for (int iy = y0; iy < y1; iy++)
            for (int ix = x0; ix < x1; ix++) {
                const float v = xc[iy * W + ix];
                acc += mode == 1 ? v * v : v;
            }
        acc = mode == 1 ? sqrt(acc) : acc / (float)((y1 - y0) * (x1 - x0));
    }
    y[y_off + n * y_ns + (c * OH + oy) * OW + ox] = acc;
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
