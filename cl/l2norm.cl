/* L2 normalisation of each sample's D values: y = x / ||x||.
 * Jacobian: dx = (dy - y (y . dy)) / ||x||  (darknet's version drops the y (y . dy) term).
 * One work-item per sample: D is the embedding size (128), small. */
#define L2NORM_EPS 1e-12f

static float inv_norm(__global const float *x, const int D)
{
    float ss = 0.0f;
    for (int j = 0; j < D; j++)
        ss += x[j] * x[j];
    return 1.0f / sqrt(ss + L2NORM_EPS);
}

__kernel void l2norm_forward(__global float *y, const int y_off, const int y_ns,
                             __global const float *x, const int x_off, const int x_ns,
                             const int N, const int D)
{
    const int n = get_global_id(0);
    if (n >= N)
        return;
    __global const float *xn = x + x_off + n * x_ns;
    const float inv = inv_norm(xn, D);
    for (int j = 0; j < D; j++)
        y[y_off + n * y_ns + j] = xn[j] * inv;
}

__kernel void l2norm_backward(__global float *dx, const int dx_off, const int dx_ns,
                              __global const float *dy, const int dy_off, const int dy_ns,
                              __global const float *x, const int x_off, const int x_ns,
                              const int N, const int D)
{
    const int n = get_global_id(0);
    if (n >= N)
        return;
    __global const float *xn = x + x_off + n * x_ns;
    __global const float *dyn = dy + dy_off + n * dy_ns;
    const float inv = inv_norm(xn, D);
    float dot = 0.0f;
    for (int j = 0; j < D; j++)
        dot += xn[j] * inv * dyn[j];
    for (int j = 0; j < D; j++)
        dx[dx_off + n * dx_ns + j] += (dyn[j] - xn[j] * inv * dot) * inv;
}
