/* Boxes of one planar float image (channels x height x width) resampled into a batch of
 * network inputs: PyTorch's interpolate(mode="area") (adaptive average pooling: output
 * pixel i of n averages input pixels floor(i * m / n) .. ceil((i + 1) * m / n) - 1 of
 * the box's m), then (v - mean) * inv_std. MTCNN's pyramid levels and its R-Net and
 * O-Net crops (src/detect/mtcnn.c). boxes: x0, y0, w, h per output image, inside the image. */
__kernel void resample_area(__global const float *image, int channels, int height, int width,
                            __global const int *boxes, int n, int out_h, int out_w, float mean, float inv_std,
                            __global float *out, int out_off, int out_stride)
{
    const int i = get_global_id(0);
    if (i >= n * channels * out_h * out_w)
        return;
    const int x = i % out_w, y = (i / out_w) % out_h, c = (i / (out_w * out_h)) % channels;
    const int b = i / (channels * out_h * out_w);
    const int x0 = boxes[4 * b], y0 = boxes[4 * b + 1], bw = boxes[4 * b + 2], bh = boxes[4 * b + 3];
    const int ys = y * bh / out_h, ye = ((y + 1) * bh + out_h - 1) / out_h;
    const int xs = x * bw / out_w, xe = ((x + 1) * bw + out_w - 1) / out_w;
    __global const float *plane = image + (size_t)c * height * width;
    float sum = 0.0f;
    for (int iy = ys; iy < ye; iy++)
        for (int ix = xs; ix < xe; ix++)
            sum += plane[(size_t)(y0 + iy) * width + x0 + ix];
    const float v = sum / (float)(ye - ys) / (float)(xe - xs);
    out[out_off + b * out_stride + (c * out_h + y) * out_w + x] = (v - mean) * inv_std;
}
