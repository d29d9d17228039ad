/* What the inference commands share: a model with its weights on a device, and the
 * verification threshold that `facecl eval` stores in the weights file. */
#include "cli.h"

#include <dirent.h>
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool cli_open_fashion_mnist(const char *who, const char *dir, fcl_dataset **train, fcl_dataset **test)
{
    *train = *test = NULL;
    fcl_status st = fcl_dataset_load(dir, "train", train);
    if (st == FCL_SUCCESS)
        st = fcl_dataset_load(dir, "t10k", test);
    /* IDX sets: images without files */
    if (st == FCL_SUCCESS && !fcl_dataset_image_path(*train, 0) && !fcl_dataset_image_path(*test, 0))
        return true;
    fprintf(stderr, "facecl %s: Fashion-MNIST's train and t10k IDX files are not in %s: install the Debian package "
                    "dataset-fashion-mnist, or pass --data DIR\n", who, dir);
    fcl_dataset_destroy(*train);
    fcl_dataset_destroy(*test);
    *train = *test = NULL;
    return false;
}

const char *cli_path_beside(const char *file, const char *name, char *out, size_t size)
{
    char *copy = strdup(file);
    snprintf(out, size, "%s/%s", copy ? dirname(copy) : ".", name);
    free(copy);
    return out;
}

int cli_net_open(cli_net *s, const char *model_path, const char *weights, const char *device, int batch)
{
    memset(s, 0, sizeof *s);
    fcl_status st = fcl_model_load(model_path, &s->model);
    if (st != FCL_SUCCESS)
        return cli_fail(model_path, st);
    cli_warn_unnormalised(s->model, "");
    if (!(s->rt = cli_open_runtime(device, NULL)))
        return 1;
    st = fcl_embedder_create(s->rt, s->model, batch, &s->embedder);
    if (st == FCL_SUCCESS)
        st = fcl_embedder_load_weights(s->embedder, weights);
    return st == FCL_SUCCESS ? 0 : cli_fail(weights, st);
}

void cli_net_close(cli_net *s)
{
    fcl_embedder_destroy(s->embedder);
    fcl_runtime_destroy(s->rt);
    fcl_model_destroy(s->model);
    memset(s, 0, sizeof *s);
}

bool cli_threshold(const char *weights, double given, double *out)
{
    if (given >= 0) {
        *out = given;
        return true;
    }
    bool found;
    if (fcl_weights_threshold(weights, &found, out) != FCL_SUCCESS)
        return false; /* the reader said why */
    if (!found)
        fprintf(stderr, "facecl: %s holds no verification threshold: pass --threshold T (a squared distance, 0 to "
                        "4), or run `facecl eval MODEL --weights %s DATA` once to choose and store one\n",
                weights, weights);
    return found;
}

/* A name becomes models/<name>.model; a path (with '/' or ending in .model) stays. */
bool cli_resolve_model(const char *who, const char *name, char *out, size_t size)
{
    const size_t n = strlen(name);
    if (strchr(name, '/') || (n > 6 && strcmp(name + n - 6, ".model") == 0))
        snprintf(out, size, "%s", name);
    else
        snprintf(out, size, "%s/%s.model", CLI_MODEL_DIR, name);
    if (access(out, R_OK) == 0)
        return true;
    fprintf(stderr, "facecl %s: unknown model '%s' (no readable %s).", who, name, out);
    DIR *d = opendir(CLI_MODEL_DIR);
    if (d) {
        fprintf(stderr, " %s/ holds:", CLI_MODEL_DIR);
        for (const struct dirent *e; (e = readdir(d));) {
            const size_t len = strlen(e->d_name);
            if (len > 6 && strcmp(e->d_name + len - 6, ".model") == 0)
                fprintf(stderr, " %.*s", (int)(len - 6), e->d_name);
        }
        closedir(d);
    } else {
        fprintf(stderr, " Run facecl from its source directory, or give model files' paths.");
    }
    fprintf(stderr, "\n");
    return false;
}

double cli_tune_seconds(void)
{
    const char *env = getenv("FACECL_TUNE_SECONDS");
    char *end;
    const double v = env ? strtod(env, &end) : 60.0;
    if (env && (end == env || *end || !(v >= 0) || v > 1e6)) {
        fprintf(stderr, "facecl: warning: FACECL_TUNE_SECONDS=%s is not a number of seconds from 0 to 1e6; using 60\n",
                env);
        return 60.0;
    }
    return v;
}

