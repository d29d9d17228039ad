/* MTCNN face detection (Zhang et al. 2016) as facenet-pytorch runs it
 * (facenet_pytorch/models/utils/detect_face.py): an image pyramid through P-Net,
 * non-maximum suppression, box regression and squaring, R-Net on 24x24 crops, O-Net on
 * 48x48 crops with the five landmarks. The networks run on the device, P-Net planned
 * for each pyramid level's size (fcl_model_for_input); the resampling runs there too
 * (cl/resample.cl); boxes and NMS, a few hundred candidates, on the host. Each step
 * keeps facenet-pytorch's float32 arithmetic and its +1 conventions, so the boxes agree
 * with it to the pixel (tests/mtcnn_oracle.py). */
#include "data/image.h"
#include "graph/graph.h"
#include "io/safetensors.h"
#include "runtime/fileio.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const fcl_kernel_def k_resample_area = {"resample.cl", "resample_area"};

enum { STAGE_P, STAGE_R, STAGE_O, STAGES };
static const char *const stage_model[STAGES] = {"mtcnn-pnet", "mtcnn-rnet", "mtcnn-onet"};
/* Crops per pass of R-Net and O-Net at most (P-Net runs one pyramid level at a time);
 * fewer run in passes of powers of two (9 crops: 8 + 1), as a net's batch is fixed. */
static const int stage_batch[STAGES] = {1, 64, 16};
#define LADDER 7 /* batches 1, 2, 4 ... 64 */
#define PNET_STRIDE 2
#define PNET_CELL 12
#define MAX_LEVELS 64 /* the pyramid of an 8192-pixel side at factor 0.99 is smaller */

/* P-Net planned for one pyramid level's size, kept for the next image of that size. */
typedef struct level {
    int h, w;
    fcl_model *model;
    fcl_net *net;
} level;

struct fcl_detector {
    fcl_runtime *rt;
    fcl_model *models[STAGES];
    float *params[STAGES];   /* the weights, written into every net planned for a stage */
    fcl_net *refine[STAGES][LADDER]; /* R-Net and O-Net at batch 2^i, planned on first use */
    level levels[MAX_LEVELS];
    int n_levels;
};

/* A candidate face: box, probability, the stage's regression and O-Net's landmarks. */
typedef struct cand {
    float x1, y1, x2, y2, score;
    float reg[4];
    float points[5][2];
} cand;

fcl_detect_options fcl_detect_defaults(void)
{
    return (fcl_detect_options){.min_face = 20, .factor = 0.709, .thresholds = {0.6f, 0.7f, 0.7f}};
}

static void drop_levels(fcl_detector *d)
{
    for (int i = 0; i < d->n_levels; i++) {
        fcl_net_destroy(d->levels[i].net);
        fcl_model_destroy(d->levels[i].model);
    }
    d->n_levels = 0;
}

void fcl_detector_destroy(fcl_detector *d)
{
    if (!d)
        return;
    drop_levels(d);
    for (int s = 0; s < STAGES; s++) {
        for (int i = 0; i < LADDER; i++)
            fcl_net_destroy(d->refine[s][i]);
        fcl_model_destroy(d->models[s]);
        free(d->params[s]);
    }
    free(d);
}

static fcl_status net_with_weights(fcl_detector *d, int stage, const fcl_model *m, int batch, fcl_net **out)
{
    fcl_status st = fcl_net_create(d->rt, m, batch, false, out);
    if (st == FCL_SUCCESS)
        st = fcl_net_write(*out, (*out)->params, 0, m->n_params, d->params[stage]);
    if (st != FCL_SUCCESS) {
        fcl_net_destroy(*out);
        *out = NULL;
    }
    return st;
}

