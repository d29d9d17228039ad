/* Maxout over groups of G consecutive channels: y[n,j,p] = max_t x[n, j*G + t, p].
 * x: (N, C*G, HW)  y: (N, C, HW).  Backward sends the gradient to the first maximum. */

__kernel void maxout_forward(__global float *y, const int y_off, const int y_ns,
                             __global const float *x, const int x_off, const int x_ns,
                             const int N, const int C, const int HW, const int G)
{
    const int i = get_global_id(0);
    if (i >= N * C * HW)
        return;
    const int p = i % HW, j = (i / HW) % C, n = i / (HW * C);
    __global const float *xp = x + x_off + n * x_ns + j * G * HW + p;
    float m = xp[0];
    for (int t = 1; t < G; t++)
        m = isnan(m) || xp[t * HW] <= m ? m : xp[t * HW]; /* a NaN stays */
    y[y_off + n * y_ns + j * HW + p] = m;
}

/* One work-item per input element. */
__kernel void maxout_backward(__global float *dx, const int dx_off, const int dx_ns,
                              __global const float *dy, const int dy_off, const int dy_ns,
                              __global const float *x, const int x_off, const int x_ns,
                              const int N, const int C, const int HW, const int G)
{
    const int i = get_global_id(0);
    if (i >= N * C * G * HW)
        return;
    const int p = i % HW, ci = (i / HW) % (C * G), n = i / (HW * C * G);
    const int j = ci / G;
    __global const float *xp = x + x_off + n * x_ns + j * G * HW + p;
    int best = 0;
    for (int t = 1; t < G; t++)
        if (xp[t * HW] > xp[best * HW])
            best = t;
    if (best == ci - j * G)
        dx[dx_off + n * dx_ns + ci * HW + p] += dy[dy_off + n * dy_ns + j * HW + p];
}