static void format_duration(double s, char *out, size_t size)
{
    if (!(s >= 0) || s > 1e7)
        snprintf(out, size, "?");
    else if (s >= 3600)
        snprintf(out, size, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
    else
        snprintf(out, size, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
}

void cli_train_progress(const fcl_train_progress *p, void *user)
{
    const bool live = *(const int *)user == 2;
    char eta[32];
    format_duration(p->eta_seconds, eta, sizeof eta);
    printf("%sstep %*ld/%ld  loss %.4f  %s %5.1f%%  lr %.3g  %.0f img/s  ETA %s%s", live ? "\r" : "",
           (int)snprintf(NULL, 0, "%ld", p->steps), p->step, p->steps, p->loss, p->active, 100 * p->active_fraction,
           p->lr, p->images_per_second, eta, live && !p->last ? "   " : "\n");
    fflush(stdout);
}

int cli_train_progress_mode(bool quiet) { return quiet ? 0 : isatty(STDOUT_FILENO) ? 2 : 1; }

void cli_train_progress_set(fcl_train_options *o, int *mode)
{
    o->progress = *mode ? cli_train_progress : NULL;
    o->progress_user = mode;
    o->progress_seconds = *mode == 2 ? 0.5 : 15;
}

static void print_line(const char *text, void *user)
{
    (void)user;
    printf("%s\n", text);
    fflush(stdout);
}

fcl_reporter cli_reporter(void) { return (fcl_reporter){.line = print_line}; }

void cli_csv_field(fcl_strbuf *b, const char *text)
{
    if (!strpbrk(text, ",\"\r\n")) {
        fcl_strbuf_printf(b, "%s", text);
        return;
    }
    fcl_strbuf_printf(b, "\"");
    for (const char *c = text; *c; c++) {
        if (*c == '"')
            fcl_strbuf_printf(b, "\"\"");
        else
            fcl_strbuf_printf(b, "%c", *c);
    }
    fcl_strbuf_printf(b, "\"");
}

bool cli_output_is_input(const char *who, const char *option, const char *out, const char *const *inputs,
                         int n_inputs)
{
    struct stat o, in;
    if (!out || stat(out, &o) != 0)
        return false; /* a file that does not exist yet is no input */
    for (int i = 0; i < n_inputs; i++)
        if (inputs[i] && stat(inputs[i], &in) == 0 && in.st_dev == o.st_dev && in.st_ino == o.st_ino) {
            fprintf(stderr, "facecl %s: %s %s is also an input (%s): it would be overwritten; write elsewhere\n", who,
                    option, out, inputs[i]);
            return true;
        }
    return false;
}

fcl_layer_info cli_output_layer(const fcl_model *m)
{
    fcl_layer_info out;
    fcl_model_layer(m, fcl_model_describe(m).layers - 1, &out);
    return out;
}

void cli_warn_unnormalised(const fcl_model *m, const char *who)
{
    const fcl_layer_info out = cli_output_layer(m);
    if (strcmp(out.type, "l2norm") != 0)
        fprintf(stderr, "facecl%s%s: warning: %s ends in %s (%s), not l2norm: its embeddings are not unit vectors, "
                        "so distances are not 0 to 4 and thresholds mean little (end the model with `l2norm NAME`)\n",
                who[0] ? " " : "", who, fcl_model_describe(m).source, out.name, out.type);
}

bool cli_embeddings_sound(fcl_embedder *embedder, const fcl_model *m, const float *x, const float *e, int n,
                          const char *const *names, bool zero_is_error)
{
    const fcl_layer_info out = cli_output_layer(m);
    const int dim = fcl_model_describe(m).embedding_size;
    for (int k = 0; k < n; k++) {
        const float *ek = e + (size_t)k * dim;
        double norm = 0;
        bool finite = true;
        for (int j = 0; j < dim; j++)
            finite &= isfinite(ek[j]), norm += (double)ek[j] * ek[j];
        if (!finite) {
            const char *layer, *type;
            const fcl_status st = fcl_embedder_nonfinite_layer(embedder, x, n, &layer, &type);
            if (st == FCL_SUCCESS && layer)
                fprintf(stderr, "facecl: %s: its embedding is not finite: the values first go bad in layer %s (%s), "
                                "which overflows with these weights (or the weights are broken)\n",
                        names[k], layer, type);
            else
                fprintf(stderr, "facecl: %s: its embedding is not finite (and a second pass found no layer to blame: "
                                "is the device sound? `facecl devices --check`)\n", names[k]);
            return false;
        }
        if (strcmp(out.type, "l2norm") == 0 && norm < 0.25) {
            fprintf(stderr, "facecl: %s%s: its embedding is the zero vector, not a unit one: the layers before %s "
                            "give 0 for it (all-zero weights?), so no distance to it means anything\n",
                    zero_is_error ? "" : "warning: ", names[k], out.name);
            if (zero_is_error)
                return false;
        }
    }
    return true;
}
