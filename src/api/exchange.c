/* The public API of model exchange (include/facecl.h): ONNX export and import. */
#include "io/safetensors.h"
#include "onnx/onnx.h"

#include <stdio.h>
#include <stdlib.h>

fcl_status fcl_onnx_export(const fcl_model *m, const char *weights, uint64_t seed, const char *out_path)
{
    if (!m || !out_path)
        return FCL_ERR_INVALID_ARGUMENT;
    float *params = malloc((m->n_params ? m->n_params : 1) * sizeof *params);
    if (!params)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    fcl_st_meta threshold = {.key = FCL_META_THRESHOLD};
    fcl_status st = FCL_SUCCESS;
    if (weights) {
        st = fcl_safetensors_load(m, weights, params, NULL, 0, &threshold, 1);
    } else {
        fcl_model_init_params(m, seed, params);
    }
    if (st == FCL_SUCCESS) {
        char seed_text[32];
        snprintf(seed_text, sizeof seed_text, "%llu", (unsigned long long)seed);
        const char *meta[3][2] = {{"facecl.model", m->name}};
        int n_meta = 1;
        if (!weights)
            meta[n_meta][0] = "facecl.random_weights_seed", meta[n_meta++][1] = seed_text;
        if (threshold.found)
            meta[n_meta][0] = FCL_META_THRESHOLD, meta[n_meta++][1] = threshold.value;
        st = fcl_onnx_write(m, params, (const char *const (*)[2])meta, n_meta, out_path);
        if (st != FCL_SUCCESS && st != FCL_ERR_IO)
            fcl_log(FCL_LOG_ERROR, "%s: could not export %s: %s", out_path, m->source, fcl_status_str(st));
    }
    free(params);
    return st;
}
