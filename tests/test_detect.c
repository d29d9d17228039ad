/* What MTCNN detection is built from, beside the facenet-pytorch oracle
 * (tests/mtcnn_oracle.py): the device's area resampling against a plain C reference
 * (down, up and odd boxes; run under Oclgrind too), P-Net planned for other input sizes
 * (and models whose parameters depend on the size refused), and the face crop's
 * resize on images whose answer is known, and the five-point alignment undoing a known
 * rotation and scale. */
#include "graph/graph.h"
#include "runtime/launch.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "support.h"

static const fcl_kernel_def k_resample = {"resample.cl", "resample_area"};

/* PyTorch's adaptive average pooling of one box, written out. */
static double reference(const float *img, int width, int height, const int *box, int c, int y, int x, int oh, int ow)
{
    (void)height;
    const int ys = (int)floor((double)y * box[3] / oh), ye = (int)ceil((double)(y + 1) * box[3] / oh);
    const int xs = (int)floor((double)x * box[2] / ow), xe = (int)ceil((double)(x + 1) * box[2] / ow);
    double sum = 0;
    for (int iy = ys; iy < ye; iy++)
        for (int ix = xs; ix < xe; ix++)
            sum += img[((size_t)c * height + box[1] + iy) * width + box[0] + ix];
    return sum / ((ye - ys) * (xe - xs));
}

static void resampling_matches_the_reference(void **state)
{
    (void)state;
    enum { C = 3, H = 37, W = 53, N = 4, OH = 24, OW = 24, STRIDE = C * OH * OW + 5, OFF = 7 };
    static float img[C * H * W];
    uint64_t rng = 3;
    for (int i = 0; i < C * H * W; i++) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        img[i] = (float)(rng >> 56); /* 0..255, as pixels */
    }
    /* the whole image (down), a small box (up), a thin one and one at the far corner */
    const int boxes[N * 4] = {0, 0, W, H, 5, 7, 9, 11, 0, 3, 50, 2, W - 30, H - 29, 30, 29};
    const float mean = 127.5f, inv_std = 1.0f / 128;
    cl_int err;
    cl_mem dimg = clCreateBuffer(rt->context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof img, img, &err);
    assert_int_equal(err, CL_SUCCESS);
    cl_mem dbox = clCreateBuffer(rt->context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof boxes, (void *)(uintptr_t)boxes, &err);
    assert_int_equal(err, CL_SUCCESS);
    const size_t out_floats = OFF + (size_t)N * STRIDE;
    float *out = malloc(out_floats * sizeof *out);
    for (size_t i = 0; i < out_floats; i++)
        out[i] = -1e30f;
    cl_mem dout = clCreateBuffer(rt->context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, out_floats * sizeof *out, out, &err);
    assert_int_equal(err, CL_SUCCESS);
    fcl_launcher l;
    fcl_launcher_init(&l, rt);
    assert_int_equal(FCL_LAUNCH_ON(&l, &k_resample, (size_t)N * C * OH * OW, FCL_M(dimg), FCL_I(C), FCL_I(H), FCL_I(W),
                                   FCL_M(dbox), FCL_I(N), FCL_I(OH), FCL_I(OW), FCL_F(mean), FCL_F(inv_std), FCL_M(dout),
                                   FCL_I(OFF), FCL_I(STRIDE)),
                     FCL_SUCCESS);
    assert_int_equal(clEnqueueReadBuffer(rt->queue, dout, CL_TRUE, 0, out_floats * sizeof *out, out, 0, NULL, NULL),
                     CL_SUCCESS);
    double worst = 0;
    for (int b = 0; b < N; b++)
        for (int c = 0; c < C; c++)
            for (int y = 0; y < OH; y++)
                for (int x = 0; x < OW; x++) {
                    const double want = (reference(img, W, H, &boxes[4 * b], c, y, x, OH, OW) - mean) * inv_std;
                    const double got = out[OFF + b * STRIDE + (c * OH + y) * OW + x];
                    worst = fmax(worst, fabs(got - want));
                }
    if (worst > 1e-5)
        fail_msg("resampled boxes differ from the reference by %g", worst);
    for (int b = 0; b < N; b++) /* nothing written between images or before the first */
        for (int i = C * OH * OW; i < STRIDE; i++)
            assert_true(out[OFF + b * STRIDE + i] == -1e30f);
    for (int i = 0; i < OFF; i++)
        assert_true(out[i] == -1e30f);
    fcl_launcher_release(&l);
    clReleaseMemObject(dimg), clReleaseMemObject(dbox), clReleaseMemObject(dout);
    free(out);
}

