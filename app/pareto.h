/* The two statistics a FLOPS-versus-accuracy table is read by: which models are worth
 * their cost (the Pareto front) and how closely accuracy follows cost (Spearman's rank
 * correlation). Plain arithmetic on the host, tested against hand-computed values. */
#ifndef FCL_APP_PARETO_H
#define FCL_APP_PARETO_H
#include <stdbool.h>

/* on_front[i]: no other point costs as little or less and is worth as much or more,
 * with one of the two strictly (cost: lower is better; value: higher is better). Points
 * with a non-finite coordinate are never on it. Returns how many are. */
int fcl_pareto_front(const double *cost, const double *value, int n, bool *on_front);

/* Spearman's rank correlation of x and y (Pearson's on their ranks, tied values sharing
 * their mean rank), in -1..1; NAN with fewer than 2 points or a constant x or y. */
double fcl_rank_correlation(const double *x, const double *y, int n);
#endif
