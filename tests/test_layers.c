/* Every layer on the device against the plain C reference (forward), and its backward
 * pass against central finite differences of that reference in double precision.
 * Each case is a small model, so the same harness checks single layers, inception
 * modules (branches written at channel offsets, input gradients accumulated across
 * branches) and whole small networks.
 *
 * Tolerances. Forward: the kernels sum up to a few hundred float32 products in another
 * order than the double reference, so |gpu - ref| <= 1e-4 * max(1, max|ref|). Backward:
 * finite differences in double with h = 1e-5 are exact to ~1e-9; the kernel gradients
 * are float32 sums of as many terms, so |grad - fd| <= 2e-3 * max(1, max|fd|). */
#include "graph/graph.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "support.h"

static uint64_t rng = 12345;
static double uniform(void) /* [-1, 1) */
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng >> 11) / 4503599627370496.0 - 1.0;
}

#define GUARD 12345.678f
#define MAX_CHECKED 300

static double loss(const fcl_model *m, int n, const double *x, const double *p, const double *dy, double *y,
                   size_t ny)
{
    assert_int_equal(fcl_model_reference_forward(m, n, x, p, y), FCL_SUCCESS);
    double l = 0;
    for (size_t i = 0; i < ny; i++)
        l += dy[i] * y[i];
    return l;
}

/* Compares the device gradient g[0..count) with finite differences of loss() along
 * the doubles at v[0..count); at most MAX_CHECKED coordinates, spread evenly. */
static void check_gradient(const char *what, const fcl_model *m, int n, double *x, double *p, const double *dy,
                           double *y, size_t ny, double *v, const float *g, size_t count)
{
    /* Small: the reference is double throughout, and a ReLU kink within h of an output
     * would make the difference quotient straddle it. */
    const double h = 1e-7;
    size_t step = count > MAX_CHECKED ? count / MAX_CHECKED : 1;
    double worst = 0, scale = 1;
    double *fd = calloc(count, sizeof *fd);
    for (size_t i = 0; i < count; i += step) {
        double keep = v[i];
        v[i] = keep + h;
        double lp = loss(m, n, x, p, dy, y, ny);
        v[i] = keep - h;
        double lm = loss(m, n, x, p, dy, y, ny);
        v[i] = keep;
        fd[i] = (lp - lm) / (2 * h);
        scale = fmax(scale, fabs(fd[i]));
    }
    for (size_t i = 0; i < count; i += step) {
        assert_true(isfinite(g[i]));
        double err = fabs(g[i] - fd[i]);
        if (err > worst)
            worst = err;
        if (err > 2e-3 * scale)
            fail_msg("%s: %s gradient %zu: device %.6g, finite differences %.6g", m->name, what, i, g[i], fd[i]);
    }
    free(fd);
}

