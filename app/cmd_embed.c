/* facecl embed MODEL [--weights W] IMAGE...: L2-normalised embeddings of images. */
#include "cli.h"
#include "faces.h"
#include "npy.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BATCH 16

static void usage(FILE *f)
{
    fprintf(f, "usage: facecl embed MODEL [--weights W.safetensors] [--csv OUT.csv] [--npy OUT.npy]\n"
               "                    [--device D] [--seed N] " CLI_FACES_USAGE " IMAGE...\n\n"
               "Decodes each image (JPEG, PNG, BMP, ...), resizes it to the model's input, and prints\n"
               "its L2-normalised embedding as a CSV row `file,e0,e1,...` (or writes --csv/--npy).\n"
               "Without --weights the network has seeded random weights (for trying models out).\n"
               "An image that cannot be read is reported and skipped; the exit status is then 1.\n\n"
               CLI_FACES_HELP);
}

typedef struct outputs {
    bool csv;         /* rows wanted: on stdout, or in --csv */
    fcl_strbuf rows;  /* the CSV, written whole at the end (a file atomically) */
    float *all;
    size_t n, dim;
} outputs;

static void emit(outputs *o, const char *name, const float *e)
{
    if (o->csv) {
        cli_csv_field(&o->rows, name);
        for (size_t j = 0; j < o->dim; j++)
            fcl_strbuf_printf(&o->rows, ",%.7g", e[j]);
        fcl_strbuf_printf(&o->rows, "\n");
    }
    memcpy(o->all + o->n++ * o->dim, e, o->dim * sizeof *e);
}

int cmd_embed(int argc, char **argv)
{
    static const struct option opts[] = {
        {"weights", required_argument, NULL, 'w'}, {"csv", required_argument, NULL, 'c'},
        {"npy", required_argument, NULL, 'n'},     {"device", required_argument, NULL, 'd'},
        {"seed", required_argument, NULL, 's'},    {"help", no_argument, NULL, 'h'},
        CLI_FACES_OPTIONS,
        {0, 0, 0, 0},
    };
    const char *weights = NULL, *csv_path = NULL, *npy_path = NULL, *device = NULL;
    unsigned long long seed = 1;
    cli_faces_args fa = {0};
    bool ok = true;
    int c;
    while ((c = getopt_long(argc, argv, "w:c:n:d:s:h", opts, NULL)) != -1) {
        if (cli_faces_option(&fa, c, optarg, &ok)) {
            if (!ok)
                return 2;
            continue;
        }
        switch (c) {
        case 'w': weights = optarg; break;
        case 'c': csv_path = optarg; break;
        case 'n': npy_path = optarg; break;
        case 'd': device = optarg; break;
        case 's': seed = strtoull(optarg, NULL, 10); break;
        case 'h': usage(stdout); return 0;
        default: return 2;
        }
    }
    if (argc - optind < 2) {
        usage(stderr);
        return 2;
    }

    /* Every input: the model, the weights, the images. */
    const char *const *inputs = (const char *const *)argv + optind;
    const int n_inputs = argc - optind;
    const char *const weights_only[1] = {weights};
    if (cli_output_is_input("embed", "--csv", csv_path, inputs, n_inputs) ||
        cli_output_is_input("embed", "--npy", npy_path, inputs, n_inputs) ||
        cli_output_is_input("embed", "--csv", csv_path, weights_only, 1) ||
        cli_output_is_input("embed", "--npy", npy_path, weights_only, 1))
        return 2;
    fcl_model *m;
    fcl_status st = fcl_model_load(argv[optind], &m);
    if (st != FCL_SUCCESS)
        return cli_fail(argv[optind], st);
    cli_warn_unnormalised(m, "embed");
    const fcl_model_summary ms = fcl_model_describe(m);
    const size_t per_image = (size_t)ms.input_channels * ms.input_height * ms.input_width;
    char **images = argv + optind + 1;
    int n_images = argc - optind - 1, batch = n_images < MAX_BATCH ? n_images : MAX_BATCH;
    fcl_runtime *rt = cli_open_runtime(device, NULL);
    fcl_embedder *e = NULL;
    if (!rt) {
        fcl_model_destroy(m);
        return 1;
    }
    cli_faces faces;
    const int faces_rc = cli_faces_open(&faces, rt, &fa, "embed");
    if (faces_rc) {
        fcl_runtime_destroy(rt);
        fcl_model_destroy(m);
        return faces_rc;
    }
    st = fcl_embedder_create(rt, m, batch, &e);
    if (st == FCL_SUCCESS)
        st = weights ? fcl_embedder_load_weights(e, weights) : fcl_embedder_init_random(e, seed);
    if (st == FCL_SUCCESS && !weights)
        fprintf(stderr, "facecl embed: no --weights: using seeded random weights (seed %llu)\n", seed);
    outputs o = {.dim = (size_t)ms.embedding_size};
    float *x = calloc((size_t)batch * per_image, sizeof *x);
    float *y = malloc((size_t)batch * o.dim * sizeof *y);
    int *slot_of = malloc((size_t)batch * sizeof *slot_of);
    o.all = malloc((size_t)n_images * o.dim * sizeof *o.all);
    if (st == FCL_SUCCESS && (!x || !y || !slot_of || !o.all))
        st = FCL_ERR_OUT_OF_HOST_MEMORY;
    o.csv = csv_path || !npy_path;
    int skipped = 0;
    for (int start = 0; start < n_images && st == FCL_SUCCESS; start += batch) {
        int filled = 0;
        for (int i = start; i < n_images && i < start + batch; i++) {
            float *slot = x + (size_t)filled * per_image;
            if (!cli_face_input(&faces, m, images[i], slot, "embed")) {
                skipped++; /* named, with the reason */
                continue;
            }
            slot_of[filled++] = i;
        }
        if (filled == 0)
            continue;
        st = fcl_embed(e, x, filled, y);
        const char *names[MAX_BATCH];
        for (int k = 0; k < filled; k++)
            names[k] = images[slot_of[k]];
        if (st == FCL_SUCCESS && !cli_embeddings_sound(e, m, x, y, filled, names, false))
            st = FCL_ERR_NUMERIC; /* named above */
        for (int k = 0; k < filled && st == FCL_SUCCESS; k++)
            emit(&o, images[slot_of[k]], y + (size_t)k * o.dim);
    }
    if (st == FCL_SUCCESS && o.csv)
        st = fcl_strbuf_status(&o.rows);
    if (st == FCL_SUCCESS && csv_path && o.rows.len) /* a file: whole or not at all */
        if ((st = fcl_write_file_atomic(csv_path, o.rows.text, o.rows.len)) != FCL_SUCCESS)
            fprintf(stderr, "facecl embed: cannot write %s: %s\n", csv_path, strerror(errno));
    if (st == FCL_SUCCESS && o.csv && !csv_path && o.rows.len) /* main checks that it reached stdout */
        fwrite(o.rows.text, 1, o.rows.len, stdout);
    free(o.rows.text);
    if (st == FCL_SUCCESS && npy_path)
        st = fcl_npy_save(npy_path, o.all, o.n, o.dim);
    if (st == FCL_SUCCESS && skipped)
        fprintf(stderr, "facecl embed: %d of %d images could not be read%s and were skipped\n", skipped, n_images,
                fa.detect ? " or held no face" : "");
    free(x), free(y), free(slot_of), free(o.all);
    fcl_embedder_destroy(e);
    cli_faces_close(&faces);
    fcl_runtime_destroy(rt);
    fcl_model_destroy(m);
    if (st != FCL_SUCCESS)
        return cli_fail("embed", st);
    return skipped ? 1 : 0;
}
