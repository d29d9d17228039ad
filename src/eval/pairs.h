/* Pairs files in LFW's pairs.txt format:
 *     <folds> <n>                      first line
 *     <name> <i> <j>                   a same pair: images i and j of identity name
 *     <name1> <i> <name2> <j>          a different pair
 * with, per fold, n same pairs then n different pairs; image numbers count from 1 in
 * the data set's order for that identity. */
#ifndef FCL_EVAL_PAIRS_H
#define FCL_EVAL_PAIRS_H
#include "data/dataset.h"

typedef struct fcl_pair {
    int a, b; /* data set indices */
    bool same;
    int fold;
} fcl_pair;

typedef struct fcl_pairs {
    int folds, per_fold; /* per_fold same and per_fold different pairs in each fold */
    int n;
    fcl_pair *pairs;
} fcl_pairs;

/* Parses text (named path in errors, with its line) against d: a malformed line, a
 * count that disagrees with the header, or an image the data set lacks is an error. */
fcl_status fcl_pairs_parse(const char *text, const char *path, const fcl_dataset *d, fcl_pairs *out);
fcl_status fcl_pairs_load(const char *path, const fcl_dataset *d, fcl_pairs *out);
/* folds x (per_fold same + per_fold different) pairs drawn from d with the seed. */
fcl_status fcl_pairs_generate(const fcl_dataset *d, int folds, int per_fold, uint64_t seed, fcl_pairs *out);
fcl_status fcl_pairs_write(const fcl_pairs *p, const fcl_dataset *d, const char *path);
void fcl_pairs_free(fcl_pairs *p);
#endif
