/* Grouping embeddings by identity (FaceNet section 1, "clustering"): average-linkage
 * agglomerative clustering on squared L2 distances, cut at a threshold, and the
 * measures of how well clusters match known labels. */
#ifndef FCL_EVAL_CLUSTER_H
#define FCL_EVAL_CLUSTER_H
#include "facecl.h"

#include <stddef.h>

/* fcl_cluster, fcl_cluster_quality_of: facecl.h; src/eval/cluster.c. */
#endif
