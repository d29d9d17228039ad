/* Pooling over KxK windows with stride S and padding P, NCHW views.
 * MODE 0 = max, 1 = L2 (sqrt of the sum of squares), 2 = average over the window's
 * elements inside the input (padding not counted). Backward adds into dx. */

/* Outputs lo..hi-1 of a row have their whole window inside the row's columns. */
static int2 inside_outputs(const int W, const int OW, const int KW, const int S, const int P)
{
    const int lo = min((P + S - 1) / S, OW);
    return (int2)(lo, max(min(W - KW + P >= 0 ? (W - KW + P) / S + 1 : 0, OW), lo));
}

/* Four inputs S apart from p, S = 1 or 2 (stride 2: p[0], p[2] from one load, p[4],
 * p[6] from another, never reading past the last input used). */
static float4 load4_strided(__global const float *p, const int S)
{
    return S == 1 ? vload4(0, p) : (float4)(vload4(0, p).even, vload4(0, p + 3).odd);
}

/* Output ox from window rows y0..y1 of plane xc, clipped at the edges. */
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
 * row (columns), four outputs at a time in float4 for strides 1 and 2 (the CPU's
 * vector registers; work-items next to each other would gather); edges and other
 * strides one by one. Four, not eight: a 14-wide map pooled 3x3/2 has six inside
 * outputs a row, which eight-wide runs left all to the scalar path. */
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
    const int2 inside = inside_outputs(W, OW, KW, S, P);
    int ox = 0;
    for (; ox < inside.x; ox++)
        yr[ox] = pool_one(xc, W, y0, y1, ox, KW, S, P, mode);
    if (S <= 2) {
        const float count = (float)((y1 - y0) * KW);
        for (; ox + 4 <= inside.y; ox += 4) {
            float4 acc = mode == 0 ? (float4)(-INFINITY) : (float4)(0.0f);
            for (int iy = y0; iy < y1; iy++) {
                __global const float *row = xc + iy * W + ox * S - P;
                for (int kx = 0; kx < KW; kx++) {
                    const float4 v = load4_strided(row + kx, S);
                    if (mode == 0)
                        acc = select(v, acc, isnan(acc) | (v <= acc));
                    else
                        acc += mode == 1 ? v * v : v;
                }
            }
            vstore4(mode == 0 ? acc : mode == 1 ? sqrt(acc) : acc / count, 0, yr + ox);
        }
    }
    for (; ox < OW; ox++)
        yr[ox] = pool_one(xc, W, y0, y1, ox, KW, S, P, mode);
}

/* Output ox's gradient g scattered over its window (clipped), as pool_one reads it. */
static void pool_one_backward(__global float *dxc, __global const float *xc, const int W, const int y0,
                              const int y1, const int ox, const float g, const float out, const int KW,
                              const int S, const int P, const int mode)
{
    const int x0 = max(ox * S - P, 0), x1 = min(ox * S - P + KW, W);
    if (mode == 0) {
        /* The gradient goes to the window's first maximum only (none when it is NaN). */
        int first = -1;
        for (int ty = y0; ty < y1 && first < 0; ty++)
            for (int tx = x0; tx < x1 && first < 0; tx++)
                if (xc[ty * W + tx] == out)
                    first = ty * W + tx;
        if (first >= 0)
            dxc[first] += g;
        return;
    }
    const float share = g / (float)((y1 - y0) * (x1 - x0));
    for (int ty = y0; ty < y1; ty++)
        for (int tx = x0; tx < x1; tx++)
            if (mode == 2)
                dxc[ty * W + tx] += share;
            else if (out > 0.0f)
                dxc[ty * W + tx] += g * xc[ty * W + tx] / out;
}

/* Backward by scattering each output's gradient over its window. Windows of output
 * rows oy and oy + RS (RS = ceil(KH / S)) never share an input row, so one launch per
 * phase (oy % RS) lets every work-item walk one output row alone, race-free; the row's
 * own overlapping windows are added in order. Where windows lie inside the row, four
 * outputs at a time as in pool_forward: max pooling finds the four first maxima in
 * float4 and adds the four gradients one by one, in order (neighbours may share a
 * maximum); L2 and average pooling at stride 1 add whole float4 runs per window tap. */
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
    __global const float *yr = y + y_off + n * y_ns + (c * OH + oy) * OW;
    __global const float *dyr = dy + dy_off + n * dy_ns + (c * OH + oy) * OW;
    const int y0 = max(oy * S - P, 0), y1 = min(oy * S - P + KH, H);
    const int2 inside = inside_outputs(W, OW, KW, S, P);
    int ox = 0;
    for (; ox < inside.x; ox++)
        pool_one_backward(dxc, xc, W, y0, y1, ox, dyr[ox], yr[ox], KW, S, P, mode);
    if (mode == 0 && S <= 2) {
        const int4 lane = (int4)(0, 1, 2, 3);
        for (; ox + 4 <= inside.y; ox += 4) {
            const float4 m = vload4(0, yr + ox);
            int4 first = (int4)(-1);
            for (int ty = y0; ty < y1; ty++) {
                __global const float *row = xc + ty * W + ox * S - P;
                for (int kx = 0; kx < KW; kx++) {
                    const float4 v = load4_strided(row + kx, S);
                    const int4 at = (int4)(ty * W + ox * S - P + kx) + lane * S;
                    first = select(first, at, (v == m) & (first < 0));
                }
            }
            float g[4];
            int f[4];
            vstore4(vload4(0, dyr + ox), 0, g);
            vstore4(first, 0, f);
            for (int t = 0; t < 4; t++)
                if (f[t] >= 0)
                    dxc[f[t]] += g[t];
        }
    } else if (S == 1) {
        const float count = (float)((y1 - y0) * KW);
        for (; ox + 4 <= inside.y; ox += 4) {
            const float4 g = vload4(0, dyr + ox), out = vload4(0, yr + ox);
            const float4 share = mode == 2 ? g / count : select((float4)(0.0f), g / out, out > 0.0f);
            for (int ty = y0; ty < y1; ty++) {
                __global float *drow = dxc + ty * W + ox - P;
                __global const float *xrow = xc + ty * W + ox - P;
                for (int kx = 0; kx < KW; kx++) {
                    const float4 add = mode == 2 ? share : share * vload4(0, xrow + kx);
                    vstore4(vload4(0, drow + kx) + add, 0, drow + kx);
                }
            }
        }
    }
    for (; ox < OW; ox++)
        pool_one_backward(dxc, xc, W, y0, y1, ox, dyr[ox], yr[ox], KW, S, P, mode);
}