static void models_plan_for_other_input_sizes(void **state)
{
    (void)state;
    fcl_model *pnet = load_shipped_model("mtcnn-pnet"), *sized = NULL;
    assert_int_equal(fcl_model_for_input(pnet, 37, 50, &sized), FCL_SUCCESS);
    const fcl_shape out = fcl_model_output(sized)->out; /* conv 35x48, ceil pool 18x24, two convs 14x20 */
    assert_int_equal(out.c, 6);
    assert_int_equal(out.h, 14);
    assert_int_equal(out.w, 20);
    assert_int_equal(sized->n_params, pnet->n_params);
    /* it runs: the same weights give the 12x12 model's output at a 12x12 corner cell */
    fcl_net *net = NULL, *cell = NULL;
    assert_int_equal(fcl_net_create(rt, sized, 1, false, &net), FCL_SUCCESS);
    assert_int_equal(fcl_net_create(rt, pnet, 1, false, &cell), FCL_SUCCESS);
    assert_int_equal(fcl_net_init_params(net, 4), FCL_SUCCESS);
    assert_int_equal(fcl_net_init_params(cell, 4), FCL_SUCCESS);
    static float x[3 * 37 * 50], corner[3 * 12 * 12], y[6 * 14 * 20], y12[6];
    for (int i = 0; i < 3 * 37 * 50; i++)
        x[i] = (float)sin(i * 0.37);
    for (int c = 0; c < 3; c++)
        for (int r = 0; r < 12; r++)
            memcpy(&corner[(c * 12 + r) * 12], &x[(c * 37 + r) * 50], 12 * sizeof *x);
    assert_int_equal(fcl_net_forward(net, x, y), FCL_SUCCESS);
    assert_int_equal(fcl_net_forward(cell, corner, y12), FCL_SUCCESS);
    for (int k = 0; k < 6; k++)
        assert_true(fabsf(y[k * 14 * 20] - y12[k]) < 1e-5f);
    fcl_model_destroy(sized);
    fcl_net_destroy(net);
    fcl_net_destroy(cell);
    fcl_model *rnet = load_shipped_model("mtcnn-rnet");
    assert_int_equal(fcl_model_for_input(rnet, 30, 30, &sized), FCL_ERR_SHAPE); /* dense4 sees a bigger map */
    assert_null(sized);
    assert_int_equal(fcl_model_for_input(pnet, 9, 40, &sized), FCL_ERR_SHAPE); /* conv3 finds a 2x2 map */
    fcl_model *irv1 = load_shipped_model("inception-resnet-v1"); /* its global pool follows the input */
    assert_int_equal(fcl_model_for_input(irv1, 200, 200, &sized), FCL_SUCCESS);
    assert_int_equal(fcl_shape_size(fcl_model_output(sized)->out), 512);
    fcl_model_destroy(sized);
    fcl_model_destroy(irv1);
    fcl_model_destroy(rnet);
    fcl_model_destroy(pnet);
}