fcl_status fcl_detector_create(fcl_runtime *rt, const char *models_dir, const char *weights_dir, fcl_detector **out)
{
    *out = NULL;
    if (!rt || !models_dir || !weights_dir)
        return FCL_ERR_INVALID_ARGUMENT;
    fcl_detector *d = calloc(1, sizeof *d);
    if (!d)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    d->rt = rt;
    fcl_status st = FCL_SUCCESS;
    for (int s = 0; s < STAGES && st == FCL_SUCCESS; s++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.model", models_dir, stage_model[s]);
        st = fcl_model_load(path, &d->models[s]);
        if (st == FCL_SUCCESS && fcl_shape_size(fcl_model_output(d->models[s])->out) !=
                                     (s == STAGE_O ? 16 : 6)) {
            fcl_log(FCL_LOG_ERROR, "%s: not MTCNN's %s: its output is not the face probability and box "
                                   "regression%s (models/%s.model)", path, stage_model[s] + 6,
                    s == STAGE_O ? " and landmarks" : "", stage_model[s]);
            st = FCL_ERR_SHAPE;
        }
        if (st == FCL_SUCCESS && !(d->params[s] = malloc((d->models[s]->n_params + 1) * sizeof(float))))
            st = FCL_ERR_OUT_OF_HOST_MEMORY;
        if (st == FCL_SUCCESS) {
            snprintf(path, sizeof path, "%s/%s.safetensors", weights_dir, stage_model[s]);
            st = fcl_weights_load(d->models[s], path, d->params[s]);
        }
    }
    if (st != FCL_SUCCESS) {
        fcl_detector_destroy(d);
        return st;
    }
    *out = d;
    return FCL_SUCCESS;
}

/* P-Net for an h x w level: planned once per size, for as long as images keep it. */
static fcl_status pnet_level(fcl_detector *d, int h, int w, fcl_net **net)
{
    for (int i = 0; i < d->n_levels; i++)
        if (d->levels[i].h == h && d->levels[i].w == w) {
            *net = d->levels[i].net;
            return FCL_SUCCESS;
        }
    if (d->n_levels == MAX_LEVELS)
        drop_levels(d);
    level *l = &d->levels[d->n_levels];
    *l = (level){.h = h, .w = w};
    fcl_status st = fcl_model_for_input(d->models[STAGE_P], h, w, &l->model);
    if (st == FCL_SUCCESS)
        st = net_with_weights(d, STAGE_P, l->model, 1, &l->net);
    if (st != FCL_SUCCESS) {
        fcl_model_destroy(l->model);
        return st;
    }
    d->n_levels++;
    *net = l->net;
    return FCL_SUCCESS;
}

/* boxes (x0, y0, w, h each, n of them) of the image on the device, resampled into net's
 * input at its size and normalised as its input line says. */
static fcl_status resample_into(fcl_net *net, cl_mem image, int height, int width, const int *boxes, int n)
{
    const fcl_node *in = &net->model->nodes[0];
    cl_int err;
    cl_mem dev_boxes = clCreateBuffer(net->rt->context, CL_MEM_READ_ONLY, (size_t)n * 4 * sizeof(cl_int), NULL, &err);
    if (err != CL_SUCCESS)
        return err;
    err = clEnqueueWriteBuffer(net->rt->queue, dev_boxes, CL_TRUE, 0, (size_t)n * 4 * sizeof(cl_int), boxes, 0, NULL,
                               NULL);
    if (err != CL_SUCCESS) {
        clReleaseMemObject(dev_boxes);
        return err;
    }
    const fcl_view v = fcl_net_output_view(net, 0);
    fcl_status st = FCL_LAUNCH(net, &k_resample_area, (size_t)n * fcl_shape_size(in->out), FCL_M(image), FCL_I(3),
                               FCL_I(height), FCL_I(width), FCL_M(dev_boxes), FCL_I(n), FCL_I(in->out.h),
                               FCL_I(in->out.w), FCL_F(in->pixel_mean), FCL_F(1.0f / in->pixel_std), FCL_M(net->acts),
                               FCL_I(v.off), FCL_I(v.ns));
    clReleaseMemObject(dev_boxes); /* released once the kernel is done with it */
    return st;
}

/* Greedy non-maximum suppression, highest score first (ties: the earlier candidate):
 * keeps c's survivors, in that order, and returns how many. `smaller` selects
 * facenet-pytorch's final-stage overlap (nms_numpy 'Min': the intersection over the
 * smaller box, sizes + 1); otherwise torchvision's IoU (sizes as they are). */
typedef struct ranked {
    float score;
    int index;
} ranked;

static int by_score(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    return x->score > y->score ? -1 : x->score < y->score ? 1 : x->index - y->index;
}

