/* facecl export MODEL --weights W OUT.onnx: the network as an ONNX file. */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: facecl export MODEL (--weights W | --seed N) OUT.onnx\n\n"
               "Writes the network with W's weights as ONNX (opset 13), for onnxruntime, OpenVINO,\n"
               "TensorRT, Netron or any other ONNX runtime. Input \"pixels\": 0..255, N x C x H x W\n"
               "(the model's pixel transform, such as (x - 127.5) / 128, is the graph's first nodes);\n"
               "output \"embedding\", N x D; the batch dimension N is dynamic. The model name and\n"
               "the threshold `facecl eval` stored in W go into metadata_props. `facecl import`\n"
               "reads the file back. README: \"ONNX\" lists what each layer becomes.\n\n"
               "  --weights W  a safetensors file of the model (facecl train, a converter)\n"
               "  --seed N     seeded random weights instead, as training starts (to measure the\n"
               "               architecture in another runtime)\n"
               "Exit status: 0 written, 1 error, 2 bad usage.\n");
}

int cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {
        {"weights", required_argument, NULL, 'w'},
        {"seed", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    const char *weights = NULL;
    long seed = -1;
    bool ok = true;
    int c;
    while (ok && (c = getopt_long(argc, argv, "w:s:h", opts, NULL)) != -1) {
        switch (c) {
        case 'w': weights = optarg; break;
        case 's': ok = cli_long("seed", optarg, 0, 0x7fffffffL, &seed); break;
        case 'h': usage(stdout); return 0;
        default: ok = false;
        }
    }
    if (!ok)
        return 2;
    if (argc - optind != 2 || !weights == (seed < 0)) {
        if (argc - optind == 2)
            fprintf(stderr, "facecl export: give the weights: --weights W, or --seed N for random ones\n");
        usage(stderr);
        return 2;
    }
    char model_path[4096];
    if (!cli_resolve_model("export", argv[optind], model_path, sizeof model_path))
        return 1;
    const char *out = argv[optind + 1];
    const char *inputs[2] = {model_path, weights};
    if (cli_output_is_input("export", "OUT.onnx", out, inputs, weights ? 2 : 1))
        return 2;
    fcl_model *m;
    fcl_status st = fcl_model_load(model_path, &m);
    if (st != FCL_SUCCESS)
        return cli_fail(model_path, st);
    st = fcl_onnx_export(m, weights, seed < 0 ? 0 : (uint64_t)seed, out);
    const fcl_model_summary ms = fcl_model_describe(m);
    if (st == FCL_SUCCESS)
        printf("wrote %s: %s, %d x %d x %d pixels -> %d-d embedding, %zu parameters%s\n", out, ms.name,
               ms.input_channels, ms.input_height, ms.input_width, ms.embedding_size, ms.parameters,
               weights ? "" : " (random weights)");
    fcl_model_destroy(m);
    return st == FCL_SUCCESS ? 0 : cli_fail(out, st);
}
