/* The cosine-margin losses (src/loss/margin.c) over cosines c (B x C, row i at
 * c_off + i * c_ns, from a cosine head): the target's cosine becomes psi(c_y), every
 * logit is s times its cosine, and the loss is softmax cross-entropy over those:
 *   variant 0 NormFace: psi = c
 *   variant 1 CosFace:  psi = c - m
 *   variant 2 ArcFace:  psi = cos(theta + m), theta = acos(c); where theta + m would
 *            pass pi (c <= cos(pi - m)) psi = c - m sin(m), which keeps the logit
 *            falling with theta; easy (easy margin): psi = c wherever c <= 0.
 * c is clamped to [-1 + 1e-6, 1 - 1e-6] first, so sin(theta) never reaches 0 and the
 * derivative stays finite. stats[2i] = loss_i, stats[2i + 1] = 1 when the row's largest
 * cosine is not the label's. With gradient, dc_i += scale * dL/dc_i. */
#define CLAMP_EPS 1e-6f

__kernel void margin_xent(__global float *dc, __global const float *c, const int c_off, const int c_ns,
                          __global const int *labels, __global float *stats, const int B, const int C,
                          const int variant, const float s, const float m, const int easy, const float scale,
                          const int gradient)
{
    const int i = get_global_id(0);
    if (i >= B)
        return;
    __global const float *ci = c + c_off + i * c_ns;
    const int y = labels[i];
    const float ct = clamp(ci[y], -1.0f + CLAMP_EPS, 1.0f - CLAMP_EPS);
    float psi = ct, dpsi = 1.0f;
    if (variant == 1) {
        psi = ct - m;
    } else if (variant == 2) {
        const float sin_t = sqrt((1.0f - ct) * (1.0f + ct)); /* 1 - ct is exact: no cancellation near +-1 */
        if ((easy && ct > 0.0f) || (!easy && ct > cos((float)M_PI - m))) {
            psi = ct * cos(m) - sin_t * sin(m);
            dpsi = cos(m) + ct * sin(m) / sin_t;
        } else if (!easy) {
            psi = ct - m * sin(m);
        }
    }
    /* Logits s c_j (s psi for the label): their maximum, then the log-sum-exp. */
    float top = s * psi, best = ci[0];
    int argmax = 0;
    for (int j = 0; j < C; j++) {
        if (j != y)
            top = fmax(top, s * ci[j]);
        if (j > 0 && (ci[j] > best || isnan(ci[j]))) { /* the first largest cosine */
            best = ci[j];
            argmax = j;
        }
    }
    float sum = 0.0f;
    for (int j = 0; j < C; j++)
        sum += exp((j == y ? s * psi : s * ci[j]) - top);
    stats[2 * i] = (top - s * psi) + log(sum);
    stats[2 * i + 1] = argmax != y ? 1.0f : 0.0f;
    if (!gradient)
        return;
    __global float *dci = dc + c_off + i * c_ns;
    for (int j = 0; j < C; j++) {
        const float p = exp((j == y ? s * psi : s * ci[j]) - top) / sum;
        dci[j] += j == y ? scale * s * (p - 1.0f) * dpsi : scale * s * p;
    }
}

/* AdaCos's batch statistics (Zhang et al. 2019) at the current scale s: stats[2i] =
 * sum over the other classes of exp(s cos theta_ij), stats[2i + 1] = cos theta_iy. */
__kernel void adacos_stats(__global const float *c, const int c_off, const int c_ns, __global const int *labels,
                           __global float *stats, const int B, const int C, const float s)
{
    const int i = get_global_id(0);
    if (i >= B)
        return;
    __global const float *ci = c + c_off + i * c_ns;
    const int y = labels[i];
    float sum = 0.0f;
    for (int j = 0; j < C; j++)
        sum += j == y ? 0.0f : exp(s * ci[j]);
    stats[2 * i] = sum;
    stats[2 * i + 1] = ci[y];
}
