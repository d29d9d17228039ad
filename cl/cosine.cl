/* The cosine layer (src/layers/cosine.c): y_ij = <x_i, w_j> / (|x_i| |w_j|), the
 * classifier head of the cosine-margin losses. Norms are max(|v|, 1e-6) so a zero row
 * gives zero cosines, not NaN. */

/* norm[norm_off + r] = max(|row r|, 1e-6) for rows of cols floats, row r at off + r * stride. */
__kernel void row_norms(__global float *norm, const int norm_off, __global const float *v, const int off,
                        const int stride, const int rows, const int cols)
{
    const int r = get_global_id(0);
    if (r >= rows)
        return;
    __global const float *row = v + off + r * stride;
    float s = 0.0f;
    for (int d = 0; d < cols; d++)
        s += row[d] * row[d];
    norm[norm_off + r] = fmax(sqrt(s), 1e-6f);
}

/* One work-item per (i, j). norms: B of x, then C of w. */
__kernel void cosine_forward(__global float *y, const int y_off, const int y_ns, __global const float *x,
                             const int x_off, const int x_ns, __global const float *w, const int w_off,
                             __global const float *norms, const int B, const int C, const int D)
{
    const int g = get_global_id(0);
    if (g >= B * C)
        return;
    const int i = g / C, j = g % C;
    __global const float *xi = x + x_off + i * x_ns, *wj = w + w_off + j * D;
    float dot = 0.0f;
    for (int d = 0; d < D; d++)
        dot += xi[d] * wj[d];
    y[y_off + i * y_ns + j] = dot / (norms[i] * norms[B + j]);
}

/* dx_id += sum_j dy_ij (w_jd / (|x_i| |w_j|) - y_ij x_id / |x_i|^2), one work-item per (i, d). */
__kernel void cosine_backward_input(__global float *dx, const int x_off, const int x_ns, __global const float *dy,
                                    const int y_off, const int y_ns, __global const float *acts,
                                    __global const float *w, const int w_off, __global const float *norms,
                                    const int B, const int C, const int D)
{
    const int g = get_global_id(0);
    if (g >= B * D)
        return;
    const int i = g / D, d = g % D;
    const float nx = norms[i], xd = acts[x_off + i * x_ns + d];
    float s = 0.0f;
    for (int j = 0; j < C; j++) {
        const float gy = dy[y_off + i * y_ns + j], yij = acts[y_off + i * y_ns + j];
        s += gy * (w[w_off + j * D + d] / (nx * norms[B + j]) - yij * xd / (nx * nx));
    }
    dx[x_off + i * x_ns + d] += s;
}

/* dw_jd += sum_i dy_ij (x_id / (|x_i| |w_j|) - y_ij w_jd / |w_j|^2), one work-item per (j, d). */
__kernel void cosine_backward_weight(__global float *dw, const int w_off, __global const float *dy, const int y_off,
                                     const int y_ns, __global const float *acts, const int x_off, const int x_ns,
                                     __global const float *w, __global const float *norms, const int B, const int C,
                                     const int D)
{
    const int g = get_global_id(0);
    if (g >= C * D)
        return;
    const int j = g / D, d = g % D;
    const float nw = norms[B + j], wd = w[w_off + j * D + d];
    float s = 0.0f;
    for (int i = 0; i < B; i++) {
        const float gy = dy[y_off + i * y_ns + j], yij = acts[y_off + i * y_ns + j];
        s += gy * (acts[x_off + i * x_ns + d] / (norms[i] * nw) - yij * wd / (nw * nw));
    }
    dw[w_off + j * D + d] += s;
}
