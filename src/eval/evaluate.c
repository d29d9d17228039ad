#include "eval/evaluate.h"
#include "eval/metrics.h"
#include "io/safetensors.h"
#include "runtime/clock.h"
#include "runtime/fileio.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ROC_POINTS 2000

fcl_eval_options fcl_eval_defaults(void)
{
    return (fcl_eval_options){.far_images = 3000, .far = 1e-3, .gallery_images = 10000};
}

fcl_status fcl_embed_dataset_images(fcl_net *net, const fcl_dataset *d, const int *idx, int n, float *out,
                                    const fcl_reporter *report)
{
    const fcl_shape in = net->model->nodes[0].out;
    const fcl_input_form form = fcl_model_input_form(net->model);
    const size_t per = (size_t)fcl_shape_size(in), dim = (size_t)fcl_shape_size(fcl_model_output(net->model)->out);
    float *batch = calloc((size_t)net->batch * per, sizeof *batch), *emb = malloc((size_t)net->batch * dim * sizeof *emb);
    fcl_status st = batch && emb ? FCL_SUCCESS : FCL_ERR_OUT_OF_HOST_MEMORY;
    double t0 = fcl_seconds(), shown = t0;
    for (int start = 0; start < n && st == FCL_SUCCESS; start += net->batch) {
        int count = n - start < net->batch ? n - start : net->batch;
        for (int i = 0; i < count && st == FCL_SUCCESS; i++)
            st = fcl_dataset_image(d, idx ? idx[start + i] : start + i, &form, batch + i * per);
        if (st == FCL_SUCCESS)
            st = fcl_net_forward(net, batch, emb);
        /* Finite weights can still overflow (every weight 3e38): scoring NaN distances
         * would hang the ROC and print nonsense, so the first bad embedding stops it. */
        for (size_t i = 0; st == FCL_SUCCESS && i < (size_t)count * dim; i++)
            if (!isfinite(emb[i])) {
                const int image = idx ? idx[start + (int)(i / dim)] : start + (int)(i / dim);
                fcl_log(FCL_LOG_ERROR, "the embedding of image %d%s%s holds %g: the network overflows with these "
                                       "weights (or they are broken), so nothing can be scored",
                        image, d->paths ? ", " : "", d->paths ? d->paths[image] : "", emb[i]);
                st = FCL_ERR_NUMERIC;
            }
        if (st == FCL_SUCCESS)
            memcpy(out + (size_t)start * dim, emb, (size_t)count * dim * sizeof *emb);
        if (fcl_seconds() - shown > 10) {
            shown = fcl_seconds();
            fcl_report(report, "  embedded %d/%d images (%.0f/s)", start + count, n, (start + count) / (shown - t0));
        }
    }
    free(batch);
    free(emb);
    return st;
}

static fcl_status kfold(const fcl_pairs *pairs, const float *emb, size_t dim, fcl_eval_result *r)
{
    double *dist = malloc((size_t)pairs->n * sizeof *dist);
    bool *same = malloc((size_t)pairs->n * sizeof *same);
    int *fold = malloc((size_t)pairs->n * sizeof *fold);
    fcl_status st = dist && same && fold ? FCL_SUCCESS : FCL_ERR_OUT_OF_HOST_MEMORY;
    for (int i = 0; st == FCL_SUCCESS && i < pairs->n; i++) {
        const fcl_pair *p = &pairs->pairs[i];
        dist[i] = fcl_sqdist(emb + (size_t)p->a * dim, emb + (size_t)p->b * dim, (int)dim);
        same[i] = p->same;
        fold[i] = p->fold;
    }
    r->folds = pairs->folds;
    r->pairs = pairs->n;
    if (st == FCL_SUCCESS)
        st = fcl_kfold_accuracy(dist, same, fold, pairs->n, pairs->folds, &r->accuracy, &r->accuracy_std,
                                &r->threshold);
    free(dist);
    free(same);
    free(fold);
    return st;
}

