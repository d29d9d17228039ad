#include "data/loader.h"
#include "data/sampler.h"
#include "runtime/log.h"
#include "runtime/random.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 2 /* one being trained on, one being made */

enum slot_state { SLOT_FREE, SLOT_FULL, SLOT_IN_USE };

struct fcl_loader {
    fcl_loader_config config;
    fcl_sampler *sampler;
    fcl_batch slots[SLOTS];
    enum slot_state state[SLOTS];
    int *indices;
    float *scratch;
    long next_make, next_take;
    int failures;
    bool stop;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    pthread_t thread;
    bool started;
};

void fcl_augment(float *image, float *scratch, int c, int h, int w, int crop_pad, bool flip, uint64_t key)
{
    int dx = crop_pad ? fcl_random_below(&key, 2 * crop_pad + 1) - crop_pad : 0;
    int dy = crop_pad ? fcl_random_below(&key, 2 * crop_pad + 1) - crop_pad : 0;
    bool mirror = flip && (fcl_splitmix64(&key) & 1);
    if (!dx && !dy && !mirror)
        return;
    size_t plane = (size_t)h * w;
    memcpy(scratch, image, (size_t)c * plane * sizeof *scratch);
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) { /* output (y, x) reads the shifted, maybe mirrored source */
                int sx = (mirror ? w - 1 - x : x) + dx, sy = y + dy;
                image[ch * plane + (size_t)y * w + x] =
                    sx >= 0 && sx < w && sy >= 0 && sy < h ? scratch[ch * plane + (size_t)sy * w + sx] : 0.0f;
            }
}

/* Image `index` into dst; an unreadable one (a folder file that changed since it was
 * listed) is replaced by the next readable image of the same identity. */
static void load_image(fcl_loader *l, int index, float *dst)
{
    const fcl_dataset *d = l->config.data;
    const fcl_loader_config *c = &l->config;
    for (int tries = 0; tries < d->n; tries++) {
        int i = (index + tries) % d->n;
        if (d->labels[i] != d->labels[index])
            continue;
        if (fcl_dataset_image(d, i, &c->input, dst) == FCL_SUCCESS)
            return;
        pthread_mutex_lock(&l->lock);
        l->failures++;
        pthread_mutex_unlock(&l->lock);
        fcl_log(FCL_LOG_WARN, "%s: unreadable, replaced by another image of the same identity",
                d->paths ? d->paths[i] : d->source);
    }
    memset(dst, 0, fcl_input_floats(&c->input) * sizeof *dst);
}

static void make_batch(fcl_loader *l, fcl_batch *b, long step)
{
    const fcl_loader_config *c = &l->config;
    const int B = c->P * c->K;
    const size_t per = fcl_input_floats(&c->input);
    fcl_sampler_next(l->sampler, l->indices);
    b->step = step;
    b->sampler_after = fcl_sampler_state(l->sampler);
    for (int i = 0; i < B; i++) {
        b->labels[i] = c->data->labels[l->indices[i]];
        load_image(l, l->indices[i], b->images + i * per);
        uint64_t key = c->seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(step + 1)) ^ ((uint64_t)i << 40);
        fcl_splitmix64(&key);
        fcl_augment(b->images + i * per, l->scratch, c->input.c, c->input.h, c->input.w, c->crop_pad, c->flip, key);
    }
}

static void *run(void *arg)
{
    fcl_loader *l = arg;
    pthread_mutex_lock(&l->lock);
    for (;;) {
        int s = (int)(l->next_make % SLOTS);
        while (!l->stop && l->state[s] != SLOT_FREE)
            pthread_cond_wait(&l->changed, &l->lock);
        if (l->stop)
            break;
        long step = l->next_make++;
        pthread_mutex_unlock(&l->lock);
        make_batch(l, &l->slots[s], step);
        pthread_mutex_lock(&l->lock);
        l->state[s] = SLOT_FULL;
        pthread_cond_broadcast(&l->changed);
    }
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

void fcl_loader_destroy(fcl_loader *l)
{
    if (!l)
        return;
    if (l->started) {
        pthread_mutex_lock(&l->lock);
        l->stop = true;
        pthread_cond_broadcast(&l->changed);
        pthread_mutex_unlock(&l->lock);
        pthread_join(l->thread, NULL);
    }
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->changed);
    for (int s = 0; s < SLOTS; s++) {
        free(l->slots[s].images);
        free(l->slots[s].labels);
    }
    free(l->indices);
    free(l->scratch);
    fcl_sampler_destroy(l->sampler);
    free(l);
}

fcl_status fcl_loader_create(const fcl_loader_config *config, uint64_t sampler_state, long first_step,
                             fcl_loader **out)
{
    *out = NULL;
    fcl_loader *l = calloc(1, sizeof *l);
    if (!l)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->changed, NULL);
    l->config = *config;
    l->next_make = l->next_take = first_step;
    const size_t B = (size_t)config->P * config->K, per = fcl_input_floats(&config->input);
    fcl_status st = fcl_sampler_create(config->data->labels, (size_t)config->data->n, config->P, config->K, 0,
                                       &l->sampler);
    l->indices = malloc(B * sizeof *l->indices);
    l->scratch = malloc(per * sizeof *l->scratch);
    for (int s = 0; s < SLOTS; s++) {
        l->slots[s].images = malloc(B * per * sizeof *l->slots[s].images);
        l->slots[s].labels = malloc(B * sizeof *l->slots[s].labels);
        if (!l->slots[s].images || !l->slots[s].labels)
            st = st == FCL_SUCCESS ? FCL_ERR_OUT_OF_HOST_MEMORY : st;
    }
    if (st == FCL_SUCCESS && (!l->indices || !l->scratch))
        st = FCL_ERR_OUT_OF_HOST_MEMORY;
    if (st == FCL_SUCCESS) {
        fcl_sampler_set_state(l->sampler, sampler_state);
        if (pthread_create(&l->thread, NULL, run, l) != 0) {
            fcl_log(FCL_LOG_ERROR, "cannot start the data loader thread");
            st = FCL_ERR_OUT_OF_HOST_MEMORY;
        } else {
            l->started = true;
        }
    }
    if (st != FCL_SUCCESS) {
        fcl_loader_destroy(l);
        return st;
    }
    *out = l;
    return FCL_SUCCESS;
}

const fcl_batch *fcl_loader_next(fcl_loader *l)
{
    pthread_mutex_lock(&l->lock);
    int s = (int)(l->next_take++ % SLOTS);
    while (l->state[s] != SLOT_FULL)
        pthread_cond_wait(&l->changed, &l->lock);
    l->state[s] = SLOT_IN_USE;
    pthread_mutex_unlock(&l->lock);
    return &l->slots[s];
}

void fcl_loader_release(fcl_loader *l, const fcl_batch *batch)
{
    pthread_mutex_lock(&l->lock);
    l->state[batch - l->slots] = SLOT_FREE;
    pthread_cond_broadcast(&l->changed);
    pthread_mutex_unlock(&l->lock);
}

int fcl_loader_failures(fcl_loader *l)
{
    pthread_mutex_lock(&l->lock);
    int n = l->failures;
    pthread_mutex_unlock(&l->lock);
    return n;
}
