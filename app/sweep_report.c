/* What a FLOPS-versus-accuracy sweep found: the tables, the paper's points beside
 * them, results.json and the two plots. */
#include "sweep.h"
#include "pareto.h"
#include "plot.h"
#include "text.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* FaceNet's own models as the paper reports them (SPEC.md section 3): multiply-adds per
 * image and VAL at FAR 1e-3 on Google's hold-out set (no figure given for NN3's FLOPS). Set beside ours, not compared: the
 * data and the training budget differ by orders of magnitude. */
static const struct paper_point {
    const char *name, *input;
    double macs, params, val, val_std;
} paper_points[] = {
    {"NN1", "220x220", 1.6e9, 140e6, 87.9, 1.9}, {"NN2", "224x224", 1.6e9, 7.5e6, 89.4, 1.6},
    {"NN3", "160x160", NAN, 7.5e6, 88.3, 1.7},   {"NN4", "96x96", 285e6, 7.5e6, 82.0, 2.3},
    {"NNS1", "165x165", 220e6, 26e6, 82.4, 2.4}, {"NNS2", "140x116", 20e6, 4.3e6, 51.9, 2.9},
};

#define STAT(m, field, mean, std) fcl_sweep_stat((m), offsetof(fcl_sweep_run, field), (mean), (std))

static double mean_of(const fcl_sweep_model *m, size_t offset)
{
    double mean, std;
    fcl_sweep_stat(m, offset, &mean, &std);
    return mean;
}
#define MEAN(m, field) mean_of((m), offsetof(fcl_sweep_run, field))

/* Training GFLOP/s: the multiply-adds the device counted per training image, at the measured rate. */
static double train_gflops(const fcl_sweep_model *m)
{
    return 2 * MEAN(m, train_macs_counted) * MEAN(m, train_images_per_second) / 1e9;
}

/* The budget every model got, as the table's title says it. */
static void budget_text(const fcl_sweep_options *o, char *out, size_t size)
{
    if (o->minutes > 0)
        snprintf(out, size, "same training time: %g min a run", o->minutes);
    else if (o->epochs > 0)
        snprintf(out, size, "same epochs: %g", o->epochs);
    else if (o->converged > 0)
        snprintf(out, size, "until converged on a validation split, at most %ld steps", o->converged);
    else
        snprintf(out, size, "same steps: %ld", o->steps);
}

/* Milliseconds of device time per image in inference (the evaluation's embedding pass). */
static double ms_per_image(const fcl_sweep_model *m)
{
    const double ips = MEAN(m, infer_images_per_second);
    return ips > 0 ? 1000 / ips : NAN;
}

/* The models with runs, each one's mean cost (multiply-adds, or device ms per image) and
 * VAL, and which of them are on the Pareto front of VAL against that cost. */
typedef struct model_points {
    const fcl_sweep_model *model[FCL_SWEEP_MAX_MODELS];
    double macs[FCL_SWEEP_MAX_MODELS], ms[FCL_SWEEP_MAX_MODELS], val[FCL_SWEEP_MAX_MODELS];
    bool macs_front[FCL_SWEEP_MAX_MODELS], ms_front[FCL_SWEEP_MAX_MODELS];
    int n;
    double rho_macs, rho_ms; /* Spearman's rank correlation of VAL with each cost, over all n */
} model_points;

static void model_points_of(const fcl_sweep_report *r, model_points *p)
{
    p->n = 0;
    for (int i = 0; i < r->n_models; i++) {
        const fcl_sweep_model *m = &r->models[i];
        if (!m->n_runs)
            continue;
        p->model[p->n] = m;
        p->macs[p->n] = MEAN(m, macs);
        p->ms[p->n] = ms_per_image(m);
        p->val[p->n] = MEAN(m, val);
        p->n++;
    }
    fcl_pareto_front(p->macs, p->val, p->n, p->macs_front);
    fcl_pareto_front(p->ms, p->val, p->n, p->ms_front);
    p->rho_macs = fcl_rank_correlation(p->macs, p->val, p->n);
    p->rho_ms = fcl_rank_correlation(p->ms, p->val, p->n);
}

