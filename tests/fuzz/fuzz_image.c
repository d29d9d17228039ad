/* Images from users' folders: the header check and the full decode and resize
 * (stb_image: JPEG, PNG, BMP, GIF, PNM ...), in grey and in RGB. */
#include "data/image.h"
#include "fuzz_support.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    const char *path = fuzz_file(data, size, ".img");
    float out[3 * 12 * 10];
    if (fcl_image_check(path) == FCL_SUCCESS) {
        (void)fcl_image_load(path, 12, 10, 1, out);
        (void)fcl_image_load(path, 12, 10, 3, out);
    }
    return 0;
}
