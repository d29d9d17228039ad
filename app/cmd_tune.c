/* facecl tune: the GEMM auto-tuner (src/gemm/gemm_tune.c) on the shapes of the user's
 * models, its table, and the device's tuning file. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MODEL "fmnist-bn"
#define DEFAULT_BATCH 80 /* the training batch: 10 identities x 8 images */
#define DEFAULT_SECONDS 120.0

static void usage(FILE *f)
{
    fprintf(f,
            "usage: facecl tune [options] [MODEL ...]\n\n"
            "Tunes facecl's GEMM kernels for this device: for each shape class the models' layers\n"
            "run (forward and backward of a training step), it searches, on a GPU with on-chip\n"
            "local memory, the tiled GPU kernel first (work per item, work-group, slice depth,\n"
            "copy width, padding, double buffering), then the register kernel (split reductions,\n"
            "packed B, register tiles, work-group shapes, K passes, unrolling) and CLBlast,\n"
            "checks every candidate against the C reference, and keeps the fastest in this\n"
            "device's tuning file in the cache directory (`facecl tune --show` prints it). Every facecl\n"
            "command on this device uses it from then on; a tuning file that is corrupt or from\n"
            "another device or driver is ignored with a warning.\n\n"
            "  MODEL ...      names in %s/ or .model paths (default %s, the demo's)\n"
            "  --batch N      images per batch (default %d, the training batch of 10 x 8)\n"
            "  --inference    tune the forward pass only\n"
            "  --seconds S    time budget; classes not reached keep their configuration\n"
            "                 (default %.0f, 0: no limit)\n"
            "  --show         print this device's tuning file and exit\n"
            "  --reset        delete this device's tuning file (back to the shipped defaults)\n"
            "  --device D     OpenCL device (index, gpu, cpu or a name)\n"
            "  --quiet        only the table\n",
            CLI_MODEL_DIR, DEFAULT_MODEL, DEFAULT_BATCH, DEFAULT_SECONDS);
}

static void print_table(const fcl_tune_row *rows, int n)
{
    printf("\n%-18s %-26s %-36s %8s %-36s %8s %7s %9s\n", "class", "timed shape (MxNxK x n)", "before", "GFLOP/s",
           "after", "GFLOP/s", "speedup", "tried/bad");
    for (int c = 0; c < n; c++) {
        const fcl_tune_row *r = &rows[c];
        if (r->after_gflops > 0)
            printf("%-18s %-26s %-36s %8.1f %-36s %8.1f %6.2fx %5d/%d%s\n", r->name, r->shape, r->before,
                   r->before_gflops, r->after, r->after_gflops,
                   r->before_gflops > 0 ? r->after_gflops / r->before_gflops : 0, r->tried, r->rejected,
                   r->complete ? "" : " (time budget)");
        else
            printf("%-18s %-26s %-36s %8s %-36s %8s %7s %5d/%d (not reached)\n", r->name, r->shape, r->before, "-",
                   "-", "-", "-", r->tried, r->rejected);
    }
}

static int show_file(const char *path)
{
    char *text;
    size_t length;
    if (fcl_read_file(path, &text, &length) != FCL_SUCCESS) {
        printf("no tuning file for this device yet (%s): the shipped defaults are in use; run `facecl tune`\n", path);
        return 0;
    }
    fwrite(text, 1, length, stdout);
    free(text);
    return 0;
}

int cmd_tune(int argc, char **argv)
{
    enum { O_BATCH = 256, O_INFERENCE, O_SECONDS, O_SHOW, O_RESET, O_DEVICE, O_QUIET };
    static const struct option opts[] = {
        {"batch", required_argument, NULL, O_BATCH}, {"inference", no_argument, NULL, O_INFERENCE},
        {"seconds", required_argument, NULL, O_SECONDS}, {"show", no_argument, NULL, O_SHOW},
        {"reset", no_argument, NULL, O_RESET}, {"device", required_argument, NULL, O_DEVICE},
        {"quiet", no_argument, NULL, O_QUIET}, {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0},
    };
    long batch = DEFAULT_BATCH;
    double seconds = DEFAULT_SECONDS;
    bool training = true, show = false, reset = false, quiet = false, ok = true;
    const char *device = NULL;
    int c;
    optind = 1;
    while (ok && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_BATCH: ok = cli_long("batch", optarg, 1, 100000, &batch); break;
        case O_INFERENCE: training = false; break;
        case O_SECONDS: ok = cli_double("seconds", optarg, 0, 1e7, &seconds); break;
        case O_SHOW: show = true; break;
        case O_RESET: reset = true; break;
        case O_DEVICE: device = optarg; break;
        case O_QUIET: quiet = true; break;
        case 'h': usage(stdout); return 0;
        default: ok = false;
        }
    }
    if (!ok) {
        usage(stderr);
        return 2;
    }
    const int n_models = argc > optind ? argc - optind : 1;
    char(*paths)[4096] = calloc((size_t)n_models, sizeof *paths);
    if (!paths)
        return cli_fail("tune", FCL_ERR_OUT_OF_HOST_MEMORY);
    for (int i = 0; i < n_models && ok && !show && !reset; i++) /* --show and --reset need no model */
        ok = cli_resolve_model("tune", argc > optind ? argv[optind + i] : DEFAULT_MODEL, paths[i], sizeof paths[i]);
    fcl_runtime *rt = ok ? cli_open_runtime(device, NULL) : NULL;
    if (!rt) {
        free(paths);
        return 1;
    }
    int status = 0;
    char db_path[4200];
    if (!fcl_tune_file(rt, db_path, sizeof db_path)) {
        fprintf(stderr, "facecl tune: no cache directory to keep the tuning in: set FACECL_CACHE_DIR or HOME\n");
        status = 1;
    } else if (show) {
        status = show_file(db_path);
    } else if (reset) {
        if (remove(db_path) != 0 && errno != ENOENT) {
            fprintf(stderr, "facecl tune: cannot delete %s: %s\n", db_path, strerror(errno));
            status = 1;
        } else {
            printf("deleted %s: %s uses the shipped defaults\n", db_path, fcl_runtime_device(rt)->name);
        }
    } else {
        fcl_model **models = calloc((size_t)n_models, sizeof *models);
        enum { MAX_ROWS = 256 };
        fcl_tune_row *rows = calloc(MAX_ROWS, sizeof *rows);
        int n_rows = 0;
        fcl_status st = models && rows ? FCL_SUCCESS : FCL_ERR_OUT_OF_HOST_MEMORY;
        for (int i = 0; i < n_models && st == FCL_SUCCESS; i++)
            st = fcl_model_load(paths[i], &models[i]);
        const fcl_tune_options o = {.batch = (int)batch, .training = training, .seconds = seconds,
                                    .report = quiet ? (fcl_reporter){0} : cli_reporter()};
        if (st == FCL_SUCCESS)
            st = fcl_tune(rt, (const fcl_model *const *)models, n_models, &o, rows, MAX_ROWS, &n_rows);
        if (st == FCL_SUCCESS)
            print_table(rows, n_rows);
        if (st == FCL_SUCCESS && !quiet)
            printf("\nwrote %s\n", db_path);
        for (int i = 0; models && i < n_models; i++)
            fcl_model_destroy(models[i]);
        free(models);
        free(rows);
        status = st == FCL_SUCCESS ? 0 : cli_fail("tune", st);
    }
    fcl_runtime_destroy(rt);
    free(paths);
    return status;
}
