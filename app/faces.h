/* --detect for the commands that embed image files: each image's most probable face,
 * found by MTCNN and cropped as facenet-pytorch's extract_face does, at the model's
 * input size. */
#ifndef FCL_APP_FACES_H
#define FCL_APP_FACES_H
#include "facecl.h"

typedef struct cli_faces {
    fcl_detector *detector; /* NULL: --detect not given, images are used whole */
    int margin;
} cli_faces;

/* Opens MTCNN from mtcnn_dir (tools/mtcnn_convert.py) and models/; 0, or the exit
 * status after saying what failed. */
int cli_faces_open(cli_faces *f, fcl_runtime *rt, const char *mtcnn_dir, int margin, const char *who);
void cli_faces_close(cli_faces *f);
/* path as model's input: its most probable face (with a detector), else the whole image.
 * False, having named the file and why (unreadable, no face), when there is none. */
bool cli_face_input(cli_faces *f, const fcl_model *m, const char *path, float *input, const char *who);
#endif
