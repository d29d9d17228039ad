/* The multiplicative angular margin (src/loss/angular.c): L-Softmax (Liu et al. 2016)
 * and A-Softmax / SphereFace (Liu et al. 2017) over a cosine head. Row i's logits are
 * f_j = |x_i| |w_j| cos theta_ij (SphereFace: |w_j| = 1) and, for the label,
 *   f_y = |x_i| |w_y| (lambda cos theta_y + psi(theta_y)) / (1 + lambda),
 *   psi(theta) = (-1)^k cos(m theta) - 2k for theta in [k pi / m, (k + 1) pi / m],
 * cos(m theta) as the Chebyshev polynomial T_m of cos theta (m = 1..4), so psi is
 * monotonic in theta and smooth in cos theta within each piece. The loss is softmax
 * cross-entropy over f. */

static float chebyshev(const int m, const float c)
{
    switch (m) {
    case 1: return c;
    case 2: return 2.0f * c * c - 1.0f;
    case 3: return (4.0f * c * c - 3.0f) * c;
    default: return 8.0f * c * c * (c * c - 1.0f) + 1.0f;
    }
}

static float chebyshev_slope(const int m, const float c)
{
    switch (m) {
    case 1: return 1.0f;
    case 2: return 4.0f * c;
    case 3: return 12.0f * c * c - 3.0f;
    default: return 32.0f * c * c * c - 16.0f * c;
    }
}

/* One work-item per image. c: the head's cosines; x: its input (the embedding); wn:
 * the class vectors' norms (use_wn 0: all 1). stats[2i] = loss_i, stats[2i + 1] = 1 when
 * the largest |w_j| cos theta_ij is not the label's. With gradient (scale = weight / B):
 * dc_i += dL/dc_i, dx_i += dL/d|x_i| x_i / |x_i|, and prod[i C + j] = dL/df_ij f_ij, from
 * which angular_weight_norms adds the class vectors' norm gradient. */
__kernel void angular_xent(__global float *grad, __global const float *acts, const int c_off, const int c_ns,
                           const int x_off, const int x_ns, const int D, __global const int *labels,
                           __global float *stats, __global float *prod, __global const float *wn, const int use_wn,
                           const int B, const int C, const int m, const float lambda, const float scale,
                           const int gradient)
{
    const int i = get_global_id(0);
    if (i >= B)
        return;
    __global const float *ci = acts + c_off + i * c_ns, *xi = acts + x_off + i * x_ns;
    const int y = labels[i];
    float nx = 0.0f;
    for (int d = 0; d < D; d++)
        nx += xi[d] * xi[d];
    nx = fmax(sqrt(nx), 1e-6f);
    const float ct = clamp(ci[y], -1.0f, 1.0f);
    const int k = min((int)floor((float)m * acos(ct) / M_PI_F), m - 1);
    const float sign = (k & 1) ? -1.0f : 1.0f;
    const float psi = sign * chebyshev(m, ct) - 2.0f * (float)k, dpsi = sign * chebyshev_slope(m, ct);
    const float wy = use_wn ? wn[y] : 1.0f;
    const float fy = nx * wy * (lambda * ct + psi) / (1.0f + lambda);
    float top = fy, best = -INFINITY;
    int argmax = 0;
    for (int j = 0; j < C; j++) {
        const float wj = use_wn ? wn[j] : 1.0f;
        if (j != y)
            top = fmax(top, nx * wj * ci[j]);
        if (wj * ci[j] > best || isnan(ci[j])) {
            best = wj * ci[j];
            argmax = j;
        }
    }
    float sum = 0.0f;
    for (int j = 0; j < C; j++)
        sum += exp((j == y ? fy : nx * (use_wn ? wn[j] : 1.0f) * ci[j]) - top);
    stats[2 * i] = (top - fy) + log(sum);
    stats[2 * i + 1] = argmax != y ? 1.0f : 0.0f;
    if (!gradient)
        return;
    __global float *dci = grad + c_off + i * c_ns, *dxi = grad + x_off + i * x_ns;
    float dnx = 0.0f;
    for (int j = 0; j < C; j++) {
        const float wj = use_wn ? wn[j] : 1.0f;
        const float f = j == y ? fy : nx * wj * ci[j];
        const float g = scale * (exp(f - top) / sum - (j == y ? 1.0f : 0.0f));
        dnx += g * f / nx;
        dci[j] += g * nx * wj * (j == y ? (lambda + dpsi) / (1.0f + lambda) : 1.0f);
        prod[i * C + j] = g * f;
    }
    for (int d = 0; d < D; d++)
        dxi[d] += dnx * xi[d] / nx;
}

/* L-Softmax's class-vector norms: dw_j += (sum_i prod[i C + j]) w_j / |w_j|^2, one
 * work-item per (j, d). */
__kernel void angular_weight_norms(__global float *dw, const int w_off, __global const float *w,
                                   __global const float *prod, __global const float *wn, const int B, const int C,
                                   const int D)
{
    const int g = get_global_id(0);
    if (g >= C * D)
        return;
    const int j = g / D, d = g % D;
    float s = 0.0f;
    for (int i = 0; i < B; i++)
        s += prod[i * C + j];
    dw[w_off + j * D + d] += s * w[w_off + j * D + d] / (wn[j] * wn[j]);
}
