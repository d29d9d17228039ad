/* Optimiser steps over a parameter range [off, off + n) of the arenas; PyTorch's
 * conventions. L2 weight decay adds wd * p to the gradient first. */

__kernel void sgd_step(__global float *p, __global const float *g, __global float *v, const int off, const int n,
                       const float lr, const float momentum, const float wd)
{
    const int i = get_global_id(0);
    if (i >= n)
        return;
    const int k = off + i;
    const float grad = g[k] + wd * p[k];
    const float vel = momentum * v[k] + grad;
    v[k] = vel;
    p[k] -= lr * vel;
}

/* AdaGrad (the FaceNet paper's): s += g^2, p -= lr g / (sqrt(s) + eps). */
__kernel void adagrad_step(__global float *p, __global const float *g, __global float *s, const int off, const int n,
                           const float lr, const float eps, const float wd)
{
    const int i = get_global_id(0);
    if (i >= n)
        return;
    const int k = off + i;
    const float grad = g[k] + wd * p[k];
    const float sum = s[k] + grad * grad;
    s[k] = sum;
    p[k] -= lr * grad / (sqrt(sum) + eps);
}

/* Adam; c1 = 1 - beta1^t and c2 = 1 - beta2^t are the bias corrections. */
__kernel void adam_step(__global float *p, __global const float *g, __global float *m, __global float *v,
                        const int off, const int n, const float lr, const float beta1, const float beta2,
                        const float eps, const float wd, const float c1, const float c2)
{
    const int i = get_global_id(0);
    if (i >= n)
        return;
    const int k = off + i;
    const float grad = g[k] + wd * p[k];
    const float mk = beta1 * m[k] + (1.0f - beta1) * grad;
    const float vk = beta2 * v[k] + (1.0f - beta2) * grad * grad;
    m[k] = mk;
    v[k] = vk;
    p[k] -= lr * (mk / c1) / (sqrt(vk / c2) + eps);
}
