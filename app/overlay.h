/* Pictures of detections a person can look at: the image with each face's box and
 * landmarks drawn on it, and face crops, as PNG files. */
#ifndef FCL_APP_OVERLAY_H
#define FCL_APP_OVERLAY_H
#include "facecl.h"

/* image (grey or RGB) with faces drawn (boxes green, the most probable thicker;
 * landmarks red), written atomically to path as PNG. */
fcl_status overlay_write_png(const char *path, const fcl_image *image, const fcl_face *faces, int n_faces);
/* Interleaved 8-bit pixels as a PNG file, written atomically. */
fcl_status png_write(const char *path, const uint8_t *pixels, int width, int height, int channels);
#endif