/* "a, b, c": the front's models in order of cost. */
static void front_names(const model_points *p, const double *cost, const bool *front, char *out, size_t size)
{
    int order[FCL_SWEEP_MAX_MODELS], k = 0;
    for (int i = 0; i < p->n; i++)
        if (front[i]) {
            int j = k++;
            for (; j > 0 && cost[order[j - 1]] > cost[i]; j--)
                order[j] = order[j - 1];
            order[j] = i;
        }
    out[0] = '\0';
    for (int j = 0; j < k; j++)
        snprintf(out + strlen(out), size - strlen(out), "%s%s", j ? ", " : "", p->model[order[j]]->name);
}

/* The table's front column: [on the multiply-adds front][on the device-time front]. */
static const char *const front_marks[2][2] = {{"", "T"}, {"F", "F,T"}};

static void print_fronts(FILE *f, const model_points *p)
{
    char names[FCL_SWEEP_MAX_MODELS * 70];
    front_names(p, p->macs, p->macs_front, names, sizeof names);
    fprintf(f, "\nPareto front of VAL against multiply-adds (no model has more VAL for fewer): %s\n", names);
    front_names(p, p->ms, p->ms_front, names, sizeof names);
    fprintf(f, "Pareto front of VAL against device time per image on this device: %s\n", names);
    fprintf(f, "Spearman rank correlation of VAL with multiply-adds over the %d models: %.3f; with device time "
               "per image: %.3f\n(along a front VAL rises with cost by construction; these are over every model)\n",
            p->n, p->rho_macs, p->rho_ms);
}

void fcl_sweep_print(FILE *f, const fcl_sweep_report *r)
{
    const fcl_sweep_options *o = r->options;
    char budget[96];
    budget_text(o, budget, sizeof budget);
    model_points pts;
    model_points_of(r, &pts);
    fprintf(f, "FLOPS against accuracy on %s (%s; %d seed%s, batch %d x %d)\n\n", r->device, budget, o->seeds,
            o->seeds == 1 ? "" : "s", o->P, o->K);
    fprintf(f, "%-20s %9s %8s %6s  %-15s  %-15s  %-15s %7s %5s\n", "model", "M-adds", "params", "steps",
            "10-fold acc %", "VAL@FAR1e-3 %", "rank-1 %", "NCM %", "front");
    for (int i = 0; i < r->n_models; i++) {
        const fcl_sweep_model *m = &r->models[i];
        if (!m->n_runs)
            continue;
        double acc, acc_s, val, val_s, r1, r1_s;
        STAT(m, accuracy, &acc, &acc_s);
        STAT(m, val, &val, &val_s);
        STAT(m, rank1, &r1, &r1_s);
        char params[16];
        fcl_format_count(MEAN(m, params), params, sizeof params);
        int k = 0;
        while (k < pts.n && pts.model[k] != m)
            k++;
        /* steps: of the weights evaluated (under --converged each seed's best check: their mean) */
        fprintf(f, "%-20s %9.3f %8s %6.0f  %6.2f +- %-5.2f  %6.2f +- %-5.2f  %6.2f +- %-5.2f %7.2f %5s\n", m->name,
                MEAN(m, macs) / 1e6, params, MEAN(m, steps), 100 * acc, 100 * acc_s, 100 * val, 100 * val_s, 100 * r1,
                100 * r1_s, 100 * MEAN(m, ncm), front_marks[pts.macs_front[k]][pts.ms_front[k]]);
    }
    fprintf(f, "(front: F on the Pareto front of VAL against multiply-adds, T against device time per image)\n");
    print_fronts(f, &pts);
    fprintf(f, "\nmeasured on this device (GEMM ceiling %.1f GFLOP/s: facecl's GEMM at n = %d, the best square):\n",
            r->gemm_gflops, r->gemm_n);
    fprintf(f, "%-20s %10s %10s %11s %9s %9s %9s %11s %9s\n", "model", "fwd M-adds", "train M-ad", "train img/s",
            "train s", "GFLOP/s", "ceiling", "infer img/s", "GFLOP/s");
    for (int i = 0; i < r->n_models; i++) {
        const fcl_sweep_model *m = &r->models[i];
        if (!m->n_runs)
            continue;
        const double g = train_gflops(m);
        fprintf(f, "%-20s %10.3f %10.3f %11.0f %9.1f %9.2f %8.1f%% %11.0f %9.2f\n", m->name,
                MEAN(m, macs_counted) / 1e6, MEAN(m, train_macs_counted) / 1e6, MEAN(m, train_images_per_second),
                MEAN(m, train_seconds), g, 100 * g / r->gemm_gflops, MEAN(m, infer_images_per_second),
                2 * MEAN(m, macs_counted) * MEAN(m, infer_images_per_second) / 1e9);
    }
    fprintf(f, "(fwd M-adds: counted on the device in one forward pass, per image; `facecl info` gives M-adds.\n"
               " train M-ad: forward + backward per image. train s: steps x batch / train img/s.)\n");
    fprintf(f, "\nthe paper's models (VAL at FAR 1e-3 on Google's hold-out faces, not on this data):\n");
    fprintf(f, "%-6s %-9s %9s %8s %13s\n", "model", "input", "M-adds", "params", "VAL %");
    for (size_t i = 0; i < sizeof paper_points / sizeof paper_points[0]; i++) {
        const struct paper_point *p = &paper_points[i];
        char params[16], macs[16];
        fcl_format_count(p->params, params, sizeof params);
        if (isfinite(p->macs))
            snprintf(macs, sizeof macs, "%.0f", p->macs / 1e6);
        else
            snprintf(macs, sizeof macs, "-");
        fprintf(f, "%-6s %-9s %9s %8s %6.1f +- %.1f\n", p->name, p->input, macs, params, p->val, p->val_std);
    }
}

