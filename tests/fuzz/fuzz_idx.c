/* IDX files (MNIST, Fashion-MNIST), read through zlib: raw, or gzip'd when the input
 * starts with gzip's magic. */
#include "data/idx.h"
#include "fuzz_support.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    fcl_idx idx;
    if (fcl_idx_load(fuzz_file(data, size, "-idx3-ubyte"), &idx) == FCL_SUCCESS)
        fcl_idx_free(&idx);
    return 0;
}
