/* facecl bench flops-accuracy: the FaceNet paper's Figure 4 on the user's device and
 * data (app/sweep.h does the work). */
#include "sweep.h"
#include "cli.h"

#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The full sweep: nine models from 0.13M to 62M multiply-adds per image (480x): a
 * resolution series (fmnist-bn at 14, 20 and 28 pixels, as the paper's NN4/NN3/NN2), a
 * width series (fmnist-bn x1, x2, x4), and three other architectures; each trained for
 * the same time. --quick: four of them, one seed, a few steps, a smaller evaluation. */
static const struct sweep_preset {
    const char *models;
    long steps;     /* 0: the budget is minutes */
    double minutes;
    int seeds, far_images, gallery_images;
    const char *out_dir;
} full_preset = {"fmnist-tiny,fmnist-bn-r14,fmnist-nns2,fmnist-bn-r20,fmnist-bn,fmnist-inception,fmnist-irv1,"
                 "fmnist-bn-w2,fmnist-bn-w4",
                 0, 2, 3, 3000, 10000, "runs/flops-accuracy"},
  quick_preset = {"fmnist-tiny,fmnist-nns2,fmnist-bn,fmnist-inception", 60, 0, 1, 2000, 5000,
                  "runs/flops-accuracy-quick"};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: facecl bench flops-accuracy [options]\n\n"
            "The FaceNet paper's Figure 4 on this device: trains each model with the same recipe\n"
            "(semi-hard triplet loss, AdaGrad, batches of P x K Fashion-MNIST images), evaluates it\n"
            "(10-fold verification, VAL at FAR 1e-3, rank-1) for several seeds, and measures it\n"
            "(multiply-adds counted on the device, training and inference images/s, achieved GFLOP/s\n"
            "against the device's GEMM ceiling). Prints the tables and writes results.json,\n"
            "table.txt, flops_val.svg, time_val.svg and time_accuracy.svg to the output directory,\n"
            "with the Pareto fronts of VAL against multiply-adds and against device time per image,\n"
            "and VAL's rank correlation with each. An interrupted\n"
            "sweep (Ctrl-C, a crash) continues where it stopped when run again.\n\n"
            "  --models A,B,...  model names in %s/ or .model paths (default\n"
            "                    %s;\n"
            "                    the embedding sizes of the paper's Table 5:\n"
            "                    fmnist-bn-emb64,fmnist-bn,fmnist-bn-emb256,fmnist-bn-emb512)\n"
            "budgets (one; default the same %g minutes of training for every model):\n"
            "  --minutes M       the same training time for every model: steps from a short timed run\n"
            "  --epochs E        the same passes over the training set for every model\n"
            "  --steps N         the same steps for every model\n"
            "  --converged CAP   until converged, at most CAP steps: every %d-th training image of each\n"
            "                    class held out, its 10-fold accuracy checked every %d steps, stopping\n"
            "                    after %d checks without a better one; the best check's weights count\n"
            "  --seeds S         seeds 1..S per model (default %d)\n"
            "  --quick           %s, %ld steps, %d seed,\n"
            "                    a smaller evaluation: minutes, for a first look and CI\n"
            "  --far-images N    test images whose pairs give VAL at FAR 1e-3 (%d; --quick %d)\n"
            "  --gallery N       training images in the identification gallery (%d; --quick %d)\n"
            "  --identities P    identities per batch (10)\n"
            "  --per-identity K  images per identity (8)\n"
            "  --data DIR        Fashion-MNIST's IDX files (default %s,\n"
            "                    Debian package dataset-fashion-mnist)\n"
            "  --out DIR         results (default %s, with --quick %s)\n"
            "  --device D        OpenCL device (index, gpu, cpu or a name)\n"
            "  --quiet           no progress lines\n",
            CLI_MODEL_DIR, full_preset.models, full_preset.minutes, FCL_SWEEP_HOLDOUT, FCL_SWEEP_VALIDATE_EVERY,
            FCL_SWEEP_PATIENCE, full_preset.seeds, quick_preset.models,
            quick_preset.steps, quick_preset.seeds,
            full_preset.far_images, quick_preset.far_images, full_preset.gallery_images, quick_preset.gallery_images,
            CLI_FASHION_MNIST_DIR, full_preset.out_dir, quick_preset.out_dir);
}

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* Splits the comma-separated list (in place) into resolved paths. */
static bool parse_models(char *list, char paths[][4096], fcl_sweep_options *o)
{
    o->n_models = 0;
    for (char *save = NULL, *name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        if (o->n_models == FCL_SWEEP_MAX_MODELS) {
            fprintf(stderr, "facecl bench: at most %d models in one sweep\n", FCL_SWEEP_MAX_MODELS);
            return false;
        }
        if (!cli_resolve_model("bench", name, paths[o->n_models], sizeof paths[0]))
            return false;
        o->models[o->n_models] = paths[o->n_models];
        o->n_models++;
    }
    if (o->n_models == 0)
        fprintf(stderr, "facecl bench: --models names no model\n");
    return o->n_models > 0;
}