static void json_stat(fcl_strbuf *b, const char *name, const fcl_sweep_model *m, size_t offset)
{
    double mean, std;
    fcl_sweep_stat(m, offset, &mean, &std);
    fcl_strbuf_printf(b, "\"%s\": {\"mean\": %.6g, \"std\": %.6g}, ", name, mean, std);
}

static fcl_status write_json(const fcl_sweep_report *r, const char *path)
{
    const fcl_sweep_options *o = r->options;
    fcl_strbuf b = {0};
    fcl_strbuf_printf(&b, "{\n  \"benchmark\": \"flops-accuracy\",\n  \"device\": \"");
    for (const char *c = r->device; *c; c++) /* a device name is printable text; keep JSON valid anyway */
        fcl_strbuf_printf(&b, *c == '"' || *c == '\\' ? "\\%c" : (unsigned char)*c < 32 ? "?" : "%c", *c);
    fcl_strbuf_printf(&b, "\",\n  \"gemm_ceiling_gflops\": %.4g, \"gemm_ceiling_n\": %d,\n", r->gemm_gflops,
                      r->gemm_n);
    fcl_strbuf_printf(&b, "  \"budget\": {\"%s\": %g}, \"seeds\": %d, \"P\": %d, \"K\": %d,\n",
                      o->minutes > 0 ? "minutes" : o->epochs > 0 ? "epochs" : o->converged > 0 ? "converged_max_steps" : "steps",
                      o->minutes > 0 ? o->minutes : o->epochs > 0 ? o->epochs : o->converged > 0 ? (double)o->converged : (double)o->steps,
                      o->seeds, o->P, o->K);
    model_points pts;
    model_points_of(r, &pts);
    const struct {
        const char *name;
        const bool *front;
        double rho;
    } fronts[] = {{"multiply_adds", pts.macs_front, pts.rho_macs}, {"device_ms_per_image", pts.ms_front, pts.rho_ms}};
    fcl_strbuf_printf(&b, "  \"pareto_front\": {");
    for (size_t k = 0; k < 2; k++) {
        fcl_strbuf_printf(&b, "%s\"%s\": [", k ? ", " : "", fronts[k].name);
        for (int i = 0, shown = 0; i < pts.n; i++)
            if (fronts[k].front[i])
                fcl_strbuf_printf(&b, "%s\"%s\"", shown++ ? ", " : "", pts.model[i]->name);
        fcl_strbuf_printf(&b, "]");
    }
    fcl_strbuf_printf(&b, "},\n  \"val_rank_correlation\": {");
    for (size_t k = 0; k < 2; k++) /* NAN (a constant column, one model) is JSON's null */
        fcl_strbuf_printf(&b, isfinite(fronts[k].rho) ? "%s\"%s\": %.4f" : "%s\"%s\": null", k ? ", " : "",
                          fronts[k].name, fronts[k].rho);
    fcl_strbuf_printf(&b, "},\n");
    fcl_strbuf_printf(&b, "  \"models\": [");
    for (int i = 0; i < r->n_models; i++) {
        const fcl_sweep_model *m = &r->models[i];
        const double g = m->n_runs ? train_gflops(m) : 0;
        fcl_strbuf_printf(&b, "%s\n    {\"name\": \"%s\", \"budget_steps\": %ld, \"train_gflops\": %.4g, "
                              "\"train_ceiling_fraction\": %.4g, ", i ? "," : "", m->name, m->steps, g,
                          r->gemm_gflops > 0 ? g / r->gemm_gflops : 0);
        static const struct {
            const char *name;
            size_t offset;
        } stats[] = {
            {"multiply_adds", offsetof(fcl_sweep_run, macs)},
            {"multiply_adds_counted", offsetof(fcl_sweep_run, macs_counted)},
            {"train_multiply_adds_counted", offsetof(fcl_sweep_run, train_macs_counted)},
            {"params", offsetof(fcl_sweep_run, params)},
            {"train_images_per_second", offsetof(fcl_sweep_run, train_images_per_second)},
            {"train_seconds", offsetof(fcl_sweep_run, train_seconds)},
            {"infer_images_per_second", offsetof(fcl_sweep_run, infer_images_per_second)},
            {"accuracy", offsetof(fcl_sweep_run, accuracy)}, {"val", offsetof(fcl_sweep_run, val)},
            {"rank1", offsetof(fcl_sweep_run, rank1)}, {"ncm", offsetof(fcl_sweep_run, ncm)},
            {"auc", offsetof(fcl_sweep_run, auc)}, {"eer", offsetof(fcl_sweep_run, eer)},
        };
        for (size_t k = 0; k < sizeof stats / sizeof stats[0] && m->n_runs; k++)
            json_stat(&b, stats[k].name, m, stats[k].offset);
        fcl_strbuf_printf(&b, "\"runs\": [");
        for (int s = 0; s < m->n_runs; s++) {
            const fcl_sweep_run *run = &m->runs[s];
            fcl_strbuf_printf(&b, "%s{\"seed\": %.0f, \"steps\": %.0f, \"accuracy\": %.6g, \"accuracy_std\": %.6g, \"val\": %.6g, "
                                  "\"far\": %.6g, \"rank1\": %.6g, \"train_images_per_second\": %.6g}",
                              s ? ", " : "", run->seed, run->steps, run->accuracy, run->accuracy_std, run->val, run->far,
                              run->rank1, run->train_images_per_second);
        }
        fcl_strbuf_printf(&b, "]}");
    }
    fcl_strbuf_printf(&b, "\n  ],\n  \"paper\": [");
    for (size_t i = 0; i < sizeof paper_points / sizeof paper_points[0]; i++) {
        const struct paper_point *p = &paper_points[i];
        fcl_strbuf_printf(&b, "%s\n    {\"name\": \"%s\", \"input\": \"%s\", \"multiply_adds\": ", i ? "," : "",
                          p->name, p->input);
        fcl_strbuf_printf(&b, isfinite(p->macs) ? "%.4g" : "null", p->macs);
        fcl_strbuf_printf(&b, ", \"params\": %.4g, \"val\": %.3g, \"val_std\": %.3g}", p->params, p->val / 100,
                          p->val_std / 100);
    }
    fcl_strbuf_printf(&b, "\n  ]\n}\n");
    fcl_status st = fcl_strbuf_status(&b);
    if (st == FCL_SUCCESS)
        st = fcl_write_file_atomic(path, b.text, b.len);
    free(b.text);
    return st;
}