static void run_case(const char *text, int n)
{
    fcl_model *m;
    assert_int_equal(fcl_model_parse(text, "test-case", &m), FCL_SUCCESS);
    fcl_net *net;
    assert_int_equal(fcl_net_create(rt, m, n, true, &net), FCL_SUCCESS);
    const size_t nx = (size_t)n * fcl_shape_size(m->nodes[0].out);
    const size_t ny = (size_t)n * fcl_shape_size(fcl_model_output(m)->out);
    const size_t np = m->n_params;
    float *xf = malloc(nx * sizeof *xf), *pf = malloc((np + 1) * sizeof *pf), *yf = malloc(ny * sizeof *yf);
    float *dyf = malloc(ny * sizeof *dyf), *gx = malloc(nx * sizeof *gx), *gp = malloc((np + 1) * sizeof *gp);
    double *x = malloc(nx * sizeof *x), *p = malloc((np + 1) * sizeof *p), *y = malloc(ny * sizeof *y);
    double *dy = malloc(ny * sizeof *dy);
    float *arena = malloc(net->act_floats * sizeof *arena);
    for (size_t i = 0; i < nx; i++)
        x[i] = xf[i] = (float)uniform();
    assert_int_equal(fcl_net_init_params(net, 7), FCL_SUCCESS);
    assert_int_equal(fcl_net_read(net, net->params, 0, np, pf), FCL_SUCCESS);
    for (size_t i = 0; i < np; i++) { /* keep the initialised layout, add noise so nothing is exactly 0/1 */
        pf[i] += (float)(0.1 * uniform());
        p[i] = pf[i];
    }
    assert_int_equal(fcl_net_write(net, net->params, 0, np, pf), FCL_SUCCESS);

    /* Forward, with guard values everywhere in the arena. */
    for (size_t i = 0; i < net->act_floats; i++)
        arena[i] = GUARD;
    assert_int_equal(fcl_net_write(net, net->acts, 0, net->act_floats, arena), FCL_SUCCESS);
    assert_int_equal(fcl_net_forward(net, xf, yf), FCL_SUCCESS);
    assert_int_equal(fcl_model_reference_forward(m, n, x, p, y), FCL_SUCCESS);
    double scale = 1;
    for (size_t i = 0; i < ny; i++)
        scale = fmax(scale, fabs(y[i]));
    for (size_t i = 0; i < ny; i++) {
        if (!isfinite(yf[i]))
            fail_msg("%s: output %zu is %g", m->name, i, yf[i]);
        if (fabs(yf[i] - y[i]) > 1e-4 * scale)
            fail_msg("%s: output %zu: device %.7g, reference %.7g", m->name, i, yf[i], y[i]);
    }
    /* Nothing was written outside the tensors. */
    assert_int_equal(fcl_net_read(net, net->acts, 0, net->act_floats, arena), FCL_SUCCESS);
    for (int t = 0; t < net->n_tensors; t++) {
        size_t end = net->tensors[t].offset + (size_t)n * fcl_shape_size(net->tensors[t].shape);
        size_t next = net->act_floats;
        for (int u = 0; u < net->n_tensors; u++)
            if (net->tensors[u].offset >= end && net->tensors[u].offset < next)
                next = net->tensors[u].offset;
        for (size_t i = end; i < next; i++)
            if (arena[i] != GUARD)
                fail_msg("%s: write past tensor %d at arena float %zu", m->name, t, i);
    }

    /* Backward against finite differences, for the input and every parameter. */
    for (size_t i = 0; i < ny; i++)
        dy[i] = dyf[i] = (float)uniform();
    assert_int_equal(fcl_net_fill(net, net->grads, 0, np ? np : 1, 0.0f), FCL_SUCCESS);
    assert_int_equal(fcl_net_backward(net, dyf), FCL_SUCCESS);
    fcl_view in = fcl_net_output_view(net, 0);
    assert_int_equal(fcl_net_read(net, net->dacts, (size_t)in.off, nx, gx), FCL_SUCCESS);
    if (np)
        assert_int_equal(fcl_net_read(net, net->grads, 0, np, gp), FCL_SUCCESS);
    check_gradient("input", m, n, x, p, dy, y, ny, x, gx, nx);
    /* Running statistics are not trained: their gradients stay zero. */
    for (int i = 0; i < m->n_nodes; i++) {
        fcl_param_desc d[FCL_MAX_PARAMS];
        int k = fcl_ops[m->nodes[i].op]->params(&m->nodes[i], d);
        size_t at = m->nodes[i].param_off;
        for (int j = 0; j < k; j++, at += d[j - 1].count)
            if (d[j].trainable)
                check_gradient(d[j].suffix, m, n, x, p, dy, y, ny, p + at, gp + at, d[j].count);
    }
    free(xf), free(pf), free(yf), free(dyf), free(gx), free(gp), free(x), free(p), free(y), free(dy), free(arena);
    fcl_net_destroy(net);
    fcl_model_destroy(m);
}

