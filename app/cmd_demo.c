/* facecl demo: the main job end to end. Trains a small model on Fashion-MNIST with the
 * paper's semi-hard triplet loss on the chosen device, then evaluates it (verification,
 * VAL at FAR, identification) and prints the results table. */
#include "cli.h"
#include "eval_report.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: facecl demo [--model M] [--data DIR] [--steps N] [--out DIR] [--device D] [--seed S]\n"
               "                   [--tune-seconds S]\n\n"
               "Trains M (default models/fmnist-bn.model) on Fashion-MNIST's training split for N steps\n"
               "(default 1000, about 3 minutes on 2 CPU cores) of 10 x 8 images with semi-hard triplet\n"
               "mining and AdaGrad, as the FaceNet paper does (without augmentation, which only pays\n"
               "off in longer runs), then evaluates it on the test split:\n"
               "10-fold verification accuracy, VAL at FAR 1e-3, ROC AUC and EER, rank-1 and\n"
               "nearest-class-mean identification. Results, weights and plots go to DIR (runs/demo).\n"
               "DIR defaults to %s for the data (Debian package dataset-fashion-mnist).\n"
               "On the model's first use on a device, its GEMM kernels are tuned first for up to S\n"
               "seconds (default %.0f, FACECL_TUNE_SECONDS; 0: off; `facecl tune` has the details).\n"
               "`facecl train` and `facecl eval` do the same steps with every option.\n",
               CLI_FASHION_MNIST_DIR, cli_tune_seconds());
}

int cmd_demo(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'}, {"data", required_argument, NULL, 'D'},
        {"steps", required_argument, NULL, 'n'}, {"out", required_argument, NULL, 'o'},
        {"device", required_argument, NULL, 'd'}, {"seed", required_argument, NULL, 's'},
        {"tune-seconds", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0},
    };
    const char *model_path = "models/fmnist-bn.model", *data_dir = CLI_FASHION_MNIST_DIR, *device = NULL;
    fcl_train_options o = fcl_train_defaults();
    o.steps = 1000; /* the recipe bench/RESULTS.md measured best for a short run */
    o.crop_pad = 0;
    o.flip = false;
    o.out_dir = "runs/demo";
    o.force = true; /* the demo starts over each time it runs */
    int progress = cli_train_progress_mode(false);
    cli_train_progress_set(&o, &progress);
    long v;
    double tune_seconds = cli_tune_seconds();
    bool ok = true;
    int c;
    while (ok && (c = getopt_long(argc, argv, "m:D:n:o:d:s:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'D': data_dir = optarg; break;
        case 'n': ok = cli_long("steps", optarg, 1, 10000000, &o.steps); break;
        case 'o': o.out_dir = optarg; break;
        case 'd': device = optarg; break;
        case 's': ok = cli_long("seed", optarg, 0, 0x7fffffffL, &v), o.seed = (uint64_t)v; break;
        case 't': ok = cli_double("tune-seconds", optarg, 0, 1e6, &tune_seconds); break;
        case 'h': usage(stdout); return 0;
        default: ok = false;
        }
    }
    if (!ok || optind != argc) {
        if (ok)
            usage(stderr);
        return 2;
    }
    fcl_model *m;
    fcl_status st = fcl_model_load(model_path, &m);
    if (st != FCL_SUCCESS) {
        fprintf(stderr, "facecl demo: run it from the facecl source directory, or pass --model\n");
        return cli_fail(model_path, st);
    }
    fcl_dataset *train, *test;
    if (!cli_open_fashion_mnist("demo", data_dir, &train, &test)) {
        fcl_model_destroy(m);
        return 1;
    }
    fcl_runtime *rt = cli_open_runtime(device, NULL);
    int status = 1;
    fcl_embedder *e = NULL;
    if (rt) {
        const fcl_model_summary ms = fcl_model_describe(m);
        const fcl_device_info *dev = fcl_runtime_device(rt);
        printf("facecl demo: train %s (%.1fM multiply-adds, %zu parameters) on Fashion-MNIST, then evaluate\n"
               "device [%d] %s; output %s\n\n", ms.name, ms.multiply_adds / 1e6, ms.parameters,
               dev->index, dev->name, o.out_dir);
        fflush(stdout);
        fcl_train_summary sum = {0};
        const fcl_reporter report = cli_reporter();
        st = fcl_tune_first_use(rt, m, o.P * o.K, true, tune_seconds, &report);
        if (st == FCL_SUCCESS)
            st = fcl_train(rt, m, train, &o, &sum);
        if (st == FCL_SUCCESS)
            printf("trained %ld steps in %.0f s (%.0f images/s, %.2f GFLOP/s for forward + backward)\n\n",
                   sum.steps_done, sum.seconds, sum.images_per_second,
                   3.0 * 2.0 * ms.multiply_adds * sum.images_per_second / 1e9);
        fflush(stdout);
        char weights[4200], eval_dir[4200], json[4300];
        snprintf(weights, sizeof weights, "%s/%s", o.out_dir, FCL_WEIGHTS_FILE);
        snprintf(eval_dir, sizeof eval_dir, "%s/eval", o.out_dir);
        snprintf(json, sizeof json, "%s/results.json", eval_dir);
        fcl_eval_options eo = fcl_eval_defaults();
        eo.out_dir = eval_dir;
        fcl_eval_result r = {0};
        if (st == FCL_SUCCESS)
            st = fcl_embedder_create(rt, m, 100, &e);
        if (st == FCL_SUCCESS)
            st = fcl_embedder_load_weights(e, weights);
        if (st == FCL_SUCCESS)
            st = fcl_evaluate(e, test, train, &eo, &r);
        if (st == FCL_SUCCESS)
            st = eval_write_roc(eval_dir, &r);
        if (st == FCL_SUCCESS)
            st = fcl_eval_save(&r, &eo, ms.name, weights, json);
        if (st == FCL_SUCCESS) {
            printf("\nresults on Fashion-MNIST's test split (embedding at %.0f images/s):\n", r.images_per_second);
            eval_print(stdout, &r, &eo);
            printf("\nwritten: %s/{weights.safetensors, checkpoint.safetensors, train.csv}\n"
                   "         %s/{pairs.txt, roc.csv, roc.svg, results.json}\n"
                   "try:     facecl verify %s --weights %s IMAGE_A IMAGE_B  (threshold %.4f stored)\n",
                   o.out_dir, eval_dir, model_path, weights, r.threshold);
            status = 0;
        } else {
            status = st == FCL_ERR_INTERRUPTED ? 130 : cli_fail("demo", st);
        }
        fcl_eval_result_free(&r);
    }
    fcl_embedder_destroy(e);
    fcl_runtime_destroy(rt);
    fcl_dataset_destroy(train);
    fcl_dataset_destroy(test);
    fcl_model_destroy(m);
    return status;
}
