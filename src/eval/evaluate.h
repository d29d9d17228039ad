/* `facecl eval`: embeddings of a test set, then verification (k-fold accuracy on a pairs
 * file, VAL at a FAR on all pairs of a subset, ROC, AUC, EER) and identification
 * (rank-1 nearest neighbour and nearest class mean against a gallery). */
#ifndef FCL_EVAL_EVALUATE_H
#define FCL_EVAL_EVALUATE_H
#include "data/dataset.h"
#include "eval/pairs.h"
#include "graph/graph.h"

/* The weights-file metadata key where `facecl eval` stores its 10-fold threshold. */
#define FCL_META_THRESHOLD "facecl.threshold"

typedef struct fcl_eval_options {
    const char *pairs_path; /* NULL: generate (and write to out_dir/pairs.txt) */
    const char *out_dir;    /* pairs.txt, roc.csv, roc.svg, results.json */
    int far_images;         /* all pairs among the first N test images give VAL at FAR */
    double far;             /* target false accept rate (1e-3) */
    int gallery_images;     /* gallery for identification (from the gallery set, or the test set) */
    fcl_reporter report; /* progress lines (none: quiet) */
} fcl_eval_options;

fcl_eval_options fcl_eval_defaults(void);

typedef struct fcl_eval_result {
    int folds, pairs;
    double accuracy, accuracy_std, threshold;  /* k-fold verification */
    double val, far, val_threshold;            /* at the target FAR */
    long same_pairs, diff_pairs;               /* of the VAL/ROC pair set */
    double auc, eer;
    double rank1, ncm;                         /* identification */
    int queries, gallery;
    int far_images;                            /* images the VAL/ROC pairs are drawn among */
    double embed_seconds, images_per_second;
} fcl_eval_result;

/* Embeds images idx[0..n) of d in batches of net->batch (inference net) into out (n x dim). */
fcl_status fcl_embed_dataset_images(fcl_net *net, const fcl_dataset *d, const int *idx, int n, float *out,
                                    const fcl_reporter *report);

/* test: pairs and queries; gallery: identification gallery (NULL: leave-one-out on test). */
fcl_status fcl_evaluate(fcl_net *net, const fcl_dataset *test, const fcl_dataset *gallery,
                        const fcl_eval_options *o, fcl_eval_result *r);

/* The table and JSON of a result. */
void fcl_eval_print(FILE *f, const fcl_eval_result *r, const fcl_eval_options *o);
fcl_status fcl_eval_write_json(const fcl_eval_result *r, const fcl_eval_options *o, const char *model,
                               const char *weights, const char *path);
/* Both of what an evaluation leaves: results.json at json_path, and the 10-fold
 * threshold in the weights file's metadata (FCL_META_THRESHOLD) for verify and cluster. */
fcl_status fcl_eval_save(const fcl_eval_result *r, const fcl_eval_options *o, const char *model, const char *weights,
                         const char *json_path);
#endif
