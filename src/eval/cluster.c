/* Average-linkage clustering by the nearest-neighbour chain (Murtagh 1983): follow each
 * cluster's nearest neighbour until two clusters are each other's nearest, merge them,
 * update distances by Lance-Williams (size-weighted mean), and go on from the chain's
 * remainder. Average linkage is reducible, so this yields the same dendrogram as the
 * textbook O(n^3) loop. */
#include "eval/cluster.h"
#include "eval/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int find_root(int *parent, int i)
{
    while (parent[i] != i)
        i = parent[i] = parent[parent[i]];
    return i;
}

fcl_status fcl_cluster(const float *emb, int n, int dim, double threshold, int *cluster, int *n_clusters)
{
    if (n < 1 || n > FCL_CLUSTER_MAX || dim < 1)
        return FCL_ERR_INVALID_ARGUMENT;
    float *d = malloc((size_t)n * n * sizeof *d);
    int *size = malloc((size_t)n * sizeof *size), *chain = malloc((size_t)n * sizeof *chain);
    int *parent = malloc((size_t)n * sizeof *parent);
    fcl_status st = d && size && chain && parent ? FCL_SUCCESS : FCL_ERR_OUT_OF_HOST_MEMORY;
    for (int i = 0; i < n && st == FCL_SUCCESS; i++) {
        size[i] = 1; /* 0 marks a cluster merged away */
        parent[i] = i;
        d[(size_t)i * n + i] = 0;
        for (int j = 0; j < i; j++) {
            float v = (float)fcl_sqdist(emb + (size_t)i * dim, emb + (size_t)j * dim, dim);
            if (!isfinite(v))
                st = FCL_ERR_NUMERIC; /* a NaN or Inf embedding has no neighbours */
            d[(size_t)i * n + j] = d[(size_t)j * n + i] = v;
        }
    }
    int top = 0, next_start = 0;
    for (int merges = 0; st == FCL_SUCCESS && merges < n - 1;) {
        if (top == 0) {
            while (size[next_start] == 0)
                next_start++;
            chain[top++] = next_start;
        }
        int a = chain[top - 1], prev = top > 1 ? chain[top - 2] : -1, b = prev;
        float best = prev >= 0 ? d[(size_t)a * n + prev] : INFINITY;
        for (int j = 0; j < n; j++) /* strictly closer than the previous link, or no cycle ends */
            if (j != a && size[j] && d[(size_t)a * n + j] < best) {
                best = d[(size_t)a * n + j];
                b = j;
            }
        if (b != prev) {
            if (top == n) { /* only rounding that broke reducibility could make a chain this long */
                st = FCL_ERR_NUMERIC;
                break;
            }
            chain[top++] = b;
            continue;
        }
        top -= 2; /* a and b are reciprocal nearest neighbours: merge b into a */
        for (int k = 0; k < n; k++)
            if (size[k] && k != a && k != b)
                d[(size_t)a * n + k] = d[(size_t)k * n + a] =
                    (float)(((double)size[a] * d[(size_t)a * n + k] + (double)size[b] * d[(size_t)b * n + k]) /
                            (size[a] + size[b]));
        size[a] += size[b];
        size[b] = 0;
        if (best <= threshold)
            parent[find_root(parent, b)] = find_root(parent, a);
        merges++;
    }
    if (st == FCL_SUCCESS) {
        int count = 0;
        for (int i = 0; i < n; i++) /* chain[] becomes root -> cluster number */
            chain[i] = -1;
        for (int i = 0; i < n; i++) {
            int r = find_root(parent, i);
            if (chain[r] < 0)
                chain[r] = count++;
            cluster[i] = chain[r];
        }
        *n_clusters = count;
    }
    free(d), free(size), free(chain), free(parent);
    return st;
}

typedef struct cell {
    int cluster, label;
} cell;

static int compare_cells(const void *pa, const void *pb)
{
    const cell *a = pa, *b = pb;
    if (a->cluster != b->cluster)
        return a->cluster < b->cluster ? -1 : 1;
    return a->label < b->label ? -1 : a->label > b->label;
}

static int compare_ints(const void *pa, const void *pb)
{
    int a = *(const int *)pa, b = *(const int *)pb;
    return a < b ? -1 : a > b;
}

static double pairs_of(double k) { return k * (k - 1) / 2; }

/* Items with label v in the sorted labels[0..n). */
static int count_of(const int *sorted, int n, int v)
{
    int lo = 0, hi = n;
    while (lo < hi) { /* first index >= v */
        int mid = (lo + hi) / 2;
        if (sorted[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    int first = lo;
    for (hi = n; lo < hi;) { /* first index > v */
        int mid = (lo + hi) / 2;
        if (sorted[mid] <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo - first;
}

fcl_status fcl_cluster_quality_of(const int *cluster, const int *label, int n, fcl_cluster_quality *q)
{
    if (n < 1)
        return FCL_ERR_INVALID_ARGUMENT;
    cell *cells = malloc((size_t)n * sizeof *cells);
    int *labels = malloc((size_t)n * sizeof *labels);
    if (!cells || !labels) {
        free(cells), free(labels);
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    }
    for (int i = 0; i < n; i++) {
        cells[i] = (cell){cluster[i], label[i]};
        labels[i] = label[i];
    }
    if (n > 1) {
        qsort(cells, (size_t)n, sizeof *cells, compare_cells);
        qsort(labels, (size_t)n, sizeof *labels, compare_ints);
    }
    /* Runs of equal (cluster, label) are the contingency table's non-zero cells. */
    double same_both = 0, same_cluster = 0, same_label = 0, info = 0, h_cluster = 0, h_label = 0, majority = 0;
    for (int i = 0; i < n;) {
        int c_end = i, best = 0;
        while (c_end < n && cells[c_end].cluster == cells[i].cluster)
            c_end++;
        double a = c_end - i;
        same_cluster += pairs_of(a);
        h_cluster -= a / n * log(a / n);
        for (int j = i; j < c_end;) {
            int l_end = j;
            while (l_end < c_end && cells[l_end].label == cells[j].label)
                l_end++;
            double nij = l_end - j, b = count_of(labels, n, cells[j].label);
            same_both += pairs_of(nij);
            info += nij / n * log(n * nij / (a * b));
            if (l_end - j > best)
                best = l_end - j;
            j = l_end;
        }
        majority += best;
        i = c_end;
    }
    for (int i = 0; i < n;) {
        int end = i;
        while (end < n && labels[end] == labels[i])
            end++;
        double b = end - i;
        same_label += pairs_of(b);
        h_label -= b / n * log(b / n);
        i = end;
    }
    q->precision = same_cluster > 0 ? same_both / same_cluster : 1;
    q->recall = same_label > 0 ? same_both / same_label : 1;
    q->f1 = q->precision + q->recall > 0 ? 2 * q->precision * q->recall / (q->precision + q->recall) : 0;
    q->purity = majority / n;
    q->nmi = h_cluster + h_label > 0 ? 2 * info / (h_cluster + h_label) : 1;
    double expected = n > 1 ? same_cluster * same_label / pairs_of(n) : 0, top = (same_cluster + same_label) / 2;
    q->ari = top - expected != 0 ? (same_both - expected) / (top - expected) : 1;
    free(cells), free(labels);
    return FCL_SUCCESS;
}
