/* Softmax cross-entropy over the rows of logits z (B x C, row i at z_off + i * z_ns):
 * loss_i = log(sum_j exp(z_ij)) - z_i,y_i, computed from the row's maximum so exp never
 * overflows. stats[2i] = loss_i, stats[2i + 1] = 1 when the row's first maximum is not
 * the label (a misclassified image). With gradient, dz_i += scale * (softmax(z_i) -
 * onehot(y_i)). A NaN logit makes the loss NaN, which the host reports. */
__kernel void softmax_xent(__global float *dz, __global const float *z, const int z_off, const int z_ns,
                           __global const int *labels, __global float *stats, const int B, const int C,
                           const float scale, const int gradient)
{
    const int i = get_global_id(0);
    if (i >= B)
        return;
    __global const float *zi = z + z_off + i * z_ns;
    const int y = labels[i];
    float m = zi[0];
    int argmax = 0;
    for (int j = 1; j < C; j++)
        if (zi[j] > m || isnan(zi[j])) {
            m = zi[j];
            argmax = j;
            if (isnan(m))
                break;
        }
    float sum = 0.0f;
    for (int j = 0; j < C; j++)
        sum += exp(zi[j] - m);
    stats[2 * i] = (m - zi[y]) + log(sum); /* the difference first: exact when z_y is the maximum */
    stats[2 * i + 1] = argmax != y ? 1.0f : 0.0f;
    if (!gradient)
        return;
    __global float *dzi = dz + z_off + i * z_ns;
    for (int j = 0; j < C; j++)
        dzi[j] += scale * (exp(zi[j] - m) / sum - (j == y ? 1.0f : 0.0f));
}
