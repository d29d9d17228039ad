#include "data/dataset.h"
#include "data/idx.h"
#include "data/image.h"
#include "runtime/log.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Fashion-MNIST's classes, as its README names them (spaces and '/' made '_' so a
 * pairs file stays one token per field). */
static const char *const fashion_names[10] = {"T-shirt_top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal", "Shirt", "Sneaker", "Bag", "Ankle_boot"};

void fcl_dataset_free(fcl_dataset *d)
{
    free(d->labels);
    free(d->class_names);
    free(d->class_start);
    free(d->pixels);
    for (int i = 0; d->paths && i < d->n; i++)
        free(d->paths[i]);
    free(d->paths);
    memset(d, 0, sizeof *d);
}

static bool is_file(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* "<dir>/<split>-<what>" or the same with .gz, whichever exists. */
static bool idx_path(const char *dir, const char *split, const char *what, char *out, size_t size)
{
    snprintf(out, size, "%s/%s-%s.gz", dir, split, what);
    if (is_file(out))
        return true;
    snprintf(out, size, "%s/%s-%s", dir, split, what);
    return is_file(out);
}

/* IDX data keep the file's order (labels interleaved), so class_start stays NULL. */
static fcl_status open_idx(const char *dir, const char *images_path, const char *labels_path, fcl_dataset *d)
{
    fcl_idx images, labels;
    fcl_status st = fcl_idx_load(images_path, &images);
    if (st != FCL_SUCCESS)
        return st;
    if ((st = fcl_idx_load(labels_path, &labels)) != FCL_SUCCESS) {
        fcl_idx_free(&images);
        return st;
    }
    if (images.ndims != 3 || labels.ndims != 1 || labels.dims[0] != images.dims[0]) {
        fcl_log(FCL_LOG_ERROR, "%s and %s: expected N images of H x W bytes and N labels", images_path, labels_path);
        st = FCL_ERR_FORMAT;
    }
    if (st == FCL_SUCCESS) {
        d->n = images.dims[0];
        d->ih = images.dims[1];
        d->iw = images.dims[2];
        d->pixels = images.data;
        images.data = NULL;
        d->labels = malloc((size_t)d->n * sizeof *d->labels);
        st = d->labels ? FCL_SUCCESS : FCL_ERR_OUT_OF_HOST_MEMORY;
    }
    for (int i = 0; st == FCL_SUCCESS && i < d->n; i++) {
        d->labels[i] = labels.data[i];
        if (d->labels[i] + 1 > d->n_classes)
            d->n_classes = d->labels[i] + 1;
    }
    /* Identities are the labels 0..max; one that no image has means a corrupt or foreign
     * label file (a stray 200 among 0-9 made "201 identities"). */
    int *per_label = st == FCL_SUCCESS ? calloc((size_t)d->n_classes + 1, sizeof *per_label) : NULL;
    if (st == FCL_SUCCESS && !per_label)
        st = FCL_ERR_OUT_OF_HOST_MEMORY;
    for (int i = 0; st == FCL_SUCCESS && i < d->n; i++)
        per_label[d->labels[i]]++;
    for (int k = 0; st == FCL_SUCCESS && k < d->n_classes; k++)
        if (per_label[k] == 0) {
            fcl_log(FCL_LOG_ERROR, "%s: no image has label %d, yet labels go up to %d: identities must be numbered "
                                   "0 to N-1 without gaps (is the label file corrupt?)", labels_path, k,
                    d->n_classes - 1);
            st = FCL_ERR_FORMAT;
        }
    free(per_label);
    if (st == FCL_SUCCESS) {
        d->class_names = calloc((size_t)d->n_classes, sizeof *d->class_names);
        st = d->class_names ? FCL_SUCCESS : FCL_ERR_OUT_OF_HOST_MEMORY;
    }
    bool fashion = strstr(dir, "fashion") != NULL && d->n_classes <= 10;
    for (int k = 0; st == FCL_SUCCESS && k < d->n_classes; k++) {
        if (fashion)
            snprintf(d->class_names[k], FCL_CLASS_NAME_MAX, "%s", fashion_names[k]);
        else
            snprintf(d->class_names[k], FCL_CLASS_NAME_MAX, "class%d", k);
    }
    fcl_idx_free(&images);
    fcl_idx_free(&labels);
    return st;
}

static int compare_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The sorted names of dir's entries that are directories (want_dirs) or files. */
static fcl_status list_dir(const char *dir, bool want_dirs, char ***names, int *count)
{
    *names = NULL;
    *count = 0;
    DIR *dp = opendir(dir);
    if (!dp) {
        fcl_log(FCL_LOG_ERROR, "%s: cannot open the directory", dir);
        return FCL_ERR_IO;
    }
    int cap = 0;
    fcl_status st = FCL_SUCCESS;
    for (struct dirent *e; st == FCL_SUCCESS && (e = readdir(dp));) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &sb) != 0 || (want_dirs ? !S_ISDIR(sb.st_mode) : !S_ISREG(sb.st_mode)))
            continue;
        if (*count == cap) {
            cap = cap ? 2 * cap : 64;
            char **grown = realloc(*names, (size_t)cap * sizeof *grown);
            if (!grown) {
                st = FCL_ERR_OUT_OF_HOST_MEMORY;
                break;
            }
            *names = grown;
        }
        if (!((*names)[*count] = strdup(e->d_name)))
            st = FCL_ERR_OUT_OF_HOST_MEMORY;
        else
            (*count)++;
    }
    closedir(dp);
    if (st == FCL_SUCCESS && *count > 1) /* qsort wants a non-null array even for none */
        qsort(*names, (size_t)*count, sizeof **names, compare_names);
    return st;
}

