/* Verification and identification metrics (FaceNet section 4; LFW's protocol). All on
 * the host, from distances or embeddings; a pair counts as "same" when d <= threshold. */
#ifndef FCL_EVAL_METRICS_H
#define FCL_EVAL_METRICS_H
#include "facecl.h"

/* k-fold accuracy: for each fold, the threshold that maximises accuracy on the other
 * folds (a midpoint between neighbouring distances) is applied to the fold. Returns
 * the mean and the standard deviation over folds (population, as LFW reports it), and
 * the mean of the chosen thresholds. fold[i] in [0, folds). */
fcl_status fcl_kfold_accuracy(const double *dist, const bool *same, const int *fold, int n, int folds, double *mean,
                              double *std, double *threshold);

/* VAL at a target FAR (the paper's VAL(d) and FAR(d)): the largest threshold whose
 * false accept rate is at most far_target; val and far are the rates it gives. Needs
 * at least 1/far_target different pairs, else FCL_ERR_INVALID_ARGUMENT. */
fcl_status fcl_val_at_far(const float *same_d, size_t n_same, const float *diff_d, size_t n_diff, double far_target,
                          double *val, double *far, double *threshold);

/* The ROC over every threshold: area under it and the equal error rate. If points is
 * not NULL, up to max_points (fpr, tpr, threshold) rows spread along the curve. The
 * inputs are sorted in place. */
fcl_status fcl_roc(float *same_d, size_t n_same, float *diff_d, size_t n_diff, double *auc, double *eer,
                   fcl_roc_point *points, size_t max_points, size_t *n_points);

/* Squared L2 distance of two dim-vectors, summed in float (the hot loop of the
 * identification and all-pairs metrics). */
double fcl_sqdist(const float *a, const float *b, int dim);

/* Rank-1 identification: each query's nearest gallery embedding (squared L2) has its
 * label; with exclude_self (gallery == query set) an item is not its own neighbour.
 * Nearest class mean: the label of the closest per-class mean of the gallery. */
double fcl_rank1_accuracy(const float *query, const int *qlabel, int nq, const float *gallery, const int *glabel,
                          int ng, int dim, bool exclude_self);
double fcl_ncm_accuracy(const float *query, const int *qlabel, int nq, const float *gallery, const int *glabel,
                        int ng, int dim, int n_classes);
#endif
