/* Weights and checkpoints: the safetensors reader with a small model, training-state
 * tensors and metadata, the metadata-only reader and the metadata rewriter. */
#include "fuzz_support.h"
#include "io/safetensors.h"

#include <stdlib.h>

static const char model_text[] = "model tiny\ninput h=6 w=6 c=2\nconv c1 k=3 c=3\nbatchnorm bn relu=1\nfc emb c=4\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fcl_model *m;
    fuzz_quiet();
    if (!m && fcl_model_parse(model_text, "tiny", &m) != FCL_SUCCESS)
        abort();
    const char *path = fuzz_file(data, size, ".safetensors");
    float *params = malloc(m->n_params * sizeof *params), state[8];
    fcl_st_tensor extra = {FCL_ST_STATE_PREFIX "optimizer.0", state, 8};
    fcl_st_meta meta[2] = {{.key = "facecl.step"}, {.key = "facecl.threshold"}};
    if (params)
        (void)fcl_safetensors_load(m, path, params, &extra, 1, meta, 2);
    (void)fcl_safetensors_read_meta(path, meta, 2);
    (void)fcl_safetensors_set_meta(path, "facecl.threshold", "1.5");
    free(params);
    return 0;
}
