/* Winograd F(2x2, 3x3) for 3x3 stride-1 convolutions (src/layers/winograd.c; Lavin and
 * Gray 2016): the output is cut into 2x2 tiles, each computed from a 4x4 input tile as
 *   Y = A^T [ (G g G^T) .* (B^T d B) ] A
 * so the products become 16 GEMMs (one per entry xi of the 4x4 transformed tiles) with
 * 16 multiplies per tile and pair of channels where direct convolution has 36: 2.25x
 * fewer. Layouts of the transformed arrays (float offsets into one workspace):
 *   U[xi][k][c]  the weights (K x C per xi), the GEMMs' A
 *   V[xi][c][p]  the input tiles (C x P per xi, P = N * tiles per image), the B
 *   Z[xi][k][p]  the products (K x P per xi), the C
 * Tile p of image n = p / T (T = TH * TW tiles per image, TH = ceil(OH/2), TW =
 * ceil(OW/2)) covers outputs (2ty.., 2tx..) and reads inputs from (2ty - PH, 2tx - PW),
 * zero outside the image. */

/* U = G g G^T for every (k, c), G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]; w is
 * (K, C, 3, 3) from w_off. One work-item per (k, c). */
__kernel void winograd_weights(__global float *u, const int u_off, __global const float *w, const int w_off,
                               const int K, const int C)
{
    const int i = get_global_id(0);
    if (i >= K * C)
        return;
    __global const float *g = w + w_off + i * 9;
    float t[4][3]; /* G g: 4 rows of 3 */
    for (int j = 0; j < 3; j++) {
        const float g0 = g[j], g1 = g[3 + j], g2 = g[6 + j];
        t[0][j] = g0;
        t[1][j] = 0.5f * (g0 + g1 + g2);
        t[2][j] = 0.5f * (g0 - g1 + g2);
        t[3][j] = g2;
    }
    __global float *out = u + u_off + i; /* entry xi at xi * K * C */
    const int step = K * C;
    for (int r = 0; r < 4; r++) {
        const float a = t[r][0], b = t[r][1], c = t[r][2];
        out[(4 * r + 0) * step] = a;
        out[(4 * r + 1) * step] = 0.5f * (a + b + c);
        out[(4 * r + 2) * step] = 0.5f * (a - b + c);
        out[(4 * r + 3) * step] = c;
    }
}

/* V = B^T d B for every (c, p), B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]. One
 * work-item per (c, p), p fastest (neighbouring work-items write neighbouring words). */
__kernel void winograd_input(__global float *v, const int v_off, __global const float *x, const int x_off,
                             const int x_ns, const int N, const int C, const int H, const int W, const int TH,
                             const int TW, const int PH, const int PW)
{
    const int i = get_global_id(0), T = TH * TW, P = N * T;
    if (i >= C * P)
        return;
    const int p = i % P, c = i / P, n = p / T, ty = p % T / TW, tx = p % TW;
    const int y0 = 2 * ty - PH, x0 = 2 * tx - PW;
    __global const float *xc = x + x_off + n * x_ns + c * H * W;
    float d[4][4];
    for (int r = 0; r < 4; r++)
        for (int s = 0; s < 4; s++) {
            const int iy = y0 + r, ix = x0 + s;
            d[r][s] = iy >= 0 && iy < H && ix >= 0 && ix < W ? xc[iy * W + ix] : 0.0f;
        }
    float t[4][4]; /* B^T d */
    for (int s = 0; s < 4; s++) {
        t[0][s] = d[0][s] - d[2][s];
        t[1][s] = d[1][s] + d[2][s];
        t[2][s] = d[2][s] - d[1][s];
        t[3][s] = d[1][s] - d[3][s];
    }
    __global float *out = v + v_off + i; /* entry xi at xi * C * P */
    const int step = C * P;
    for (int r = 0; r < 4; r++) {
        out[(4 * r + 0) * step] = t[r][0] - t[r][2];
        out[(4 * r + 1) * step] = t[r][1] + t[r][2];
        out[(4 * r + 2) * step] = t[r][2] - t[r][1];
        out[(4 * r + 3) * step] = t[r][1] - t[r][3];
    }
}

/* Y = A^T z A (+ bias, ReLU: `v < 0 ? 0 : v` keeps a NaN) for every (k, p), A^T =
 * [1 1 1 0; 0 1 -1 -1], the tile's outputs inside OH x OW written into y. One work-item
 * per (k, p), p fastest. */
__kernel void winograd_output(__global float *y, const int y_off, const int y_ns, __global const float *z,
                              const int z_off, __global const float *bias, const int b_off, const int has_bias,
                              const int relu, const int N, const int K, const int OH, const int OW, const int TH,
                              const int TW)
{
    const int i = get_global_id(0), T = TH * TW, P = N * T;
    if (i >= K * P)
        return;
    const int p = i % P, k = i / P, n = p / T, ty = p % T / TW, tx = p % TW;
    __global const float *in = z + z_off + i; /* entry xi at xi * K * P */
    const int step = K * P;
    float m[4][4];
    for (int xi = 0; xi < 16; xi++)
        m[xi / 4][xi % 4] = in[xi * step];
    float t[2][4]; /* A^T m */
    for (int s = 0; s < 4; s++) {
        t[0][s] = m[0][s] + m[1][s] + m[2][s];
        t[1][s] = m[1][s] - m[2][s] - m[3][s];
    }
    const float b = has_bias ? bias[b_off + k] : 0.0f;
    float o[2][2];
    for (int r = 0; r < 2; r++) {
        o[r][0] = t[r][0] + t[r][1] + t[r][2] + b;
        o[r][1] = t[r][1] - t[r][2] - t[r][3] + b;
        for (int s = 0; s < 2; s++)
            o[r][s] = relu && o[r][s] < 0.0f ? 0.0f : o[r][s];
    }
    const int oy = 2 * ty, ox = 2 * tx;
    __global float *yt = y + y_off + n * y_ns + k * OH * OW + oy * OW + ox;
    if (oy + 1 < OH && ox + 1 < OW) { /* the whole tile inside: no checks */
        yt[0] = o[0][0], yt[1] = o[0][1], yt[OW] = o[1][0], yt[OW + 1] = o[1][1];
        return;
    }
    for (int r = 0; r < 2 && oy + r < OH; r++)
        for (int s = 0; s < 2 && ox + s < OW; s++)
            yt[r * OW + s] = o[r][s];
}
