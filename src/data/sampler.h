/* P x K batches: P identities, K images of each (FaceNet section 3.2; Hermans et al.). */
#ifndef FCL_DATA_SAMPLER_H
#define FCL_DATA_SAMPLER_H
#include "facecl.h"

typedef struct fcl_sampler fcl_sampler;

/* labels[n]: identity of each image. Identities with a single image cannot give a
 * positive pair and are never drawn; at least P identities with 2+ images are needed
 * (and P >= 2, K >= 2). An identity with fewer than K images gives all of them, and
 * the rest are drawn again at random from the same identity. Seeded: the same seed
 * gives the same batches. */
fcl_status fcl_sampler_create(const int *labels, size_t n, int P, int K, uint64_t seed, fcl_sampler **out);
void fcl_sampler_destroy(fcl_sampler *s);
/* Fills indices[P*K], identity by identity (K consecutive entries each). */
void fcl_sampler_next(fcl_sampler *s, int *indices);
/* The random state, for checkpoints: it alone defines the batches that follow. */
uint64_t fcl_sampler_state(const fcl_sampler *s);
void fcl_sampler_set_state(fcl_sampler *s, uint64_t state);
#endif
