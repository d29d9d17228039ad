/* The centre loss (src/loss/center.c; Wen et al. 2016): each embedding x_i pulled
 * towards its identity's centre c_y. */

/* stats[2i] = 1/2 |x_i - c_y|^2, stats[2i + 1] = 0; with gradient, dx_i += scale (x_i - c_y). */
__kernel void center_loss(__global float *dx, __global const float *x, const int x_off, const int x_ns,
                          __global const int *labels, __global const float *centers, __global float *stats,
                          const int B, const int D, const float scale, const int gradient)
{
    const int i = get_global_id(0);
    if (i >= B)
        return;
    __global const float *xi = x + x_off + i * x_ns, *c = centers + labels[i] * D;
    float s = 0.0f;
    for (int d = 0; d < D; d++) {
        const float diff = xi[d] - c[d];
        s += diff * diff;
        if (gradient)
            dx[x_off + i * x_ns + d] += scale * diff;
    }
    stats[2 * i] = 0.5f * s;
    stats[2 * i + 1] = 0.0f;
}

/* The paper's update, one work-item per (j, d): c_j -= rate * sum_{y_i = j} (c_j - x_i) / (1 + n_j). */
__kernel void center_update(__global float *centers, __global const float *x, const int x_off, const int x_ns,
                            __global const int *labels, const int B, const int C, const int D, const float rate)
{
    const int g = get_global_id(0);
    if (g >= C * D)
        return;
    const int j = g / D, d = g % D;
    float sum = 0.0f;
    int n = 0;
    for (int i = 0; i < B; i++)
        if (labels[i] == j) {
            sum += centers[g] - x[x_off + i * x_ns + d];
            n++;
        }
    centers[g] -= rate * sum / (1.0f + (float)n);
}
