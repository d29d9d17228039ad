/* Labelled image sets: an IDX pair (MNIST, Fashion-MNIST) held in memory, or a folder
 * with one sub-folder per identity whose images are decoded when used. */
#ifndef FCL_DATA_DATASET_H
#define FCL_DATA_DATASET_H
#include "data/image.h"
#include "facecl.h"

#define FCL_CLASS_NAME_MAX 128

typedef struct fcl_dataset {
    char source[1024];
    int n;          /* images */
    int n_classes;  /* identities */
    int *labels;    /* n, in [0, n_classes) */
    char (*class_names)[FCL_CLASS_NAME_MAX];
    int *class_start; /* n_classes + 1: images of class k are [class_start[k], class_start[k+1]) (folders) */
    /* IDX: n images of ih x iw bytes. Folders: paths[n], sorted by identity then name. */
    unsigned char *pixels;
    int ih, iw;
    char **paths;
    int skipped; /* unreadable files left out when the folder was opened */
} fcl_dataset;

/* dir holds <split>-images-idx3-ubyte[.gz] and <split>-labels-idx1-ubyte[.gz] (split
 * "train" or "t10k"), or one sub-folder per identity. Errors name the path and say what
 * was expected; a folder needs at least 2 identities. */
fcl_status fcl_dataset_open(const char *dir, const char *split, fcl_dataset *out);
/* A folder of images with no identities (labels -1, n_classes 0), for clustering. */
fcl_status fcl_dataset_open_images(const char *dir, fcl_dataset *out);
void fcl_dataset_free(fcl_dataset *d);
/* The images of d with take[i] set, in d's order, into out (the identities and their
 * names all kept, an identity may be left without images). */
fcl_status fcl_dataset_subset(const fcl_dataset *d, const bool *take, fcl_dataset *out);

/* Image i as model input: c x h x w floats in [0, 1]. */
fcl_status fcl_dataset_image(const fcl_dataset *d, int i, const fcl_input_form *form, float *out);

/* Index of the `number`-th (1-based) image of identity `name`, or -1 (pairs files). */
int fcl_dataset_find(const fcl_dataset *d, const char *name, int number);
#endif
