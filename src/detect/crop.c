/* The face crop facenet-pytorch embeds (models/utils/detect_face.py, extract_face): the
 * detected box widened by a margin, clipped to the image, cut out and resized with
 * Pillow's bilinear filter. The resize is Pillow's own arithmetic (libImaging/Resample.c:
 * a triangle filter widened by the scale when shrinking, coefficients in 22-bit fixed
 * point, a horizontal pass rounded to bytes, then a vertical one), so a crop matches the
 * one facenet-pytorch hands its network byte for byte. */
#include "facecl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PRECISION_BITS (32 - 8 - 2)

/* For each of out output pixels along an axis of n input pixels: the first input pixel,
 * how many, and their fixed-point weights (ksize apart in kk). */
typedef struct axis {
    int ksize;
    int *bounds; /* first, count per output pixel */
    int *kk;
} axis;

static void axis_free(axis *a)
{
    free(a->bounds);
    free(a->kk);
}

static fcl_status axis_coeffs(int n, int out, axis *a)
{
    const double scale = (double)n / out, filterscale = scale < 1.0 ? 1.0 : scale;
    const double support = 1.0 * filterscale; /* the triangle filter's support is 1 */
    a->ksize = (int)ceil(support) * 2 + 1;
    a->bounds = malloc((size_t)out * 2 * sizeof *a->bounds);
    a->kk = malloc((size_t)out * a->ksize * sizeof *a->kk);
    double *k = malloc((size_t)a->ksize * sizeof *k);
    if (!a->bounds || !a->kk || !k) {
        free(k);
        axis_free(a);
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    }
    for (int xx = 0; xx < out; xx++) {
        const double center = (xx + 0.5) * scale, ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5), xmax = (int)(center + support + 0.5);
        xmin = xmin < 0 ? 0 : xmin;
        xmax = (xmax > n ? n : xmax) - xmin;
        double ww = 0.0;
        for (int x = 0; x < xmax; x++) {
            const double t = fabs((x + xmin - center + 0.5) * ss);
            k[x] = t < 1.0 ? 1.0 - t : 0.0;
            ww += k[x];
        }
        for (int x = 0; x < a->ksize; x++) {
            const double w = x < xmax && ww != 0.0 ? k[x] / ww : 0.0;
            a->kk[xx * a->ksize + x] = (int)(w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS));
        }
        a->bounds[2 * xx] = xmin;
        a->bounds[2 * xx + 1] = xmax;
    }
    free(k);
    return FCL_SUCCESS;
}

static uint8_t clip8(long long v)
{
    if (v >= (1LL << PRECISION_BITS << 8))
        return 255;
    return v <= 0 ? 0 : (uint8_t)(v >> PRECISION_BITS);
}

/* One pass: `lines` lines of `n` pixels along the axis, `step` bytes between the axis's
 * pixels and `line_step` between lines, into out (same layout, out_n pixels a line). */
static void resample_pass(const uint8_t *in, size_t in_step, size_t in_line, uint8_t *out, size_t out_step,
                          size_t out_line, int lines, int channels, const axis *a, int out_n)
{
    for (int l = 0; l < lines; l++)
        for (int xx = 0; xx < out_n; xx++) {
            const int xmin = a->bounds[2 * xx], count = a->bounds[2 * xx + 1];
            const int *k = &a->kk[xx * a->ksize];
            for (int ch = 0; ch < channels; ch++) {
                long long ss = 1LL << (PRECISION_BITS - 1);
                for (int x = 0; x < count; x++)
                    ss += (long long)in[l * in_line + (size_t)(xmin + x) * in_step + ch] * k[x];
                out[l * out_line + (size_t)xx * out_step + ch] = clip8(ss);
            }
        }
}

fcl_status fcl_face_crop(const fcl_image *im, const fcl_face *face, int size, int margin, uint8_t *out)
{
    if (!im || !im->pixels || !face || !out || size < 1 || size > 8192 || margin < 0 || margin >= size ||
        (im->channels != 1 && im->channels != 3))
        return FCL_ERR_INVALID_ARGUMENT;
    const float *b = face->box;
    const double mx = (double)margin * (b[2] - b[0]) / (size - margin);
    const double my = (double)margin * (b[3] - b[1]) / (size - margin);
    const int x0 = (int)fmax(b[0] - mx / 2, 0), y0 = (int)fmax(b[1] - my / 2, 0);
    const int x1 = (int)fmin(b[2] + mx / 2, im->width), y1 = (int)fmin(b[3] + my / 2, im->height);
    const int cw = x1 - x0, chh = y1 - y0, c = im->channels;
    if (cw < 1 || chh < 1)
        return FCL_ERR_INVALID_ARGUMENT;
    const size_t stride = im->stride ? im->stride : (size_t)im->width * c;
    const uint8_t *src = im->pixels + (size_t)y0 * stride + (size_t)x0 * c;
    axis h = {0}, v = {0};
    fcl_status st = axis_coeffs(cw, size, &h);
    if (st == FCL_SUCCESS && (st = axis_coeffs(chh, size, &v)) != FCL_SUCCESS)
        axis_free(&h);
    if (st != FCL_SUCCESS)
        return st;
    /* Pillow's two passes, each only when that axis changes size; the horizontal one
     * over just the rows the vertical one reads. */
    const int first = v.bounds[0], last = v.bounds[2 * size - 2] + v.bounds[2 * size - 1];
    const bool horizontal = cw != size, vertical = chh != size;
    uint8_t *tmp = NULL;
    const uint8_t *rows = src;
    size_t rows_stride = stride;
    int rows_first = 0;
    if (horizontal) {
        if (!(tmp = malloc((size_t)(last - first) * size * c))) {
            axis_free(&h), axis_free(&v);
            return FCL_ERR_OUT_OF_HOST_MEMORY;
        }
        resample_pass(src + (size_t)first * stride, c, stride, tmp, c, (size_t)size * c, last - first, c, &h, size);
        rows = tmp, rows_stride = (size_t)size * c, rows_first = first;
    }
    if (vertical) { /* along columns: pixels a row apart, lines a pixel apart */
        for (int i = 0; i < size; i++)
            v.bounds[2 * i] -= rows_first;
        resample_pass(rows, rows_stride, c, out, (size_t)size * c, c, size, c, &v, size);
    } else {
        for (int y = 0; y < size; y++)
            memcpy(out + (size_t)y * size * c, rows + (size_t)y * rows_stride, (size_t)size * c);
    }
    free(tmp);
    axis_free(&h), axis_free(&v);
    return FCL_SUCCESS;
}