/* One device's points for a plot: per model the mean of y (error bar the std over
 * seeds) against x[i], which must be positive (a log axis), and its Pareto front in
 * order of x. The plot's range grows to hold them. */
typedef struct plot_points {
    double x[FCL_SWEEP_MAX_MODELS], y[FCL_SWEEP_MAX_MODELS], err[FCL_SWEEP_MAX_MODELS];
    double fx[FCL_SWEEP_MAX_MODELS], fy[FCL_SWEEP_MAX_MODELS];
    const char *labels[FCL_SWEEP_MAX_MODELS];
    int n, nf;
} plot_points;

typedef struct plot_range {
    double x_min, x_max, y_min, y_max;
} plot_range;

static void plot_points_of(const model_points *pts, const double *x_in, size_t y_offset, const bool *front,
                           plot_points *out, plot_range *range)
{
    out->n = out->nf = 0;
    for (int i = 0; i < pts->n; i++) {
        if (!(x_in[i] > 0) || !isfinite(x_in[i])) /* not on a log axis */
            continue;
        const int k = out->n++;
        double std;
        out->x[k] = x_in[i];
        fcl_sweep_stat(pts->model[i], y_offset, &out->y[k], &std);
        out->y[k] *= 100;
        out->err[k] = 100 * std;
        out->labels[k] = pts->model[i]->name;
        range->x_min = fmin(range->x_min, out->x[k]);
        range->x_max = fmax(range->x_max, out->x[k]);
        range->y_min = fmin(range->y_min, out->y[k] - out->err[k]);
        range->y_max = fmax(range->y_max, out->y[k] + out->err[k]);
        if (front && front[i]) {
            int j = out->nf++;
            for (; j > 0 && out->fx[j - 1] > out->x[k]; j--)
                out->fx[j] = out->fx[j - 1], out->fy[j] = out->fy[j - 1];
            out->fx[j] = out->x[k], out->fy[j] = out->y[k];
        }
    }
}

