/* NumPy .npy files (format version 1.0), for embeddings other tools can read. */
#ifndef FCL_IO_NPY_H
#define FCL_IO_NPY_H
#include "facecl.h"

/* Writes a rows x cols float32 C-order array, atomically (temp file + rename). */
fcl_status fcl_npy_save(const char *path, const float *data, size_t rows, size_t cols);
#endif
