#include "data/sampler.h"
#include "runtime/log.h"
#include "runtime/random.h"

#include <stdlib.h>
#include <string.h>

struct fcl_sampler {
    int P, K;
    int n_ids;     /* identities with 2+ images */
    int *start;    /* n_ids + 1 offsets into order */
    int *order;    /* image indices grouped by identity */
    int *scratch;  /* identity permutation */
    int *run;      /* one identity's images, shuffled here so `order` never changes */
    uint64_t rng;
};


static int compare_pairs(const void *a, const void *b)
{
    const int *x = a, *y = b; /* (label, index) */
    return x[0] != y[0] ? (x[0] < y[0] ? -1 : 1) : (x[1] < y[1] ? -1 : x[1] > y[1]);
}

void fcl_sampler_destroy(fcl_sampler *s)
{
    if (!s)
        return;
    free(s->start);
    free(s->order);
    free(s->scratch);
    free(s->run);
    free(s);
}

fcl_status fcl_sampler_create(const int *labels, size_t n, int P, int K, uint64_t seed, fcl_sampler **out)
{
    *out = NULL;
    if (P < 2 || K < 2 || n > (size_t)1 << 30) {
        fcl_log(FCL_LOG_ERROR, "a P x K batch needs P >= 2 identities and K >= 2 images each (got %d x %d)", P, K);
        return FCL_ERR_INVALID_ARGUMENT;
    }
    int *pairs = malloc(2 * (n ? n : 1) * sizeof *pairs);
    fcl_sampler *s = calloc(1, sizeof *s);
    if (!pairs || !s) {
        free(pairs);
        free(s);
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    }
    for (size_t i = 0; i < n; i++)
        pairs[2 * i] = labels[i], pairs[2 * i + 1] = (int)i;
    qsort(pairs, n, 2 * sizeof *pairs, compare_pairs);
    s->order = malloc((n ? n : 1) * sizeof *s->order);
    s->start = malloc((n + 1) * sizeof *s->start);
    s->scratch = malloc((n ? n : 1) * sizeof *s->scratch);
    s->run = malloc((n ? n : 1) * sizeof *s->run);
    if (!s->order || !s->start || !s->scratch || !s->run) {
        free(pairs);
        fcl_sampler_destroy(s);
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    }
    size_t used = 0;
    for (size_t i = 0; i < n;) { /* keep the runs of identities with 2+ images */
        size_t j = i;
        while (j < n && pairs[2 * j] == pairs[2 * i])
            j++;
        if (j - i >= 2) {
            s->start[s->n_ids++] = (int)used;
            for (size_t k = i; k < j; k++)
                s->order[used++] = pairs[2 * k + 1];
        }
        i = j;
    }
    s->start[s->n_ids] = (int)used;
    free(pairs);
    if (s->n_ids < P) {
        fcl_log(FCL_LOG_ERROR, "P x K sampling needs %d identities with at least 2 images each; the data has %d", P,
                s->n_ids);
        fcl_sampler_destroy(s);
        return FCL_ERR_INVALID_ARGUMENT;
    }
    s->P = P;
    s->K = K;
    s->rng = seed;
    *out = s;
    return FCL_SUCCESS;
}

void fcl_sampler_next(fcl_sampler *s, int *indices)
{
    for (int i = 0; i < s->n_ids; i++)
        s->scratch[i] = i;
    for (int p = 0; p < s->P; p++) { /* partial Fisher-Yates: P distinct identities */
        int j = p + fcl_random_below(&s->rng, s->n_ids - p), id = s->scratch[j];
        s->scratch[j] = s->scratch[p];
        s->scratch[p] = id;
        int first = s->start[id], count = s->start[id + 1] - first;
        int *out = indices + p * s->K;
        if (count >= s->K) { /* K distinct images: partial shuffle of a copy of the run */
            memcpy(s->run, s->order + first, (size_t)count * sizeof *s->run);
            for (int k = 0; k < s->K; k++) {
                int pick = k + fcl_random_below(&s->rng, count - k);
                int tmp = s->run[pick];
                s->run[pick] = s->run[k];
                s->run[k] = tmp;
                out[k] = tmp;
            }
        } else { /* all of them, then again at random */
            for (int k = 0; k < s->K; k++)
                out[k] = k < count ? s->order[first + k] : s->order[first + fcl_random_below(&s->rng, count)];
        }
    }
}

uint64_t fcl_sampler_state(const fcl_sampler *s) { return s->rng; }
void fcl_sampler_set_state(fcl_sampler *s, uint64_t state) { s->rng = state; }