/* Whole decades on the log axis; the y range padded and rounded to 5 points. */
static fcl_plot plot_frame(const plot_range *r, const char *title, const char *x_label, const char *y_label)
{
    return (fcl_plot){title, x_label, y_label, true, pow(10, floor(log10(r->x_min))),
                      pow(10, ceil(log10(r->x_max) + 1e-9)), fmax(0, 5 * floor(r->y_min / 5 - 0.2)),
                      fmin(100, 5 * ceil(r->y_max / 5 + 0.2))};
}

static const plot_range empty_range = {INFINITY, 0, 100, 0};

/* One labelled point per model; with front, the Pareto front drawn as a line. */
static fcl_status plot_models(const model_points *pts, const char *path, const char *title, const char *x_label,
                              const char *y_label, const double *x_in, size_t y_offset, const bool *front)
{
    plot_points pp;
    plot_range range = empty_range;
    plot_points_of(pts, x_in, y_offset, front, &pp, &range);
    if (pp.n == 0)
        return FCL_SUCCESS;
    const fcl_plot p = plot_frame(&range, title, x_label, y_label);
    fcl_plot_series s[2] = {{.label = "this device, mean +- std over seeds", .x = pp.x, .y = pp.y, .y_err = pp.err,
                             .point_labels = pp.labels, .n = pp.n, .points = true},
                            {.label = "Pareto front", .x = pp.fx, .y = pp.fy, .n = pp.nf}};
    return fcl_plot_svg(path, &p, s, front ? 2 : 1);
}

