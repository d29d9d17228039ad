/* GEMM for GPUs: the products of cl/gemm.cl's `gemm` (the same arguments, layouts of A,
 * B and C, row segments, chunks, batches and epilogue: see there), computed the way a
 * GPU wants. A work-group of LX x LY work-items owns an MWG x NWG block of C (MWG =
 * LY*TM rows, NWG = LX*TN columns) and walks K in steps of KW: the group copies A's
 * MWG x KW slice and B's KW x NWG slice into local memory (each global element read
 * once per group instead of once per work-item), then every work-item multiplies them
 * into its TM x TN accumulators in registers. Work-item (tx, ty) owns rows ty + LY*i
 * and columns tx + LX*j: neighbouring work-items read neighbouring local words (no
 * bank conflicts) and store neighbouring columns of C.
 *   VW:   how many consecutive floats of a row a work-item copies at a time (1, 2, 4 or
 *         8): bounded loads a compiler may merge into one vector load. The copy loops
 *         carry no unroll pragma: with one, PoCL 3.1 (LLVM 15) left A's slices zero
 *         when DBUF = 1, even in a single work-item (right with -cl-opt-disable, in
 *         Oclgrind, and compiled as C).
 *   PAD:  local rows padded by one float, so that the copy's column-wise writes of A
 *         spread over banks
 *   DBUF: two local buffers: slice t+1 is loaded while slice t is multiplied, one
 *         barrier a slice instead of two
 * Slices beyond M, N or K are zero in local memory, so the multiply has no bounds;
 * only the copy and the store check them. The implicit-GEMM convolution below shares
 * the multiply and store and copies B from the input image instead. */
#ifndef TRANS_A
#define TRANS_A 0
#endif
#ifndef TM
#define TM 4
#endif
#ifndef TN
#define TN 4
#endif
#ifndef LX
#define LX 16
#endif
#ifndef LY
#define LY 16
#endif
#ifndef KW
#define KW 16
#endif
#ifndef VW
#define VW 4
#endif
#ifndef PAD
#define PAD 1
#endif
#ifndef DBUF
#define DBUF 1
#endif
#define MWG (LY * TM)
#define NWG (LX * TN)
#define THREADS (LX * LY)
#define LDA_L (MWG + PAD) /* local A: KW rows of MWG (k-major) */
#define LDB_L (NWG + PAD) /* local B: KW rows of NWG */
#define BUFS (1 + DBUF)

#if TRANS_A
#define A_ROW_STRIDE 1
#else
#define A_ROW_STRIDE lda
#endif

/* The offsets of the block's rows in A (row_a of cl/gemm.cl; -1 beyond M), computed once
 * per work-group: the copy would otherwise divide by m_seg for every element. */
static void block_rows(__local int *rowa, const int mb, const int M, const int m_seg, const int a_seg,
                       const int lda)
{
    for (int i = get_local_id(1) * LX + get_local_id(0); i < MWG; i += THREADS) {
        const int m = mb + i;
        rowa[i] = m < M ? m / m_seg * a_seg + m % m_seg * A_ROW_STRIDE : -1;
    }
}

/* A's slice: as[kk][mm] = A(mb + mm, k0 + kk), zero outside the matrix; a work-item
 * copies VW consecutive k of a row of plain A, VW consecutive rows of transposed A. */
static void copy_a(__local float *as, __local const int *rowa, __global const float *a, const int lda, const int k0,
                   const int K)
{
    const int lid = get_local_id(1) * LX + get_local_id(0);
#if TRANS_A
    for (int v = lid; v < KW * MWG / VW; v += THREADS) {
        const int mm = v % (MWG / VW) * VW, kk = v / (MWG / VW), k = k0 + kk;
        for (int u = 0; u < VW; u++) {
            const int r = rowa[mm + u];
            as[kk * LDA_L + mm + u] = k < K && r >= 0 ? a[k * lda + r] : 0.0f;
        }
    }
#else
    for (int v = lid; v < MWG * KW / VW; v += THREADS) {
        const int kk = v % (KW / VW) * VW, mm = v / (KW / VW), k = k0 + kk, r = rowa[mm];
        for (int u = 0; u < VW; u++)
            as[(kk + u) * LDA_L + mm] = r >= 0 && k + u < K ? a[r + k + u] : 0.0f;
    }
#endif
}

/* B's slice from rows of B: bs[kk][nn] = B(k0 + kk, nb + nn), VW columns at a time. */
static void copy_b(__local float *bs, __global const float *b, const int ldb, const int k0, const int K,
                   const int nb, const int N)
{
    const int lid = get_local_id(1) * LX + get_local_id(0);
    for (int v = lid; v < KW * NWG / VW; v += THREADS) {
        const int nn = v % (NWG / VW) * VW, kk = v / (NWG / VW), k = k0 + kk, n = nb + nn;
        for (int u = 0; u < VW; u++)
            bs[kk * LDB_L + nn + u] = k < K && n + u < N ? b[k * ldb + n + u] : 0.0f;
    }
}

