/* ReLU backward for a fused ReLU: dy *= (y > 0), in place on the output's gradient.
 * (N, M) views: M elements per batch item, batch stride ns. */
__kernel void relu_backward(__global float *dy, const int dy_off, const int dy_ns,
                            __global const float *y, const int y_off, const int y_ns,
                            const int N, const int M)
{
    const int i = get_global_id(0);
    if (i >= N * M)
        return;
    const int n = i / M, j = i % M;
    if (!(y[y_off + n * y_ns + j] > 0.0f))
        dy[dy_off + n * dy_ns + j] = 0.0f;
}
