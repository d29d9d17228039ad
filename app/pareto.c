/* The Pareto front and Spearman's rank correlation (app/pareto.h). */
#include "pareto.h"

#include <math.h>
#include <stdlib.h>

int fcl_pareto_front(const double *cost, const double *value, int n, bool *on_front)
{
    int count = 0;
    for (int i = 0; i < n; i++) {
        bool dominated = !isfinite(cost[i]) || !isfinite(value[i]);
        for (int j = 0; j < n && !dominated; j++)
            dominated = j != i && isfinite(cost[j]) && isfinite(value[j]) && cost[j] <= cost[i] &&
                        value[j] >= value[i] && (cost[j] < cost[i] || value[j] > value[i]);
        on_front[i] = !dominated;
        count += !dominated;
    }
    return count;
}

/* ranks[i]: 1 + how many values are smaller, plus half the others equal to it (the mean
 * of the ranks the tied values share). n is a table's models: quadratic is fine. */
static void mean_ranks(const double *v, int n, double *ranks)
{
    for (int i = 0; i < n; i++) {
        int below = 0, tied = 0;
        for (int j = 0; j < n; j++) {
            below += v[j] < v[i];
            tied += j != i && v[j] == v[i];
        }
        ranks[i] = 1 + below + tied / 2.0;
    }
}

double fcl_rank_correlation(const double *x, const double *y, int n)
{
    if (n < 2)
        return NAN;
    double *rx = malloc(2 * (size_t)n * sizeof *rx);
    if (!rx)
        return NAN;
    double *ry = rx + n;
    mean_ranks(x, n, rx);
    mean_ranks(y, n, ry);
    const double mean = (n + 1) / 2.0; /* of 1..n, ties or not */
    double sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < n; i++) {
        sxy += (rx[i] - mean) * (ry[i] - mean);
        sxx += (rx[i] - mean) * (rx[i] - mean);
        syy += (ry[i] - mean) * (ry[i] - mean);
    }
    free(rx);
    return sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : NAN;
}