static void free_names(char **names, int count)
{
    for (int i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

static fcl_status add_image(fcl_dataset *d, int *cap, char *path, int label)
{
    if (d->n == *cap) {
        *cap = *cap ? 2 * *cap : 1024;
        char **paths = realloc(d->paths, (size_t)*cap * sizeof *paths);
        if (paths)
            d->paths = paths;
        int *labels = realloc(d->labels, (size_t)*cap * sizeof *labels);
        if (labels)
            d->labels = labels;
        if (!paths || !labels)
            return FCL_ERR_OUT_OF_HOST_MEMORY;
    }
    d->paths[d->n] = path;
    d->labels[d->n++] = label;
    return FCL_SUCCESS;
}

/* The decodable image files of dir, sorted by name, with one label. */
static fcl_status add_images(fcl_dataset *d, int *cap, const char *dir, int label)
{
    char **files;
    int n_files;
    fcl_status st = list_dir(dir, false, &files, &n_files);
    for (int f = 0; st == FCL_SUCCESS && f < n_files; f++) {
        size_t len = strlen(dir) + strlen(files[f]) + 2;
        char *path = malloc(len);
        if (!path) {
            st = FCL_ERR_OUT_OF_HOST_MEMORY;
            break;
        }
        snprintf(path, len, "%s/%s", dir, files[f]);
        if (fcl_image_check(path) != FCL_SUCCESS) {
            d->skipped++;
            free(path);
        } else if ((st = add_image(d, cap, path, label)) != FCL_SUCCESS) {
            free(path);
        }
    }
    free_names(files, n_files);
    return st;
}

static fcl_status open_folders(const char *dir, fcl_dataset *d)
{
    char **ids;
    int n_ids, cap = 0;
    fcl_status st = list_dir(dir, true, &ids, &n_ids);
    if (st == FCL_SUCCESS) {
        d->class_names = calloc((size_t)n_ids + 1, sizeof *d->class_names);
        d->class_start = calloc((size_t)n_ids + 1, sizeof *d->class_start);
        st = d->class_names && d->class_start ? FCL_SUCCESS : FCL_ERR_OUT_OF_HOST_MEMORY;
    }
    for (int k = 0; st == FCL_SUCCESS && k < n_ids; k++) {
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", dir, ids[k]);
        int label = d->n_classes, first = d->n;
        if ((st = add_images(d, &cap, sub, label)) != FCL_SUCCESS)
            break;
        if (d->n > first) { /* identities left without images are dropped */
            snprintf(d->class_names[label], FCL_CLASS_NAME_MAX, "%s", ids[k]);
            d->class_start[label] = first;
            d->class_start[++d->n_classes] = d->n;
        }
    }
    free_names(ids, n_ids);
    if (st == FCL_SUCCESS && d->skipped)
        fcl_log(FCL_LOG_WARN, "%s: %d unreadable files skipped", dir, d->skipped);
    if (st == FCL_SUCCESS && d->n_classes < 2) {
        fcl_log(FCL_LOG_ERROR, "%s: found %d identities with readable images; a data folder needs at least 2 "
                               "sub-folders (one per identity) of JPEG/PNG images, or Fashion-MNIST IDX files", dir,
                d->n_classes);
        st = FCL_ERR_INVALID_ARGUMENT;
    }
    return st;
}

fcl_status fcl_dataset_open(const char *dir, const char *split, fcl_dataset *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->source, sizeof out->source, "%s", dir);
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        fcl_log(FCL_LOG_ERROR, "%s: no such directory (for Fashion-MNIST install the Debian package "
                               "dataset-fashion-mnist: /usr/share/datasets/fashion-mnist)", dir);
        return FCL_ERR_IO;
    }
    char images[1100], labels[1100];
    fcl_status st;
    if (idx_path(dir, split, "images-idx3-ubyte", images, sizeof images) &&
        idx_path(dir, split, "labels-idx1-ubyte", labels, sizeof labels))
        st = open_idx(dir, images, labels, out);
    else
        st = open_folders(dir, out);
    if (st != FCL_SUCCESS)
        fcl_dataset_free(out);
    return st;
}

