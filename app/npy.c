#include "npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

fcl_status fcl_npy_save(const char *path, const float *data, size_t rows, size_t cols)
{
    char dict[128];
    int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }", rows, cols);
    /* magic(6) + version(2) + length(2) + dict, padded with spaces and '\n' to 64 bytes */
    size_t header = (10 + (size_t)n + 1 + 63) / 64 * 64;
    size_t total = header + rows * cols * sizeof(float);
    unsigned char *file = malloc(total);
    if (!file)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    memcpy(file, "\x93NUMPY\x01\x00", 8);
    file[8] = (unsigned char)((header - 10) & 0xff);
    file[9] = (unsigned char)((header - 10) >> 8);
    memset(file + 10, ' ', header - 10);
    memcpy(file + 10, dict, (size_t)n);
    file[header - 1] = '\n';
    memcpy(file + header, data, rows * cols * sizeof(float));
    fcl_status st = fcl_write_file_atomic(path, file, total);
    if (st != FCL_SUCCESS)
        fcl_log(FCL_LOG_ERROR, "cannot write %s", path);
    free(file);
    return st;
}