/* The terminal's table, as a file. */
typedef void (*print_fn)(FILE *f, const fcl_sweep_report *const *r, int n);
static void print_one(FILE *f, const fcl_sweep_report *const *r, int n)
{
    (void)n;
    fcl_sweep_print(f, r[0]);
}
static fcl_status write_table(const char *path, print_fn print, const fcl_sweep_report *const *r, int n)
{
    char *text = NULL;
    size_t length = 0;
    FILE *f = open_memstream(&text, &length);
    if (f) {
        print(f, r, n);
        fclose(f);
    }
    fcl_status st = f && text ? fcl_write_file_atomic(path, text, length) : FCL_ERR_OUT_OF_HOST_MEMORY;
    free(text);
    return st;
}

fcl_status fcl_sweep_write_outputs(const fcl_sweep_report *r)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/results.json", r->options->out_dir);
    fcl_status st = write_json(r, path);
    model_points pts;
    model_points_of(r, &pts);
    double train_seconds[FCL_SWEEP_MAX_MODELS];
    for (int i = 0; i < pts.n; i++)
        train_seconds[i] = MEAN(pts.model[i], train_seconds);
    if (st == FCL_SUCCESS) {
        snprintf(path, sizeof path, "%s/flops_val.svg", r->options->out_dir);
        st = plot_models(&pts, path, "FLOPS against VAL (as FaceNet's Figure 4)", "multiply-adds per image (log)",
                         "VAL at FAR 1e-3 (%)", pts.macs, offsetof(fcl_sweep_run, val), pts.macs_front);
    }
    if (st == FCL_SUCCESS) { /* the same VAL against what a model costs here: memory-bound layers move points */
        snprintf(path, sizeof path, "%s/time_val.svg", r->options->out_dir);
        st = plot_models(&pts, path, "device time against VAL on this device", "device ms per image, inference (log)",
                         "VAL at FAR 1e-3 (%)", pts.ms, offsetof(fcl_sweep_run, val), pts.ms_front);
    }
    if (st == FCL_SUCCESS) {
        snprintf(path, sizeof path, "%s/time_accuracy.svg", r->options->out_dir);
        st = plot_models(&pts, path, "training time against accuracy on this device", "training seconds (log)",
                         "10-fold verification accuracy (%)", train_seconds, offsetof(fcl_sweep_run, accuracy), NULL);
    }
    if (st == FCL_SUCCESS) {
        snprintf(path, sizeof path, "%s/table.txt", r->options->out_dir);
        st = write_table(path, print_one, &r, 1);
    }
    return st;
}

/* ---- several sweeps (devices) side by side: facecl bench merge ---- */