static fcl_status nms(cand *c, int *n, float threshold, bool smaller)
{
    const int count = *n;
    if (count == 0)
        return FCL_SUCCESS;
    ranked *order = malloc((size_t)count * sizeof *order);
    bool *gone = calloc((size_t)count, sizeof *gone);
    cand *kept = malloc((size_t)count * sizeof *kept);
    if (!order || !gone || !kept) {
        free(order), free(gone), free(kept);
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    }
    const float one = smaller ? 1.0f : 0.0f;
    for (int i = 0; i < count; i++)
        order[i] = (ranked){c[i].score, i};
    qsort(order, (size_t)count, sizeof *order, by_score);
    int k = 0;
    for (int a = 0; a < count; a++) {
        if (gone[a])
            continue;
        const cand *p = &c[order[a].index];
        kept[k++] = *p;
        const float area_p = (p->x2 - p->x1 + one) * (p->y2 - p->y1 + one);
        for (int b = a + 1; b < count; b++) {
            const cand *q = &c[order[b].index];
            if (gone[b])
                continue;
            const float area_q = (q->x2 - q->x1 + one) * (q->y2 - q->y1 + one);
            const float iw = fmaxf(0.0f, fminf(p->x2, q->x2) - fmaxf(p->x1, q->x1) + one);
            const float ih = fmaxf(0.0f, fminf(p->y2, q->y2) - fmaxf(p->y1, q->y1) + one);
            const float inter = iw * ih;
            const float overlap = smaller ? inter / fminf(area_p, area_q) : inter / (area_p + area_q - inter);
            gone[b] = overlap > threshold;
        }
    }
    memcpy(c, kept, (size_t)k * sizeof *kept);
    *n = k;
    free(order), free(gone), free(kept);
    return FCL_SUCCESS;
}

/* Box regression by the box's size: + plus, 0 after P-Net, 1 after R-Net and O-Net
 * (facenet-pytorch's bbreg). */
static void regress(cand *c, float plus)
{
    const float w = c->x2 - c->x1 + plus, h = c->y2 - c->y1 + plus;
    const float x1 = c->x1 + c->reg[0] * w, y1 = c->y1 + c->reg[1] * h;
    const float x2 = c->x2 + c->reg[2] * w, y2 = c->y2 + c->reg[3] * h;
    c->x1 = x1, c->y1 = y1, c->x2 = x2, c->y2 = y2;
}

/* The box made square about its centre, on its longer side (rerec). */
static void square(cand *c)
{
    const float h = c->y2 - c->y1, w = c->x2 - c->x1, l = fmaxf(w, h);
    c->x1 = c->x1 + w * 0.5f - l * 0.5f;
    c->y1 = c->y1 + h * 0.5f - l * 0.5f;
    c->x2 = c->x1 + l;
    c->y2 = c->y1 + l;
}

/* The pixels a box covers, clipped to the image as facenet-pytorch's pad() does
 * (truncated coordinates, 1-based): x0, y0, w, h; false when nothing is left. */
static bool crop_of(const cand *c, int width, int height, int box[4])
{
    int x = (int)truncf(c->x1), y = (int)truncf(c->y1), ex = (int)truncf(c->x2), ey = (int)truncf(c->y2);
    x = x < 1 ? 1 : x, y = y < 1 ? 1 : y;
    ex = ex > width ? width : ex, ey = ey > height ? height : ey;
    box[0] = x - 1, box[1] = y - 1, box[2] = ex - (x - 1), box[3] = ey - (y - 1);
    return box[2] > 0 && box[3] > 0;
}

static fcl_status grow(cand **c, int *cap, int need)
{
    if (need <= *cap)
        return FCL_SUCCESS;
    int n = *cap ? *cap : 256;
    while (n < need)
        n *= 2;
    cand *g = realloc(*c, (size_t)n * sizeof *g);
    if (!g)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    *c = g, *cap = n;
    return FCL_SUCCESS;
}

/* Stage 1: every pyramid level through P-Net; candidates over thresholds[0], NMS 0.5 per
 * level, then 0.7 over all, regressed and squared. */
