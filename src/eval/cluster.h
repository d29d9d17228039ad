/* Grouping embeddings by identity (FaceNet section 1, "clustering"): average-linkage
 * agglomerative clustering on squared L2 distances, cut at a threshold, and the
 * measures of how well clusters match known labels. */
#ifndef FCL_EVAL_CLUSTER_H
#define FCL_EVAL_CLUSTER_H
#include "facecl.h"

#include <stddef.h>

/* The largest set fcl_cluster accepts: its distance matrix is n x n floats. */
#define FCL_CLUSTER_MAX 12000

/* Builds the whole average-linkage dendrogram (nearest-neighbour chain, O(n^2) time and
 * memory) and keeps the merges at an average squared distance <= threshold; as average
 * linkage never merges below an earlier merge, that is the dendrogram cut at threshold.
 * cluster[i] in [0, *n_clusters), numbered in order of each cluster's first item. */
fcl_status fcl_cluster(const float *emb, int n, int dim, double threshold, int *cluster, int *n_clusters);

typedef struct fcl_cluster_quality {
    double precision, recall, f1; /* over pairs: "same cluster" predicting "same label" */
    double purity;                /* items in their cluster's most common label */
    double nmi;                   /* mutual information / mean of the two entropies */
    double ari;                   /* Rand index adjusted for chance (Hubert and Arabie) */
} fcl_cluster_quality;

/* Quality of cluster[] against label[] (both n entries, any non-negative ids). */
fcl_status fcl_cluster_quality_of(const int *cluster, const int *label, int n, fcl_cluster_quality *q);
#endif
