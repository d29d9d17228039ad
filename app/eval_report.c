/* The evaluation's table and its ROC files (app/eval_report.h). */
#include "eval_report.h"
#include "plot.h"

#include <stdlib.h>

void eval_print(FILE *f, const fcl_eval_result *r, const fcl_eval_options *o)
{
    fprintf(f, "verification (%d-fold, %d pairs)   accuracy %.2f%% +- %.2f%%  (threshold %.3f)\n", r->folds, r->pairs,
            100 * r->accuracy, 100 * r->accuracy_std, r->threshold);
    fprintf(f, "all pairs of %d images (%ld same, %ld different)\n", r->far_images, r->same_pairs, r->diff_pairs);
    fprintf(f, "  VAL at FAR %-8.0e                     %.2f%%  (FAR %.2e, threshold %.3f)\n", o->far, 100 * r->val,
            r->far, r->val_threshold);
    fprintf(f, "  ROC AUC                              %.4f\n  equal error rate                     %.2f%%\n",
            r->auc, 100 * r->eer);
    fprintf(f, "identification (%d queries, gallery %d)\n", r->queries, r->gallery);
    fprintf(f, "  rank-1 nearest neighbour             %.2f%%\n  nearest class mean                   %.2f%%\n",
            100 * r->rank1, 100 * r->ncm);
}

fcl_status eval_write_roc(const char *dir, const fcl_eval_result *r)
{
    const fcl_roc_point *pts = r->roc;
    const size_t n = r->roc_points > 0 ? (size_t)r->roc_points : 0;
    char path[4096];
    size_t cap = 64 + n * 64, len = 0;
    char *csv = malloc(cap);
    double *x = malloc((n ? n : 1) * sizeof *x), *y = malloc((n ? n : 1) * sizeof *y); /* malloc(0) may be NULL */
    fcl_status st = csv && x && y ? FCL_SUCCESS : FCL_ERR_OUT_OF_HOST_MEMORY;
    if (st == FCL_SUCCESS) {
        len += (size_t)snprintf(csv, cap, "false_accept_rate,true_accept_rate,threshold\n");
        for (size_t i = 0; i < n; i++) {
            len += (size_t)snprintf(csv + len, cap - len, "%.6g,%.6g,%.6g\n", pts[i].fpr, pts[i].tpr, pts[i].threshold);
            x[i] = pts[i].fpr;
            y[i] = pts[i].tpr;
        }
        snprintf(path, sizeof path, "%s/roc.csv", dir);
        st = fcl_write_file_atomic(path, csv, len);
    }
    if (st == FCL_SUCCESS) {
        char title[128], label[128];
        snprintf(title, sizeof title, "ROC: AUC %.4f, EER %.2f%%, VAL %.1f%% at FAR %.0e", r->auc, 100 * r->eer,
                 100 * r->val, r->far > 0 ? r->far : 1e-3);
        snprintf(label, sizeof label, "%ld same / %ld different pairs", r->same_pairs, r->diff_pairs);
        fcl_plot p = {title, "false accept rate (log)", "true accept rate (VAL)", true, 1e-5, 1, 0, 1};
        fcl_plot_series s = {.label = label, .x = x, .y = y, .n = (int)n};
        snprintf(path, sizeof path, "%s/roc.svg", dir);
        st = fcl_plot_svg(path, &p, &s, 1);
    }
    free(csv);
    free(x);
    free(y);
    return st;
}