/* acc += as * bs for one slice: each work-item its rows and columns. */
static void multiply(float acc[TM][TN], __local const float *as, __local const float *bs)
{
    const int tx = get_local_id(0), ty = get_local_id(1);
    for (int kk = 0; kk < KW; kk++) {
        float ar[TM], br[TN];
        _Pragma("unroll") for (int i = 0; i < TM; i++)
            ar[i] = as[kk * LDA_L + ty + LY * i];
        _Pragma("unroll") for (int j = 0; j < TN; j++)
            br[j] = bs[kk * LDB_L + tx + LX * j];
        _Pragma("unroll") for (int i = 0; i < TM; i++)
            _Pragma("unroll") for (int j = 0; j < TN; j++)
                acc[i][j] = fma(ar[i], br[j], acc[i][j]);
    }
}

/* The work-item's entries of C with the epilogue of cl/gemm.cl: bias per row (1) or
 * column (2), accumulation, ReLU (`v < 0 ? 0 : v` keeps a NaN). Row m lies at
 * row_c(m) = (m / m_seg)*c_seg + (m % m_seg)*(c_trans ? 1 : ldc), columns ldc or 1 apart. */
static void store(float acc[TM][TN], __global float *c, const int mb, const int nb, const int M, const int N,
                  const int ldc, const int accumulate, const int bias_mode, __global const float *bias,
                  const int bias_off, const int relu, const int m_seg, const int c_seg, const int c_trans)
{
    const int tx = get_local_id(0), ty = get_local_id(1);
    for (int i = 0; i < TM; i++) {
        const int m = mb + ty + LY * i;
        if (m >= M)
            break;
        __global float *crow = c + m / m_seg * c_seg + m % m_seg * (c_trans ? 1 : ldc);
        for (int j = 0; j < TN; j++) {
            const int n = nb + tx + LX * j;
            if (n >= N)
                break;
            float r = acc[i][j] + (bias_mode == 1 ? bias[bias_off + m] : bias_mode == 2 ? bias[bias_off + n] : 0.0f);
            __global float *ct = crow + n * (c_trans ? ldc : 1);
            if (accumulate)
                r += *ct;
            *ct = relu && r < 0.0f ? 0.0f : r;
        }
    }
}

/* The slice loop both kernels run: slice t of `slices` copied by COPY_SLICE(t, buffer)
 * (slices beyond the last copy as zeros), multiplied into acc. With DBUF the next
 * slice's copy overlaps the multiply (its buffer was last read before the previous
 * barrier). Every barrier is reached by every work-item unconditionally. */
#if DBUF
#define SLICE_LOOP(COPY_SLICE)                                                                                     \
    COPY_SLICE(0, 0);                                                                                              \
    barrier(CLK_LOCAL_MEM_FENCE);                                                                                  \
    for (int t = 0; t < slices; t++) {                                                                             \
        COPY_SLICE(t + 1, (t + 1) & 1);                                                                            \
        multiply(acc, as[t & 1], bs[t & 1]);                                                                       \
        barrier(CLK_LOCAL_MEM_FENCE);                                                                              \
    }
#else
#define SLICE_LOOP(COPY_SLICE)                                                                                     \
    for (int t = 0; t < slices; t++) {                                                                             \
        COPY_SLICE(t, 0);                                                                                          \
        barrier(CLK_LOCAL_MEM_FENCE);                                                                              \
        multiply(acc, as[0], bs[0]);                                                                               \
        barrier(CLK_LOCAL_MEM_FENCE);                                                                              \
    }
#endif

/* One kernel a build (-DTILED_CONV=1: the convolution's): their local arrays are
 * program-wide in LLVM, and a simulator such as Oclgrind counts both against one
 * work-group's local memory. */
#ifndef TILED_CONV
#define TILED_CONV 0
#endif

