/* Convolution as GEMM: unfolding an image into columns (and back), plus the small
 * helpers around the GEMMs. Row r = (c*KH + ky)*KW + kx of a column matrix holds input
 * channel c shifted by (ky, kx); column p = oy*OW + ox is an output position. Zero
 * padding reads as 0. Images follow each other along the flat work-item index. */

/* col: (N, C*KH*KW, OH*OW) from x: (N, C, H, W). One work-item per row (n, r), which
 * walks the output positions in order: the index arithmetic happens once per row. */
__kernel void im2col(__global float *col, __global const float *x, const int x_off, const int x_ns,
                     const int N, const int C, const int H, const int W, const int OH, const int OW,
                     const int KH, const int KW, const int S, const int P)
{
    const int i = get_global_id(0), R = C * KH * KW;
    if (i >= N * R)
        return;
    const int r = i % R, n = i / R;
    const int kx = r % KW, ky = (r / KW) % KH, c = r / (KW * KH);
    __global const float *xc = x + x_off + n * x_ns + c * H * W;
    __global float *out = col + (size_t)i * OH * OW;
    for (int oy = 0; oy < OH; oy++) {
        const int iy = oy * S - P + ky;
        const bool row_in = iy >= 0 && iy < H;
        for (int ox = 0; ox < OW; ox++) {
            const int ix = ox * S - P + kx;
            out[oy * OW + ox] = row_in && ix >= 0 && ix < W ? xc[iy * W + ix] : 0.0f;
        }
    }
}

/* fold(dcol) at input pixel (iy, ix) of channel plane dc (dcol's rows of channel c):
 * the sum of the column entries that read it. */
static float col2im_one(__global const float *dc, const int iy, const int ix, const int OH, const int OW,
                        const int KH, const int KW, const int S, const int P)
{
    const int Q = OH * OW;
    float acc = 0.0f;
    if (S == 1) { /* no division per tap, and the taps in range computed once */
        const int ky0 = max(iy + P - (OH - 1), 0), ky1 = min(iy + P, KH - 1);
        const int kx0 = max(ix + P - (OW - 1), 0), kx1 = min(ix + P, KW - 1);
        for (int ky = ky0; ky <= ky1; ky++) {
            __global const float *row = dc + ky * KW * Q + (iy + P - ky) * OW + ix + P;
            for (int kx = kx0; kx <= kx1; kx++)
                acc += row[kx * Q - kx];
        }
        return acc;
    }
    for (int ky = 0; ky < KH; ky++) {
        const int ty = iy + P - ky;
        if (ty < 0 || ty % S != 0 || ty / S >= OH)
            continue;
        for (int kx = 0; kx < KW; kx++) {
            const int tx = ix + P - kx;
            if (tx < 0 || tx % S != 0 || tx / S >= OW)
                continue;
            acc += dc[(ky * KW + kx) * Q + (ty / S) * OW + tx / S];
        }
    }
    return acc;
}

/* dx += fold(dcol): each input pixel gathers the column entries that read it. One
 * work-item per input row (n, c, iy); at stride 1, where every tap of eight pixels
 * reads inside the output row, the eight in float8 (a tap's entries are contiguous). */
__kernel void col2im(__global float *dx, const int dx_off, const int dx_ns, __global const float *dcol,
                     const int N, const int C, const int H, const int W, const int OH, const int OW,
                     const int KH, const int KW, const int S, const int P)
{
    const int i = get_global_id(0);
    if (i >= N * C * H)
        return;
    const int iy = i % H, c = (i / H) % C, n = i / (H * C);
    const int Q = OH * OW;
    __global const float *dc = dcol + ((size_t)n * C + c) * KH * KW * Q;
    __global float *dxr = dx + dx_off + n * dx_ns + (c * H + iy) * W;
    int ix = 0;
    if (S == 1) {
        /* Pixels lo..hi-1 start eight whose taps all read output columns 0..OW-1. */
        const int lo = min(max(KW - 1 - P, 0), W), hi = min(OW - P - 7, W - 7);
        for (; ix < lo; ix++)
            dxr[ix] += col2im_one(dc, iy, ix, OH, OW, KH, KW, S, P);
        const int ky0 = max(iy + P - (OH - 1), 0), ky1 = min(iy + P, KH - 1);
        for (; ix < hi; ix += 8) {
            float8 acc = (float8)(0.0f);
            for (int ky = ky0; ky <= ky1; ky++) {
                __global const float *row = dc + ky * KW * Q + (iy + P - ky) * OW + ix + P;
                for (int kx = 0; kx < KW; kx++)
                    acc += vload8(0, row + kx * Q - kx);
            }
            vstore8(vload8(0, dxr + ix) + acc, 0, dxr + ix);
        }
    }
    for (; ix < W; ix++)
        dxr[ix] += col2im_one(dc, iy, ix, OH, OW, KH, KW, S, P);
}

/* out (cols x rows) = in (rows x cols)^T, both with leading dimensions (views). */
__kernel void transpose(__global float *out, const int out_off, const int out_ld, __global const float *in,
                        const int in_off, const int in_ld, const int rows, const int cols)
{
    const int i = get_global_id(0);
    if (i >= rows * cols)
        return;
    const int r = i % rows, c = i / rows;
    out[out_off + c * out_ld + r] = in[in_off + r * in_ld + c];
}

/* db[k] += sum over images n and positions p of dy[n][k][p]  (P positions per channel) */
__kernel void bias_backward(__global float *db, const int db_off, __global const float *dy, const int dy_off,
                            const int dy_ns, const int N, const int K, const int P)
{
    const int k = get_global_id(0);
    if (k >= K)
        return;
    float acc = 0.0f;
    for (int n = 0; n < N; n++)
        for (int p = 0; p < P; p++)
            acc += dy[dy_off + n * dy_ns + k * P + p];
    db[db_off + k] += acc;
}
