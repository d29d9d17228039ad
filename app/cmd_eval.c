/* facecl eval MODEL --weights W DATA: verification and identification, as the paper and
 * LFW report them. */
#include "cli.h"
#include "faces.h"
#include "eval_report.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: facecl eval MODEL --weights W DATA [options]\n\n"
               "Embeds DATA's test images and reports:\n"
               "  verification  10-fold accuracy (mean +- std) on a pairs file in LFW's format; without\n"
               "                --pairs, 10 folds x (300 same + 300 different) pairs are drawn from the\n"
               "                test split (fixed seed) and written to OUT/pairs.txt for other tools\n"
               "  VAL at FAR    over every pair of the first --far-images test images; ROC curve\n"
               "                (OUT/roc.csv, OUT/roc.svg), AUC and equal error rate\n"
               "  identification rank-1 nearest neighbour and nearest class mean, with the first\n"
               "                --gallery training images as gallery (a folder data set: leave-one-out)\n"
               "DATA: Fashion-MNIST IDX files (t10k split tested, train split as gallery) or a folder\n"
               "with one sub-folder per identity.\n\n"
               "  --weights W       trained weights (or a checkpoint) from facecl train; the 10-fold\n"
               "                    threshold is stored in it for facecl verify and cluster\n"
               "  --pairs FILE      LFW-format pairs naming DATA's identities and image numbers\n"
               "  --out DIR         results directory (default: W's directory/eval)\n"
               "  --far X           target false accept rate (1e-3)\n"
               "  --far-images N    images whose pairs give VAL and the ROC (3000)\n"
               "  --gallery N       gallery images for identification (10000)\n"
               "  --json            print results.json instead of the table\n"
               "  --device D        OpenCL device\n" CLI_FACES_HELP);
}

int cmd_eval(int argc, char **argv)
{
    enum { O_PAIRS = 256, O_FAR, O_FAR_IMAGES, O_GALLERY, O_JSON };
    static const struct option opts[] = {
        {"weights", required_argument, NULL, 'w'}, {"pairs", required_argument, NULL, O_PAIRS},
        {"out", required_argument, NULL, 'o'},     {"far", required_argument, NULL, O_FAR},
        {"far-images", required_argument, NULL, O_FAR_IMAGES}, {"gallery", required_argument, NULL, O_GALLERY},
        {"json", no_argument, NULL, O_JSON},       {"device", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},          CLI_FACES_OPTIONS, {0, 0, 0, 0},
    };
    cli_faces_args fa = {0};
    fcl_eval_options o = fcl_eval_defaults();
    const char *weights = NULL, *out_dir = NULL, *device = NULL;
    bool json = false, ok = true;
    long v;
    int c;
    while (ok && (c = getopt_long(argc, argv, "w:o:d:h", opts, NULL)) != -1) {
        if (cli_faces_option(&fa, c, optarg, &ok))
            continue;
        switch (c) {
        case 'w': weights = optarg; break;
        case 'o': out_dir = optarg; break;
        case 'd': device = optarg; break;
        case O_PAIRS: o.pairs_path = optarg; break;
        case O_FAR: ok = cli_double("far", optarg, 1e-9, 0.5, &o.far); break;
        case O_FAR_IMAGES: ok = cli_long("far-images", optarg, 10, 20000, &v), o.far_images = (int)v; break;
        case O_GALLERY: ok = cli_long("gallery", optarg, 1, 10000000, &v), o.gallery_images = (int)v; break;
        case O_JSON: json = true; break;
        case 'h': usage(stdout); return 0;
        default: ok = false;
        }
    }
    if (!ok)
        return 2;
    if (argc - optind != 2 || !weights) {
        usage(stderr);
        return 2;
    }
    char default_out[4096];
    if (!out_dir)
        out_dir = cli_path_beside(weights, "eval", default_out, sizeof default_out);
    o.out_dir = out_dir;
    if (!json)
        o.report = cli_reporter();
    const char *data_dir = argv[optind + 1];
    fcl_dataset *test = NULL, *gallery = NULL;
    fcl_status st = fcl_dataset_load(data_dir, "t10k", &test);
    /* IDX (images without files): the train split is the gallery */
    bool has_gallery = st == FCL_SUCCESS && !fcl_dataset_image_path(test, 0);
    if (has_gallery)
        st = fcl_dataset_load(data_dir, "train", &gallery);
    cli_net s = {0};
    int status = st == FCL_SUCCESS ? cli_net_open(&s, argv[optind], weights, device, 100) : cli_fail(data_dir, st);
    fcl_eval_result r = {0};
    if (status == 0)
        status = cli_faces_dataset(&fa, s.rt, s.model, test, "eval");
    if (status == 0) {
        if (!json)
            printf("facecl eval: %s with %s on %s, [%d] %s\n", fcl_model_describe(s.model).name, weights, data_dir,
                   fcl_runtime_device(s.rt)->index, fcl_runtime_device(s.rt)->name);
        st = fcl_evaluate(s.embedder, test, gallery, &o, &r);
    }
    if (status == 0 && st == FCL_SUCCESS)
        st = eval_write_roc(out_dir, &r);
    char json_path[4200];
    snprintf(json_path, sizeof json_path, "%s/results.json", out_dir);
    /* The results first; then the threshold into the weights file, which may be
     * read-only: the results stand, and the threshold can be given by hand. */
    bool stored = false;
    if (status == 0 && st == FCL_SUCCESS)
        st = fcl_eval_save(&r, &o, fcl_model_describe(s.model).name, NULL, json_path);
    if (status == 0 && st == FCL_SUCCESS) {
        char threshold[32];
        snprintf(threshold, sizeof threshold, "%.6f", r.threshold);
        stored = fcl_weights_set_meta(weights, FCL_META_THRESHOLD, threshold) == FCL_SUCCESS;
        if (!stored)
            fprintf(stderr, "facecl eval: the threshold %.4f could not be stored in %s (see above); pass "
                            "--threshold %.4f to facecl verify and cluster\n", r.threshold, weights, r.threshold);
    }
    if (status != 0) {
        /* already said */
    } else if (st != FCL_SUCCESS) {
        status = cli_fail("eval", st);
    } else if (json) {
        char *text;
        size_t len;
        if (fcl_read_file(json_path, &text, &len) == FCL_SUCCESS) {
            fwrite(text, 1, len, stdout);
            free(text);
        }
    } else {
        printf("embedded %d images in %.1f s (%.0f images/s)\n\n", r.queries + (has_gallery ? r.gallery : 0),
               r.embed_seconds, r.images_per_second);
        eval_print(stdout, &r, &o);
        printf("\nwritten: %s/{%sroc.csv, roc.svg, results.json}\n", out_dir, o.pairs_path ? "" : "pairs.txt, ");
        if (stored)
            printf("threshold %.4f stored in %s (facecl verify and cluster use it)\n", r.threshold, weights);
    }
    fcl_eval_result_free(&r);
    cli_net_close(&s);
    fcl_dataset_destroy(test);
    fcl_dataset_destroy(gallery);
    return status;
}
