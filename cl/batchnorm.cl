/* Batch normalisation per channel over (N, H, W).  params at p_off: gamma[C], beta[C],
 * running_mean[C], running_var[C].  state at s_off: mean[C], inv_std[C] of the batch,
 * saved for backward, and backward's two sums[C].  One work-item per channel.  Each pass
 * is two kernels: sums, then what uses them, so that data-parallel replicas can add
 * their sums in between (synchronised batch statistics). */

static float hsum8(const float8 v)
{
    const float4 h = v.lo + v.hi;
    return h.x + h.y + h.z + h.w;
}

/* Sum and sum of squares of plane[0..HW), eight at a time (the CPU's vector registers)
 * and the tail one by one. */
static float2 plane_sums(__global const float *plane, const int HW)
{
    float8 sum = 0.0f, sq = 0.0f;
    int j = 0;
    for (; j + 8 <= HW; j += 8) {
        const float8 v = vload8(0, plane + j);
        sum += v;
        sq += v * v;
    }
    float s = 0.0f, q = 0.0f;
    for (; j < HW; j++) {
        s += plane[j];
        q += plane[j] * plane[j];
    }
    return (float2)(s + hsum8(sum), q + hsum8(sq));
}

/* Training, first half: s[c] = the sum of channel c over the batch's (N, H, W), s[C + c]
 * the sum of its squares (over several replicas' batches, they are summed next). */
__kernel void batchnorm_sums(__global const float *x, const int x_off, const int x_ns, __global float *s,
                             const int s_off, const int N, const int C, const int HW)
{
    const int c = get_global_id(0);
    if (c >= C)
        return;
    float sum = 0.0f, sq = 0.0f;
    for (int n = 0; n < N; n++) {
        const float2 t = plane_sums(x + x_off + n * x_ns + c * HW, HW);
        sum += t.x;
        sq += t.y;
    }
    s[s_off + c] = sum;
    s[s_off + C + c] = sq;
}

/* y = gamma (x - mean) inv_std + beta.  Training: mean and variance from the sums in s
 * over `images` images (the whole batch, of every replica), the running ones updated,
 * and s = mean, inv_std for backward; inference: the running ones. */
