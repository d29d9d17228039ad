/* The contrastive loss (DeepID2, Sun et al. 2014) over every pair of the batch's
 * embeddings e (B x D, row i at e_off + i * e_ns), d the L2 distance of a pair:
 *   same identity:      1/2 max(0, d - pos_margin)^2   (pulled together)
 *   different ones:     1/2 max(0, neg_margin - d)^2   (pushed apart)
 * One work-item per image i sums its pairs: stats[2i] = half of them (each pair is
 * seen from both ends), stats[2i + 1] = the pairs (i, j > i) with a loss above 0.
 * With gradient, de_i += scale * sum_j l'(d_ij) (e_i - e_j) / d_ij (a pair at d = 0
 * gives no direction, and no gradient). */
__kernel void contrastive(__global float *de, __global const float *e, const int e_off, const int e_ns,
                          __global const int *labels, __global float *stats, const int B, const int D,
                          const float pos_margin, const float neg_margin, const float scale, const int gradient)
{
    const int i = get_global_id(0);
    if (i >= B)
        return;
    __global const float *ei = e + e_off + i * e_ns;
    __global float *dei = de + e_off + i * e_ns;
    float loss = 0.0f, active = 0.0f;
    for (int j = 0; j < B; j++) {
        if (j == i)
            continue;
        __global const float *ej = e + e_off + j * e_ns;
        float d2 = 0.0f;
        for (int k = 0; k < D; k++)
            d2 += (ei[k] - ej[k]) * (ei[k] - ej[k]);
        const float d = sqrt(d2);
        const float gap = labels[j] == labels[i] ? fmax(d - pos_margin, 0.0f) : fmax(neg_margin - d, 0.0f);
        loss += 0.25f * gap * gap; /* 1/2 of the pair's 1/2 gap^2 */
        active += j > i && gap > 0.0f ? 1.0f : 0.0f;
        if (!gradient || gap == 0.0f || d == 0.0f)
            continue;
        const float coef = scale * (labels[j] == labels[i] ? gap : -gap) / d;
        for (int k = 0; k < D; k++)
            dei[k] += coef * (ei[k] - ej[k]);
    }
    stats[2 * i] = loss;
    stats[2 * i + 1] = active;
}
