/* ONNX model exchange: facecl's graph to ONNX (export.c) and back (import.c), through
 * the protobuf-c code generated at build time from Debian's onnx.proto (libonnx-dev). */
#ifndef FCL_ONNX_ONNX_H
#define FCL_ONNX_ONNX_H
#include "graph/graph.h"

#include <stddef.h>

/* The opset exported, and the range imported (attributes as opset 13 has them; a
 * later opset that moved an attribute to an input is read where the importer knows it). */
#define FCL_ONNX_OPSET 13
#define FCL_ONNX_MIN_OPSET 7
#define FCL_ONNX_MAX_OPSET 21

/* The graph's input takes 0..255 pixels, NCHW, with a dynamic batch dimension; the
 * model's own pixel transform is its first nodes (Sub, Div). */
#define FCL_ONNX_INPUT "pixels"
#define FCL_ONNX_OUTPUT "embedding"

/* Every allocation of one export or import, freed at once. */
typedef struct fcl_onnx_arena {
    void **blocks;
    size_t n, cap;
    bool failed;
} fcl_onnx_arena;
void *fcl_onnx_alloc(fcl_onnx_arena *a, size_t size); /* zeroed; NULL (and failed) when out of memory */
char *fcl_onnx_strdup(fcl_onnx_arena *a, const char *s);
void fcl_onnx_arena_free(fcl_onnx_arena *a);

/* The writer: model (and its host parameters) as an ONNX file, atomically. meta:
 * key/value pairs for metadata_props (n_meta of them). */
fcl_status fcl_onnx_write(const fcl_model *m, const float *params, const char *const (*meta)[2], int n_meta,
                          const char *path);
#endif
