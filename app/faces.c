/* --detect: MTCNN's most probable face of an image file as a model's input. */
#include "faces.h"
#include "cli.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool cli_faces_option(cli_faces_args *a, int c, const char *arg, bool *ok)
{
    switch (c) {
    case CLI_FACES_DETECT: a->detect = true; return true;
    case CLI_FACES_MTCNN: a->mtcnn = arg; return true;
    case CLI_FACES_MARGIN: *ok = cli_long("crop-margin", arg, 0, 4095, &a->margin); return true;
    case CLI_FACES_ALIGN: a->align = true; return true;
    default: return false;
    }
}

int cli_faces_open(cli_faces *f, fcl_runtime *rt, const cli_faces_args *a, const char *who)
{
    *f = (cli_faces){.margin = (int)a->margin, .align = a->align};
    if (a->align && a->margin) {
        fprintf(stderr, "facecl %s: --align and --crop-margin are two ways to crop: give one\n", who);
        return 2;
    }
    if (a->detect != (a->mtcnn != NULL) || (!a->detect && a->align)) {
        fprintf(stderr, "facecl %s: %s\n", who, a->detect ? "--detect needs MTCNN's weights: --mtcnn DIR (make DIR "
                                                             "once with tools/mtcnn_convert.py DIR)"
                                                           : "--mtcnn, --crop-margin and --align are for --detect");
        return 2;
    }
    if (!a->detect)
        return 0;
    fcl_status st = fcl_detector_create(rt, a->mtcnn, a->mtcnn, &f->detector); /* the converter copies the models */
    if (st != FCL_SUCCESS) {
        fprintf(stderr, "facecl %s: --detect needs MTCNN's weights in %s (make them once with "
                        "tools/mtcnn_convert.py %s)\n", who, a->mtcnn, a->mtcnn);
        return cli_fail(a->mtcnn, st);
    }
    return 0;
}

void cli_faces_close(cli_faces *f)
{
    fcl_detector_destroy(f->detector);
    f->detector = NULL;
}

bool cli_face_input(cli_faces *f, const fcl_model *m, const char *path, float *input, const char *who)
{
    if (!f || !f->detector)
        return fcl_image_file_to_input(m, path, input) == FCL_SUCCESS; /* the library said why */
    const fcl_model_summary ms = fcl_model_describe(m);
    if (ms.input_height != ms.input_width) {
        fprintf(stderr, "facecl %s: --detect crops square faces; %s takes %dx%d images\n", who, ms.source,
                ms.input_height, ms.input_width);
        return false;
    }
    const int size = ms.input_height;
    if (f->margin >= size) {
        fprintf(stderr, "facecl %s: --margin %d must be smaller than the model's %d-pixel input\n", who, f->margin,
                size);
        return false;
    }
    fcl_image im;
    if (fcl_image_read(path, 3, &im) != FCL_SUCCESS)
        return false; /* named by the library */
    fcl_face *faces = NULL;
    int n = 0;
    fcl_status st = fcl_detect(f->detector, &im, NULL, &faces, &n);
    uint8_t *crop = st == FCL_SUCCESS && n > 0 ? malloc((size_t)size * size * 3) : NULL;
    if (st == FCL_SUCCESS && n > 0 && !crop)
        st = FCL_ERR_OUT_OF_HOST_MEMORY;
    if (crop && (st = f->align ? fcl_face_align(&im, &faces[0], size, crop)
                               : fcl_face_crop(&im, &faces[0], size, f->margin, crop)) == FCL_SUCCESS)
        st = fcl_image_to_model_input(m, &(fcl_image){.pixels = crop, .width = size, .height = size, .channels = 3},
                                      input);
    if (st != FCL_SUCCESS)
        cli_fail(path, st);
    else if (n == 0)
        fprintf(stderr, "facecl %s: %s: no face found\n", who, path);
    free(crop);
    free(faces);
    fcl_image_release(&im);
    return st == FCL_SUCCESS && n > 0;
}

/* The cache folder for d's crops: one per data folder, size and margin. */
static void crops_dir(const fcl_dataset *d, int size, int margin, char *out, size_t len)
{
    const char *cache = getenv("FACECL_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char base[2048];
    if (cache && *cache)
        snprintf(base, sizeof base, "%s", cache);
    else if (xdg && *xdg)
        snprintf(base, sizeof base, "%s/facecl", xdg);
    else
        snprintf(base, sizeof base, "%s/.cache/facecl", home && *home ? home : ".");
    char real[PATH_MAX], cwd[PATH_MAX];
    const char *source = fcl_dataset_source(d);
    if (source[0] != '/' && getcwd(cwd, sizeof cwd)) /* the same folder from another directory: one cache */
        snprintf(real, sizeof real, "%.2000s/%.2000s", cwd, source);
    else
        snprintf(real, sizeof real, "%s", source);
    for (size_t n = strlen(real); n > 1 && real[n - 1] == '/';)
        real[--n] = '\0';
    uint64_t h = 1469598103934665603ULL; /* FNV-1a of the folder, the size and the margin */
    char key[PATH_MAX + 64];
    snprintf(key, sizeof key, "%s\n%d\n%d", real, size, margin);
    for (const char *p = key; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    const char *name = strrchr(real, '/');
    name = name && name[1] ? name + 1 : "data";
    snprintf(out, len, "%s/faces/%.64s-%016llx", base, name, (unsigned long long)h);
}

int cli_faces_dataset(const cli_faces_args *a, fcl_runtime *rt, const fcl_model *m, fcl_dataset *d, const char *who)
{
    if (!a->detect && !a->mtcnn && !a->align && !a->margin)
        return 0;
    const fcl_model_summary ms = fcl_model_describe(m);
    if (ms.input_height != ms.input_width) {
        fprintf(stderr, "facecl %s: --detect crops square faces; %s takes %dx%d images\n", who, ms.source,
                ms.input_height, ms.input_width);
        return 2;
    }
    if (a->margin >= ms.input_height) {
        fprintf(stderr, "facecl %s: --crop-margin %ld must be smaller than the model's %d-pixel input\n", who,
                a->margin, ms.input_height);
        return 2;
    }
    if (fcl_dataset_images(d) > 0 && !fcl_dataset_image_path(d, 0)) {
        fprintf(stderr, "facecl %s: %s holds IDX images, not photographs: --detect is for image folders\n", who,
                fcl_dataset_source(d));
        return 2;
    }
    cli_faces f;
    int status = cli_faces_open(&f, rt, a, who);
    if (status)
        return status;
    char dir[4096];
    crops_dir(d, ms.input_height, a->align ? -1 : (int)a->margin, dir, sizeof dir);
    const int before = fcl_dataset_images(d);
    printf("facecl %s: the faces of %s's %d images, %dx%d, into %s\n", who, fcl_dataset_source(d), before,
           ms.input_height, ms.input_height, dir);
    const fcl_reporter report = cli_reporter();
    fcl_status st = fcl_dataset_detect_faces(d, f.detector, ms.input_height, (int)a->margin, a->align, dir, &report);
    cli_faces_close(&f);
    if (st != FCL_SUCCESS)
        return cli_fail(dir, st);
    if (fcl_dataset_images(d) < before)
        printf("facecl %s: %d of %d images left out (no face, or unreadable: named above)\n", who,
               before - fcl_dataset_images(d), before);
    return 0;
}