static fcl_status propose(fcl_detector *d, cl_mem image, int height, int width, const fcl_detect_options *o,
                          cand **out, int *n_out, int *cap)
{
    const double m = (double)PNET_CELL / o->min_face;
    double minl = (height < width ? height : width) * m, scale = m;
    int n = 0;
    fcl_status st = FCL_SUCCESS;
    float *heads = NULL;
    size_t heads_cap = 0;
    for (; minl >= PNET_CELL && st == FCL_SUCCESS; scale *= o->factor, minl *= o->factor) {
        const int hs = (int)(height * scale + 1), ws = (int)(width * scale + 1);
        fcl_net *net;
        st = pnet_level(d, hs, ws, &net);
        if (st != FCL_SUCCESS)
            break;
        const fcl_shape os = fcl_model_output(net->model)->out;
        const size_t plane = (size_t)os.h * os.w;
        if (6 * plane > heads_cap) {
            float *g = realloc(heads, 6 * plane * sizeof *g);
            if (!g) {
                st = FCL_ERR_OUT_OF_HOST_MEMORY;
                break;
            }
            heads = g, heads_cap = 6 * plane;
        }
        const int whole[4] = {0, 0, width, height};
        st = resample_into(net, image, height, width, whole, 1);
        if (st == FCL_SUCCESS)
            st = fcl_net_forward(net, NULL, heads);
        const int first = n;
        const float s = (float)scale;
        for (int y = 0; y < os.h && st == FCL_SUCCESS; y++)
            for (int x = 0; x < os.w; x++) {
                const size_t at = (size_t)y * os.w + x;
                if (!(heads[plane + at] >= o->thresholds[0]))
                    continue;
                if ((st = grow(out, cap, n + 1)) != FCL_SUCCESS)
                    break;
                cand *c = &(*out)[n++];
                memset(c, 0, sizeof *c);
                c->x1 = floorf(((float)PNET_STRIDE * (float)x + 1.0f) / s);
                c->y1 = floorf(((float)PNET_STRIDE * (float)y + 1.0f) / s);
                c->x2 = floorf(((float)PNET_STRIDE * (float)x + (float)PNET_CELL) / s);
                c->y2 = floorf(((float)PNET_STRIDE * (float)y + (float)PNET_CELL) / s);
                c->score = heads[plane + at];
                for (int k = 0; k < 4; k++)
                    c->reg[k] = heads[(2 + k) * plane + at];
            }
        int level_n = n - first;
        if (st == FCL_SUCCESS)
            st = nms(*out + first, &level_n, 0.5f, false);
        n = first + level_n;
    }
    free(heads);
    if (st == FCL_SUCCESS)
        st = nms(*out, &n, 0.7f, false);
    for (int i = 0; i < n && st == FCL_SUCCESS; i++) {
        regress(&(*out)[i], 0.0f);
        square(&(*out)[i]);
    }
    *n_out = n;
    return st;
}

/* Stages 2 and 3: each candidate's crop through R-Net (24x24) or O-Net (48x48), in
 * batches; those over the stage's threshold stay, with the new probability, regression
 * and (O-Net) landmarks. Candidates whose crop is empty are dropped. */
static fcl_status refine(fcl_detector *d, int stage, cl_mem image, int height, int width, float threshold, cand *c,
                         int *n)
{
    const int per = fcl_shape_size(fcl_model_output(d->models[stage])->out);
    int *boxes = malloc(((size_t)*n + 1) * 4 * sizeof *boxes), *which = malloc(((size_t)*n + 1) * sizeof *which);
    float *heads = malloc((size_t)stage_batch[stage] * per * sizeof *heads);
    fcl_status st = boxes && which && heads ? FCL_SUCCESS : FCL_ERR_OUT_OF_HOST_MEMORY;
    int crops = 0, kept = 0;
    for (int i = 0; i < *n && st == FCL_SUCCESS; i++)
        if (crop_of(&c[i], width, height, &boxes[4 * crops]))
            which[crops++] = i;
    for (int done = 0; done < crops && st == FCL_SUCCESS;) {
        int rung = 0; /* the largest batch 2^rung <= what is left, at most the stage's */
        while (rung + 1 < LADDER && (1 << (rung + 1)) <= crops - done && (1 << (rung + 1)) <= stage_batch[stage])
            rung++;
        const int k = 1 << rung;
        fcl_net **net = &d->refine[stage][rung];
        if (!*net)
            st = net_with_weights(d, stage, d->models[stage], k, net);
        if (st == FCL_SUCCESS)
            st = resample_into(*net, image, height, width, &boxes[4 * done], k);
        if (st == FCL_SUCCESS)
            st = fcl_net_forward(*net, NULL, heads);
        for (int b = 0; b < k && st == FCL_SUCCESS; b++) {
            const float *h = &heads[(size_t)b * per];
            if (!(h[1] > threshold))
                continue;
            cand e = c[which[done + b]];
            e.score = h[1];
            memcpy(e.reg, &h[2], sizeof e.reg);
            if (stage == STAGE_O) { /* landmarks: fractions of the box, sizes + 1, 1-based */
                const float w = e.x2 - e.x1 + 1.0f, hh = e.y2 - e.y1 + 1.0f;
                for (int p = 0; p < 5; p++) {
                    e.points[p][0] = w * h[6 + p] + e.x1 - 1.0f;
                    e.points[p][1] = hh * h[11 + p] + e.y1 - 1.0f;
                }
            }
            c[kept++] = e; /* kept <= which[done + b]: nothing unread is overwritten */
        }
        done += k;
    }
    free(boxes), free(which), free(heads);
    *n = kept;
    return st;
}

