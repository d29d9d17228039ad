/* facecl detect --mtcnn DIR IMAGE...: faces, their boxes and landmarks (MTCNN). */
#include "cli.h"
#include "overlay.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: facecl detect --mtcnn DIR [--json] [--out FILE] [--overlay DIR] [--crops DIR]\n"
               "                     [--size N] [--margin M | --align] [--min-face N] [--factor F]\n"
               "                     [--thresholds P,R,O] [--models DIR] [--device D] IMAGE...\n\n"
               "Finds the faces in each image with MTCNN (P-Net over an image pyramid, R-Net, O-Net;\n"
               "Zhang et al. 2016) as facenet-pytorch's MTCNN does, and prints one CSV row per face,\n"
               "most probable first: image, face, probability, box x1 y1 x2 y2, then x and y of the\n"
               "left eye, right eye, nose, left and right mouth corner (pixels).\n\n"
               "  --mtcnn DIR       the weights: mtcnn-{pnet,rnet,onet}.safetensors, made once from\n"
               "                    facenet-pytorch's by tools/mtcnn_convert.py DIR\n"
               "  --models DIR      where mtcnn-{pnet,rnet,onet}.model are (default: the --mtcnn DIR,\n"
               "                    where tools/mtcnn_convert.py copies them)\n"
               "  --json            a JSON array of images with their faces, instead of CSV\n"
               "  --out FILE        write there (atomically) instead of stdout\n"
               "  --overlay DIR     DIR/<image>.png: the image with boxes (green) and landmarks (red)\n"
               "  --crops DIR       DIR/<image>.png: the most probable face cropped as facenet-pytorch's\n"
               "                    extract_face does (<image>_1.png ... the others)\n"
               "  --size N          crop size in pixels (160, Inception-ResNet-v1's input)\n"
               "  --margin M        crop margin in pixels of the crop (0, facenet-pytorch's default)\n"
               "  --align           crops rotated and scaled so the five landmarks meet the canonical\n"
               "                    five-point template (insightface's 112x112, scaled to --size)\n"
               "  --min-face N      smallest face looked for, pixels (20)\n"
               "  --factor F        the pyramid's scale step (0.709)\n"
               "  --thresholds P,R,O  face probability each stage needs (0.6,0.7,0.7)\n"
               "  --device D        OpenCL device (index, gpu, cpu or a name)\n"
               "The defaults are MTCNN's and facenet-pytorch's. An image without a face is named on\n"
               "stderr; one that cannot be read is named and skipped, and the exit status is then 1.\n");
}

static bool parse_thresholds(const char *text, float out[3])
{
    char *end;
    for (int i = 0; i < 3; i++) {
        const double v = strtod(text, &end);
        if (end == text || !(v >= 0 && v <= 1) || (i < 2 && *end != ',') || (i == 2 && *end)) {
            fprintf(stderr, "facecl detect: --thresholds wants three probabilities from 0 to 1, as 0.6,0.7,0.7; "
                            "got '%s'\n", text);
            return false;
        }
        out[i] = (float)v;
        text = end + 1;
    }
    return true;
}

/* The file name without folders and extension. */
static void stem_of(const char *path, char *out, size_t size)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(out, size, "%s", base);
    char *dot = strrchr(out, '.');
    if (dot && dot != out)
        *dot = '\0';
}

static void emit(fcl_strbuf *b, bool json, const char *image, const fcl_image *im, const fcl_face *f, int n,
                 bool first_image)
{
    if (json) {
        fcl_strbuf_printf(b, "%s\n  {\"image\": \"", first_image ? "" : ",");
        for (const char *p = image; *p; p++)
            fcl_strbuf_printf(b, *p == '"' || *p == '\\' ? "\\%c" : (unsigned char)*p < 0x20 ? "?" : "%c", *p);
        fcl_strbuf_printf(b, "\", \"width\": %d, \"height\": %d, \"faces\": [", im->width, im->height);
        for (int i = 0; i < n; i++) {
            fcl_strbuf_printf(b, "%s\n    {\"probability\": %.9g, \"box\": [%.9g, %.9g, %.9g, %.9g], \"landmarks\": [",
                              i ? "," : "", f[i].probability, f[i].box[0], f[i].box[1], f[i].box[2], f[i].box[3]);
            for (int p = 0; p < 5; p++)
                fcl_strbuf_printf(b, "%s[%.9g, %.9g]", p ? ", " : "", f[i].landmarks[p][0], f[i].landmarks[p][1]);
            fcl_strbuf_printf(b, "]}");
        }
        fcl_strbuf_printf(b, "%s]}", n ? "\n  " : "");
        return;
    }
    for (int i = 0; i < n; i++) {
        cli_csv_field(b, image);
        fcl_strbuf_printf(b, ",%d,%.9g,%.9g,%.9g,%.9g,%.9g", i, f[i].probability, f[i].box[0], f[i].box[1],
                          f[i].box[2], f[i].box[3]);
        for (int p = 0; p < 5; p++)
            fcl_strbuf_printf(b, ",%.9g,%.9g", f[i].landmarks[p][0], f[i].landmarks[p][1]);
        fcl_strbuf_printf(b, "\n");
    }
}