static void face_crops_resize_as_pillow(void **state)
{
    (void)state;
    enum { W = 90, H = 70 };
    static uint8_t px[W * H * 3], out[40 * 40 * 3];
    for (int i = 0; i < W * H * 3; i++)
        px[i] = (uint8_t)(i % 3 == 0 ? 200 : i % 3 == 1 ? 17 : 99);
    fcl_image im = {.pixels = px, .width = W, .height = H, .channels = 3};
    fcl_face f = {.box = {10.7f, 5.2f, 66.9f, 61.0f}};
    assert_int_equal(fcl_face_crop(&im, &f, 40, 0, out), FCL_SUCCESS);
    for (int i = 0; i < 40 * 40 * 3; i++) /* a flat colour stays exactly that colour */
        assert_int_equal(out[i], px[i % 3]);
    for (int y = 0; y < H; y++) /* a box of the crop's own size is a plain copy */
        for (int x = 0; x < W; x++)
            for (int c = 0; c < 3; c++)
                px[(y * W + x) * 3 + c] = (uint8_t)(x * 3 + y * 5 + c);
    f = (fcl_face){.box = {20, 10, 60, 50}};
    assert_int_equal(fcl_face_crop(&im, &f, 40, 0, out), FCL_SUCCESS);
    for (int y = 0; y < 40; y++)
        for (int x = 0; x < 40; x++)
            for (int c = 0; c < 3; c++)
                assert_int_equal(out[(y * 40 + x) * 3 + c], px[((y + 10) * W + x + 20) * 3 + c]);
    f = (fcl_face){.box = {200, 200, 260, 260}}; /* outside the image: nothing to crop */
    assert_int_equal(fcl_face_crop(&im, &f, 40, 0, out), FCL_ERR_INVALID_ARGUMENT);
    assert_int_equal(fcl_face_crop(&im, &f, 40, 40, out), FCL_ERR_INVALID_ARGUMENT); /* margin >= size */
}

/* A smooth pattern, so bilinear resampling of it is close to exact. */
static double pattern(double x, double y) { return 127.5 + 100 * sin(x * 0.05) * cos(y * 0.04); }

static void alignment_undoes_a_similarity(void **state)
{
    (void)state;
    enum { W = 400, H = 300, S = 112 };
    static uint8_t px[W * H], out[S * S];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            px[y * W + x] = (uint8_t)lround(pattern(x, y));
    static const double tmpl[5][2] = {
        {38.2946, 51.6963}, {73.5318, 51.5014}, {56.0252, 71.7366}, {41.5493, 92.3655}, {70.7299, 92.2041},
    };
    const fcl_image im = {.pixels = px, .width = W, .height = H, .channels = 1};
    /* the face is the template turned 20 degrees, 1.7 times larger, moved to (150, 20): inside the image */
    const double a = 20 * 3.14159265358979 / 180, sc = 1.7, c = sc * cos(a), s = sc * sin(a), tx = 150, ty = 20;
    fcl_face f = {0};
    for (int i = 0; i < 5; i++) {
        f.landmarks[i][0] = (float)(c * tmpl[i][0] - s * tmpl[i][1] + tx);
        f.landmarks[i][1] = (float)(s * tmpl[i][0] + c * tmpl[i][1] + ty);
    }
    assert_int_equal(fcl_face_align(&im, &f, S, out), FCL_SUCCESS);
    double worst = 0;
    for (int y = 0; y < S; y++) /* output pixel (x, y) shows the image at T(x, y) */
        for (int x = 0; x < S; x++)
            worst = fmax(worst, fabs(out[y * S + x] - pattern(c * x - s * y + tx, s * x + c * y + ty)));
    if (worst > 2.5) /* rounding to bytes twice, and bilinear over a gentle curve */
        fail_msg("aligned face differs from the pattern by %g grey levels", worst);
    for (int i = 0; i < 5; i++) /* the same points twice over: nothing to fit */
        f.landmarks[i][0] = f.landmarks[i][1] = 10;
    assert_int_equal(fcl_face_align(&im, &f, S, out), FCL_ERR_INVALID_ARGUMENT);
    f.landmarks[2][0] = NAN;
    assert_int_equal(fcl_face_align(&im, &f, S, out), FCL_ERR_NUMERIC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resampling_matches_the_reference),
        cmocka_unit_test(models_plan_for_other_input_sizes),
        cmocka_unit_test(face_crops_resize_as_pillow),
        cmocka_unit_test(alignment_undoes_a_similarity),
    };
    return cmocka_run_group_tests(tests, open_test_runtime, close_test_runtime);
}
