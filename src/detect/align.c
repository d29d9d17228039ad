/* Five-point alignment: the similarity transform (rotation, uniform scale, shift) that
 * takes a face's landmarks closest, in least squares, to where a canonical face has them
 * (Umeyama 1991, in closed form for 2-D points), and the crop resampled through it
 * (bilinear; black outside the image). The canonical points are the 112x112 template
 * insightface's ArcFace models are trained on, scaled to the crop's size. */
#include "facecl.h"

#include <math.h>
#include <stddef.h>

static const double canonical[5][2] = {
    {38.2946, 51.6963}, {73.5318, 51.5014}, {56.0252, 71.7366}, {41.5493, 92.3655}, {70.7299, 92.2041},
};

fcl_status fcl_face_align(const fcl_image *im, const fcl_face *face, int size, uint8_t *out)
{
    if (!im || !im->pixels || !face || !out || size < 8 || size > 8192 || (im->channels != 1 && im->channels != 3))
        return FCL_ERR_INVALID_ARGUMENT;
    /* source points p (landmarks), destination q (template): q ~ s R p + t */
    double pm[2] = {0, 0}, qm[2] = {0, 0}, q[5][2];
    for (int i = 0; i < 5; i++) {
        q[i][0] = canonical[i][0] * size / 112.0, q[i][1] = canonical[i][1] * size / 112.0;
        if (!isfinite(face->landmarks[i][0]) || !isfinite(face->landmarks[i][1]))
            return FCL_ERR_NUMERIC;
        for (int k = 0; k < 2; k++)
            pm[k] += face->landmarks[i][k] / 5.0, qm[k] += q[i][k] / 5.0;
    }
    double a = 0, b = 0, var = 0; /* sum of q.p and q x p over centred points, and |p|^2 */
    for (int i = 0; i < 5; i++) {
        const double px = face->landmarks[i][0] - pm[0], py = face->landmarks[i][1] - pm[1];
        const double qx = q[i][0] - qm[0], qy = q[i][1] - qm[1];
        a += qx * px + qy * py;
        b += qy * px - qx * py;
        var += px * px + py * py;
    }
    if (!(var > 1e-9))
        return FCL_ERR_INVALID_ARGUMENT; /* the five points coincide */
    const double c = a / var, s = b / var; /* s R = [[c, -s], [s, c]] */
    const double tx = qm[0] - (c * pm[0] - s * pm[1]), ty = qm[1] - (s * pm[0] + c * pm[1]);
    /* Each output pixel centre mapped back: p = (s R)^-1 (q - t). */
    const double det = c * c + s * s;
    const size_t stride = im->stride ? im->stride : (size_t)im->width * im->channels;
    const int ch = im->channels;
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            const double dx = x - tx, dy = y - ty;
            const double sx = (c * dx + s * dy) / det, sy = (-s * dx + c * dy) / det;
            const int x0 = (int)floor(sx), y0 = (int)floor(sy);
            const double fx = sx - x0, fy = sy - y0;
            for (int k = 0; k < ch; k++) {
                double v = 0;
                for (int j = 0; j < 4; j++) {
                    const int xx = x0 + (j & 1), yy = y0 + (j >> 1);
                    const double w = ((j & 1) ? fx : 1 - fx) * ((j >> 1) ? fy : 1 - fy);
                    if (w != 0 && xx >= 0 && yy >= 0 && xx < im->width && yy < im->height)
                        v += w * im->pixels[(size_t)yy * stride + (size_t)xx * ch + k];
                }
                out[((size_t)y * size + x) * ch + k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5);
            }
        }
    return FCL_SUCCESS;
}
