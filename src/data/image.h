/* Images from disk (JPEG/PNG/... via stb_image), resized to a model's input. */
#ifndef FCL_DATA_IMAGE_H
#define FCL_DATA_IMAGE_H
#include "facecl.h"

/* Decodes path, converts to `channels` (1 = grey, 3 = RGB), resizes to h x w and
 * writes planar CHW floats in [0, 1] to out (channels*h*w). On failure logs why
 * (stb_image's reason) and returns FCL_ERR_FORMAT or FCL_ERR_IO. */
fcl_status fcl_image_load(const char *path, int h, int w, int channels, float *out);
#endif
