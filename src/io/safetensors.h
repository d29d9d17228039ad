/* Model weights as safetensors files (see safetensors.c for the layout). */
#ifndef FCL_IO_SAFETENSORS_H
#define FCL_IO_SAFETENSORS_H
#include "graph/graph.h"

/* params: the model's parameter arena on the host (m->n_params floats). */
fcl_status fcl_weights_save(const fcl_model *m, const float *params, const char *path);
fcl_status fcl_weights_load(const fcl_model *m, const char *path, float *params);

/* The same for a network's device parameters. */
fcl_status fcl_net_save_weights(fcl_net *net, const char *path);
fcl_status fcl_net_load_weights(fcl_net *net, const char *path);
#endif
