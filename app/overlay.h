/* A picture of detections a person can look at: the image with each face's box and
 * landmarks drawn on it, as a PNG file. */
#ifndef FCL_APP_OVERLAY_H
#define FCL_APP_OVERLAY_H
#include "facecl.h"

/* image (grey or RGB) with faces drawn (boxes green, the most probable thicker;
 * landmarks red), written atomically to path as PNG. */
fcl_status overlay_write_png(const char *path, const fcl_image *image, const fcl_face *faces, int n_faces);
#endif
