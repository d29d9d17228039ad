/* Register-blocked GEMM:  C = op(A) op(B)  [+ C] [+ bias] [ReLU], batched over dimension 2
 * (a transposed B only through gemm_pack_b, below).
 *   A(m,k) = A[row_a(m) + (TRANS_A ? k*lda : k)]        (M x K, row_a below)
 *   B(k,n) = B[k*ldb + n]                                (K x N, rows contiguous)
 *   C(m,n) = C[row_c(m) + n*(c_trans ? ldc : 1)]         (M x N)
 * Rows come in segments of m_seg (a convolution's positions of one image, so that the
 * batch's positions form one tall product): row m is row m % m_seg of segment m / m_seg,
 * segments a_seg and c_seg apart in A and C:
 *   row_a(m) = (m / m_seg)*a_seg + (m % m_seg)*(TRANS_A ? 1 : lda)
 *   row_c(m) = (m / m_seg)*c_seg + (m % m_seg)*(c_trans ? 1 : ldc)
 * With m_seg = M that is the plain layout. c_trans stores C transposed (C^T row-major:
 * a convolution's output, channel-major per image, from a product whose rows are
 * positions).
 * Each work-item owns a TM x (VW*WN) tile of C held in TM*WN floatVW accumulators, which
 * PoCL maps onto the CPU's vector registers and a GPU spreads over lanes; the tile must
 * fit the register file, so the tuner (src/graph/gemm.c) picks TM, VW and WN per device.
 * With KU = 4 and A not transposed, a row of A is read four k at a time (one vector load
 * instead of four scalar ones). The reduction runs over `chunks` pieces of K each; piece
 * j shifts A by a_chunk and B by b_chunk, so a weight gradient sums over the images of
 * a batch in one launch, without atomics.
 * bias_mode: 0 none, 1 per row (conv channels), 2 per column (fc units). The ReLU is
 * `v < 0 ? 0 : v`, which keeps a NaN visible.
 * With PB = 1, B comes packed by gemm_pack_b: each TN-wide column panel contiguous
 * (k-major, zero beyond N), ldb the distance between panels. A work-item then streams
 * one contiguous panel instead of rows a leading dimension apart, which with
 * power-of-two widths all fall into one cache set. */
#ifndef TRANS_A
#define TRANS_A 0
#endif
#ifndef TM
#define TM 6
#endif
#ifndef VW
#define VW 8
#endif
#ifndef WN
#define WN 2
#endif
#ifndef KU
#define KU 1
#endif
#ifndef PB
#define PB 0
#endif
#define TN (VW * WN)

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define floatv CAT(float, VW)
#define vloadv CAT(vload, VW)
#define vstorev CAT(vstore, VW)

#if TRANS_A /* A(m, k) for the row whose offset row_a gives */
#define A_AT(a, ra, k) (a)[(k) * lda + (ra)]
#define A_ROW_STRIDE 1
#else
#define A_AT(a, ra, k) (a)[(ra) + (k)]
#define A_ROW_STRIDE lda
#endif
#if PB /* row k of the panel that holds column n0 (a multiple of TN) */
#define B_ROW(b, k, n0) ((b) + ((n0) / TN) * ldb + (k) * TN)
#else
#define B_ROW(b, k, n0) ((b) + (k) * ldb + (n0))
#endif

/* acc[i][v] += A(m0+i, k) * B(k, n0 + VW*v ...) for one k, B's row already in bv. */
#define TILE_FMA(av_of_i)                                                                          \
    _Pragma("unroll") for (int i = 0; i < TM; i++) {                                                                 \
        const float av = (av_of_i);                                                                \
        _Pragma("unroll") for (int v = 0; v < WN; v++)                                                               \
            acc[i][v] = fma((floatv)(av), bv[v], acc[i][v]);                                       \
    }

/* C's tile (rows m0.., columns n0.. of c) from acc, with the epilogue: bias per row (1)
 * or column (2), accumulation into C, the ReLU. Row m0 + i starts at row_c(i); columns
 * are col_stride apart. */
