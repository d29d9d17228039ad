/* Local response normalisation across channels (AlexNet/GoogLeNet "norm"):
 *   s_c = k + alpha/SIZE * sum_{c' in [c - SIZE/2, c + SIZE/2]} x_c'^2,   y_c = x_c * s_c^-beta
 * Backward: dx_c = dy_c s_c^-beta - 2 alpha beta/SIZE x_c sum_{c' : c in window(c')} dy_c' y_c' / s_c'
 * Forward and backward are one work-item per element, in two linear passes backward. */

static float lrn_scale(__global const float *xp, const int c, const int C, const int HW, const int size,
                       const float alpha, const float k)
{
    float sum = 0.0f;
    const int lo = max(c - size / 2, 0), hi = min(c + size / 2, C - 1);
    for (int j = lo; j <= hi; j++) {
        const float v = xp[j * HW];
        sum += v * v;
    }
    return k + alpha / (float)size * sum;
}

/* s^-beta. The paper's networks use beta = 0.75, which square roots give exactly and
 * fast; a general power is a log and an exp, which PoCL runs as scalar calls. */
static float inverse_power(const float s, const float beta)
{
    if (beta == 0.75f) {
        const float r = rsqrt(s);
        return r * sqrt(r);
    }
    return exp2(-beta * log2(s));
}

/* Element i = (n, c, p) of an N x C x HW tensor: its place in a view (off, ns)... */
static int at(const int i, const int off, const int ns, const int C, const int HW)
{
    return off + i / (C * HW) * ns + i % (C * HW);
}

/* ... and its scale s_c (channels are HW apart). */
static float element_scale(__global const float *x, const int x_off, const int x_ns, const int i, const int C,
                           const int HW, const int size, const float alpha, const float k)
{
    const int p = i % HW, c = (i / HW) % C, n = i / (HW * C);
    return lrn_scale(x + x_off + n * x_ns + p, c, C, HW, size, alpha, k);
}

__kernel void lrn_forward(__global float *y, const int y_off, const int y_ns,
                          __global const float *x, const int x_off, const int x_ns,
                          const int N, const int C, const int HW,
                          const int size, const float alpha, const float beta, const float k)
{
    const int i = get_global_id(0);
    if (i >= N * C * HW)
        return;
    const float s = element_scale(x, x_off, x_ns, i, C, HW, size, alpha, k);
    y[at(i, y_off, y_ns, C, HW)] = x[at(i, x_off, x_ns, C, HW)] * inverse_power(s, beta);
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
    const int i = get_global_id(0);
    if (i >= N * C * HW)
        return;
    const float s = element_scale(x, x_off, x_ns, i, C, HW, size, alpha, k), us = inverse_power(s, beta);
    u[i] = us;
    u[t_off + i] = dy[at(i, dy_off, dy_ns, C, HW)] * x[at(i, x_off, x_ns, C, HW)] * us / s;
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
    const int i = get_global_id(0);
    if (i >= N * C * HW)
        return;
    const int p = i % HW, c = (i / HW) % C, n = i / (HW * C);
    float cross = 0.0f;
    const int lo = max(c - size / 2, 0), hi = min(c + size / 2, C - 1);
    for (int j = lo; j <= hi; j++)
        cross += u[t_off + (n * C + j) * HW + p];
    dx[at(i, dx_off, dx_ns, C, HW)] += dy[at(i, dy_off, dy_ns, C, HW)] * u[i] -
                                       2.0f * alpha * beta / (float)size * x[at(i, x_off, x_ns, C, HW)] * cross;
}
