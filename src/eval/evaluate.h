/* `facecl eval`: embeddings of a test set, then verification (k-fold accuracy on a pairs
 * file, VAL at a FAR on all pairs of a subset, ROC, AUC, EER) and identification
 * (rank-1 nearest neighbour and nearest class mean against a gallery). */
#ifndef FCL_EVAL_EVALUATE_H
#define FCL_EVAL_EVALUATE_H
#include "data/dataset.h"
#include "eval/pairs.h"
#include "graph/graph.h"

/* fcl_eval_options, fcl_eval_result, FCL_META_THRESHOLD: facecl.h. */

/* Embeds images idx[0..n) of d in batches of net->batch (inference net) into out (n x dim). */
fcl_status fcl_embed_dataset_images(fcl_net *net, const fcl_dataset *d, const int *idx, int n, float *out,
                                    const fcl_reporter *report);

/* test: pairs and queries; gallery: identification gallery (NULL: leave-one-out on test);
 * r->roc is r's to free (fcl_eval_result_free). fcl_evaluate is this on an embedder. */
fcl_status fcl_evaluate_net(fcl_net *net, const fcl_dataset *test, const fcl_dataset *gallery,
                        const fcl_eval_options *o, fcl_eval_result *r);

fcl_status fcl_eval_write_json(const fcl_eval_result *r, const fcl_eval_options *o, const char *model,
                               const char *weights, const char *path);
#endif