#define STORE_TILE(accumulate, bias_mode, row_c, col_stride)                                       \
    for (int i = 0; i < TM && m0 + i < M; i++) {                                                   \
        float out[TN];                                                                             \
        _Pragma("unroll") for (int v = 0; v < WN; v++)                                             \
            vstorev(acc[i][v], v, out);                                                            \
        __global float *crow = c + (row_c);                                                        \
        for (int t = 0; t < TN && n0 + t < N; t++) {                                               \
            float r = out[t];                                                                      \
            if ((bias_mode) == 1)                                                                  \
                r += bias[bias_off + m0 + i];                                                      \
            else if ((bias_mode) == 2)                                                             \
                r += bias[bias_off + n0 + t];                                                      \
            __global float *ct = crow + (n0 + t) * (col_stride);                                   \
            if (accumulate)                                                                        \
                r += *ct;                                                                          \
            *ct = relu && r < 0.0f ? 0.0f : r;                                                     \
        }                                                                                          \
    }

__kernel void gemm(const int M, const int N, const int K, const int chunks,
                   __global const float *A, const int a_off, const int lda, const int a_chunk, const int a_batch,
                   __global const float *B, const int b_off, const int ldb, const int b_chunk, const int b_batch,
                   __global float *C, const int c_off, const int ldc, const int c_batch,
                   const int accumulate, const int bias_mode, __global const float *bias, const int bias_off,
                   const int relu, const int m_seg, const int a_seg, const int c_seg, const int c_trans)
{
    const int n0 = get_global_id(0) * TN, m0 = get_global_id(1) * TM, z = get_global_id(2);
    if (n0 >= N || m0 >= M)
        return;
    __global const float *a0 = A + a_off + z * a_batch;
    __global const float *b0 = B + b_off + z * b_batch;
    __global float *c = C + c_off + z * c_batch;
    int ra[TM], rc[TM]; /* row_a and row_c of the tile's rows (see the top) */
    _Pragma("unroll") for (int i = 0; i < TM; i++) {
        const int s = (m0 + i) / m_seg, r = (m0 + i) % m_seg;
        ra[i] = s * a_seg + r * A_ROW_STRIDE;
        rc[i] = s * c_seg + r * (c_trans ? 1 : ldc);
    }
    floatv acc[TM][WN];
    _Pragma("unroll") for (int i = 0; i < TM; i++)
        _Pragma("unroll") for (int v = 0; v < WN; v++)
            acc[i][v] = (floatv)(0.0f);
    const bool full = m0 + TM <= M && n0 + TN <= N;
    for (int j = 0; j < chunks; j++) {
        __global const float *a = a0 + j * a_chunk, *b = b0 + j * b_chunk;
        if (full) {
            int k = 0;
#if KU == 4 && !TRANS_A
            for (; k + 4 <= K; k += 4) {
                float4 a4[TM];
                _Pragma("unroll") for (int i = 0; i < TM; i++)
                    a4[i] = vload4(0, a + ra[i] + k);
                _Pragma("unroll") for (int u = 0; u < 4; u++) {
                    floatv bv[WN];
                    _Pragma("unroll") for (int v = 0; v < WN; v++)
                        bv[v] = vloadv(v, B_ROW(b, k + u, n0));
                    TILE_FMA(u == 0 ? a4[i].s0 : u == 1 ? a4[i].s1 : u == 2 ? a4[i].s2 : a4[i].s3)
                }
            }
#endif
            for (; k < K; k++) {
                floatv bv[WN];
                _Pragma("unroll") for (int v = 0; v < WN; v++)
                    bv[v] = vloadv(v, B_ROW(b, k, n0));
                TILE_FMA(A_AT(a, ra[i], k))
            }
        } else { /* an edge tile: bounded loads, zeros beyond M and N */
            for (int k = 0; k < K; k++) {
                float row[TN];
                _Pragma("unroll") for (int t = 0; t < TN; t++)
                    row[t] = n0 + t < N ? B_ROW(b, k, n0)[t] : 0.0f;
                floatv bv[WN];
                _Pragma("unroll") for (int v = 0; v < WN; v++)
                    bv[v] = vloadv(v, row);
                TILE_FMA(m0 + i < M ? A_AT(a, ra[i], k) : 0.0f)
            }
        }
    }
    STORE_TILE(accumulate, bias_mode, rc[i], c_trans ? ldc : 1)
}

/* Convolution forward as an implicit GEMM: C (M output channels x N = OH*OW positions)
 * = A (M x K weights, K = channels*KH*KW, lda apart) times the input's columns read in
 * place instead of unfolded by im2col: B(k, n) = X[c, oy*S - P + ky, ox*S - P + kx] for
 * k = (c*KH + ky)*KW + kx, n = oy*OW + ox, 0 in the padding. Batched over images
 * (dimension 2); bias per output channel (bias_mode 1) or none (0), optional ReLU. A tile whose TN positions lie
 * in one output row reads one vector per k at stride 1 when its window is inside the
 * image; every other read is a bounded gather. */
