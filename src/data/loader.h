/* Training batches made on a background thread: P x K sampling, decoding, augmentation
 * (random crop from a zero-padded image, horizontal flip), so the device never waits
 * on the disk. Batches come out in step order and depend only on the seed, the step
 * and the sampler state, which makes a resumed run draw the same batches. */
#ifndef FCL_DATA_LOADER_H
#define FCL_DATA_LOADER_H
#include "data/dataset.h"

typedef struct fcl_loader_config {
    const fcl_dataset *data;
    int P, K;
    fcl_input_form input; /* the model's */
    int crop_pad;  /* random shift of up to this many pixels (0: none) */
    bool flip;     /* random horizontal flip */
    uint64_t seed; /* augmentation */
} fcl_loader_config;

typedef struct fcl_batch {
    long step;
    float *images;          /* P*K x c x h x w */
    int *labels;            /* P*K */
    uint64_t sampler_after; /* the sampler state once this batch was drawn */
} fcl_batch;

typedef struct fcl_loader fcl_loader;

/* Starts the thread at `first_step` with the sampler in `sampler_state`. */
fcl_status fcl_loader_create(const fcl_loader_config *config, uint64_t sampler_state, long first_step,
                             fcl_loader **out);
/* Stops the thread and frees everything. */
void fcl_loader_destroy(fcl_loader *l);
/* Waits for the next step's batch; valid until fcl_loader_release. */
const fcl_batch *fcl_loader_next(fcl_loader *l);
void fcl_loader_release(fcl_loader *l, const fcl_batch *batch);
/* Images that failed to decode and were replaced by another of the same identity. */
int fcl_loader_failures(fcl_loader *l);

/* The augmentation alone, in place on one c x h x w image, drawn from `key`. */
void fcl_augment(float *image, float *scratch, int c, int h, int w, int crop_pad, bool flip, uint64_t key);
#endif
