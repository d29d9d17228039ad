/* The public API's view of a model (include/facecl.h): its summary, each node as
 * `facecl info` lists it, the memory plan, and an image file as its input. */
#include "data/image.h"
#include "graph/graph.h"

#include <string.h>

fcl_model_summary fcl_model_describe(const fcl_model *m)
{
    const fcl_shape in = m->nodes[0].out;
    return (fcl_model_summary){.name = m->name, .source = m->source, .input_channels = in.c, .input_height = in.h,
                               .input_width = in.w, .embedding_size = fcl_shape_size(fcl_model_output(m)->out),
                               .parameters = fcl_model_trainable(m), .multiply_adds = fcl_model_macs(m),
                               .layers = m->n_nodes};
}

static size_t node_parameters(const fcl_node *nd)
{
    fcl_param_desc d[FCL_MAX_PARAMS];
    const int n = fcl_ops[nd->op]->params(nd, d);
    size_t total = 0;
    for (int j = 0; j < n; j++)
        total += d[j].trainable ? d[j].count : 0;
    return total;
}

fcl_status fcl_model_layer(const fcl_model *m, int index, fcl_layer_info *out)
{
    if (!m || !out || index < 0 || index >= m->n_nodes)
        return FCL_ERR_INVALID_ARGUMENT;
    const fcl_node *nd = &m->nodes[index];
    _Static_assert(FCL_LAYER_MAX_INPUTS == FCL_MAX_INPUTS, "fcl_layer_info.inputs holds every input");
    *out = (fcl_layer_info){
        .name = nd->name, .type = fcl_ops[nd->op]->name,
        .in_c = nd->in.c, .in_h = nd->in.h, .in_w = nd->in.w, .out_c = nd->out.c, .out_h = nd->out.h, .out_w = nd->out.w,
        .kernel_h = nd->kh, .kernel_w = nd->kw, .stride_h = nd->sh, .stride_w = nd->sw, .pad_h = nd->ph, .pad_w = nd->pw,
        .groups = nd->groups, .bias = nd->bias, .relu = nd->relu, .maxout_group = nd->group_size, .lrn_size = nd->size,
        .ceil_mode = nd->ceil_mode,
        .scale = nd->scale, .alpha = nd->alpha, .beta = nd->beta, .k = nd->k, .eps = nd->eps, .rate = nd->rate,
        .pixel_mean = nd->pixel_mean, .pixel_std = nd->pixel_std,
        .parameters = node_parameters(nd), .multiply_adds = fcl_ops[nd->op]->macs(nd), .n_inputs = nd->n_inputs,
    };
    memcpy(out->inputs, nd->inputs, sizeof out->inputs);
    return FCL_SUCCESS;
}

fcl_status fcl_model_plan_memory(const fcl_model *m, int batch, size_t *planned_bytes, size_t *unshared_bytes)
{
    size_t planned = 0, unshared = 0;
    fcl_status st = m && batch > 0 ? fcl_plan_activations(m, batch, false, &planned, &unshared)
                                   : FCL_ERR_INVALID_ARGUMENT;
    *planned_bytes = planned * sizeof(float);
    *unshared_bytes = unshared * sizeof(float);
    return st;
}

fcl_status fcl_image_file_to_input(const fcl_model *m, const char *path, float *input)
{
    const fcl_input_form form = fcl_model_input_form(m);
    return fcl_image_load(path, &form, input);
}
