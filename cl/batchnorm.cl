/* Batch normalisation per channel over (N, H, W).  params at p_off: gamma[C], beta[C],
 * running_mean[C], running_var[C].  stats at s_off: mean[C], inv_std[C] of the batch,
 * saved for backward.  One work-item per channel. */

__kernel void batchnorm_forward(__global float *y, const int y_off, const int y_ns,
                                __global const float *x, const int x_off, const int x_ns,
                                __global float *p, const int p_off, __global float *s, const int s_off,
                                const int N, const int C, const int HW, const float eps,
                                const float momentum, const int training, const int relu)
{
    const int c = get_global_id(0);
    if (c >= C)
        return;
    float mean, var;
    if (training) {
        float sum = 0.0f, sq = 0.0f;
        for (int n = 0; n < N; n++)
            for (int j = 0; j < HW; j++) {
                const float v = x[x_off + n * x_ns + c * HW + j];
                sum += v;
                sq += v * v;
            }
        const float count = (float)(N * HW);
        mean = sum / count;
        var = fmax(sq / count - mean * mean, 0.0f);
        p[p_off + 2 * C + c] = (1.0f - momentum) * p[p_off + 2 * C + c] + momentum * mean;
        p[p_off + 3 * C + c] = (1.0f - momentum) * p[p_off + 3 * C + c] +
                               momentum * var * (count > 1.0f ? count / (count - 1.0f) : 1.0f);
    } else {
        mean = p[p_off + 2 * C + c];
        var = p[p_off + 3 * C + c];
    }
    const float inv_std = 1.0f / sqrt(var + eps);
    s[s_off + c] = mean;
    s[s_off + C + c] = inv_std;
    const float g = p[p_off + c] * inv_std, b = p[p_off + C + c] - mean * g;
    for (int n = 0; n < N; n++)
        for (int j = 0; j < HW; j++) {
            const float v = x[x_off + n * x_ns + c * HW + j] * g + b;
            y[y_off + n * y_ns + c * HW + j] = relu && v < 0.0f ? 0.0f : v; /* NaN passes, as it must */
        }
}

/* Training-mode backward: dx += gamma inv_std (dy - mean(dy) - xhat mean(dy xhat));
 * dgamma += sum dy xhat; dbeta += sum dy. */
__kernel void batchnorm_backward(__global float *dx, const int dx_off, const int dx_ns,
                                 __global const float *dy, const int dy_off, const int dy_ns,
                                 __global const float *x, const int x_off, const int x_ns,
                                 __global const float *p, const int p_off, __global float *dp, const int dp_off,
                                 __global const float *s, const int s_off,
                                 const int N, const int C, const int HW)
{
    const int c = get_global_id(0);
    if (c >= C)
        return;
    const float mean = s[s_off + c], inv_std = s[s_off + C + c];
    float sum_dy = 0.0f, sum_dy_xhat = 0.0f;
    for (int n = 0; n < N; n++)
        for (int j = 0; j < HW; j++) {
            const float g = dy[dy_off + n * dy_ns + c * HW + j];
            sum_dy += g;
            sum_dy_xhat += g * (x[x_off + n * x_ns + c * HW + j] - mean) * inv_std;
        }
    dp[dp_off + c] += sum_dy_xhat;
    dp[dp_off + C + c] += sum_dy;
    const float count = (float)(N * HW), scale = p[p_off + c] * inv_std;
    for (int n = 0; n < N; n++)
        for (int j = 0; j < HW; j++) {
            const float xhat = (x[x_off + n * x_ns + c * HW + j] - mean) * inv_std;
            dx[dx_off + n * dx_ns + c * HW + j] +=
                scale * (dy[dy_off + n * dy_ns + c * HW + j] - sum_dy / count - xhat * sum_dy_xhat / count);
        }
}
