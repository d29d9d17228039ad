/* facecl import IN.onnx OUT.model OUT.safetensors: an ONNX network as a facecl model. */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: facecl import IN.onnx OUT.model OUT.safetensors [--name NAME] [--mean M --std S]\n\n"
               "Reads an ONNX network (opset 7 to 21, standard ops: README \"ONNX\" lists them) and writes\n"
               "it as a facecl model file and weights, which every command then takes: embed, verify,\n"
               "eval, cluster, train --init, info. Exporters' scaffolding is folded away (Constant,\n"
               "Identity, Flatten, the Shape arithmetic of a dynamic batch, ReLUs into the layer before).\n"
               "Several outputs (MTCNN's heads) become one, their channels side by side in order.\n"
               "What facecl cannot run is an error naming the node and its op type; nothing is written.\n\n"
               "  --name NAME   the model's name (default: the one facecl's export stored, else the\n"
               "                graph's, else the file's)\n"
               "  --mean M --std S\n"
               "                the graph's input is (pixel - M) / S of 0..255 pixels: say so when\n"
               "                the network expects standardised input it does not compute itself\n"
               "                (facenet-pytorch: --mean 127.5 --std 128). Default 0 and 1: pixels.\n"
               "Exit status: 0 written, 1 error, 2 bad usage.\n");
}

int cmd_import(int argc, char **argv)
{
    enum { O_NAME = 256, O_MEAN, O_STD };
    static const struct option opts[] = {
        {"name", required_argument, NULL, O_NAME}, {"mean", required_argument, NULL, O_MEAN},
        {"std", required_argument, NULL, O_STD},   {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    fcl_onnx_import_options o = {.pixel_mean = 0, .pixel_std = 1};
    double mean = 0, std = 1;
    bool ok = true, given_mean = false, given_std = false;
    int c;
    while (ok && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_NAME: o.name = optarg; break;
        case O_MEAN: ok = cli_double("mean", optarg, -1e6, 1e6, &mean), given_mean = true; break;
        case O_STD: ok = cli_double("std", optarg, 1e-6, 1e6, &std), given_std = true; break;
        case 'h': usage(stdout); return 0;
        default: ok = false;
        }
    }
    if (!ok)
        return 2;
    if (argc - optind != 3 || given_mean != given_std) {
        if (given_mean != given_std)
            fprintf(stderr, "facecl import: --mean and --std go together\n");
        usage(stderr);
        return 2;
    }
    o.pixel_mean = (float)mean, o.pixel_std = (float)std;
    const char *in = argv[optind], *model = argv[optind + 1], *weights = argv[optind + 2];
    const char *inputs[1] = {in};
    if (cli_output_is_input("import", "OUT.model", model, inputs, 1) ||
        cli_output_is_input("import", "OUT.safetensors", weights, inputs, 1))
        return 2;
    const char *outs[1] = {model};
    if (cli_output_is_input("import", "OUT.safetensors", weights, outs, 1))
        return 2;
    fcl_status st = fcl_onnx_import(in, &o, model, weights);
    if (st != FCL_SUCCESS)
        return cli_fail(in, st);
    fcl_model *m;
    if ((st = fcl_model_load(model, &m)) != FCL_SUCCESS)
        return cli_fail(model, st);
    const fcl_model_summary ms = fcl_model_describe(m);
    fcl_layer_info input;
    fcl_model_layer(m, 0, &input);
    printf("wrote %s and %s: %s, %d layers, %d x %d x %d input as (pixel - %g) / %g -> %d-d output, %zu parameters, "
           "%.3g M multiply-adds\n",
           model, weights, ms.name, ms.layers, ms.input_channels, ms.input_height, ms.input_width,
           (double)input.pixel_mean, (double)input.pixel_std, ms.embedding_size, ms.parameters,
           (double)ms.multiply_adds / 1e6);
    if (input.pixel_mean == 0 && input.pixel_std == 1 && !given_mean)
        printf("note: the model takes 0..255 pixels as they are (the graph holds no pixel transform); if the network "
               "expects normalised input, import it again with --mean and --std\n");
    cli_warn_unnormalised(m, "import");
    fcl_model_destroy(m);
    return 0;
}