__kernel void gemm_conv(const int M, const int N, const int K, __global const float *A, const int a_off,
                        const int lda, __global const float *X, const int x_off, const int x_ns, const int H,
                        const int W, const int OW, const int KH, const int KW, const int S, const int P,
                        __global float *C, const int c_off, const int ldc, const int c_batch,
                        const int bias_mode, __global const float *bias, const int bias_off, const int relu)
{
    const int n0 = get_global_id(0) * TN, m0 = get_global_id(1) * TM, z = get_global_id(2);
    if (n0 >= N || m0 >= M)
        return;
    __global const float *a = A + a_off, *x = X + x_off + z * x_ns;
    __global float *c = C + c_off + z * c_batch;
    int iy0[TN], ix0[TN]; /* each column's window corner; far outside beyond N */
    _Pragma("unroll") for (int t = 0; t < TN; t++) {
        const int n = n0 + t;
        iy0[t] = n < N ? n / OW * S - P : -(1 << 28);
        ix0[t] = n < N ? n % OW * S - P : -(1 << 28);
    }
    const bool row_run = S == 1 && n0 + TN <= N && n0 % OW + TN <= OW, full_m = m0 + TM <= M;
    floatv acc[TM][WN];
    _Pragma("unroll") for (int i = 0; i < TM; i++)
        _Pragma("unroll") for (int v = 0; v < WN; v++)
            acc[i][v] = (floatv)(0.0f);
    int kx = 0, ky = 0;
    __global const float *xc = x; /* channel c's plane */
    for (int k = 0; k < K; k++) {
        floatv bv[WN];
        const int iy = iy0[0] + ky, ix = ix0[0] + kx;
        if (row_run && iy >= 0 && iy < H && ix >= 0 && ix + TN <= W) {
            _Pragma("unroll") for (int v = 0; v < WN; v++)
                bv[v] = vloadv(v, xc + iy * W + ix);
        } else {
            float row[TN];
            _Pragma("unroll") for (int t = 0; t < TN; t++) {
                const int yy = iy0[t] + ky, xx = ix0[t] + kx;
                row[t] = yy >= 0 && yy < H && xx >= 0 && xx < W ? xc[yy * W + xx] : 0.0f;
            }
            _Pragma("unroll") for (int v = 0; v < WN; v++)
                bv[v] = vloadv(v, row);
        }
        TILE_FMA(full_m || m0 + i < M ? a[(m0 + i) * lda + k] : 0.0f)
        if (++kx == KW) {
            kx = 0;
            if (++ky == KH)
                ky = 0, xc += H * W;
        }
    }
    STORE_TILE(0, bias_mode, (m0 + i) * ldc, 1)
}

/* B (K x N per chunk and batch entry, rows ldb apart) into panels of width PW: packed[zc]
 * [panel][k][t] = B(k, panel*PW + t), zero beyond N; zc runs over batch x chunks. PW = TN
 * gives the panels a PB = 1 product streams; PW = N one panel, B itself row-major with
 * ldb = N, for a PB = 0 product of a transposed B. One work-item per panel row.
 * trans_b: B is stored transposed, B(k, n) = B[n*ldb + k] (a convolution's weights, or
 * a pointwise one's input in its weight gradient), gathered here once so that the
 * product reads rows. */
__kernel void gemm_pack_b(__global float *packed, __global const float *B, const int b_off, const int ldb,
                          const int b_chunk, const int b_batch, const int K, const int N, const int chunks,
                          const int count, const int trans_b, const int PW)
{
    const int i = get_global_id(0), panels = (N + PW - 1) / PW;
    if (i >= count * panels * K)
        return;
    const int k = i % K, panel = i / K % panels, zc = i / (K * panels);
    __global float *out = packed + (size_t)i * PW;
    const int n0 = panel * PW;
    __global const float *b = B + b_off + (zc / chunks) * b_batch + (zc % chunks) * b_chunk;
    if (trans_b) { /* consecutive work-items read consecutive k of each column */
        for (int t = 0; t < PW; t++)
            out[t] = n0 + t < N ? b[(n0 + t) * ldb + k] : 0.0f;
        return;
    }
    __global const float *row = b + k * ldb + n0;
    if (PW == TN && n0 + TN <= N) {
        _Pragma("unroll") for (int v = 0; v < WN; v++)
            vstorev(vloadv(v, row), v, out);
    } else {
        for (int t = 0; t < PW; t++)
            out[t] = n0 + t < N ? row[t] : 0.0f;
    }
}
