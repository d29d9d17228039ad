/* --detect: MTCNN's most probable face of an image file as a model's input. */
#include "faces.h"
#include "cli.h"

#include <stdlib.h>

bool cli_faces_option(cli_faces_args *a, int c, const char *arg, bool *ok)
{
    switch (c) {
    case CLI_FACES_DETECT: a->detect = true; return true;
    case CLI_FACES_MTCNN: a->mtcnn = arg; return true;
    case CLI_FACES_MARGIN: *ok = cli_long("margin", arg, 0, 4095, &a->margin); return true;
    default: return false;
    }
}

int cli_faces_open(cli_faces *f, fcl_runtime *rt, const cli_faces_args *a, const char *who)
{
    *f = (cli_faces){.margin = (int)a->margin};
    if (a->detect != (a->mtcnn != NULL)) {
        fprintf(stderr, "facecl %s: %s\n", who, a->detect ? "--detect needs MTCNN's weights: --mtcnn DIR (make DIR "
                                                             "once with tools/mtcnn_convert.py DIR)"
                                                           : "--mtcnn and --margin are for --detect");
        return 2;
    }
    if (!a->detect)
        return 0;
    fcl_status st = fcl_detector_create(rt, CLI_MODEL_DIR, a->mtcnn, &f->detector);
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
    if (crop && (st = fcl_face_crop(&im, &faces[0], size, f->margin, crop)) == FCL_SUCCESS)
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
