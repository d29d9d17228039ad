#include "data/image.h"
#include "runtime/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <stb_image.h>
#include <stb_image_resize.h>

fcl_status fcl_image_to_input(const unsigned char *pixels, int iw, int ih, int ic, int h, int w, int channels,
                              float *out)
{
    if (channels != 1 && channels != 3) {
        fcl_log(FCL_LOG_ERROR, "models take 1 (grey) or 3 (RGB) input channels, not %d", channels);
        return FCL_ERR_INVALID_ARGUMENT;
    }
    const unsigned char *resized = pixels;
    unsigned char *scratch = NULL;
    if (iw != w || ih != h) {
        scratch = malloc((size_t)w * h * ic);
        if (!scratch || !stbir_resize_uint8(pixels, iw, ih, 0, scratch, w, h, 0, ic)) {
            free(scratch);
            return FCL_ERR_OUT_OF_HOST_MEMORY;
        }
        resized = scratch;
    }
    for (int c = 0; c < channels; c++) /* interleaved HWC bytes -> planar CHW floats; grey fills every channel */
        for (int i = 0; i < h * w; i++)
            out[(size_t)c * h * w + i] = resized[(size_t)i * ic + (ic == channels ? c : 0)] / 255.0f;
    free(scratch);
    return FCL_SUCCESS;
}

fcl_status fcl_image_check(const char *path)
{
    int iw, ih, ic;
    if (stbi_info(path, &iw, &ih, &ic))
        return FCL_SUCCESS;
    fcl_log(FCL_LOG_WARN, "%s: not a readable image (%s): skipped", path, stbi_failure_reason());
    return FCL_ERR_FORMAT;
}

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
    fcl_status st = fcl_image_to_input(pixels, iw, ih, channels, h, w, channels, out);
    if (st != FCL_SUCCESS)
        fcl_log(FCL_LOG_ERROR, "%s: resizing %dx%d to %dx%d failed", path, iw, ih, w, h);
    stbi_image_free(pixels);
    return st;
}
