/* ONNX import: the protobuf reader, the value table and every op handler, on any bytes;
 * what parses writes a model file and weights beside the input (read back, as a user's
 * next command would). */
#include "fuzz_support.h"
#include "facecl.h"

#include <stdio.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    const char *path = fuzz_file(data, size, ".onnx");
    char model_path[160], weights_path[160];
    snprintf(model_path, sizeof model_path, "%s.model", path);
    snprintf(weights_path, sizeof weights_path, "%s.safetensors", path);
    const fcl_onnx_import_options options = {.pixel_mean = 127.5f, .pixel_std = 128.0f};
    if (fcl_onnx_import(path, &options, model_path, weights_path) == FCL_SUCCESS) {
        fcl_model *m;
        if (fcl_model_load(model_path, &m) == FCL_SUCCESS)
            fcl_model_destroy(m);
        unlink(model_path);
        unlink(weights_path);
    }
    return 0;
}
