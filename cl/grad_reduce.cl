/* Parameter gradients that sum over the batch's images and positions, one work-group a
 * parameter: the biases of conv and fc (src/graph/net.c) and the weights of depthwise
 * convolutions (src/layers/depthwise.c). Each of a group's L work-items (L, the local
 * size, a power of two) sums its share, then add_group_sum adds the L partial sums in a
 * tree in local memory. A GPU needs the L-fold parallelism (NN2's conv1 has 64 channels
 * of 16 x 12544 positions); the sum's order depends only on L, so runs stay
 * reproducible. */

/* *out += the sum of every work-item's acc (part: L floats of local memory). */
static void add_group_sum(__global float *out, __local float *part, const float acc)
{
    const int l = get_local_id(0);
    part[l] = acc;
    for (int width = get_local_size(0) / 2; width > 0; width /= 2) {
        barrier(CLK_LOCAL_MEM_FENCE);
        if (l < width)
            part[l] += part[l + width];
    }
    if (l == 0)
        *out += part[0];
}

/* db[k] += sum over images n and positions p of dy[n][k][p]  (P positions per channel):
 * work-item l sums every L-th position. */
__kernel void bias_backward(__global float *db, const int db_off, __global const float *dy, const int dy_off,
                            const int dy_ns, const int N, const int P, __local float *part)
{
    const int k = get_group_id(0), l = get_local_id(0), L = get_local_size(0);
    float acc = 0.0f;
    for (int n = 0; n < N; n++)
        for (int p = l; p < P; p += L)
            acc += dy[dy_off + n * dy_ns + k * P + p];
    add_group_sum(db + db_off + k, part, acc);
}

/* A depthwise convolution's dw[k][ky][kx] += sum over images and output positions of
 * dy[n][k][oy][ox] times the input that tap read (cl/depthwise.cl has the layouts; M
 * output channels an input channel): work-item l takes every L-th output row of the
 * batch, each row's columns in order. */
__kernel void depthwise_backward_weight(__global float *dw, const int dw_off, __global const float *dy,
                                        const int dy_off, const int dy_ns, __global const float *x, const int x_off,
                                        const int x_ns, const int N, const int C, const int M, const int H,
                                        const int W, const int OH, const int OW, const int KH, const int KW,
                                        const int SH, const int SW, const int PH, const int PW,
                                        __local float *part)
{
    const int g = get_group_id(0), l = get_local_id(0), L = get_local_size(0), Q = OH * OW;
    const int kx = g % KW, ky = g / KW % KH, k = g / (KH * KW);
    /* the output rows and columns whose tap (ky, kx) lies inside the image */
    const int y_hi = H - 1 + PH - ky, x_hi = W - 1 + PW - kx; /* negative: below the image for every output */
    const int oy0 = max(0, (PH - ky + SH - 1) / SH), oy1 = y_hi < 0 ? 0 : min(OH, y_hi / SH + 1);
    const int ox0 = max(0, (PW - kx + SW - 1) / SW), ox1 = x_hi < 0 ? 0 : min(OW, x_hi / SW + 1);
    const int rows = max(0, oy1 - oy0);
    float acc = 0.0f;
    for (int r = l; r < N * rows; r += L) {
        const int n = r / rows, oy = oy0 + r % rows;
        __global const float *d = dy + dy_off + n * dy_ns + k * Q + oy * OW;
        __global const float *xr = x + x_off + n * x_ns + k / M * H * W + (oy * SH - PH + ky) * W - PW + kx;
        for (int ox = ox0; ox < ox1; ox++)
            acc = fma(d[ox], xr[ox * SW], acc);
    }
    add_group_sum(dw + dw_off + g, part, acc);
}
