#include "data/image.h"
#include "data/jpeg.h"
#include "runtime/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <stb_image.h>
#include <stb_image_resize.h>
#include <stb_image_write.h>

fcl_status fcl_image_to_input(const unsigned char *pixels, int iw, int ih, int ic, const fcl_input_form *form,
                              float *out)
{
    const int channels = form->c, h = form->h, w = form->w;
    if (channels != 1 && channels != 3) {
        fcl_log(FCL_LOG_ERROR, "models take 1 (grey) or 3 (RGB) input channels, not %d", channels);
        return FCL_ERR_INVALID_ARGUMENT;
    }
    if (iw < 1 || ih < 1 || h < 1 || w < 1) { /* stb_image decodes a 2 x 0 PNM; resizing it asserts */
        fcl_log(FCL_LOG_ERROR, "an image of %d x %d pixels cannot be resized to %d x %d", iw, ih, w, h);
        return FCL_ERR_FORMAT;
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
            out[(size_t)c * h * w + i] =
                ((float)resized[(size_t)i * ic + (ic == channels ? c : 0)] - form->mean) / form->std;
    free(scratch);
    return FCL_SUCCESS;
}

/* Binary PNM (P5 grey, P6 RGB) whose pixel data is shorter than its header says:
 * Debian's stb_image reads past the end of such a file (16-bit ones crashed `facecl
 * embed`; found by tests/fuzz/fuzz_image), so they are refused before decoding. */
static bool pnm_is_truncated(FILE *f)
{
    char magic[2];
    long values[3] = {0, 0, 0};
    bool truncated = false;
    if (fread(magic, 1, 2, f) == 2 && magic[0] == 'P' && (magic[1] == '5' || magic[1] == '6')) {
        int c = fgetc(f);
        for (int i = 0; i < 3 && c != EOF; i++) {
            while (c == '#' || (c != EOF && strchr(" \t\r\n\v\f", c))) { /* blanks and comment lines */
                if (c == '#')
                    while (c != EOF && c != '\n')
                        c = fgetc(f);
                c = fgetc(f);
            }
            for (; c >= '0' && c <= '9' && values[i] < 1000000000L; c = fgetc(f))
                values[i] = values[i] * 10 + (c - '0');
        }
        /* One blank separates the header from the data. */
        const long start = ftell(f);
        double need = (double)values[0] * values[1] * (magic[1] == '6' ? 3 : 1) * (values[2] > 255 ? 2 : 1);
        if (start >= 0 && fseek(f, 0, SEEK_END) == 0) {
            const long end = ftell(f);
            truncated = end >= 0 && (double)(end - start) < need;
        }
    }
    rewind(f);
    return truncated;
}

fcl_status fcl_image_check(const char *path)
{
    int iw = 0, ih = 0, ic = 0;
    const int known = stbi_info(path, &iw, &ih, &ic);
    if (known && (double)iw * ih > FCL_IMAGE_MAX_PIXELS) { /* what decoding it would say */
        fcl_log(FCL_LOG_WARN, "%s: %d x %d pixels is more than facecl decodes (%d megapixels): skipped", path, iw, ih,
                FCL_IMAGE_MAX_PIXELS >> 20);
        return FCL_ERR_FORMAT;
    }
    if (known && iw > 0 && ih > 0)
        return FCL_SUCCESS;
    fcl_log(FCL_LOG_WARN, "%s: not a readable image (%s): skipped", path, known ? "no pixels" : stbi_failure_reason());
    return FCL_ERR_FORMAT;
}

fcl_status fcl_image_decode(const char *path, int channels, unsigned char **out, int *width, int *height)
{
    *out = NULL;
    if (channels != 1 && channels != 3) {
        fcl_log(FCL_LOG_ERROR, "models take 1 (grey) or 3 (RGB) input channels, not %d", channels);
        return FCL_ERR_INVALID_ARGUMENT;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        fcl_log(FCL_LOG_ERROR, "%s: cannot open: %s", path, strerror(errno));
        return FCL_ERR_IO;
    }
    if (pnm_is_truncated(f)) {
        fclose(f);
        fcl_log(FCL_LOG_ERROR, "%s: a PNM image whose pixel data is cut short", path);
        return FCL_ERR_FORMAT;
    }
    int iw, ih, ic;
    unsigned char *pixels;
    if (fcl_is_jpeg(f)) {
        char why[256];
        pixels = fcl_jpeg_decode(f, channels, FCL_IMAGE_MAX_PIXELS, &iw, &ih, why, sizeof why);
        fclose(f);
        if (!pixels) {
            fcl_log(FCL_LOG_ERROR, "%s: not a readable JPEG (%s)", path, why);
            return FCL_ERR_FORMAT;
        }
    } else {
        if (stbi_info_from_file(f, &iw, &ih, &ic) && (double)iw * ih > FCL_IMAGE_MAX_PIXELS) {
            fclose(f); /* a few header bytes must not make us decode gigabytes */
            fcl_log(FCL_LOG_ERROR, "%s: %d x %d pixels is more than facecl decodes (%d megapixels)", path, iw, ih,
                    FCL_IMAGE_MAX_PIXELS >> 20);
            return FCL_ERR_FORMAT;
        }
        unsigned char *decoded = stbi_load_from_file(f, &iw, &ih, &ic, channels);
        fclose(f);
        if (!decoded) {
            fcl_log(FCL_LOG_ERROR, "%s: not a readable image (%s)", path, stbi_failure_reason());
            return FCL_ERR_FORMAT;
        }
        /* one way to free whatever decoded it: a copy in malloc's memory */
        pixels = malloc((size_t)iw * ih * channels);
        if (pixels)
            memcpy(pixels, decoded, (size_t)iw * ih * channels);
        stbi_image_free(decoded);
        if (!pixels)
            return FCL_ERR_OUT_OF_HOST_MEMORY;
    }
    *out = pixels;
    *width = iw;
    *height = ih;
    return FCL_SUCCESS;
}

fcl_status fcl_image_load(const char *path, const fcl_input_form *form, float *out)
{
    const int channels = form->c, h = form->h, w = form->w;
    int iw, ih;
    unsigned char *pixels;
    fcl_status st = fcl_image_decode(path, channels, &pixels, &iw, &ih);
    if (st != FCL_SUCCESS)
        return st;
    st = fcl_image_to_input(pixels, iw, ih, channels, form, out);
    if (st != FCL_SUCCESS)
        fcl_log(FCL_LOG_ERROR, "%s: resizing %dx%d to %dx%d failed", path, iw, ih, w, h);
    free(pixels);
    return st;
}

fcl_status fcl_image_read(const char *path, int channels, fcl_image *image)
{
    if (!path || !image)
        return FCL_ERR_INVALID_ARGUMENT;
    *image = (fcl_image){0};
    unsigned char *pixels;
    int w, h;
    fcl_status st = fcl_image_decode(path, channels, &pixels, &w, &h);
    if (st == FCL_SUCCESS)
        *image = (fcl_image){.pixels = pixels, .width = w, .height = h, .channels = channels};
    return st;
}

void fcl_image_release(fcl_image *image)
{
    if (!image)
        return;
    free((void *)(uintptr_t)image->pixels); /* fcl_image_read's own buffer */
    *image = (fcl_image){0};
}

/* stb_image_write's output gathered in memory, for one atomic write. */
static void collect_png(void *context, void *data, int size)
{
    fcl_strbuf *b = context;
    if (b->failed)
        return;
    if (b->len + (size_t)size > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + (size_t)size)
            cap *= 2;
        char *g = realloc(b->text, cap);
        if (!g) {
            b->failed = true;
            return;
        }
        b->text = g, b->cap = cap;
    }
    memcpy(b->text + b->len, data, (size_t)size);
    b->len += (size_t)size;
}

fcl_status fcl_image_write_png(const char *path, const fcl_image *im)
{
    if (!path || !im || !im->pixels || im->width < 1 || im->height < 1 || (im->channels != 1 && im->channels != 3))
        return FCL_ERR_INVALID_ARGUMENT;
    const int stride = (int)(im->stride ? im->stride : (size_t)im->width * im->channels);
    fcl_strbuf b = {0};
    fcl_status st = stbi_write_png_to_func(collect_png, &b, im->width, im->height, im->channels, im->pixels, stride) &&
                            !b.failed
                        ? fcl_write_file_atomic(path, b.text, b.len)
                        : FCL_ERR_OUT_OF_HOST_MEMORY;
    if (st == FCL_ERR_IO)
        fcl_log(FCL_LOG_ERROR, "%s: cannot write the PNG", path);
    free(b.text);
    return st;
}