__kernel void batchnorm_normalize(__global float *y, const int y_off, const int y_ns,
                                  __global const float *x, const int x_off, const int x_ns,
                                  __global float *p, const int p_off, __global float *s, const int s_off,
                                  const int N, const int C, const int HW, const int images, const float eps,
                                  const float momentum, const int training, const int relu)
{
    const int c = get_global_id(0);
    if (c >= C)
        return;
    float mean, var;
    if (training) {
        const float count = (float)(images * HW);
        mean = s[s_off + c] / count;
        var = fmax(s[s_off + C + c] / count - mean * mean, 0.0f);
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
    for (int n = 0; n < N; n++) {
        __global const float *xp = x + x_off + n * x_ns + c * HW;
        __global float *yp = y + y_off + n * y_ns + c * HW;
        int j = 0;
        for (; j + 8 <= HW; j += 8) {
            const float8 v = vload8(0, xp + j) * g + b;
            vstore8(relu ? select(v, (float8)(0.0f), v < 0.0f) : v, 0, yp + j); /* NaN passes, as it must */
        }
        for (; j < HW; j++) {
            const float v = xp[j] * g + b;
            yp[j] = relu && v < 0.0f ? 0.0f : v;
        }
    }
}

/* The output's gradient as the layer sees it: with a fused ReLU, zero where the output
 * y is not positive (NaN included), as relu_backward would leave it. */
static float8 seen_gradient8(__global const float *dy, __global const float *y, const int relu)
{
    const float8 g = vload8(0, dy);
    return relu ? select((float8)(0.0f), g, vload8(0, y) > 0.0f) : g;
}

static float seen_gradient(__global const float *dy, __global const float *y, const int relu)
{
    return relu && !(*y > 0.0f) ? 0.0f : *dy;
}

/* Training-mode backward: dx += gamma inv_std (dy - mean(dy) - xhat mean(dy xhat));
 * dgamma += sum dy xhat; dbeta += sum dy; dy masked by the fused ReLU (relu = 1, from
 * the output y), so no separate relu_backward pass reads and writes it.  First half:
 * this batch's sums into dgamma and dbeta, and into s[2C + c] (sum dy) and s[3C + c]
 * (sum dy (x - mean)), which several replicas sum before the second half. */
__kernel void batchnorm_backward_sums(__global const float *dy, const int dy_off, const int dy_ns,
                                      __global const float *y, const int y_off, const int y_ns,
                                      __global const float *x, const int x_off, const int x_ns,
                                      __global float *dp, const int dp_off, __global float *s, const int s_off,
                                      const int N, const int C, const int HW, const int relu)
{
    const int c = get_global_id(0);
    if (c >= C)
        return;
    const float mean = s[s_off + c], inv_std = s[s_off + C + c];
    float8 sum8 = 0.0f, dot8 = 0.0f;
    float sum_dy = 0.0f, sum_dy_xc = 0.0f; /* sum of dy (x - mean) */
    for (int n = 0; n < N; n++) {
        __global const float *dyp = dy + dy_off + n * dy_ns + c * HW, *yp = y + y_off + n * y_ns + c * HW;
        __global const float *xp = x + x_off + n * x_ns + c * HW;
        int j = 0;
        for (; j + 8 <= HW; j += 8) {
            const float8 g = seen_gradient8(dyp + j, yp + j, relu);
            sum8 += g;
            dot8 += g * (vload8(0, xp + j) - mean);
        }
        for (; j < HW; j++) {
            const float g = seen_gradient(dyp + j, yp + j, relu);
            sum_dy += g;
            sum_dy_xc += g * (xp[j] - mean);
        }
    }
    sum_dy += hsum8(sum8);
    sum_dy_xc += hsum8(dot8);
    dp[dp_off + c] += inv_std * sum_dy_xc;
    dp[dp_off + C + c] += sum_dy;
    s[s_off + 2 * C + c] = sum_dy;
    s[s_off + 3 * C + c] = sum_dy_xc;
}

/* Second half: dx from the sums in s over `images` images. */
__kernel void batchnorm_backward_input(__global float *dx, const int dx_off, const int dx_ns,
                                       __global const float *dy, const int dy_off, const int dy_ns,
                                       __global const float *y, const int y_off, const int y_ns,
                                       __global const float *x, const int x_off, const int x_ns,
                                       __global const float *p, const int p_off, __global const float *s,
                                       const int s_off, const int N, const int C, const int HW, const int images,
                                       const int relu)
{
    const int c = get_global_id(0);
    if (c >= C)
        return;
    const float mean = s[s_off + c], inv_std = s[s_off + C + c];
    const float sum_dy = s[s_off + 2 * C + c], sum_dy_xhat = inv_std * s[s_off + 3 * C + c];
    const float count = (float)(images * HW), scale = p[p_off + c] * inv_std;
    /* dx += scale (g - sum_dy / count - (x - mean) inv_std sum_dy_xhat / count)
     *     = scale g + a (x - mean) + b */
    const float a = -scale * inv_std * sum_dy_xhat / count, b = -scale * sum_dy / count;
    for (int n = 0; n < N; n++) {
        __global const float *dyp = dy + dy_off + n * dy_ns + c * HW, *yp = y + y_off + n * y_ns + c * HW;
        __global const float *xp = x + x_off + n * x_ns + c * HW;
        __global float *dxp = dx + dx_off + n * dx_ns + c * HW;
        int j = 0;
        for (; j + 8 <= HW; j += 8)
            vstore8(vload8(0, dxp + j) + scale * seen_gradient8(dyp + j, yp + j, relu) +
                        a * (vload8(0, xp + j) - mean) + b,
                    0, dxp + j);
        for (; j < HW; j++)
            dxp[j] += scale * seen_gradient(dyp + j, yp + j, relu) + a * (xp[j] - mean) + b;
    }
}
