/* A folder data set's images replaced by their faces (train, eval and cluster
 * --detect): each image's most probable face cropped once into a folder of PNGs, which
 * the data set then reads as it read the photos. */
#include "data/dataset.h"
#include "data/image.h"
#include "runtime/fileio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* crop_dir/<identity>/<file name>.png (crop_dir/<file name>.png without identities). */
static char *crop_path(const fcl_dataset *d, int i, const char *crop_dir)
{
    const char *base = strrchr(d->paths[i], '/');
    base = base ? base + 1 : d->paths[i];
    const char *id = d->n_classes ? d->class_names[d->labels[i]] : "";
    const size_t len = strlen(crop_dir) + strlen(id) + strlen(base) + 8;
    char *p = malloc(len);
    if (p)
        snprintf(p, len, "%s/%s%s%s.png", crop_dir, id, *id ? "/" : "", base);
    return p;
}

/* Whether path exists and is no older than its source (made by an earlier run). */
static bool fresh(const char *path, const char *source)
{
    struct stat a, b;
    return stat(path, &a) == 0 && stat(source, &b) == 0 && a.st_mtime >= b.st_mtime && a.st_size > 0;
}

/* The face of image i at path out: made, or found from an earlier run; *none when the
 * image shows none. */
static fcl_status crop_one(const fcl_dataset *d, int i, fcl_detector *det, int size, int margin, bool align,
                           const char *out, uint8_t *crop, bool *none)
{
    *none = false;
    if (fresh(out, d->paths[i]))
        return FCL_SUCCESS;
    fcl_image im;
    fcl_status st = fcl_image_read(d->paths[i], 3, &im);
    if (st != FCL_SUCCESS)
        return st;
    fcl_face *faces = NULL;
    int n = 0;
    st = fcl_detect(det, &im, NULL, &faces, &n);
    *none = st == FCL_SUCCESS && n == 0;
    if (st == FCL_SUCCESS && n > 0)
        st = align ? fcl_face_align(&im, &faces[0], size, crop) : fcl_face_crop(&im, &faces[0], size, margin, crop);
    if (st == FCL_SUCCESS && n > 0) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", out);
        *strrchr(dir, '/') = '\0';
        st = fcl_mkdir_p(dir);
        if (st == FCL_SUCCESS)
            st = fcl_image_write_png(out, &(fcl_image){.pixels = crop, .width = size, .height = size, .channels = 3});
    }
    free(faces);
    fcl_image_release(&im);
    return st;
}

fcl_status fcl_dataset_detect_faces(fcl_dataset *d, fcl_detector *det, int size, int margin, bool align,
                                    const char *crop_dir, const fcl_reporter *report)
{
    if (!d || !det || !crop_dir || size < 1 || margin < 0 || margin >= size)
        return FCL_ERR_INVALID_ARGUMENT;
    if (!d->paths) {
        fcl_log(FCL_LOG_ERROR, "%s: IDX images are not photographs: nothing for a face detector", d->source);
        return FCL_ERR_INVALID_ARGUMENT;
    }
    uint8_t *crop = malloc((size_t)size * size * 3);
    int *keep = malloc(((size_t)d->n + 1) * sizeof *keep);
    char **crops = calloc((size_t)d->n + 1, sizeof *crops);
    fcl_status st = crop && keep && crops ? FCL_SUCCESS : FCL_ERR_OUT_OF_HOST_MEMORY;
    int kept = 0, none = 0;
    for (int i = 0; i < d->n && st == FCL_SUCCESS; i++) {
        bool no_face;
        if (!(crops[i] = crop_path(d, i, crop_dir))) {
            st = FCL_ERR_OUT_OF_HOST_MEMORY;
            break;
        }
        st = crop_one(d, i, det, size, margin, align, crops[i], crop, &no_face);
        if (st == FCL_ERR_FORMAT || st == FCL_ERR_IO) { /* unreadable since the folder was scanned: named */
            st = FCL_SUCCESS;
            d->skipped++;
        } else if (st == FCL_SUCCESS && no_face) {
            fcl_log(FCL_LOG_WARN, "%s: no face found: skipped", d->paths[i]);
            none++;
        } else if (st == FCL_SUCCESS) {
            keep[kept++] = i;
        }
        if ((i + 1) % 100 == 0 || i + 1 == d->n)
            fcl_report(report, "faces: %d of %d images, %d without a face", i + 1, d->n, none);
    }
    /* The kept images, their identities renumbered over those that still have one. */
    const int n = d->n;
    char **paths = st == FCL_SUCCESS ? malloc(((size_t)kept + 1) * sizeof *paths) : NULL;
    int *labels = st == FCL_SUCCESS ? malloc(((size_t)kept + 1) * sizeof *labels) : NULL;
    int *new_label = st == FCL_SUCCESS ? malloc(((size_t)d->n_classes + 1) * sizeof *new_label) : NULL;
    if (st == FCL_SUCCESS && (!paths || !labels || !new_label))
        st = FCL_ERR_OUT_OF_HOST_MEMORY;
    if (st == FCL_SUCCESS) {
        for (int k = 0; k < d->n_classes; k++)
            new_label[k] = -1;
        int classes = 0;
        for (int j = 0; j < kept; j++) {
            const int i = keep[j], old = d->labels[i];
            paths[j] = crops[i];
            crops[i] = NULL;
            labels[j] = old;
            if (d->n_classes == 0)
                continue;
            if (new_label[old] < 0) { /* identities come in order: classes <= old */
                new_label[old] = classes;
                memmove(d->class_names[classes], d->class_names[old], sizeof d->class_names[0]);
                d->class_start[classes++] = j;
            }
            labels[j] = new_label[old];
        }
        for (int i = 0; i < n; i++)
            free(d->paths[i]);
        free(d->paths), free(d->labels);
        d->paths = paths, d->labels = labels;
        paths = NULL, labels = NULL;
        if (d->n_classes) {
            d->class_start[classes] = kept;
            d->n_classes = classes;
        }
        d->n = kept;
        d->skipped += none;
        snprintf(d->source, sizeof d->source, "%s", crop_dir);
    }
    for (int i = 0; crops && i < n; i++)
        free(crops[i]);
    free(paths), free(labels);
    free(new_label), free(crops), free(keep), free(crop);
    return st;
}
