#ifndef FCL_RUNTIME_KERNELS_H
#define FCL_RUNTIME_KERNELS_H
#include <stddef.h>

struct fcl_embedded_kernel {
    const char *file;   /* "conv.cl" */
    const char *source; /* NUL-terminated */
    size_t length;
};

/* Generated at build time from the files in cl/; ends with a zeroed entry. */
extern const struct fcl_embedded_kernel fcl_embedded_kernels[];
#endif
