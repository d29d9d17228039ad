#include "data/jpeg.h"

#include <jpeglib.h>
#include <setjmp.h>
#include <stdlib.h>

bool fcl_is_jpeg(FILE *f)
{
    unsigned char magic[3] = {0};
    const bool jpeg = fread(magic, 1, 3, f) == 3 && magic[0] == 0xFF && magic[1] == 0xD8 && magic[2] == 0xFF;
    rewind(f);
    return jpeg;
}

/* libjpeg's default error handler ends the process: ours jumps back with the message. */
typedef struct error_jump {
    struct jpeg_error_mgr mgr;
    jmp_buf back;
} error_jump;

static void jump_back(j_common_ptr cinfo) { longjmp(((error_jump *)cinfo->err)->back, 1); }

/* A warning (corrupt data, a premature end) means libjpeg filled in pixels it did not
 * read: treated as an error, as PIL does for a truncated file. */
static void warning_is_error(j_common_ptr cinfo, int level)
{
    if (level < 0)
        jump_back(cinfo);
}

unsigned char *fcl_jpeg_decode(FILE *f, int channels, double max_pixels, int *w, int *h, char *why, size_t why_size)
{
    struct jpeg_decompress_struct cinfo;
    error_jump err;
    unsigned char *volatile pixels = NULL;
    cinfo.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = jump_back;
    err.mgr.emit_message = warning_is_error;
    if (setjmp(err.back)) {
        char message[JMSG_LENGTH_MAX];
        err.mgr.format_message((j_common_ptr)&cinfo, message);
        snprintf(why, why_size, "%s", message);
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        return NULL;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_stdio_src(&cinfo, f);
    jpeg_read_header(&cinfo, TRUE);
    if ((double)cinfo.image_width * cinfo.image_height > max_pixels) {
        snprintf(why, why_size, "%u x %u pixels is more than facecl decodes (%.0f megapixels)", cinfo.image_width,
                 cinfo.image_height, max_pixels / (1 << 20));
        jpeg_destroy_decompress(&cinfo);
        return NULL;
    }
    cinfo.out_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    const size_t row = (size_t)cinfo.output_width * (size_t)cinfo.output_components;
    pixels = malloc(row * cinfo.output_height);
    if (!pixels) {
        snprintf(why, why_size, "out of memory for %u x %u pixels", cinfo.output_width, cinfo.output_height);
        jpeg_destroy_decompress(&cinfo);
        return NULL;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW line = pixels + row * cinfo.output_scanline;
        jpeg_read_scanlines(&cinfo, &line, 1);
    }
    jpeg_finish_decompress(&cinfo);
    *w = (int)cinfo.output_width;
    *h = (int)cinfo.output_height;
    jpeg_destroy_decompress(&cinfo);
    return pixels;
}
