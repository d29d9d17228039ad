/* Images from disk (JPEG/PNG/... via stb_image), resized to a model's input. */
#ifndef FCL_DATA_IMAGE_H
#define FCL_DATA_IMAGE_H
#include "facecl.h"

/* The largest image decoded: 64 megapixels (192 MiB as RGB bytes). The fuzz build
 * lowers it: a 40-byte HDR header that claims 64 Mpx decodes for 13 s under ASan. */
#ifndef FCL_IMAGE_MAX_PIXELS
#define FCL_IMAGE_MAX_PIXELS (1 << 26)
#endif

/* What a model takes: c x h x w planar floats, (pixel - mean) / std of 0..255 pixels
 * (the model file's `input` line; mean 0 and std 255 unless it says otherwise). */
typedef struct fcl_input_form {
    int c, h, w;
    float mean, std;
} fcl_input_form;
static inline size_t fcl_input_floats(const fcl_input_form *f) { return (size_t)f->c * f->h * f->w; }

/* Decodes path, converts to form->c channels (1 = grey, 3 = RGB), resizes to h x w and
 * writes the model's input to out (c*h*w floats). On failure logs why (stb_image's
 * reason) and returns FCL_ERR_FORMAT or FCL_ERR_IO. */
fcl_status fcl_image_load(const char *path, const fcl_input_form *form, float *out);
/* Decodes path to interleaved bytes of `channels` (1 grey, 3 RGB) per pixel: *pixels
 * (malloc'd, the caller's to free()) of *width x *height. Errors as fcl_image_load's. */
fcl_status fcl_image_decode(const char *path, int channels, unsigned char **pixels, int *width, int *height);
/* The same from decoded interleaved bytes (iw x ih x ic, ic 1 or form->c). */
fcl_status fcl_image_to_input(const unsigned char *pixels, int iw, int ih, int ic, const fcl_input_form *form,
                              float *out);
/* Reads only the header: FCL_SUCCESS when stb_image can decode the file, otherwise a
 * warning naming the file. */
fcl_status fcl_image_check(const char *path);
#endif
