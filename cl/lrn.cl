/* Local response normalisation across channels (AlexNet/GoogLeNet "norm"):
 *   s_c = k + alpha/SIZE * sum_{c' in [c - SIZE/2, c + SIZE/2]} x_c'^2,   y_c = x_c * s_c^-beta
 * Backward: dx_c = dy_c s_c^-beta - 2 alpha beta/SIZE x_c sum_{c' : c in window(c')} dy_c' y_c' / s_c' */

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

/* xp points at channel 0 of one pixel; channels are HW apart. */
__kernel void lrn_forward(__global float *y, const int y_off, const int y_ns,
                          __global const float *x, const int x_off, const int x_ns,
                          const int N, const int C, const int HW,
                          const int size, const float alpha, const float beta, const float k)
{
    const int i = get_global_id(0);
    if (i >= N * C * HW)
        return;
    const int p = i % HW, c = (i / HW) % C, n = i / (HW * C);
    __global const float *xp = x + x_off + n * x_ns + p;
    const float s = lrn_scale(xp, c, C, HW, size, alpha, k);
    y[y_off + n * y_ns + c * HW + p] = xp[c * HW] * pow(s, -beta);
}

__kernel void lrn_backward(__global float *dx, const int dx_off, const int dx_ns,
                           __global const float *dy, const int dy_off, const int dy_ns,
                           __global const float *x, const int x_off, const int x_ns,
                           const int N, const int C, const int HW,
                           const int size, const float alpha, const float beta, const float k)
{
    const int i = get_global_id(0);
    if (i >= N * C * HW)
        return;
    const int p = i % HW, c = (i / HW) % C, n = i / (HW * C);
    __global const float *xp = x + x_off + n * x_ns + p;
    __global const float *dyp = dy + dy_off + n * dy_ns + p;
    const float xc = xp[c * HW];
    float acc = dyp[c * HW] * pow(lrn_scale(xp, c, C, HW, size, alpha, k), -beta);
    float cross = 0.0f;
    const int lo = max(c - size / 2, 0), hi = min(c + size / 2, C - 1);
    for (int j = lo; j <= hi; j++) { /* windows are symmetric: c in window(j) iff j in window(c) */
        const float s = lrn_scale(xp, j, C, HW, size, alpha, k);
        cross += dyp[j * HW] * xp[j * HW] * pow(s, -beta - 1.0f);
    }
    acc -= 2.0f * alpha * beta / (float)size * xc * cross;
    dx[dx_off + n * dx_ns + c * HW + p] += acc;
}
