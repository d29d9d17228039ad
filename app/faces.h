/* --detect for the commands that embed image files: each image's most probable face,
 * found by MTCNN and cropped as facenet-pytorch's extract_face does, at the model's
 * input size. */
#ifndef FCL_APP_FACES_H
#define FCL_APP_FACES_H
#include "facecl.h"

#include <getopt.h>

/* The options, for a command's getopt_long table and its usage text. */
enum { CLI_FACES_DETECT = 1000, CLI_FACES_MTCNN, CLI_FACES_MARGIN, CLI_FACES_ALIGN }; /* above every command's own codes */
#define CLI_FACES_OPTIONS                                                                             \
    {"detect", no_argument, NULL, CLI_FACES_DETECT}, {"mtcnn", required_argument, NULL, CLI_FACES_MTCNN}, \
        {"crop-margin", required_argument, NULL, CLI_FACES_MARGIN}, {"align", no_argument, NULL, CLI_FACES_ALIGN}
#define CLI_FACES_USAGE "[--detect --mtcnn DIR [--crop-margin M | --align]]"
#define CLI_FACES_HELP                                                                          \
    "  --detect      use each image's most probable face, found by MTCNN and cropped to the\n"  \
    "                model's input as facenet-pytorch's MTCNN(image_size, margin) does; an\n"   \
    "                image without a face is named and skipped\n"                               \
    "  --mtcnn DIR   MTCNN's weights (make DIR once with tools/mtcnn_convert.py DIR)\n"         \
    "  --crop-margin M  pixels of the crop around the box (0, facenet-pytorch's margin)\n"       \
    "  --align       rotate and scale each face so its five landmarks meet the canonical\n"    \
    "                five-point template, instead of cropping the box\n"

typedef struct cli_faces_args {
    bool detect;
    const char *mtcnn;
    long margin;
    bool align;
} cli_faces_args;
/* Whether getopt's c is one of the options (taken into a; *ok false on a bad value). */
bool cli_faces_option(cli_faces_args *a, int c, const char *arg, bool *ok);

typedef struct cli_faces {
    fcl_detector *detector; /* NULL: --detect not given, images are used whole */
    int margin;
    bool align;
} cli_faces;

/* With --detect, opens MTCNN from a->mtcnn (tools/mtcnn_convert.py: weights and models); 0, or
 * the exit status after saying what failed (2: --detect and --mtcnn not together). */
int cli_faces_open(cli_faces *f, fcl_runtime *rt, const cli_faces_args *a, const char *who);
void cli_faces_close(cli_faces *f);
/* path as model's input: its most probable face (with a detector), else the whole image.
 * False, having named the file and why (unreadable, no face), when there is none. */
bool cli_face_input(cli_faces *f, const fcl_model *m, const char *path, float *input, const char *who);
/* With --detect, d's images replaced by their faces at m's input size (fcl_dataset_detect_faces),
 * cropped once into a folder of the cache (FACECL_CACHE_DIR, else $XDG_CACHE_HOME/facecl or
 * ~/.cache/facecl: faces/<folder>-<hash of its path, size, margin>); 0, or the exit
 * status after saying what failed. */
int cli_faces_dataset(const cli_faces_args *a, fcl_runtime *rt, const fcl_model *m, fcl_dataset *d, const char *who);
#endif
