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
        (void)fcl_image_load(path, &(fcl_input_form){1, 12, 10, 0.0f, 255.0f}, out);
        (void)fcl_image_load(path, &(fcl_input_form){3, 12, 10, 0.0f, 255.0f}, out);
    }
    return 0;
}