/* The pictures of one image's faces: the overlay and the crops, never over an input
 * (`--crops .` beside photo.png would name photo.png). */
static fcl_status pictures(const char *image, const fcl_image *im, const fcl_face *faces, int n,
                           const char *overlay_dir, const char *crops_dir, int size, int margin, bool align,
                           const char *const *inputs, int n_inputs)
{
    char stem[1024], path[4096];
    stem_of(image, stem, sizeof stem);
    fcl_status st = FCL_SUCCESS;
    if (overlay_dir) {
        snprintf(path, sizeof path, "%s/%s.png", overlay_dir, stem);
        if (cli_output_is_input("detect", "--overlay", path, inputs, n_inputs))
            return FCL_ERR_INVALID_ARGUMENT;
        if ((st = overlay_write_png(path, im, faces, n)) != FCL_SUCCESS)
            return cli_fail(path, st), st;
    }
    uint8_t *crop = crops_dir && n ? malloc((size_t)size * size * im->channels) : NULL;
    if (crops_dir && n && !crop)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    for (int i = 0; crop && i < n && st == FCL_SUCCESS; i++) {
        if (i)
            snprintf(path, sizeof path, "%s/%s_%d.png", crops_dir, stem, i);
        else
            snprintf(path, sizeof path, "%s/%s.png", crops_dir, stem);
        if (cli_output_is_input("detect", "--crops", path, inputs, n_inputs)) {
            st = FCL_ERR_INVALID_ARGUMENT;
            break;
        }
        st = align ? fcl_face_align(im, &faces[i], size, crop) : fcl_face_crop(im, &faces[i], size, margin, crop);
        if (st == FCL_SUCCESS)
            st = fcl_image_write_png(path, &(fcl_image){.pixels = crop, .width = size, .height = size,
                                                        .channels = im->channels});
        if (st != FCL_SUCCESS)
            cli_fail(path, st);
    }
    free(crop);
    return st;
}

