/* Local response normalisation across channels (AlexNet/GoogLeNet "norm"):
 *   s_c = k + alpha/SIZE * sum_{c' in [c - SIZE/2, c + SIZE/2]} x_c'^2,   y_c = x_c * s_c^-beta
 * Backward: dx_c = dy_c s_c^-beta - 2 alpha beta/SIZE x_c sum_{c' : c in window(c')} dy_c' y_c' / s_c'
 * One work-item per eight positions of an image, in float8 (the CPU's vector registers:
 * positions are contiguous, channels HW apart), walking the channels in order; the last
 * chunk of a plane whose size is not a multiple of eight is read and written partially.
 * Backward in two linear passes. */

/* Eight positions from p (fewer at the plane's end: zeros beyond), and back. */
static float8 load8(__global const float *p, const int n)
{
    if (n >= 8)
        return vload8(0, p);
    float v[8];
    for (int t = 0; t < 8; t++)
        v[t] = t < n ? p[t] : 0.0f;
    return vload8(0, v);
}

static void store8(const float8 v, __global float *p, const int n)
{
    if (n >= 8) {
        vstore8(v, 0, p);
        return;
    }
    float w[8];
    vstore8(v, 0, w);
    for (int t = 0; t < n; t++)
        p[t] = w[t];
}

/* s_c for eight positions; xp points at channel 0 of them. */
static float8 lrn_scale(__global const float *xp, const int n, const int c, const int C, const int HW,
                        const int size, const float alpha, const float k)
{
    float8 sum = (float8)(0.0f);
    const int lo = max(c - size / 2, 0), hi = min(c + size / 2, C - 1);
    for (int j = lo; j <= hi; j++) {
        const float8 v = load8(xp + j * HW, n);
        sum += v * v;
    }
    return k + alpha / (float)size * sum;
}

/* s^-beta. The paper's networks use beta = 0.75, which square roots give exactly and
 * fast; a general power is a log and an exp. */
static float8 inverse_power(const float8 s, const float beta)
{
    if (beta == 0.75f) {
        const float8 r = rsqrt(s);
        return r * sqrt(r);
    }
    return exp2(-beta * log2(s));
}

/* Work-item i: image n and the first of its (at most) eight positions p; n_left of them. */
#define LRN_ITEM()                                                                                 \
    const int chunks = (HW + 7) / 8, i = get_global_id(0);                                        \
    if (i >= N * chunks)                                                                           \
        return;                                                                                    \
    const int n = i / chunks, p = (i - n * chunks) * 8, n_left = HW - p

__kernel void lrn_forward(__global float *y, const int y_off, const int y_ns,
                          __global const float *x, const int x_off, const int x_ns,
                          const int N, const int C, const int HW,
                          const int size, const float alpha, const float beta, const float k)
{
    LRN_ITEM();
    __global const float *xp = x + x_off + n * x_ns + p;
    __global float *yp = y + y_off + n * y_ns + p;
    for (int c = 0; c < C; c++) {
        const float8 s = lrn_scale(xp, n_left, c, C, HW, size, alpha, k);
        store8(load8(xp + c * HW, n_left) * inverse_power(s, beta), yp + c * HW, n_left);
    }
}

/* Backward, pass 1: per element, u_c = s_c^-beta into u and t_c = dy_c x_c u_c / s_c into
 * t = u + t_off (one workspace, NCHW without padding), so pass 2 sums windows of t instead
 * of recomputing SIZE scales and powers per element. */
__kernel void lrn_backward_prepare(__global float *u, const int t_off,
                                   __global const float *dy, const int dy_off, const int dy_ns,
                                   __global const float *x, const int x_off, const int x_ns,
                                   const int N, const int C, const int HW,
                                   const int size, const float alpha, const float beta, const float k)
{
    LRN_ITEM();
    __global const float *xp = x + x_off + n * x_ns + p, *dyp = dy + dy_off + n * dy_ns + p;
    __global float *up = u + n * C * HW + p;
    for (int c = 0; c < C; c++) {
        const float8 s = lrn_scale(xp, n_left, c, C, HW, size, alpha, k), us = inverse_power(s, beta);
        store8(us, up + c * HW, n_left);
        store8(load8(dyp + c * HW, n_left) * load8(xp + c * HW, n_left) * us / s, up + t_off + c * HW, n_left);
    }
}

/* Pass 2: dx_c += dy_c u_c - 2 alpha beta/SIZE x_c sum_{j in window(c)} t_j (windows are
 * symmetric: c is in window(j) iff j is in window(c)). */
__kernel void lrn_backward(__global float *dx, const int dx_off, const int dx_ns,
                           __global const float *dy, const int dy_off, const int dy_ns,
                           __global const float *x, const int x_off, const int x_ns,
                           __global const float *u, const int t_off,
                           const int N, const int C, const int HW,
                           const int size, const float alpha, const float beta)
{
    LRN_ITEM();
    __global const float *xp = x + x_off + n * x_ns + p, *dyp = dy + dy_off + n * dy_ns + p;
    __global const float *up = u + n * C * HW + p;
    __global float *dxp = dx + dx_off + n * dx_ns + p;
    const float factor = 2.0f * alpha * beta / (float)size;
    for (int c = 0; c < C; c++) {
        float8 cross = (float8)(0.0f);
        const int lo = max(c - size / 2, 0), hi = min(c + size / 2, C - 1);
        for (int j = lo; j <= hi; j++)
            cross += load8(up + t_off + j * HW, n_left);
        const float8 d = load8(dxp + c * HW, n_left) + load8(dyp + c * HW, n_left) * load8(up + c * HW, n_left) -
                         factor * load8(xp + c * HW, n_left) * cross;
        store8(d, dxp + c * HW, n_left);
    }
}
