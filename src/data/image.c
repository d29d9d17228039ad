#include "data/image.h"
#include "runtime/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <stb_image.h>
#include <stb_image_resize.h>

fcl_status fcl_image_load(const char *path, int h, int w, int channels, float *out)
{
    if (channels != 1 && channels != 3) {
        fcl_log(FCL_LOG_ERROR, "models take 1 (grey) or 3 (RGB) input channels, not %d", channels);
        return FCL_ERR_INVALID_ARGUMENT;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        fcl_log(FCL_LOG_ERROR, "%s: cannot open", path);
        return FCL_ERR_IO;
    }
    int iw, ih, ic;
    unsigned char *pixels = stbi_load_from_file(f, &iw, &ih, &ic, channels);
    fclose(f);
    if (!pixels) {
        fcl_log(FCL_LOG_ERROR, "%s: not a readable image (%s)", path, stbi_failure_reason());
        return FCL_ERR_FORMAT;
    }
    unsigned char *resized = pixels;
    if (iw != w || ih != h) {
        resized = malloc((size_t)w * h * channels);
        if (!resized || !stbir_resize_uint8(pixels, iw, ih, 0, resized, w, h, 0, channels)) {
            free(resized);
            stbi_image_free(pixels);
            fcl_log(FCL_LOG_ERROR, "%s: resizing %dx%d to %dx%d failed", path, iw, ih, w, h);
            return FCL_ERR_OUT_OF_HOST_MEMORY;
        }
    }
    for (int c = 0; c < channels; c++) /* interleaved HWC bytes -> planar CHW floats */
        for (int i = 0; i < h * w; i++)
            out[(size_t)c * h * w + i] = resized[(size_t)i * channels + c] / 255.0f;
    if (resized != pixels)
        free(resized);
    stbi_image_free(pixels);
    return FCL_SUCCESS;
}
