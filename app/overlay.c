/* PNG pictures of detections (fcl_image_write_png: written whole, atomically, so a
 * crash leaves the old file or none). */
#include "overlay.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void dot(uint8_t *rgb, int w, int h, int x, int y, const uint8_t colour[3])
{
    if (x >= 0 && y >= 0 && x < w && y < h)
        memcpy(rgb + ((size_t)y * w + x) * 3, colour, 3);
}

fcl_status overlay_write_png(const char *path, const fcl_image *im, const fcl_face *faces, int n_faces)
{
    const int w = im->width, h = im->height;
    const size_t stride = im->stride ? im->stride : (size_t)w * im->channels;
    uint8_t *rgb = malloc((size_t)w * h * 3);
    if (!rgb)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++)
                rgb[((size_t)y * w + x) * 3 + c] = im->pixels[y * stride + (size_t)x * im->channels +
                                                              (im->channels == 3 ? c : 0)];
    static const uint8_t green[3] = {0, 230, 0}, red[3] = {255, 30, 30};
    const int line = w + h > 1200 ? 3 : 2;
    for (int f = n_faces - 1; f >= 0; f--) { /* the most probable drawn last, on top, thicker */
        const int x1 = (int)lroundf(faces[f].box[0]), y1 = (int)lroundf(faces[f].box[1]);
        const int x2 = (int)lroundf(faces[f].box[2]), y2 = (int)lroundf(faces[f].box[3]);
        const int t = f == 0 ? line + 1 : line;
        for (int k = 0; k < t; k++) {
            for (int x = x1 - k; x <= x2 + k; x++)
                dot(rgb, w, h, x, y1 - k, green), dot(rgb, w, h, x, y2 + k, green);
            for (int y = y1 - k; y <= y2 + k; y++)
                dot(rgb, w, h, x1 - k, y, green), dot(rgb, w, h, x2 + k, y, green);
        }
        const int r = t + 1;
        for (int p = 0; p < 5; p++)
            for (int dy = -r; dy <= r; dy++)
                for (int dx = -r; dx <= r; dx++)
                    if (dx * dx + dy * dy <= r * r)
                        dot(rgb, w, h, (int)lroundf(faces[f].landmarks[p][0]) + dx,
                            (int)lroundf(faces[f].landmarks[p][1]) + dy, red);
    }
    fcl_status st = fcl_image_write_png(path, &(fcl_image){.pixels = rgb, .width = w, .height = h, .channels = 3});
    free(rgb);
    return st;
}
