/* IDX files (MNIST, Fashion-MNIST), gzip-compressed or raw. */
#ifndef FCL_DATA_IDX_H
#define FCL_DATA_IDX_H
#include "facecl.h"

#define FCL_IDX_MAX_DIMS 4

typedef struct fcl_idx {
    int ndims;
    int dims[FCL_IDX_MAX_DIMS];
    size_t count;        /* product of dims */
    unsigned char *data; /* count bytes; the caller frees with fcl_idx_free */
} fcl_idx;

/* Reads an unsigned-byte IDX file (type 0x08). Rejects a bad magic, another data
 * type, zero or oversized dimensions, and a file shorter or longer than its header
 * says, naming the file. */
fcl_status fcl_idx_load(const char *path, fcl_idx *out);
void fcl_idx_free(fcl_idx *idx);
#endif