#if !TILED_CONV
__kernel __attribute__((reqd_work_group_size(LX, LY, 1))) void
gemm_tiled(const int M, const int N, const int K, const int chunks,
           __global const float *A, const int a_off, const int lda, const int a_chunk, const int a_batch,
           __global const float *B, const int b_off, const int ldb, const int b_chunk, const int b_batch,
           __global float *C, const int c_off, const int ldc, const int c_batch,
           const int accumulate, const int bias_mode, __global const float *bias, const int bias_off,
           const int relu, const int m_seg, const int a_seg, const int c_seg, const int c_trans)
{
    __local float as[BUFS][KW * LDA_L], bs[BUFS][KW * LDB_L];
    __local int rowa[MWG];
    const int nb = get_group_id(0) * NWG, mb = get_group_id(1) * MWG, z = get_global_id(2);
    __global const float *a0 = A + a_off + z * a_batch, *b0 = B + b_off + z * b_batch;
    block_rows(rowa, mb, M, m_seg, a_seg, lda);
    barrier(CLK_LOCAL_MEM_FENCE);
    float acc[TM][TN];
    _Pragma("unroll") for (int i = 0; i < TM; i++)
        _Pragma("unroll") for (int j = 0; j < TN; j++)
            acc[i][j] = 0.0f;
    /* Slice t: chunk t / per_chunk, its K from (t % per_chunk) * KW. */
    const int per_chunk = (K + KW - 1) / KW, slices = chunks * per_chunk;
#define COPY_GEMM(t, buf)                                                                                          \
    do {                                                                                                           \
        const bool in_ = (t) < slices; /* beyond the last: zeros, nothing read */                                  \
        const int j_ = in_ ? (t) / per_chunk : 0, k0_ = in_ ? (t) % per_chunk * KW : K;                            \
        copy_a(as[buf], rowa, a0 + j_ * a_chunk, lda, k0_, K);                                                     \
        copy_b(bs[buf], b0 + j_ * b_chunk, ldb, k0_, K, nb, N);                                                    \
    } while (0)
    SLICE_LOOP(COPY_GEMM)
    store(acc, C + c_off + z * c_batch, mb, nb, M, N, ldc, accumulate, bias_mode, bias, bias_off, relu, m_seg,
          c_seg, c_trans);
}

#else
/* B's slice of a convolution read in place (cl/gemm.cl's gemm_conv has the mapping):
 * B(k, n) = X[c][oy*S - P + ky][ox*S - P + kx], k = (c*KH + ky)*KW + kx, n = oy*OW + ox,
 * zero in the padding and beyond N or K. One element per copy (the columns of a row of
 * positions are S apart in the image, and rows wrap). */
static void copy_b_conv(__local float *bs, __global const float *x, const int k0, const int K, const int nb,
                        const int N, const int H, const int W, const int OW, const int KH, const int KWD,
                        const int S, const int P)
{
    const int lid = get_local_id(1) * LX + get_local_id(0);
    for (int v = lid; v < KW * NWG; v += THREADS) {
        const int nn = v % NWG, kk = v / NWG, k = k0 + kk, n = nb + nn;
        float val = 0.0f;
        if (k < K && n < N) {
            const int kx = k % KWD, ky = k / KWD % KH, ch = k / (KWD * KH);
            const int iy = n / OW * S - P + ky, ix = n % OW * S - P + kx;
            if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                val = x[(ch * H + iy) * W + ix];
        }
        bs[kk * LDB_L + nn] = val;
    }
}

/* Convolution forward as an implicit GEMM with local-memory tiles: gemm_conv's
 * arguments (weights as A, M x K, lda apart; one product per image, x_ns apart), no
 * im2col workspace. */
__kernel __attribute__((reqd_work_group_size(LX, LY, 1))) void
gemm_tiled_conv(const int M, const int N, const int K, __global const float *A, const int a_off, const int lda,
                __global const float *X, const int x_off, const int x_ns, const int H, const int W, const int OW,
                const int KH, const int KWD, const int S, const int P, __global float *C, const int c_off,
                const int ldc, const int c_batch, const int bias_mode, __global const float *bias,
                const int bias_off, const int relu)
{
    __local float as[BUFS][KW * LDA_L], bs[BUFS][KW * LDB_L];
    __local int rowa[MWG];
    const int nb = get_group_id(0) * NWG, mb = get_group_id(1) * MWG, z = get_global_id(2);
    __global const float *a = A + a_off, *x = X + x_off + z * x_ns;
    block_rows(rowa, mb, M, M, 0, lda);
    barrier(CLK_LOCAL_MEM_FENCE);
    float acc[TM][TN];
    _Pragma("unroll") for (int i = 0; i < TM; i++)
        _Pragma("unroll") for (int j = 0; j < TN; j++)
            acc[i][j] = 0.0f;
    const int slices = (K + KW - 1) / KW;
#define COPY_CONV(t, buf)                                                                                          \
    do {                                                                                                           \
        const int k0_ = (t) < slices ? (t) * KW : K; /* beyond the last: zeros */                                  \
        copy_a(as[buf], rowa, a, lda, k0_, K);                                                                     \
        copy_b_conv(bs[buf], x, k0_, K, nb, N, H, W, OW, KH, KWD, S, P);                                           \
    } while (0)
    SLICE_LOOP(COPY_CONV)
    store(acc, C + c_off + z * c_batch, mb, nb, M, N, ldc, 0, bias_mode, bias, bias_off, relu, M, 0, 0);
}
#endif
