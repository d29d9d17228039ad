#include "eval/metrics.h"
#include "runtime/log.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct scored {
    double d;
    bool same;
} scored;

static int by_distance(const void *a, const void *b)
{
    double x = ((const scored *)a)->d, y = ((const scored *)b)->d;
    return x < y ? -1 : x > y;
}

static int by_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

/* The threshold with the best accuracy on s[0..n) (sorted): accepting the first i pairs
 * is right for the same pairs among them and the different ones after. Ties in accuracy
 * go to the smallest threshold. */
static double best_threshold(const scored *s, int n)
{
    int total_diff = 0;
    for (int i = 0; i < n; i++)
        total_diff += !s[i].same;
    int same_in = 0, diff_in = 0, best = total_diff; /* accept none */
    double t = n && s[0].d >= 1e-6 ? s[0].d - 1e-6 : 0; /* a distance is never below 0, nor a threshold */
    for (int i = 0; i < n; i++) {
        same_in += s[i].same;
        diff_in += !s[i].same;
        if (i + 1 < n && s[i + 1].d == s[i].d)
            continue; /* a threshold cannot split equal distances */
        int correct = same_in + (total_diff - diff_in);
        if (correct > best) {
            best = correct;
            t = i + 1 < n ? 0.5 * (s[i].d + s[i + 1].d) : s[i].d + 1e-6;
        }
    }
    return t;
}

fcl_status fcl_kfold_accuracy(const double *dist, const bool *same, const int *fold, int n, int folds, double *mean,
                              double *std, double *threshold)
{
    if (folds < 2 || n < folds)
        return FCL_ERR_INVALID_ARGUMENT;
    scored *train = malloc((size_t)n * sizeof *train);
    double *acc = calloc((size_t)folds, sizeof *acc);
    if (!train || !acc) {
        free(train);
        free(acc);
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    }
    double t_sum = 0;
    for (int f = 0; f < folds; f++) {
        int m = 0;
        for (int i = 0; i < n; i++)
            if (fold[i] != f)
                train[m++] = (scored){dist[i], same[i]};
        qsort(train, (size_t)m, sizeof *train, by_distance);
        double t = best_threshold(train, m);
        t_sum += t;
        int right = 0, count = 0;
        for (int i = 0; i < n; i++)
            if (fold[i] == f) {
                right += (dist[i] <= t) == same[i];
                count++;
            }
        acc[f] = count ? (double)right / count : 0;
    }
    double s = 0, ss = 0;
    for (int f = 0; f < folds; f++)
        s += acc[f];
    *mean = s / folds;
    for (int f = 0; f < folds; f++)
        ss += (acc[f] - *mean) * (acc[f] - *mean);
    *std = sqrt(ss / folds);
    *threshold = t_sum / folds;
    free(train);
    free(acc);
    return FCL_SUCCESS;
}

/* Entries of sorted a[0..n) that are <= t. */
static size_t count_at_most(const float *a, size_t n, double t)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

fcl_status fcl_val_at_far(const float *same_d, size_t n_same, const float *diff_d, size_t n_diff, double far_target,
                          double *val, double *far, double *threshold)
{
    if (!(far_target > 0) || n_same == 0 || (double)n_diff * far_target < 1) {
        fcl_log(FCL_LOG_ERROR, "VAL at FAR %g needs at least %.0f different pairs (have %zu) and some same pairs "
                               "(have %zu): evaluate on more images of more identities (--far-images), or a larger "
                               "--far", far_target, far_target > 0 ? ceil(1 / far_target) : 0.0, n_diff, n_same);
        return FCL_ERR_INVALID_ARGUMENT;
    }
    float *diff = malloc(n_diff * sizeof *diff), *same = malloc(n_same * sizeof *same);
    if (!diff || !same) {
        free(diff);
        free(same);
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    }
    memcpy(diff, diff_d, n_diff * sizeof *diff);
    memcpy(same, same_d, n_same * sizeof *same);
    qsort(diff, n_diff, sizeof *diff, by_float);
    qsort(same, n_same, sizeof *same, by_float);
    /* At most k false accepts: every threshold below diff[k] qualifies; take the largest. */
    size_t k = (size_t)floor(far_target * (double)n_diff + 1e-9);
    double t = k < n_diff ? nextafter((double)diff[k], -INFINITY) : (double)diff[n_diff - 1];
    *threshold = t;
    *far = (double)count_at_most(diff, n_diff, t) / (double)n_diff;
    *val = (double)count_at_most(same, n_same, t) / (double)n_same;
    free(diff);
    free(same);
    return FCL_SUCCESS;
}

