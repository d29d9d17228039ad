/* JPEG decoding with libjpeg(-turbo), the decoder behind PIL and so behind the Python
 * face pipelines whose embeddings facecl must reproduce: stb_image's own JPEG decoder
 * gives other pixels (up to 3 levels apart on 6% of the values of a quality-90 file,
 * 2e-3 on an Inception-ResNet-v1 embedding). Other formats stay with stb_image. */
#ifndef FCL_DATA_JPEG_H
#define FCL_DATA_JPEG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Whether f starts with a JPEG's SOI marker; f is left at its start. */
bool fcl_is_jpeg(FILE *f);
/* Decodes f (from its start) to interleaved bytes of `channels` (1: libjpeg's grey, 3:
 * RGB), malloc'd, *w x *h; at most max_pixels. NULL on failure, with the reason in why
 * (a corrupt or truncated file is a failure, not a partly grey image). */
unsigned char *fcl_jpeg_decode(FILE *f, int channels, double max_pixels, int *w, int *h, char *why, size_t why_size);
#endif