fcl_status fcl_dataset_image(const fcl_dataset *d, int i, const fcl_input_form *form, float *out)
{
    if (d->pixels)
        return fcl_image_to_input(d->pixels + (size_t)i * d->ih * d->iw, d->iw, d->ih, 1, form, out);
    return fcl_image_load(d->paths[i], form, out);
}

int fcl_dataset_find(const fcl_dataset *d, const char *name, int number)
{
    int label = -1;
    for (int k = 0; k < d->n_classes && label < 0; k++)
        if (strcmp(d->class_names[k], name) == 0)
            label = k;
    if (label < 0 || number < 1)
        return -1;
    if (d->class_start) {
        int i = d->class_start[label] + number - 1;
        return i < d->class_start[label + 1] ? i : -1;
    }
    for (int i = 0; i < d->n; i++)
        if (d->labels[i] == label && --number == 0)
            return i;
    return -1;
}

fcl_status fcl_dataset_open_images(const char *dir, fcl_dataset *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->source, sizeof out->source, "%s", dir);
    int cap = 0;
    fcl_status st = add_images(out, &cap, dir, -1);
    if (st == FCL_SUCCESS && out->skipped)
        fcl_log(FCL_LOG_WARN, "%s: %d unreadable files skipped", dir, out->skipped);
    if (st == FCL_SUCCESS && out->n == 0) {
        fcl_log(FCL_LOG_ERROR, "%s: no readable JPEG/PNG images in this folder", dir);
        st = FCL_ERR_INVALID_ARGUMENT;
    }
    if (st != FCL_SUCCESS)
        fcl_dataset_free(out);
    return st;
}

fcl_status fcl_dataset_subset(const fcl_dataset *d, const bool *take, fcl_dataset *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->source, sizeof out->source, "%s", d->source);
    out->n_classes = d->n_classes;
    out->ih = d->ih, out->iw = d->iw;
    int n = 0;
    for (int i = 0; i < d->n; i++)
        n += take[i];
    const size_t plane = (size_t)d->ih * d->iw;
    out->labels = malloc((size_t)(n ? n : 1) * sizeof *out->labels);
    out->class_names = d->n_classes ? malloc((size_t)d->n_classes * sizeof *out->class_names) : NULL;
    out->class_start = d->class_start ? calloc((size_t)d->n_classes + 1, sizeof *out->class_start) : NULL;
    out->pixels = d->pixels ? malloc((n ? n : 1) * plane) : NULL;
    out->paths = d->paths ? calloc((size_t)(n ? n : 1), sizeof *out->paths) : NULL;
    if (!out->labels || (d->n_classes && !out->class_names) || (d->class_start && !out->class_start) ||
        (d->pixels && !out->pixels) || (d->paths && !out->paths)) {
        fcl_dataset_free(out);
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    }
    if (d->n_classes)
        memcpy(out->class_names, d->class_names, (size_t)d->n_classes * sizeof *out->class_names);
    for (int i = 0; i < d->n; i++) {
        if (!take[i])
            continue;
        if (d->paths && !(out->paths[out->n] = strdup(d->paths[i]))) {
            fcl_dataset_free(out);
            return FCL_ERR_OUT_OF_HOST_MEMORY;
        }
        if (d->pixels)
            memcpy(out->pixels + (size_t)out->n * plane, d->pixels + (size_t)i * plane, plane);
        out->labels[out->n++] = d->labels[i];
    }
    /* Folders list their images by identity: the subset keeps that order. */
    for (int i = 0; out->class_start && i < out->n; i++)
        out->class_start[out->labels[i] + 1]++;
    for (int k = 0; out->class_start && k < out->n_classes; k++)
        out->class_start[k + 1] += out->class_start[k];
    return FCL_SUCCESS;
}