void fcl_sweep_merge_print(FILE *f, const fcl_sweep_report *const *r, int n)
{
    fprintf(f, "FLOPS against accuracy on %d sweeps\n\n", n);
    for (int d = 0; d < n; d++) {
        char budget[96];
        budget_text(r[d]->options, budget, sizeof budget);
        fprintf(f, "[%d] %s (%s; %d seed%s, batch %d x %d; GEMM ceiling %.1f GFLOP/s)\n", d + 1, r[d]->device, budget,
                r[d]->options->seeds, r[d]->options->seeds == 1 ? "" : "s", r[d]->options->P, r[d]->options->K,
                r[d]->gemm_gflops);
    }
    fprintf(f, "\n%-20s %4s %9s  %-15s  %-15s %9s %11s %5s\n", "model", "[n]", "M-adds", "10-fold acc %",
            "VAL@FAR1e-3 %", "ms/image", "train img/s", "front");
    model_points *pts = malloc((size_t)(n ? n : 1) * sizeof *pts); /* each sweep's, computed once */
    const char **names = malloc((size_t)(n ? n : 1) * FCL_SWEEP_MAX_MODELS * sizeof *names);
    if (!pts || !names) {
        free(pts), free(names);
        fprintf(f, "(out of memory)\n");
        return;
    }
    int n_names = 0; /* every model with runs, in the order of its first appearance */
    for (int d = 0; d < n; d++) {
        model_points_of(r[d], &pts[d]);
        for (int k = 0; k < pts[d].n; k++) {
            int j = 0;
            while (j < n_names && strcmp(names[j], pts[d].model[k]->name) != 0)
                j++;
            if (j == n_names)
                names[n_names++] = pts[d].model[k]->name;
        }
    }
    for (int j = 0; j < n_names; j++) /* model by model, one row per sweep holding it */
        for (int d = 0; d < n; d++)
            for (int k = 0; k < pts[d].n; k++) {
                const model_points *p = &pts[d];
                const fcl_sweep_model *m = p->model[k];
                if (strcmp(m->name, names[j]) != 0)
                    continue;
                double acc, acc_s, val, val_s;
                STAT(m, accuracy, &acc, &acc_s);
                STAT(m, val, &val, &val_s);
                fprintf(f, "%-20s %4d %9.3f  %6.2f +- %-5.2f  %6.2f +- %-5.2f %9.3f %11.0f %5s\n", m->name, d + 1,
                        p->macs[k] / 1e6, 100 * acc, 100 * acc_s, 100 * val, 100 * val_s, p->ms[k],
                        MEAN(m, train_images_per_second), front_marks[p->macs_front[k]][p->ms_front[k]]);
            }
    fprintf(f, "(ms/image: device time per image in inference; front: F on that sweep's Pareto front of VAL against\n"
               " multiply-adds, T against device time per image)\n");
    for (int d = 0; d < n; d++) {
        fprintf(f, "\n[%d] %s:", d + 1, r[d]->device);
        print_fronts(f, &pts[d]);
    }
    free(pts);
    free(names);
}

/* y (VAL) against x for every sweep, one series each. */
static fcl_status plot_sweeps(const fcl_sweep_report *const *r, int n, const char *path, const char *title,
                              const char *x_label, bool device_time)
{
    enum { MAX = 8 };
    static plot_points pp[MAX];
    fcl_plot_series s[MAX];
    char labels[MAX][300];
    plot_range range = empty_range;
    int shown = 0;
    for (int d = 0; d < n && d < MAX; d++) {
        model_points pts;
        model_points_of(r[d], &pts);
        plot_points_of(&pts, device_time ? pts.ms : pts.macs, offsetof(fcl_sweep_run, val), NULL, &pp[d], &range);
        snprintf(labels[d], sizeof labels[d], "[%d] %s", d + 1, r[d]->device);
        s[shown++] = (fcl_plot_series){.label = labels[d], .x = pp[d].x, .y = pp[d].y, .y_err = pp[d].err,
                                       .point_labels = pp[d].labels, .n = pp[d].n, .points = true};
    }
    if (!(range.x_max > 0))
        return FCL_SUCCESS;
    const fcl_plot p = plot_frame(&range, title, x_label, "VAL at FAR 1e-3 (%)");
    return fcl_plot_svg(path, &p, s, shown);
}

fcl_status fcl_sweep_merge_outputs(const fcl_sweep_report *const *r, int n, const char *out_dir)
{
    char path[4300];
    fcl_status st = fcl_mkdir_p(out_dir);
    if (st == FCL_SUCCESS) {
        snprintf(path, sizeof path, "%s/flops_val.svg", out_dir);
        st = plot_sweeps(r, n, path, "FLOPS against VAL, several sweeps", "multiply-adds per image (log)", false);
    }
    if (st == FCL_SUCCESS) {
        snprintf(path, sizeof path, "%s/time_val.svg", out_dir);
        st = plot_sweeps(r, n, path, "device time against VAL, several sweeps", "device ms per image, inference (log)",
                         true);
    }
    if (st == FCL_SUCCESS) {
        snprintf(path, sizeof path, "%s/table.txt", out_dir);
        st = write_table(path, fcl_sweep_merge_print, r, n);
    }
    return st;
}