#define CASE(fn, n, text)                 \
    static void fn(void **state)          \
    {                                     \
        (void)state;                      \
        run_case("model " #fn "\n" text, n); \
    }

CASE(conv_3x3_same, 2, "input h=7 w=6 c=3\nconv a k=3 c=5 relu=0\n")
CASE(conv_3x3_stride2_relu, 3, "input h=9 w=8 c=2\nconv a k=3 s=2 c=4\n")
CASE(conv_5x5_stride2, 2, "input h=11 w=9 c=2\nconv a k=5 s=2 c=3 relu=0\n")
CASE(conv_1x1, 2, "input h=5 w=7 c=6\nconv a k=1 c=3 relu=0\n")
/* Larger than one 8 x 32 GEMM tile in both directions: the kernels' full-tile paths. */
CASE(conv_3x3_whole_tiles, 2, "input h=9 w=8 c=3\nconv a k=3 c=17\n")
CASE(conv_1x1_whole_tiles, 2, "input h=6 w=7 c=5\nconv a k=1 c=9 relu=0\n")
CASE(conv_7x7_stride2_pad3, 1, "input h=13 w=11 c=3\nconv a k=7 s=2 c=4 relu=0\n")
CASE(conv_rect_no_pad, 2, "input h=6 w=8 c=2\nconv a kh=3 kw=2 p=0 c=3 relu=0\n")
/* A stride larger than the kernel: input pixels no window reads get no gradient. */
CASE(conv_1x1_stride2, 3, "input h=7 w=6 c=3\nconv a k=1 s=2 c=4 relu=0\n")
/* Wide rows: many positions whose windows lie inside the image, few at its edges. */
CASE(conv_3x3_wide_rows, 2, "input h=5 w=30 c=2\nconv a k=3 c=4\n")
CASE(conv_5x5_wide_rows, 1, "input h=6 w=33 c=2\nconv a k=5 c=3 relu=0\n")
CASE(maxpool_3x3_stride2, 2, "input h=9 w=7 c=3\nmaxpool a k=3 s=2\n")
CASE(maxpool_global, 2, "input h=5 w=6 c=3\nmaxpool a global=1\n")
CASE(l2pool_3x3, 2, "input h=6 w=7 c=3\nl2pool a k=3\n")
CASE(avgpool_3x3_stride2, 2, "input h=7 w=9 c=2\navgpool a k=3 s=2\n")
CASE(avgpool_global, 3, "input h=5 w=5 c=4\navgpool a global=1\n")
/* Rows wide enough for cl/pool.cl's four-at-a-time path, strides 1 and 2, with edges;
 * 14 wide at stride 2 (six inside outputs: one run of four and a scalar tail) as
 * fmnist-bn's pool2. */
CASE(maxpool_wide_rows, 2, "input h=5 w=21 c=2\nmaxpool a k=3 s=1\n")
CASE(maxpool_wide_stride2, 2, "input h=6 w=40 c=2\nmaxpool a k=3 s=2\n")
CASE(maxpool_14_stride2, 2, "input h=5 w=14 c=3\nmaxpool a k=3 s=2\n")
CASE(l2pool_wide_rows, 2, "input h=4 w=26 c=2\nl2pool a k=3\n")
CASE(avgpool_wide_stride2, 2, "input h=5 w=37 c=2\navgpool a k=3 s=2\n")
CASE(avgpool_wide_rows, 2, "input h=4 w=27 c=2\navgpool a k=3 s=1\n")
/* ceil=1 (MTCNN's pools): the last windows hang over the bottom and right edges. */
/* Softmax over channels: at every position of a map, and over flat units. */
CASE(softmax_map, 2, "input h=4 w=5 c=3\nsoftmax s\n")
CASE(softmax_units, 3, "input h=6 w=6 c=2\nfc f c=4\nsoftmax s\n")
CASE(maxpool_ceil, 2, "input h=9 w=12 c=3\nmaxpool a k=3 s=2 ceil=1\n")
CASE(maxpool_ceil_wide, 2, "input h=5 w=24 c=2\nmaxpool a k=2 s=2 ceil=1\n")
CASE(l2pool_ceil, 2, "input h=8 w=7 c=2\nl2pool a k=3 s=2 ceil=1\n")
CASE(avgpool_ceil, 2, "input h=7 w=10 c=2\navgpool a k=3 s=2 p=1 ceil=1\n")
CASE(lrn_across_channels, 2, "input h=3 w=4 c=7\nlrn a size=5 alpha=0.5 beta=0.75 bias=2\n")
/* beta 0.75 has a square-root path in cl/lrn.cl; any other takes the general power. */
CASE(lrn_other_beta, 2, "input h=2 w=3 c=9\nlrn a size=3 alpha=0.8 beta=0.6 bias=1.5\n")
CASE(fc_plain, 3, "input h=2 w=3 c=4\nfc a c=9\n")
CASE(fc_relu, 3, "input h=1 w=1 c=13\nfc a c=7 relu=1\n")
CASE(fc_whole_tiles, 9, "input h=1 w=1 c=6\nfc a c=35 relu=0\n")
CASE(fc_maxout, 2, "input h=1 w=1 c=10\nfc a c=12\nmaxout b g=2\n")
/* Inception-ResNet-v1's head: a bias-free fc, then batch norm over 1x1 maps (BatchNorm1d);
 * and a bias-free fc before one with a bias (whose weights a stray bias would read). */
CASE(fc_no_bias_batchnorm, 3, "input h=2 w=2 c=3\nfc a c=6 bias=0\nbatchnorm b eps=0.001\nl2norm e\n")
CASE(fc_no_bias, 3, "input h=2 w=2 c=3\nfc a c=6 bias=0 relu=1\nfc b c=4\n")
/* Dropout at rate 0 keeps everything: the views, and the gradient added into a layer's
 * (dropout_masks checks the masks themselves). */
CASE(dropout_rate0, 2, "input h=2 w=3 c=4\ndropout a rate=0\n")
CASE(fc_dropout_fc, 3, "input h=1 w=1 c=7\nfc a c=9 relu=1\ndropout b rate=0\nfc c c=4\n")
CASE(l2norm_embedding, 3, "input h=1 w=1 c=11\nfc a c=8\nl2norm b\n")
CASE(batchnorm_train, 3, "input h=3 w=4 c=5\nbatchnorm a\n")
CASE(batchnorm_relu, 2, "input h=4 w=3 c=3\nconv a k=3 c=4 relu=0\nbatchnorm b relu=1\n")
/* Planes of 35: cl/batchnorm.cl's eight-at-a-time loops with a tail, the ReLU masked
 * inside the backward kernel. */
CASE(batchnorm_relu_wide, 2, "input h=5 w=7 c=2\nconv a k=3 c=3 relu=0\nbatchnorm b relu=1\n")
CASE(inception_all_branches, 2,
     "input h=6 w=5 c=4\ninception m 1x1=3 3x3r=2 3x3=3 5x5r=2 5x5=2 pool=max proj=2\n")
CASE(inception_strided_l2, 2, "input h=7 w=7 c=3\ninception m 3x3r=2 3x3=3 5x5r=2 5x5=2 pool=l2 s=2\n")
CASE(small_facenet, 2,
     "input h=12 w=12 c=1\nconv c1 k=3 c=4\nmaxpool p1 k=3 s=2\nlrn n1\n"
     "inception i1 1x1=2 3x3r=2 3x3=3 5x5r=1 5x5=2 pool=l2 proj=2\n"
     "inception i2 3x3r=2 3x3=2 5x5r=1 5x5=1 pool=max s=2\n"
     "avgpool gap global=1\nfc emb c=6\nl2norm l2\n")

/* The DAG ops: non-square kernels with per-axis strides and padding, convolutions
 * without bias, grouped and depthwise ones, PReLU, the residual add (scaled, ReLU'd,
 * of three inputs, reading the model input) and explicit concats, including inputs
 * the planner must copy: the model input, another concat, one output twice or in two
 * concats. A layer read by several others gathers their gradients. */
CASE(conv_1x7_pad_0x3, 2, "input h=5 w=9 c=3\nconv a k=1x7 p=0x3 c=4 relu=0\n")
CASE(conv_7x1_pad_3x0, 2, "input h=9 w=5 c=3\nconv a k=7x1 p=3x0 c=4\n")
CASE(conv_3x3_stride_1x2_valid, 2, "input h=7 w=11 c=2\nconv a k=3 s=1x2 p=valid c=3 relu=0\n")
CASE(conv_5x3_stride_2x1, 2, "input h=9 w=7 c=2\nconv a k=5x3 s=2x1 c=3 relu=0\n")
CASE(conv_no_bias, 2, "input h=6 w=5 c=3\nconv a k=3 c=4 bias=0 relu=0\nconv b k=1 c=2 bias=0\n")
CASE(conv_grouped, 2, "input h=6 w=7 c=4\nconv a k=3 c=6 groups=2 relu=0\n")
CASE(conv_grouped_pointwise, 2, "input h=5 w=4 c=6\nconv a k=1 c=9 groups=3 relu=0\n")
CASE(conv_depthwise_separable, 2,
     "input h=7 w=6 c=4\nconv dw k=3 s=2 c=4 groups=4 bias=0 relu=0\nbatchnorm bn relu=1\nconv pw k=1 c=5\n")
/* Depthwise ones computed directly (src/layers/depthwise.c): channel multipliers of 1
 * and 3, per-axis strides and padding, a kernel taller than the image with padding
 * (taps beyond both edges), strides larger than the kernel (pixels no window reads),
 * bias and ReLU. */
CASE(depthwise_multiplier3_stride_2x1, 2, "input h=7 w=6 c=2\nconv a k=3 s=2x1 c=6 groups=2 relu=0\n")
CASE(depthwise_5x3_padded_tall, 3, "input h=3 w=7 c=3\nconv a k=5x3 p=2x1 c=3 groups=3\n")
CASE(depthwise_stride_beyond_kernel, 2,
     "input h=8 w=7 c=2\nconv a k=2 s=3 p=1 c=4 groups=2 relu=0\nconv b k=1 s=2 c=4 groups=4 bias=0\n")
CASE(prelu_after_conv, 2, "input h=5 w=6 c=2\nconv a k=3 c=3 relu=0\nprelu act\n")
/* The margin losses' head: cosines of an unnormalised input (fc) and of an l2norm's
 * output, to class vectors of any length; a 3-row batch. */
CASE(cosine_head, 3, "input h=1 w=1 c=7\nfc a c=5\ncosine cls c=4\n")
CASE(cosine_after_l2norm, 2, "input h=2 w=3 c=2\nconv a k=3 c=3 relu=0\nl2norm e\ncosine cls c=6\n")
CASE(add_scaled_relu, 2,
     "input h=4 w=5 c=3\nconv a k=3 c=3 relu=0\nconv b k=1 c=3 relu=0 in=input\nadd s in=a,b scale=0.17 relu=1\n")
CASE(add_three_with_input, 2,
     "input h=3 w=4 c=2\nconv a k=3 c=2 relu=0\nconv b k=3 c=2 relu=0\nadd s in=input,a,b scale=-0.5\n")
CASE(residual_block, 2,
     "input h=6 w=6 c=4\nconv stem k=3 c=4\nconv b0 k=1 c=2 in=stem\nconv b1a k=1 c=2 in=stem\n"
     "conv b1b k=1x3 p=0x1 c=2\nconv b1c k=3x1 p=1x0 c=2\nconcat mix in=b0,b1c\nconv up k=1 c=4 relu=0\n"
     "add out in=stem,up scale=0.1 relu=1\navgpool gap global=1\nfc emb c=5\nl2norm l2\n")
CASE(concat_copies, 2,
     "input h=4 w=4 c=2\nconv a k=3 c=3 relu=0\nconcat x in=input,a\nconcat y in=a,x,a\nconv b k=1 c=2 in=a\n"
     "concat z in=y,b\n")
CASE(fan_out_gradients, 2,
     "input h=5 w=5 c=2\nconv a k=3 c=3 relu=0\nconv b k=1 c=2 in=a\nconv c k=3 c=2 in=a\nmaxpool d k=3 in=a\n"
     "concat e in=b,c,d\n")
CASE(inception_reading_a_named_layer, 2,
     "input h=6 w=6 c=3\nconv a k=3 c=4\nconv b k=1 c=2\ninception m in=a 1x1=2 3x3r=2 3x3=2 pool=max proj=1\n"
     "concat out in=m,b\n")

/* Every model (input line and layers) through run_case at batch n with FACECL_CONV=way,
 * under each GEMM configuration of tiles (NULL: the device's default). */
static void run_conv_way(const char *way, const char *const *models, size_t n_models, const char *const *tiles,
                         size_t n_tiles, int n)
{
    setenv("FACECL_CONV", way, 1);
    for (size_t t = 0; t < n_tiles; t++) {
        if (tiles[t])
            setenv("FACECL_GEMM_CONFIG", tiles[t], 1);
        for (size_t i = 0; i < n_models; i++) {
            char text[320];
            snprintf(text, sizeof text, "model %s%zu\n%s", way, i, models[i]);
            run_case(text, n);
        }
    }
    unsetenv("FACECL_GEMM_CONFIG");
    unsetenv("FACECL_CONV");
}

/* Convolutions forward as implicit GEMMs (FACECL_CONV=implicit; backward is the same
 * either way): every shape above, rows wider than a tile (the one-vector-per-k path of a
 * stride-1 window inside the image) and narrow tiles (4 positions) that take that path
 * on small images too, with the device's default tile, that one, and the tiled GPU
 * kernel's convolution (blocks that straddle output rows, slices that straddle
 * channels). */
static void implicit_gemm_convolutions(void **state)
{
    (void)state;
    static const char *const models[] = {
        "input h=7 w=6 c=3\nconv a k=3 c=5 relu=0\n",    "input h=9 w=8 c=2\nconv a k=3 s=2 c=4\n",
        "input h=11 w=9 c=2\nconv a k=5 s=2 c=3 relu=0\n", "input h=9 w=8 c=3\nconv a k=3 c=17\n",
        "input h=13 w=11 c=3\nconv a k=7 s=2 c=4 relu=0\n", "input h=6 w=8 c=2\nconv a kh=3 kw=2 p=0 c=3 relu=0\n",
        "input h=5 w=40 c=2\nconv a k=3 c=5\n",          "input h=4 w=37 c=3\nconv a k=3 p=0 c=7 relu=0\n",
        /* bias-free, as Inception-ResNet-v1's before their batch norms */
        "input h=9 w=8 c=3\nconv a k=3 s=2 p=0 c=5 bias=0 relu=0\nconv b k=3 c=4 bias=0\n",
    };
    static const char *const tiles[] = {NULL, "tm=3,vw=4,wn=1,ku=1,lx=0,ly=0,kc=0,sk=0,pb=0",
                                        "tiled:tm=2,tn=4,lx=4,ly=4,kw=8,vw=2,pad=1,db=1,kc=0,sk=0",
                                        "tiled:tm=3,tn=1,lx=8,ly=2,kw=4,vw=1,pad=0,db=0,kc=0,sk=0",
                                        "tiled:tm=4,tn=4,lx=8,ly=8,kw=16,vw=4,pad=1,db=1,kc=0,sk=0"};
    run_conv_way("implicit", models, sizeof models / sizeof models[0], tiles, sizeof tiles / sizeof tiles[0], 2);
}

/* 3x3 stride-1 convolutions forward by Winograd F(2x2, 3x3) (FACECL_CONV=winograd),
 * against the references and finite differences: odd output sizes (tiles cut by the
 * edge), valid, same and per-axis padding, with and without bias and ReLU, layers
 * Winograd cannot take in the same net (stride 2, 5x5, depthwise: their own ways, the
 * workspace shared), with the device's default GEMM, a register tile and the tiled
 * GPU kernel running the 16 products. */
static void winograd_convolutions(void **state)
{
    (void)state;
    static const char *const models[] = {
        "input h=7 w=6 c=3\nconv a k=3 c=5 relu=0\n",
        "input h=9 w=8 c=2\nconv a k=3 p=0 c=4\n",
        "input h=5 w=11 c=4\nconv a k=3 p=1x0 c=3 bias=0 relu=0\n",
        "input h=6 w=6 c=1\nconv a k=3 c=17 relu=0\nconv b k=3 p=2 c=2 bias=0\n",
        "input h=10 w=9 c=3\nconv a k=3 s=2 c=4\nconv b k=3 c=8 relu=0\nconv c k=5 c=3\n"
        "conv d k=3 c=3 groups=3 relu=0\nconv e k=3 c=4\n",
    };
    static const char *const tiles[] = {NULL, "tm=3,vw=4,wn=1,ku=1,lx=0,ly=0,kc=0,sk=0,pb=0",
                                        "tiled:tm=2,tn=4,lx=4,ly=4,kw=8,vw=2,pad=1,db=1,kc=0,sk=0"};
    run_conv_way("winograd", models, sizeof models / sizeof models[0], tiles, sizeof tiles / sizeof tiles[0], 3);
}

/* FACECL_CONV: each way by its name; anything else is im2col with one warning that
 * names the value and the choices. */
static char conv_logged[512];
static void capture_conv_warning(fcl_log_level level, const char *message, void *user)
{
    (void)level, (void)user;
    snprintf(conv_logged, sizeof conv_logged, "%s", message);
}

static void conv_way_from_the_environment(void **state)
{
    (void)state;
    for (int w = 0; w < FCL_CONV_WAYS; w++) {
        setenv("FACECL_CONV", fcl_conv_way_names[w], 1);
        assert_int_equal(fcl_gemm_conv_way_chosen(rt), w);
    }
    fcl_set_log_callback(capture_conv_warning, NULL);
    setenv("FACECL_CONV", "winogard", 1);
    assert_int_equal(fcl_gemm_conv_way_chosen(rt), FCL_CONV_IM2COL);
    fcl_set_log_callback(NULL, NULL);
    unsetenv("FACECL_CONV");
    assert_non_null(strstr(conv_logged, "FACECL_CONV=winogard"));
    assert_non_null(strstr(conv_logged, "im2col, implicit or winograd"));
    assert_int_equal(fcl_gemm_conv_way_chosen(rt), FCL_CONV_IM2COL);
}

/* Every product of a forward and backward pass (convolutions, their weight gradients'
 * chunked reductions, fully connected layers, transposed B) through the tiled GPU
 * kernel, forced by FACECL_GEMM_CONFIG, against the references and finite differences:
 * on a CPU the tuner never picks it, so this is where PoCL checks it. */
static void tiled_gemm_layers(void **state)
{
    static void (*const cases[])(void **) = {conv_3x3_same, conv_5x5_stride2, conv_1x1_stride2, conv_3x3_wide_rows,
                                             fc_relu, fc_whole_tiles, fc_no_bias_batchnorm, conv_grouped,
                                             conv_depthwise_separable, residual_block, inception_all_branches,
                                             small_facenet};
    static const char *const tiles[] = {"tiled:tm=4,tn=4,lx=8,ly=8,kw=16,vw=4,pad=1,db=1,kc=0,sk=1",
                                        "tiled:tm=2,tn=3,lx=4,ly=8,kw=8,vw=1,pad=0,db=0,kc=16,sk=0"};
    for (size_t t = 0; t < sizeof tiles / sizeof tiles[0]; t++) {
        setenv("FACECL_GEMM_CONFIG", tiles[t], 1);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            cases[i](state);
    }
    unsetenv("FACECL_GEMM_CONFIG");
}

/* A NaN in one image reaches that image's embedding through every layer type (ReLU
 * and max written so that they do not drop it) and leaves the other images alone. */
static void nan_propagates_to_its_own_embedding(void **state)
{
    (void)state;
    fcl_model *m;
    assert_int_equal(fcl_model_parse("input h=6 w=6 c=2\nconv c k=3 c=4\nmaxpool p k=3 s=2\nlrn n\n"
                                     "inception i 1x1=2 3x3r=2 3x3=2 pool=l2 proj=2\nfc f c=8 relu=1\n"
                                     "fc g c=8\nmaxout mo g=2\nl2norm e\n",
                                     "nan", &m),
                     FCL_SUCCESS);
    fcl_net *net;
    assert_int_equal(fcl_net_create(rt, m, 3, false, &net), FCL_SUCCESS);
    assert_int_equal(fcl_net_init_params(net, 5), FCL_SUCCESS);
    float x[3 * 72], y[3 * 4];
    for (int i = 0; i < 3 * 72; i++)
        x[i] = (float)uniform();
    x[72 + 40] = NAN; /* image 1 */
    assert_int_equal(fcl_net_forward(net, x, y), FCL_SUCCESS);
    for (int j = 0; j < 4; j++) {
        assert_true(isfinite(y[j]));
        assert_true(isnan(y[4 + j]));
        assert_true(isfinite(y[8 + j]));
    }
    fcl_net_destroy(net);
    fcl_model_destroy(m);
}

/* Ties: with equal values in a window, max pooling and maxout send the whole gradient
 * to the first maximum (finite differences cannot check this: the max has a kink). */
static void ties_send_the_gradient_to_the_first_maximum(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int n_in;
        int first[2]; /* input indices that must get gradient 1 */
    } cases[] = {
        {"input h=3 w=3 c=1\nmaxpool p global=1\n", 9, {0, -1}},
        {"input h=1 w=1 c=4\nmaxout m g=2\n", 4, {0, 2}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        fcl_model *m;
        assert_int_equal(fcl_model_parse(cases[c].text, "ties", &m), FCL_SUCCESS);
        fcl_net *net;
        assert_int_equal(fcl_net_create(rt, m, 1, true, &net), FCL_SUCCESS);
        float x[9], y[2], dy[2] = {1, 1}, dx[9];
        for (int i = 0; i < 9; i++)
            x[i] = 0.25f;
        assert_int_equal(fcl_net_forward(net, x, y), FCL_SUCCESS);
        assert_int_equal(fcl_net_backward(net, dy), FCL_SUCCESS);
        assert_int_equal(fcl_net_read(net, net->dacts, (size_t)fcl_net_output_view(net, 0).off, (size_t)cases[c].n_in,
                                      dx),
                         FCL_SUCCESS);
        for (int i = 0; i < cases[c].n_in; i++) {
            bool first = i == cases[c].first[0] || i == cases[c].first[1];
            if (dx[i] != (first ? 1.0f : 0.0f))
                fail_msg("%s: input %d has gradient %g", m->name, i, dx[i]);
        }
        fcl_net_destroy(net);
        fcl_model_destroy(m);
    }
}

/* The same on rows wide enough for cl/pool.cl's four-at-a-time backward: with every
 * input equal, each window's first maximum is its leftmost input in the image, so input
 * ix receives one gradient per output whose clipped window starts there. */
static void ties_on_wide_rows(void **state)
{
    (void)state;
    static const char *const texts[] = {"input h=1 w=21 c=1\nmaxpool p k=3 s=1\n",
                                        "input h=1 w=40 c=1\nmaxpool p k=3 s=2\n"};
    for (size_t c = 0; c < sizeof texts / sizeof texts[0]; c++) {
        fcl_model *m;
        assert_int_equal(fcl_model_parse(texts[c], "wide-ties", &m), FCL_SUCCESS);
        const fcl_node *p = &m->nodes[1];
        fcl_net *net;
        assert_int_equal(fcl_net_create(rt, m, 1, true, &net), FCL_SUCCESS);
        float x[40], y[40], dy[40], dx[40];
        const int W = p->in.w, OW = p->out.w;
        for (int i = 0; i < W; i++)
            x[i] = 0.25f;
        for (int i = 0; i < OW; i++)
            dy[i] = 1.0f;
        assert_int_equal(fcl_net_forward(net, x, y), FCL_SUCCESS);
        assert_int_equal(fcl_net_backward(net, dy), FCL_SUCCESS);
        assert_int_equal(fcl_net_read(net, net->dacts, (size_t)fcl_net_output_view(net, 0).off, (size_t)W, dx),
                         FCL_SUCCESS);
        for (int i = 0; i < W; i++) {
            int want = 0;
            for (int ox = 0; ox < OW; ox++)
                want += (ox * p->sw - p->pw > 0 ? ox * p->sw - p->pw : 0) == i;
            if (dx[i] != (float)want)
                fail_msg("%s: input %d has gradient %g, want %d", texts[c], i, dx[i], want);
        }
        fcl_net_destroy(net);
        fcl_model_destroy(m);
    }
}

/* Dropout in training: each output is 0 or its input / (1 - rate); about rate of them
 * are 0; backward passes the gradient through the same mask; the same key draws the
 * same mask and another key another; a network created for use is the identity. */
static void dropout_masks(void **state)
{
    (void)state;
    enum { N = 4, M = 120, COUNT = N * M };
    const double rate = 0.3;
    fcl_model *m;
    assert_int_equal(fcl_model_parse("input h=3 w=5 c=8\ndropout d rate=0.3\n", "dropout", &m), FCL_SUCCESS);
    fcl_net *net, *use;
    assert_int_equal(fcl_net_create(rt, m, N, true, &net), FCL_SUCCESS);
    assert_int_equal(fcl_net_create(rt, m, N, false, &use), FCL_SUCCESS);
    float x[COUNT], y[COUNT], again[COUNT], other[COUNT], dy[COUNT], dx[COUNT];
    for (int i = 0; i < COUNT; i++) {
        x[i] = (float)(1.0 + 0.5 * uniform()); /* never 0, so a 0 output is a drop */
        dy[i] = (float)uniform();
    }
    assert_int_equal(fcl_net_forward(use, x, y), FCL_SUCCESS);
    assert_memory_equal(x, y, sizeof x);
    assert_int_equal(fcl_net_forward(net, x, y), FCL_SUCCESS);
    assert_int_equal(fcl_net_backward(net, dy), FCL_SUCCESS);
    assert_int_equal(fcl_net_read(net, net->dacts, (size_t)fcl_net_output_view(net, 0).off, COUNT, dx), FCL_SUCCESS);
    int dropped = 0;
    for (int i = 0; i < COUNT; i++) {
        bool kept = y[i] != 0.0f;
        dropped += !kept;
        double want = kept ? x[i] / (1 - rate) : 0, want_dx = kept ? dy[i] / (1 - rate) : 0;
        if (fabs(y[i] - want) > 1e-6 * fabs(want) || fabs(dx[i] - want_dx) > 1e-6 * fabs(want_dx) + 1e-12)
            fail_msg("element %d: y %.7g (x %.7g), dx %.7g (dy %.7g)", i, y[i], x[i], dx[i], dy[i]);
    }
    /* 144 expected; one binomial standard deviation is 10. */
    if (abs(dropped - (int)(rate * COUNT)) > 50)
        fail_msg("%d of %d dropped at rate %.1f", dropped, COUNT, rate);
    assert_int_equal(fcl_net_forward(net, x, again), FCL_SUCCESS);
    assert_memory_equal(y, again, sizeof y);
    net->dropout_key = 1;
    assert_int_equal(fcl_net_forward(net, x, other), FCL_SUCCESS);
    int differ = 0;
    for (int i = 0; i < COUNT; i++)
        differ += (other[i] == 0.0f) != (y[i] == 0.0f);
    if (differ < 50) /* two independent masks differ in 2 x 0.3 x 0.7 = 42% of places */
        fail_msg("another key changed %d of %d drops", differ, COUNT);
    fcl_net_destroy(net);
    fcl_net_destroy(use);
    fcl_model_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(conv_3x3_same),
        cmocka_unit_test(conv_3x3_stride2_relu),
        cmocka_unit_test(conv_5x5_stride2),
        cmocka_unit_test(conv_1x1),
        cmocka_unit_test(conv_3x3_whole_tiles),
        cmocka_unit_test(conv_1x1_whole_tiles),
        cmocka_unit_test(conv_7x7_stride2_pad3),
        cmocka_unit_test(conv_rect_no_pad),
        cmocka_unit_test(conv_1x1_stride2),
        cmocka_unit_test(conv_3x3_wide_rows),
        cmocka_unit_test(conv_5x5_wide_rows),
        cmocka_unit_test(implicit_gemm_convolutions),
        cmocka_unit_test(tiled_gemm_layers),
        cmocka_unit_test(winograd_convolutions),
        cmocka_unit_test(conv_way_from_the_environment),
        cmocka_unit_test(conv_1x7_pad_0x3),
        cmocka_unit_test(conv_7x1_pad_3x0),
        cmocka_unit_test(conv_3x3_stride_1x2_valid),
        cmocka_unit_test(conv_5x3_stride_2x1),
        cmocka_unit_test(conv_no_bias),
        cmocka_unit_test(conv_grouped),
        cmocka_unit_test(conv_grouped_pointwise),
        cmocka_unit_test(conv_depthwise_separable),
        cmocka_unit_test(depthwise_multiplier3_stride_2x1),
        cmocka_unit_test(depthwise_5x3_padded_tall),
        cmocka_unit_test(depthwise_stride_beyond_kernel),
        cmocka_unit_test(prelu_after_conv),
        cmocka_unit_test(cosine_head),
        cmocka_unit_test(cosine_after_l2norm),
        cmocka_unit_test(add_scaled_relu),
        cmocka_unit_test(add_three_with_input),
        cmocka_unit_test(residual_block),
        cmocka_unit_test(concat_copies),
        cmocka_unit_test(fan_out_gradients),
        cmocka_unit_test(inception_reading_a_named_layer),
        cmocka_unit_test(maxpool_3x3_stride2),
        cmocka_unit_test(maxpool_global),
        cmocka_unit_test(l2pool_3x3),
        cmocka_unit_test(avgpool_3x3_stride2),
        cmocka_unit_test(avgpool_global),
        cmocka_unit_test(maxpool_wide_rows),
        cmocka_unit_test(maxpool_wide_stride2),
        cmocka_unit_test(maxpool_14_stride2),
        cmocka_unit_test(l2pool_wide_rows),
        cmocka_unit_test(avgpool_wide_stride2),
        cmocka_unit_test(avgpool_wide_rows),
        cmocka_unit_test(softmax_map),
        cmocka_unit_test(softmax_units),
        cmocka_unit_test(maxpool_ceil),
        cmocka_unit_test(maxpool_ceil_wide),
        cmocka_unit_test(l2pool_ceil),
        cmocka_unit_test(avgpool_ceil),
        cmocka_unit_test(lrn_across_channels),
        cmocka_unit_test(lrn_other_beta),
        cmocka_unit_test(dropout_rate0),
        cmocka_unit_test(fc_dropout_fc),
        cmocka_unit_test(dropout_masks),
        cmocka_unit_test(fc_plain),
        cmocka_unit_test(fc_relu),
        cmocka_unit_test(fc_whole_tiles),
        cmocka_unit_test(fc_maxout),
        cmocka_unit_test(fc_no_bias_batchnorm),
        cmocka_unit_test(fc_no_bias),
        cmocka_unit_test(l2norm_embedding),
        cmocka_unit_test(batchnorm_train),
        cmocka_unit_test(batchnorm_relu),
        cmocka_unit_test(batchnorm_relu_wide),
        cmocka_unit_test(inception_all_branches),
        cmocka_unit_test(inception_strided_l2),
        cmocka_unit_test(small_facenet),
        cmocka_unit_test(nan_propagates_to_its_own_embedding),
        cmocka_unit_test(ties_send_the_gradient_to_the_first_maximum),
        cmocka_unit_test(ties_on_wide_rows),
    };
    return cmocka_run_group_tests(tests, open_test_runtime, close_test_runtime);
}
