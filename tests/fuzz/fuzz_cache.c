/* Kernel-cache files (FACECL_CACHE_DIR/<hash>.bin): the entry parser that decides
 * whether a file's binary reaches the OpenCL driver, against a fixed key. */
#include "fuzz_support.h"
#include "runtime/runtime.h"

#include <stdlib.h>

#define KEY "facecl fuzz\nfile gemm.cl\noptions -DTM=16\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const unsigned char *binary = NULL;
    size_t binary_size = 0;
    if (fcl_program_cache_entry_valid((const char *)data, size, KEY, &binary, &binary_size) &&
        (binary < data || binary + binary_size != data + size || binary_size == 0))
        abort(); /* a valid entry's binary is the non-empty rest of the file */
    return 0;
}
