/* Model weights as safetensors files (see safetensors.c for the layout). */
#ifndef FCL_IO_SAFETENSORS_H
#define FCL_IO_SAFETENSORS_H
#include "graph/graph.h"

/* Training state stored beside a model's tensors: flat F32 tensors whose names start
 * with FCL_ST_STATE_PREFIX (a weights loader skips them, so a checkpoint also serves as
 * weights) and string metadata. */
#define FCL_ST_STATE_PREFIX "train."
typedef struct fcl_st_tensor {
    const char *name;
    float *data;
    size_t count;
} fcl_st_tensor;
typedef struct fcl_st_meta {
    const char *key;
    char value[2048];
    bool found; /* set by a load */
} fcl_st_meta;

/* The model's tensors from params, then extra[], with meta in __metadata__. */
fcl_status fcl_safetensors_save(const fcl_model *m, const float *params, const fcl_st_tensor *extra, int n_extra,
                                const fcl_st_meta *meta, int n_meta, const char *path);
/* Validates everything before use; every extra[] must be present with its count. The
 * meta[] keys found get their values. */
fcl_status fcl_safetensors_load(const fcl_model *m, const char *path, float *params, fcl_st_tensor *extra, int n_extra,
                                fcl_st_meta *meta, int n_meta);

/* Only the metadata: the keys of meta[] found in path's header get their values. */
fcl_status fcl_safetensors_read_meta(const char *path, fcl_st_meta *meta, int n_meta);
/* Sets one metadata key of an existing file (tensors, data and other keys kept), by
 * writing a temporary file and renaming it. */
fcl_status fcl_safetensors_set_meta(const char *path, const char *key, const char *value);

/* params: the model's parameter arena on the host (m->n_params floats). */
fcl_status fcl_weights_save(const fcl_model *m, const float *params, const char *path);
fcl_status fcl_weights_load(const fcl_model *m, const char *path, float *params);

/* The same for a network's device parameters. */
fcl_status fcl_net_save_weights(fcl_net *net, const char *path);
fcl_status fcl_net_load_weights(fcl_net *net, const char *path);
/* m's parameters from path into the first m->n_params floats of net's: net's model is m
 * or m with a head appended (fcl_model_with_head), whose parameters come after m's. */
fcl_status fcl_net_load_weights_of(fcl_net *net, const fcl_model *m, const char *path);
#endif