int cmd_detect(int argc, char **argv)
{
    static const struct option opts[] = {
        {"mtcnn", required_argument, NULL, 'w'},      {"models", required_argument, NULL, 'M'},
        {"json", no_argument, NULL, 'j'},             {"out", required_argument, NULL, 'o'},
        {"overlay", required_argument, NULL, 'O'},    {"crops", required_argument, NULL, 'C'},
        {"size", required_argument, NULL, 's'},       {"margin", required_argument, NULL, 'm'},
        {"min-face", required_argument, NULL, 'f'},   {"factor", required_argument, NULL, 'F'},
        {"thresholds", required_argument, NULL, 't'}, {"device", required_argument, NULL, 'd'},
        {"align", no_argument, NULL, 'a'},            {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    const char *weights = NULL, *models = NULL, *out = NULL, *overlay = NULL, *crops = NULL, *device = NULL;
    bool json = false, ok = true, align = false;
    long size = 160, margin = 0, min_face = 20;
    fcl_detect_options o = fcl_detect_defaults();
    int c;
    while (ok && (c = getopt_long(argc, argv, "w:M:jo:O:C:s:m:f:F:t:d:ah", opts, NULL)) != -1) {
        switch (c) {
        case 'w': weights = optarg; break;
        case 'M': models = optarg; break;
        case 'j': json = true; break;
        case 'o': out = optarg; break;
        case 'O': overlay = optarg; break;
        case 'C': crops = optarg; break;
        case 's': ok = cli_long("size", optarg, 8, 4096, &size); break;
        case 'm': ok = cli_long("margin", optarg, 0, 4095, &margin); break;
        case 'f': ok = cli_long("min-face", optarg, 12, 8192, &min_face); break;
        case 'F': ok = cli_double("factor", optarg, 0.1, 0.99, &o.factor); break;
        case 't': ok = parse_thresholds(optarg, o.thresholds); break;
        case 'd': device = optarg; break;
        case 'a': align = true; break;
        case 'h': usage(stdout); return 0;
        default: ok = false;
        }
    }
    if (!ok)
        return 2;
    if (argc - optind < 1 || !weights) {
        if (argc - optind >= 1)
            fprintf(stderr, "facecl detect: give MTCNN's weights: --mtcnn DIR (make DIR once with "
                            "tools/mtcnn_convert.py DIR; it needs facenet-pytorch's wheel)\n");
        usage(stderr);
        return 2;
    }
    if (align && margin) {
        fprintf(stderr, "facecl detect: --align and --margin are two ways to crop: give one\n");
        return 2;
    }
    if (margin >= size) {
        fprintf(stderr, "facecl detect: --margin %ld must be smaller than --size %ld\n", margin, size);
        return 2;
    }
    o.min_face = (int)min_face;
    char **images = argv + optind;
    const int n_images = argc - optind;
    if (cli_output_is_input("detect", "--out", out, (const char *const *)images, n_images))
        return 2;
    fcl_status st = FCL_SUCCESS;
    if (overlay && (st = fcl_mkdir_p(overlay)) != FCL_SUCCESS)
        return cli_fail(overlay, st);
    if (crops && (st = fcl_mkdir_p(crops)) != FCL_SUCCESS)
        return cli_fail(crops, st);
    fcl_runtime *rt = cli_open_runtime(device, NULL);
    if (!rt)
        return 1;
    fcl_detector *d = NULL;
    st = fcl_detector_create(rt, models ? models : weights, weights, &d);
    if (st != FCL_SUCCESS) {
        fcl_runtime_destroy(rt);
        return cli_fail(weights, st);
    }
    fcl_strbuf b = {0};
    if (json)
        fcl_strbuf_printf(&b, "[");
    else
        fcl_strbuf_printf(&b, "image,face,probability,x1,y1,x2,y2,left_eye_x,left_eye_y,right_eye_x,right_eye_y,"
                              "nose_x,nose_y,mouth_left_x,mouth_left_y,mouth_right_x,mouth_right_y\n");
    int skipped = 0, found = 0, done = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n_images && st == FCL_SUCCESS; i++) {
        fcl_image im;
        if (fcl_image_read(images[i], 3, &im) != FCL_SUCCESS) {
            skipped++; /* the library said why */
            continue;
        }
        fcl_face *faces;
        int n;
        st = fcl_detect(d, &im, &o, &faces, &n);
        if (st != FCL_SUCCESS)
            cli_fail(images[i], st);
        if (st == FCL_SUCCESS) {
            emit(&b, json, images[i], &im, faces, n, done == 0);
            if (n == 0)
                fprintf(stderr, "facecl detect: %s: no face\n", images[i]);
            st = pictures(images[i], &im, faces, n, overlay, crops, (int)size, (int)margin, align,
                          (const char *const *)images, n_images);
            found += n, done++;
        }
        free(faces);
        fcl_image_release(&im);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (json)
        fcl_strbuf_printf(&b, "\n]\n");
    if (st == FCL_SUCCESS)
        st = fcl_strbuf_status(&b);
    if (st == FCL_SUCCESS && out && (st = fcl_write_file_atomic(out, b.text, b.len)) != FCL_SUCCESS)
        fprintf(stderr, "facecl detect: cannot write %s: %s\n", out, strerror(errno));
    else if (st == FCL_SUCCESS && !out)
        fwrite(b.text, 1, b.len, stdout);
    free(b.text);
    const double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    if (st == FCL_SUCCESS)
        fprintf(stderr, "facecl detect: %d face%s in %d image%s (%.2f images/s on %s)\n", found,
                found == 1 ? "" : "s", done, done == 1 ? "" : "s", s > 0 ? done / s : 0.0,
                fcl_runtime_device(rt)->name);
    if (st == FCL_SUCCESS && skipped)
        fprintf(stderr, "facecl detect: %d of %d images could not be read and were skipped\n", skipped, n_images);
    fcl_detector_destroy(d);
    fcl_runtime_destroy(rt);
    return st != FCL_SUCCESS ? 1 : skipped ? 1 : 0;
}
