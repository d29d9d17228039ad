/* Dropout: in training, each activation is kept with probability 1 - rate and scaled by
 * 1 / (1 - rate) (inverted dropout, so using the network needs no rescaling); otherwise
 * the identity. The mask is a hash of (the net's key, the node, the element), never
 * stored: the backward pass draws the same one. keep_above = rate x 2^32. (N, M) views:
 * M elements per batch item, batch stride ns; first: the batch's first image in the
 * global batch a data-parallel run splits, so a mask follows its image. */

static uint dropout_mix(uint x) /* a 32-bit finaliser: every input bit moves every output bit */
{
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

__kernel void dropout_forward(__global float *y, const int y_off, const int y_ns, __global const float *x,
                              const int x_off, const int x_ns, const int N, const int M, const uint net_key,
                              const uint node, const uint keep_above, const float scale, const int training,
                              const uint first)
{
    const int i = get_global_id(0);
    if (i >= N * M)
        return;
    const uint key = dropout_mix(net_key ^ dropout_mix(node + 1u)); /* the node's own stream */
    const int n = i / M, j = i % M;
    const float v = x[x_off + n * x_ns + j];
    y[y_off + n * y_ns + j] = !training ? v : dropout_mix(((uint)i + first * (uint)M) ^ key) >= keep_above ? v * scale : 0.0f;
}

__kernel void dropout_backward(__global float *dx, const int dx_off, const int dx_ns, __global const float *dy,
                               const int dy_off, const int dy_ns, const int N, const int M, const uint net_key,
                               const uint node, const uint keep_above, const float scale,
                               const uint first)
{
    const int i = get_global_id(0);
    if (i >= N * M)
        return;
    const uint key = dropout_mix(net_key ^ dropout_mix(node + 1u));
    const int n = i / M, j = i % M;
    if (dropout_mix(((uint)i + first * (uint)M) ^ key) >= keep_above)
        dx[dx_off + n * dx_ns + j] += dy[dy_off + n * dy_ns + j] * scale;
}