/* Every pair among the first m test images: VAL at the FAR, the ROC, AUC and EER. */
static fcl_status all_pairs(const fcl_dataset *test, const float *emb, size_t dim, int m, const fcl_eval_options *o,
                            fcl_eval_result *r)
{
    size_t total = (size_t)m * (m - 1) / 2, ns = 0, nd = 0;
    float *same = malloc(total * sizeof *same), *diff = malloc(total * sizeof *diff);
    fcl_roc_point *pts = malloc(ROC_POINTS * sizeof *pts);
    fcl_status st = same && diff && pts ? FCL_SUCCESS : FCL_ERR_OUT_OF_HOST_MEMORY;
    for (int i = 0; st == FCL_SUCCESS && i < m; i++)
        for (int j = i + 1; j < m; j++) {
            float d = (float)fcl_sqdist(emb + (size_t)i * dim, emb + (size_t)j * dim, (int)dim);
            if (test->labels[i] == test->labels[j])
                same[ns++] = d;
            else
                diff[nd++] = d;
        }
    r->same_pairs = (long)ns;
    r->diff_pairs = (long)nd;
    if (st == FCL_SUCCESS)
        st = fcl_val_at_far(same, ns, diff, nd, o->far, &r->val, &r->far, &r->val_threshold);
    size_t n_pts = 0;
    if (st == FCL_SUCCESS)
        st = fcl_roc(same, ns, diff, nd, &r->auc, &r->eer, pts, ROC_POINTS, &n_pts);
    free(same);
    free(diff);
    if (st == FCL_SUCCESS) { /* the curve goes to the caller (the CLI writes roc.csv and roc.svg) */
        r->roc = pts;
        r->roc_points = (int)n_pts;
    } else {
        free(pts);
    }
    return st;
}

fcl_status fcl_evaluate_net(fcl_net *net, const fcl_dataset *test, const fcl_dataset *gallery,
                        const fcl_eval_options *o, fcl_eval_result *r)
{
    memset(r, 0, sizeof *r);
    const size_t dim = (size_t)fcl_shape_size(fcl_model_output(net->model)->out);
    fcl_pairs pairs = {0};
    fcl_status st = o->out_dir ? fcl_mkdir_p(o->out_dir) : FCL_SUCCESS;
    if (st == FCL_SUCCESS)
        st = o->pairs_path ? fcl_pairs_load(o->pairs_path, test, &pairs) : fcl_pairs_generate(test, 10, 300, 0, &pairs);
    if (st == FCL_SUCCESS && !o->pairs_path && o->out_dir) {
        char path[4096];
        snprintf(path, sizeof path, "%s/pairs.txt", o->out_dir);
        st = fcl_pairs_write(&pairs, test, path);
    }
    int n_gallery = gallery ? (gallery->n < o->gallery_images ? gallery->n : o->gallery_images) : 0;
    float *emb = malloc((size_t)test->n * dim * sizeof *emb);
    float *gemb = malloc(((size_t)n_gallery + 1) * dim * sizeof *gemb);
    if (st == FCL_SUCCESS && (!emb || !gemb))
        st = FCL_ERR_OUT_OF_HOST_MEMORY;
    double t0 = fcl_seconds();
    if (st == FCL_SUCCESS) {
        fcl_report(&o->report, "embedding %d test images%s", test->n, n_gallery ? " and the gallery" : "");
        st = fcl_embed_dataset_images(net, test, NULL, test->n, emb, &o->report);
    }
    if (st == FCL_SUCCESS && n_gallery)
        st = fcl_embed_dataset_images(net, gallery, NULL, n_gallery, gemb, &o->report);
    r->embed_seconds = fcl_seconds() - t0;
    r->images_per_second = (test->n + n_gallery) / r->embed_seconds;
    if (st == FCL_SUCCESS)
        st = kfold(&pairs, emb, dim, r);
    int m = test->n < o->far_images ? test->n : o->far_images;
    r->far_images = m;
    /* Every image at one point (zero weights, a collapsed training): no threshold means
     * anything, and a stored one would call every pair "same". */
    double spread = 0;
    for (int i = 1; st == FCL_SUCCESS && i < test->n; i++)
        spread = fmax(spread, fcl_squared_distance(emb, emb + (size_t)i * dim, (int)dim));
    if (st == FCL_SUCCESS && spread < 1e-8) {
        fcl_log(FCL_LOG_ERROR, "all %d test embeddings are the same point (largest squared distance %.2g): these "
                               "weights give nothing to verify with; train them (longer), or check they are the "
                               "trained ones", test->n, spread);
        st = FCL_ERR_NUMERIC;
    }
    if (st == FCL_SUCCESS)
        st = all_pairs(test, emb, dim, m, o, r);
    if (st == FCL_SUCCESS) {
        r->queries = test->n;
        if (gallery) {
            r->gallery = n_gallery;
            r->rank1 = fcl_rank1_accuracy(emb, test->labels, test->n, gemb, gallery->labels, n_gallery, (int)dim, false);
            r->ncm = fcl_ncm_accuracy(emb, test->labels, test->n, gemb, gallery->labels, n_gallery, (int)dim,
                                      gallery->n_classes);
        } else { /* leave-one-out within the test set */
            r->gallery = test->n - 1;
            r->rank1 = fcl_rank1_accuracy(emb, test->labels, test->n, emb, test->labels, test->n, (int)dim, true);
            r->ncm = fcl_ncm_accuracy(emb, test->labels, test->n, emb, test->labels, test->n, (int)dim,
                                      test->n_classes);
        }
    }
    fcl_pairs_free(&pairs);
    free(emb);
    free(gemb);
    return st;
}

