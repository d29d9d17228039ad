/* Triplet loss with online mining (FaceNet eq. 3), on a batch of B embeddings of D
 * values, labels[B]. dist is B x B squared L2 distances.
 *
 * Every strategy reduces to pair coefficients: anchor a owns row a of coef and adds +1
 * at (a, p) and -1 at (a, n) for each active triplet (loss > 0), so
 *   count * L = sum_a sum_j coef[a][j] d(a, j) + const, and
 *   dL/de_i = 2/count * sum_j (coef[i][j] + coef[j][i]) (e_i - e_j).
 * stats[4a..4a+3] = (loss sum, triplets counted, active triplets, non-finite distances)
 * of anchor a: a NaN embedding would otherwise lose every comparison and drop out
 * silently, so it is counted and the host reports the loss as NaN.
 * Strategies: 0 semi-hard, 1 batch-hard, 2 batch-all (see src/loss/triplet.c). */

__kernel void pairwise_sqdist(__global float *dist, __global const float *e, const int e_off, const int e_ns,
                              const int B, const int D)
{
    const int i = get_global_id(0);
    if (i >= B * B)
        return;
    const int a = i / B, b = i % B;
    float s = 0.0f;
    for (int k = 0; k < D; k++) {
        const float t = e[e_off + a * e_ns + k] - e[e_off + b * e_ns + k];
        s += t * t;
    }
    dist[i] = s;
}

/* The negative for (a, p) under semi-hard mining: the closest negative farther than
 * the positive; if every negative is closer, the farthest of them. -1 if none. */
static int semi_hard_negative(__global const float *da, __global const int *labels, const int a, const float dap,
                              const int B)
{
    int beyond = -1, closer = -1;
    for (int n = 0; n < B; n++) {
        if (labels[n] == labels[a])
            continue;
        if (da[n] > dap) {
            if (beyond < 0 || da[n] < da[beyond])
                beyond = n;
        } else if (closer < 0 || da[n] > da[closer]) {
            closer = n;
        }
    }
    return beyond >= 0 ? beyond : closer;
}

/* Running sums of one anchor. */
typedef struct anchor_sums {
    float loss, counted, active;
} anchor_sums;

/* Counts triplet (a, p, n) with loss l; an active one adds its pair coefficients. */
static void add_triplet(__global float *row, anchor_sums *s, const int p, const int n, const float l)
{
    s->counted += 1.0f;
    if (l > 0.0f) {
        s->loss += l, s->active += 1.0f;
        row[p] += 1.0f, row[n] -= 1.0f;
    }
}

__kernel void triplet_mine(__global float *coef, __global float *stats, __global const float *dist,
                           __global const int *labels, const int B, const float alpha, const int strategy)
{
    const int a = get_global_id(0);
    if (a >= B)
        return;
    __global const float *da = dist + a * B;
    __global float *row = coef + a * B;
    for (int j = 0; j < B; j++)
        row[j] = 0.0f;
    anchor_sums sums = {0.0f, 0.0f, 0.0f};
    float nonfinite = 0.0f;
    for (int j = 0; j < B; j++)
        nonfinite += isfinite(da[j]) ? 0.0f : 1.0f;
    if (strategy == 1) { /* batch-hard: farthest positive, nearest negative (first on ties) */
        int p = -1, n = -1;
        for (int j = 0; j < B; j++) {
            if (j == a)
                continue;
            if (labels[j] == labels[a]) {
                if (p < 0 || da[j] > da[p])
                    p = j;
            } else if (n < 0 || da[j] < da[n]) {
                n = j;
            }
        }
        if (p >= 0 && n >= 0)
            add_triplet(row, &sums, p, n, da[p] - da[n] + alpha);
    } else {
        for (int p = 0; p < B; p++) {
            if (p == a || labels[p] != labels[a])
                continue;
            if (strategy == 0) {
                const int n = semi_hard_negative(da, labels, a, da[p], B);
                if (n >= 0)
                    add_triplet(row, &sums, p, n, da[p] - da[n] + alpha);
            } else {
                for (int n = 0; n < B; n++)
                    if (labels[n] != labels[a])
                        add_triplet(row, &sums, p, n, da[p] - da[n] + alpha);
            }
        }
    }
    stats[4 * a] = sums.loss;
    stats[4 * a + 1] = sums.counted;
    stats[4 * a + 2] = sums.active;
    stats[4 * a + 3] = nonfinite;
}

/* de += scale * dL/de, scale = 1/count (0 when nothing was counted). */
__kernel void triplet_gradient(__global float *de, const int de_off, const int de_ns, __global const float *e,
                               const int e_off, const int e_ns, __global const float *coef, const int B, const int D,
                               const float scale)
{
    const int i = get_global_id(0);
    if (i >= B * D)
        return;
    const int b = i / D, k = i % D;
    const float eb = e[e_off + b * e_ns + k];
    float acc = 0.0f;
    for (int j = 0; j < B; j++) {
        const float c = coef[b * B + j] + coef[j * B + b];
        if (c != 0.0f)
            acc += c * (eb - e[e_off + j * e_ns + k]);
    }
    de[de_off + b * de_ns + k] += 2.0f * scale * acc;
}