static int flops_accuracy(int argc, char **argv)
{
    enum { O_MODELS = 256, O_STEPS, O_MINUTES, O_EPOCHS, O_CONVERGED, O_SEEDS, O_QUICK, O_P, O_K, O_DATA, O_OUT, O_DEVICE, O_QUIET,
           O_FAR_IMAGES, O_GALLERY };
    static const struct option opts[] = {
        {"models", required_argument, NULL, O_MODELS}, {"steps", required_argument, NULL, O_STEPS},
        {"minutes", required_argument, NULL, O_MINUTES}, {"epochs", required_argument, NULL, O_EPOCHS},
        {"converged", required_argument, NULL, O_CONVERGED},
        {"seeds", required_argument, NULL, O_SEEDS},
        {"quick", no_argument, NULL, O_QUICK},         {"identities", required_argument, NULL, O_P},
        {"per-identity", required_argument, NULL, O_K}, {"data", required_argument, NULL, O_DATA},
        {"out", required_argument, NULL, O_OUT},       {"device", required_argument, NULL, O_DEVICE},
        {"quiet", no_argument, NULL, O_QUIET},         {"far-images", required_argument, NULL, O_FAR_IMAGES},
        {"gallery", required_argument, NULL, O_GALLERY}, {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    char *models = NULL;
    const char *data_dir = CLI_FASHION_MNIST_DIR, *device = NULL, *out_dir = NULL;
    long steps = 0, converged = 0, seeds = 0, P = 10, K = 8, far_images = 0, gallery = 0;
    double minutes = 0, epochs = 0;
    bool quick = false, quiet = false, ok = true;
    int c;
    optind = 1;
    while (ok && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_MODELS: free(models), models = strdup(optarg), ok = models != NULL; break;
        case O_STEPS: ok = cli_long("steps", optarg, 1, 10000000, &steps); break;
        case O_MINUTES: ok = cli_double("minutes", optarg, 0.01, 100000, &minutes); break;
        case O_EPOCHS: ok = cli_double("epochs", optarg, 0.001, 100000, &epochs); break;
        case O_CONVERGED: ok = cli_long("converged", optarg, 1, 10000000, &converged); break;
        case O_SEEDS: ok = cli_long("seeds", optarg, 1, FCL_SWEEP_MAX_SEEDS, &seeds); break;
        case O_QUICK: quick = true; break;
        case O_P: ok = cli_long("identities", optarg, 2, 1000, &P); break;
        case O_K: ok = cli_long("per-identity", optarg, 2, 1000, &K); break;
        case O_DATA: data_dir = optarg; break;
        case O_OUT: out_dir = optarg; break;
        case O_DEVICE: device = optarg; break;
        case O_QUIET: quiet = true; break;
        case O_FAR_IMAGES: ok = cli_long("far-images", optarg, 10, 20000, &far_images); break;
        case O_GALLERY: ok = cli_long("gallery", optarg, 1, 10000000, &gallery); break;
        case 'h': usage(stdout), free(models); return 0;
        default: ok = false;
        }
    }
    if (ok && (steps > 0) + (minutes > 0) + (epochs > 0) + (converged > 0) > 1) {
        fprintf(stderr, "facecl bench: --steps, --minutes, --epochs and --converged are four budgets; give one\n");
        ok = false;
    }
    if (!ok || optind != argc) {
        if (ok)
            usage(stderr);
        free(models);
        return 2;
    }
    const struct sweep_preset *preset = quick ? &quick_preset : &full_preset;
    if (!models && !(models = strdup(preset->models)))
        return cli_fail("bench flops-accuracy", FCL_ERR_OUT_OF_HOST_MEMORY);
    const bool budget_given = steps > 0 || minutes > 0 || epochs > 0 || converged > 0;
    static char paths[FCL_SWEEP_MAX_MODELS][4096];
    fcl_sweep_options o = {.steps = budget_given ? steps : preset->steps,
                           .minutes = budget_given ? minutes : preset->minutes, .epochs = epochs,
                           .converged = converged,
                           .seeds = seeds > 0 ? (int)seeds : preset->seeds, .P = (int)P, .K = (int)K,
                           .out_dir = out_dir ? out_dir : preset->out_dir, .far_images = (int)(far_images ? far_images : preset->far_images),
                           .gallery_images = (int)(gallery ? gallery : preset->gallery_images),
                           .progress = cli_train_progress_mode(quiet), .stop = &stop_requested};
    o.train_progress = o.progress ? cli_train_progress : NULL;
    o.report = o.progress ? cli_reporter() : (fcl_reporter){0};
    o.train_progress_user = &o.progress;
    ok = parse_models(models, paths, &o);
    free(models);
    if (!ok)
        return 2;
    fcl_dataset *train, *test;
    if (!cli_open_fashion_mnist("bench", data_dir, &train, &test))
        return 1;
    fcl_runtime *rt = cli_open_runtime(device, NULL);
    int status = 1;
    if (rt) {
        static fcl_sweep_report report;
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        fcl_status st = fcl_sweep(rt, train, test, &o, &report);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        if (st == FCL_SUCCESS)
            st = fcl_sweep_write_outputs(&report);
        if (st == FCL_SUCCESS) {
            printf("\n");
            fcl_sweep_print(stdout, &report);
            printf("\nwritten: %s/{table.txt, results.json, flops_val.svg, time_val.svg, time_accuracy.svg}\n", o.out_dir);
            status = 0;
        } else {
            status = st == FCL_ERR_INTERRUPTED ? 130 : cli_fail("bench flops-accuracy", st);
        }
    }
    fcl_runtime_destroy(rt);
    fcl_dataset_destroy(train);
    fcl_dataset_destroy(test);
    return status;
}

/* facecl bench merge: several finished sweeps (devices) side by side. */
static int merge(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    const char *out_dir = "runs/flops-accuracy-merged";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'o') {
            out_dir = optarg;
        } else {
            FILE *f = c == 'h' ? stdout : stderr;
            fprintf(f, "usage: facecl bench merge SWEEP_DIR SWEEP_DIR... [--out DIR]\n\n"
                       "The results of several `facecl bench flops-accuracy` sweeps (on other devices, or with\n"
                       "other budgets) in one table, model by model, each sweep's Pareto fronts and rank\n"
                       "correlations, and flops_val.svg and time_val.svg with one series per sweep, written\n"
                       "to --out (default runs/flops-accuracy-merged): which device reaches an accuracy soonest.\n"
                       "A sweep still running or interrupted shows the runs it has finished.\n");
            return c == 'h' ? 0 : 2;
        }
    }
    const int n = argc - optind;
    enum { MAX_SWEEPS = 8 };
    if (n < 1 || n > MAX_SWEEPS) {
        fprintf(stderr, "facecl bench merge: give 1 to %d sweep directories (--help)\n", MAX_SWEEPS);
        return 2;
    }
    static fcl_sweep_report reports[MAX_SWEEPS];
    static fcl_sweep_options options[MAX_SWEEPS];
    const fcl_sweep_report *list[MAX_SWEEPS];
    for (int i = 0; i < n; i++) {
        fcl_status st = fcl_sweep_load(argv[optind + i], &options[i], &reports[i]);
        if (st != FCL_SUCCESS)
            return cli_fail("bench merge", st);
        list[i] = &reports[i];
    }
    fcl_status st = fcl_sweep_merge_outputs(list, n, out_dir);
    if (st != FCL_SUCCESS)
        return cli_fail("bench merge", st);
    fcl_sweep_merge_print(stdout, list, n);
    printf("\nwritten: %s/{table.txt, flops_val.svg, time_val.svg}\n", out_dir);
    return 0;
}

static const struct benchmark {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} benchmarks[] = {
    {"flops-accuracy", flops_accuracy, "multiply-adds per image against accuracy (FaceNet's Figure 4)"},
    {"merge", merge, "several flops-accuracy sweeps (devices) in one table and plot"},
};

int cmd_bench(int argc, char **argv)
{
    const size_t n = sizeof benchmarks / sizeof benchmarks[0];
    for (size_t i = 0; argc >= 2 && i < n; i++)
        if (strcmp(argv[1], benchmarks[i].name) == 0)
            return benchmarks[i].run(argc - 1, argv + 1);
    FILE *f = argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr;
    if (argc < 2)
        fprintf(stderr, "facecl bench: which benchmark?\n");
    else if (f == stderr)
        fprintf(stderr, "facecl bench: unknown benchmark '%s'\n", argv[1]);
    fprintf(f, "usage: facecl bench <benchmark> [options]\n\nbenchmarks:\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "  %-16s %s\n", benchmarks[i].name, benchmarks[i].summary);
    fprintf(f, "\n`facecl bench <benchmark> --help` shows its options.\n");
    return f == stdout ? 0 : 2;
}