fcl_status fcl_roc(float *same_d, size_t n_same, float *diff_d, size_t n_diff, double *auc, double *eer,
                   fcl_roc_point *points, size_t max_points, size_t *n_points)
{
    if (n_same == 0 || n_diff == 0)
        return FCL_ERR_INVALID_ARGUMENT;
    qsort(same_d, n_same, sizeof *same_d, by_float);
    qsort(diff_d, n_diff, sizeof *diff_d, by_float);
    /* Walk the thresholds upward through both sorted lists; (fpr, tpr) rises from (0,0). */
    size_t i = 0, j = 0, kept = 0, step = (n_same + n_diff) / (max_points > 1 ? max_points - 1 : 1) + 1, seen = 0;
    double area = 0, prev_fpr = 0, prev_tpr = 0, eer_value = 1;
    bool eer_found = false;
    while (i < n_same || j < n_diff) {
        double t = i < n_same && (j >= n_diff || same_d[i] <= diff_d[j]) ? same_d[i] : diff_d[j];
        while (i < n_same && same_d[i] <= t)
            i++, seen++;
        while (j < n_diff && diff_d[j] <= t)
            j++, seen++;
        double tpr = (double)i / n_same, fpr = (double)j / n_diff;
        area += (fpr - prev_fpr) * (tpr + prev_tpr) / 2;
        if (!eer_found && 1 - tpr <= fpr) { /* the miss rate fell to the false accept rate: interpolate */
            double a0 = prev_fpr - (1 - prev_tpr), a1 = fpr - (1 - tpr), u = a1 != a0 ? -a0 / (a1 - a0) : 0;
            eer_value = prev_fpr + u * (fpr - prev_fpr);
            eer_found = true;
        }
        if (points && kept < max_points && (seen >= kept * step || (i == n_same && j == n_diff)))
            points[kept++] = (fcl_roc_point){fpr, tpr, t};
        prev_fpr = fpr;
        prev_tpr = tpr;
    }
    *auc = area;
    *eer = eer_value;
    if (n_points)
        *n_points = kept;
    return FCL_SUCCESS;
}

double fcl_sqdist(const float *a, const float *b, int dim)
{
    float s = 0;
    for (int k = 0; k < dim; k++) {
        float t = a[k] - b[k];
        s += t * t;
    }
    return s;
}

double fcl_rank1_accuracy(const float *query, const int *qlabel, int nq, const float *gallery, const int *glabel,
                          int ng, int dim, bool exclude_self)
{
    long right = 0;
    for (int q = 0; q < nq; q++) {
        double best = INFINITY;
        int label = -1;
        for (int g = 0; g < ng; g++) {
            if (exclude_self && g == q)
                continue;
            double d = fcl_sqdist(query + (size_t)q * dim, gallery + (size_t)g * dim, dim);
            if (d < best) {
                best = d;
                label = glabel[g];
            }
        }
        right += label == qlabel[q];
    }
    return nq ? (double)right / nq : 0;
}

double fcl_ncm_accuracy(const float *query, const int *qlabel, int nq, const float *gallery, const int *glabel,
                        int ng, int dim, int n_classes)
{
    float *mean = calloc((size_t)n_classes * dim, sizeof *mean);
    int *count = calloc((size_t)n_classes, sizeof *count);
    long right = 0;
    if (mean && count) {
        for (int g = 0; g < ng; g++) {
            count[glabel[g]]++;
            for (int k = 0; k < dim; k++)
                mean[(size_t)glabel[g] * dim + k] += gallery[(size_t)g * dim + k];
        }
        for (int c = 0; c < n_classes; c++)
            for (int k = 0; k < dim && count[c]; k++)
                mean[(size_t)c * dim + k] /= (float)count[c];
        for (int q = 0; q < nq; q++) {
            double best = INFINITY;
            int label = -1;
            for (int c = 0; c < n_classes; c++) {
                double d = count[c] ? fcl_sqdist(query + (size_t)q * dim, mean + (size_t)c * dim, dim) : INFINITY;
                if (d < best) {
                    best = d;
                    label = c;
                }
            }
            right += label == qlabel[q];
        }
    }
    free(mean);
    free(count);
    return nq ? (double)right / nq : 0;
}
