/* Convolution as GEMM: unfolding images into columns (and back), plus the small helpers
 * around the GEMMs. The columns are position-major: the row of output position p = oy*OW
 * + ox of image n (row n*Q + p, Q = OH*OW) holds its R = C*KH*KW inputs, entry r = (c*KH +
 * ky)*KW + kx being input channel c at (oy*SH - PH + ky, ox*SW - PW + kx), 0 in the padding.
 * (The batch's positions are then the rows of one tall product: src/layers/conv.c.) */

/* col: (N*OH*OW, C*KH*KW) from x: (N, C, H, W). One work-item per position, which writes
 * its row in order. */
__kernel void im2col(__global float *col, __global const float *x, const int x_off, const int x_ns,
                     const int N, const int C, const int H, const int W, const int OH, const int OW,
                     const int KH, const int KW, const int SH, const int SW, const int PH, const int PW)
{
    const int i = get_global_id(0), Q = OH * OW;
    if (i >= N * Q)
        return;
    const int n = i / Q, oy = i % Q / OW, ox = i % OW, iy0 = oy * SH - PH, ix0 = ox * SW - PW;
    const bool inside = iy0 >= 0 && iy0 + KH <= H && ix0 >= 0 && ix0 + KW <= W;
    __global const float *xc = x + x_off + n * x_ns;
    __global float *out = col + (size_t)i * C * KH * KW;
    for (int c = 0; c < C; c++, xc += H * W)
        for (int ky = 0; ky < KH; ky++) {
            const int iy = iy0 + ky;
            __global const float *row = xc + iy * W + ix0;
            if (inside) {
                for (int kx = 0; kx < KW; kx++)
                    *out++ = row[kx];
                continue;
            }
            const bool row_in = iy >= 0 && iy < H;
            for (int kx = 0; kx < KW; kx++)
                *out++ = row_in && ix0 + kx >= 0 && ix0 + kx < W ? row[kx] : 0.0f;
        }
}

/* The taps k (0..KT-1) of a window that read input coordinate t - P, where output o =
 * (t - k) / S must be whole and in 0..O-1: first k0, last k1, stepping by S. */
static int first_tap(const int t, const int S, const int O)
{
    const int lo = max(t - S * (O - 1), 0);
    return lo + (t - lo) % S;
}

/* dx += fold(dcol): each input pixel gathers the column entries that read it. One
 * work-item per input pixel (n, iy, ix), channel after channel: its taps and their
 * places in dcol are found once, then followed by pointer steps (no division). */
__kernel void col2im(__global float *dx, const int dx_off, const int dx_ns, __global const float *dcol,
                     const int N, const int C, const int H, const int W, const int OH, const int OW,
                     const int KH, const int KW, const int SH, const int SW, const int PH, const int PW)
{
    const int i = get_global_id(0);
    if (i >= N * H * W)
        return;
    const int ix = i % W, iy = i / W % H, n = i / (W * H), R = C * KH * KW;
    const int ty = iy + PH, tx = ix + PW;
    const int ky0 = first_tap(ty, SH, OH), ky1 = min(ty, KH - 1);
    const int kx0 = first_tap(tx, SW, OW), kx1 = min(tx, KW - 1);
    __global float *d = dx + dx_off + n * dx_ns + iy * W + ix;
    if (ky0 > ky1 || kx0 > kx1) /* no window reads this pixel (a stride larger than the kernel) */
        return;
    /* entry (ky0, kx0) of channel 0: position ((ty - ky0)/SH, (tx - kx0)/SW) of image n */
    __global const float *first = dcol + ((size_t)n * OH * OW + (ty - ky0) / SH * OW + (tx - kx0) / SW) * R +
                                  ky0 * KW + kx0;
    const int step_y = SH * KW - OW * R, step_x = SW - R; /* next tap down, next tap right */
    for (int c = 0; c < C; c++, d += H * W, first += KH * KW) {
        float acc = 0.0f;
        __global const float *py = first;
        for (int ky = ky0; ky <= ky1; ky += SH, py += step_y) {
            __global const float *p = py;
            for (int kx = kx0; kx <= kx1; kx += SW, p += step_x)
                acc += *p;
        }
        *d += acc;
    }
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