static fcl_status run_cascade(fcl_detector *d, cl_mem image, int height, int width, const fcl_detect_options *o,
                              cand **c, int *n)
{
    int cap = 0;
    fcl_status st = propose(d, image, height, width, o, c, n, &cap);
    if (st == FCL_SUCCESS)
        st = refine(d, STAGE_R, image, height, width, o->thresholds[1], *c, n);
    if (st == FCL_SUCCESS)
        st = nms(*c, n, 0.7f, false);
    for (int i = 0; i < *n && st == FCL_SUCCESS; i++) {
        regress(&(*c)[i], 1.0f);
        square(&(*c)[i]);
    }
    if (st == FCL_SUCCESS)
        st = refine(d, STAGE_O, image, height, width, o->thresholds[2], *c, n);
    for (int i = 0; i < *n && st == FCL_SUCCESS; i++)
        regress(&(*c)[i], 1.0f);
    if (st == FCL_SUCCESS)
        st = nms(*c, n, 0.7f, true);
    return st;
}

/* The image as planar RGB floats on the device (grey repeated into the three). */
static fcl_status upload_image(fcl_runtime *rt, const fcl_image *im, cl_mem *out)
{
    const size_t plane = (size_t)im->width * im->height;
    const size_t stride = im->stride ? im->stride : (size_t)im->width * im->channels;
    float *host = malloc(3 * plane * sizeof *host);
    if (!host)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    for (int y = 0; y < im->height; y++)
        for (int x = 0; x < im->width; x++)
            for (int ch = 0; ch < 3; ch++)
                host[ch * plane + (size_t)y * im->width + x] =
                    im->pixels[(size_t)y * stride + (size_t)x * im->channels + (im->channels == 3 ? ch : 0)];
    cl_int err;
    *out = clCreateBuffer(rt->context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, 3 * plane * sizeof *host, host, &err);
    free(host);
    return err;
}

fcl_status fcl_detect(fcl_detector *d, const fcl_image *image, const fcl_detect_options *options, fcl_face **faces,
                      int *n_faces)
{
    *faces = NULL;
    *n_faces = 0;
    const fcl_detect_options o = options ? *options : fcl_detect_defaults();
    if (!d || !image || !image->pixels || image->width < 1 || image->height < 1 ||
        (image->channels != 1 && image->channels != 3) || o.min_face < PNET_CELL || !(o.factor > 0.1 && o.factor < 1))
        return FCL_ERR_INVALID_ARGUMENT;
    for (int s = 0; s < STAGES; s++)
        if (!(o.thresholds[s] >= 0 && o.thresholds[s] <= 1))
            return FCL_ERR_INVALID_ARGUMENT;
    cl_mem dev = NULL;
    cand *c = NULL;
    int n = 0;
    fcl_status st = upload_image(d->rt, image, &dev);
    if (st == FCL_SUCCESS)
        st = run_cascade(d, dev, image->height, image->width, &o, &c, &n);
    if (dev)
        clReleaseMemObject(dev);
    if (st == FCL_SUCCESS && n > 0 && !(*faces = malloc((size_t)n * sizeof **faces)))
        st = FCL_ERR_OUT_OF_HOST_MEMORY;
    for (int i = 0; i < n && st == FCL_SUCCESS; i++) {
        fcl_face *f = &(*faces)[i];
        *f = (fcl_face){.box = {c[i].x1, c[i].y1, c[i].x2, c[i].y2}, .probability = c[i].score};
        memcpy(f->landmarks, c[i].points, sizeof f->landmarks);
    }
    free(c);
    if (st != FCL_SUCCESS) {
        free(*faces);
        *faces = NULL;
        return st;
    }
    *n_faces = n;
    return FCL_SUCCESS;
}
