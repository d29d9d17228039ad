/* The allocations of one ONNX export or import, freed at once (onnx/onnx.h). */
#include "onnx/onnx.h"

#include <stdlib.h>
#include <string.h>

void *fcl_onnx_alloc(fcl_onnx_arena *a, size_t size)
{
    if (a->failed)
        return NULL;
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 256;
        void **blocks = realloc(a->blocks, cap * sizeof *blocks);
        if (!blocks) {
            a->failed = true;
            return NULL;
        }
        a->blocks = blocks;
        a->cap = cap;
    }
    void *p = calloc(1, size ? size : 1);
    if (!p) {
        a->failed = true;
        return NULL;
    }
    a->blocks[a->n++] = p;
    return p;
}

char *fcl_onnx_strdup(fcl_onnx_arena *a, const char *s)
{
    char *p = fcl_onnx_alloc(a, strlen(s) + 1);
    if (p)
        strcpy(p, s);
    return p;
}

void fcl_onnx_arena_free(fcl_onnx_arena *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->blocks[i]);
    free(a->blocks);
    *a = (fcl_onnx_arena){0};
}