void fcl_eval_result_free(fcl_eval_result *r)
{
    if (!r)
        return;
    free(r->roc);
    r->roc = NULL;
    r->roc_points = 0;
}

fcl_status fcl_eval_write_json(const fcl_eval_result *r, const fcl_eval_options *o, const char *model,
                               const char *weights, const char *path)
{
    char text[2048];
    int n = snprintf(text, sizeof text,
                     "{\n  \"model\": \"%s\",\n  \"weights\": \"%s\",\n"
                     "  \"verification\": {\"folds\": %d, \"pairs\": %d, \"accuracy\": %.6f, \"accuracy_std\": %.6f, "
                     "\"threshold\": %.6f},\n"
                     "  \"far_target\": %g,\n  \"val\": %.6f,\n  \"far\": %.6g,\n  \"val_threshold\": %.6f,\n"
                     "  \"same_pairs\": %ld,\n  \"different_pairs\": %ld,\n  \"auc\": %.6f,\n  \"eer\": %.6f,\n"
                     "  \"rank1\": %.6f,\n  \"nearest_class_mean\": %.6f,\n  \"queries\": %d,\n  \"gallery\": %d,\n"
                     "  \"embed_images_per_second\": %.1f\n}\n",
                     model, weights ? weights : "", r->folds, r->pairs, r->accuracy, r->accuracy_std, r->threshold,
                     o->far, r->val, r->far, r->val_threshold, r->same_pairs, r->diff_pairs, r->auc, r->eer, r->rank1,
                     r->ncm, r->queries, r->gallery, r->images_per_second);
    if (n < 0 || (size_t)n >= sizeof text)
        return FCL_ERR_INVALID_ARGUMENT;
    return fcl_write_file_atomic(path, text, (size_t)n);
}

fcl_status fcl_eval_save(const fcl_eval_result *r, const fcl_eval_options *o, const char *model, const char *weights,
                         const char *json_path)
{
    fcl_status st = fcl_eval_write_json(r, o, model, weights, json_path);
    char threshold[32];
    snprintf(threshold, sizeof threshold, "%.6f", r->threshold);
    if (st == FCL_SUCCESS && weights)
        st = fcl_safetensors_set_meta(weights, FCL_META_THRESHOLD, threshold);
    return st;
}
