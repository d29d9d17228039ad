/* facecl verify MODEL --weights W A B: are two images the same identity? */
#include "cli.h"
#include "faces.h"

#include <getopt.h>
#include <stdlib.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: facecl verify MODEL --weights W [--threshold T] [--device D]\n"
               "                     " CLI_FACES_USAGE " IMAGE_A IMAGE_B\n\n"
               "Embeds both images and prints their squared L2 distance (0 to 4 between unit embeddings)\n"
               "and `same` or `different`: same when the distance is at most the threshold, which is\n"
               "--threshold or else the one `facecl eval` chose on 10 folds and stored in W.\n"
               "Exit status: 0 (either answer), 1 error (an image unreadable or without a face), 2 bad usage.\n\n"
               CLI_FACES_HELP);
}

int cmd_verify(int argc, char **argv)
{
    enum { O_THRESHOLD = 256 };
    static const struct option opts[] = {
        {"weights", required_argument, NULL, 'w'}, {"threshold", required_argument, NULL, O_THRESHOLD},
        {"device", required_argument, NULL, 'd'},  {"help", no_argument, NULL, 'h'},
        CLI_FACES_OPTIONS,                         {0, 0, 0, 0},
    };
    const char *weights = NULL, *device = NULL;
    double given = -1;
    cli_faces_args fa = {0};
    bool ok = true;
    int c;
    while (ok && (c = getopt_long(argc, argv, "w:d:h", opts, NULL)) != -1) {
        if (cli_faces_option(&fa, c, optarg, &ok))
            continue;
        switch (c) {
        case 'w': weights = optarg; break;
        case 'd': device = optarg; break;
        case O_THRESHOLD: ok = cli_double("threshold", optarg, 0, 4, &given); break;
        case 'h': usage(stdout); return 0;
        default: ok = false;
        }
    }
    if (!ok)
        return 2;
    if (argc - optind != 3 || !weights) {
        usage(stderr);
        return 2;
    }
    double threshold;
    if (!cli_threshold(weights, given, &threshold))
        return 1;
    cli_net s;
    int status = cli_net_open(&s, argv[optind], weights, device, 2);
    if (status != 0) {
        cli_net_close(&s);
        return status;
    }
    cli_faces faces;
    if ((status = cli_faces_open(&faces, s.rt, &fa, "verify")) != 0) {
        cli_net_close(&s);
        return status;
    }
    const fcl_model_summary ms = fcl_model_describe(s.model);
    const int per = ms.input_channels * ms.input_height * ms.input_width, dim = ms.embedding_size;
    float *x = malloc(2 * (size_t)per * sizeof *x), *e = malloc(2 * (size_t)dim * sizeof *e);
    const char *failed = "verify";
    fcl_status st = x && e ? FCL_SUCCESS : FCL_ERR_OUT_OF_HOST_MEMORY;
    for (int i = 0; i < 2 && st == FCL_SUCCESS; i++)
        if (!cli_face_input(&faces, s.model, argv[optind + 1 + i], x + (size_t)i * per, "verify")) {
            free(x), free(e);
            cli_faces_close(&faces);
            cli_net_close(&s);
            return 1; /* the image was named, with the reason */
        }
    if (st == FCL_SUCCESS)
        st = fcl_embed(s.embedder, x, 2, e);
    if (st == FCL_SUCCESS && !cli_embeddings_sound(s.embedder, s.model, x, e, 2, (const char *const *)argv + optind + 1, true)) {
        free(x);
        free(e);
        cli_faces_close(&faces);
        cli_net_close(&s);
        return 1;
    }
    if (st == FCL_SUCCESS) {
        double d = fcl_squared_distance(e, e + dim, dim);
        printf("distance %.4f, threshold %.4f%s: %s\n", d, threshold, given >= 0 ? "" : " (stored by facecl eval)",
               d <= threshold ? "same" : "different");
    } else {
        status = cli_fail(failed, st);
    }
    free(x);
    free(e);
    cli_faces_close(&faces);
    cli_net_close(&s);
    return status;
}
