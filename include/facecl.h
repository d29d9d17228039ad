/*
 * facecl — FaceNet-style embedding networks on any OpenCL device.
 *
 * Overview
 *   A runtime (fcl_runtime) owns one OpenCL device: its context, an in-order command
 *   queue and a cache of compiled kernel programs (in memory and on disk). Every
 *   call returns an fcl_status; the library never exits or aborts. Details of a
 *   failure (kernel build logs, file:line of a bad model file) go to the log
 *   callback, which prints to stderr unless the host sets its own.
 *
 * Usage
 *   fcl_runtime *rt;
 *   fcl_status st = fcl_runtime_create(NULL, NULL, &rt);  // FACECL_DEVICE or the default
 *   if (st != FCL_SUCCESS) {
 *       fprintf(stderr, "facecl: %s\n", fcl_status_str(st));
 *       return 1;
 *   }
 *   printf("running on %s\n", fcl_runtime_device(rt)->name);
 *   fcl_runtime_destroy(rt);
 *
 * Device selection ("spec"): an index from `facecl devices`, a type ("gpu", "cpu",
 * "accelerator"), or a case-insensitive substring of the device name. NULL or ""
 * means: the FACECL_DEVICE environment variable if set, else the first GPU, else the
 * first CPU.
 *
 * Embedding images (models, weights and embedders below)
 *   fcl_model *m;
 *   fcl_embedder *e;
 *   float emb[2][128];
 *   const char *faces[2] = {"a.jpg", "b.jpg"};
 *   if (fcl_model_load("models/nn2.model", &m) == FCL_SUCCESS &&
 *       fcl_embedder_create(rt, m, 2, &e) == FCL_SUCCESS &&
 *       fcl_embedder_load_weights(e, "weights.safetensors") == FCL_SUCCESS &&
 *       fcl_embed_files(e, faces, 2, &emb[0][0]) == FCL_SUCCESS)
 *       printf("squared distance %.4f\n", fcl_squared_distance(emb[0], emb[1], 128));
 *   fcl_embedder_destroy(e);  // after use; the model must outlive its embedders
 *   fcl_model_destroy(m);
 * examples/embed_pair.c is the whole program; it builds against the installed
 * library with `pkg-config --cflags --libs facecl`.
 *
 * Training: fcl_train_defaults(), set what differs, fcl_train() on a dataset from
 * fcl_dataset_load(); progress comes to a callback, checkpoints are written to
 * options.out_dir atomically, options.resume continues one bit for bit, and setting
 * *options.stop makes the run checkpoint and return FCL_ERR_INTERRUPTED.
 */
#ifndef FACECL_H
#define FACECL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What libfacecl.so exports: these declarations; everything else stays inside. */
#if defined(__GNUC__) || defined(__clang__)
#define FCL_API __attribute__((visibility("default")))
#else
#define FCL_API
#endif

/* Status codes. OpenCL's own error codes (-1 .. -72, -1001 ...) pass through
 * unchanged, so a failed OpenCL call keeps its meaning; facecl's own start at -2000. */
typedef enum fcl_status {
    FCL_SUCCESS = 0,
    FCL_ERR_NO_PLATFORM = -2000,      /* no OpenCL platform: ICD loader/driver missing */
    FCL_ERR_NO_DEVICE = -2001,        /* platforms exist, but none has a usable device */
    FCL_ERR_DEVICE_NOT_FOUND = -2002, /* the device spec matched nothing */
    FCL_ERR_KERNEL_NOT_FOUND = -2003, /* no kernel source of that name */
    FCL_ERR_BUILD = -2004,            /* an OpenCL program failed to build */
    FCL_ERR_OUT_OF_HOST_MEMORY = -2005,
    FCL_ERR_IO = -2006,               /* a file could not be read or written */
    FCL_ERR_INVALID_ARGUMENT = -2007,
    FCL_ERR_PARSE = -2008,            /* a text file (model, pairs) is malformed */
    FCL_ERR_FORMAT = -2009,           /* a binary file (weights, IDX) is malformed */
    FCL_ERR_SHAPE = -2010,            /* tensor shapes do not fit */
    FCL_ERR_NUMERIC = -2011,          /* NaN or Inf where a number was needed */
    FCL_ERR_UNSUPPORTED = -2012,      /* the device lacks what this needs */
    FCL_ERR_INTERRUPTED = -2013,      /* stopped on request (a signal); progress was saved */
} fcl_status;
#define FCL_ERR_LAST FCL_ERR_INTERRUPTED

/* A readable name for any status, OpenCL codes included ("CL_OUT_OF_RESOURCES"). */
FCL_API const char *fcl_status_str(int status);

/* Logging: the library reports details through one process-wide callback. */
typedef enum fcl_log_level {
    FCL_LOG_DEBUG = 0,
    FCL_LOG_INFO = 1,
    FCL_LOG_WARN = 2,
    FCL_LOG_ERROR = 3,
} fcl_log_level;

typedef void (*fcl_log_fn)(fcl_log_level level, const char *message, void *user);

/* NULL restores the default (stderr, WARN and above). */
FCL_API void fcl_set_log_callback(fcl_log_fn fn, void *user);
/* Messages below this level are dropped before formatting. */
FCL_API void fcl_set_log_level(fcl_log_level level);
FCL_API fcl_log_level fcl_get_log_level(void);
/* A message through the same callback (for hosts that want one stream of messages). */
FCL_API void fcl_log(fcl_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Progress for a person (tuning, evaluation): the library never prints; long
 * operations format a line and hand it to line(text, user). A zero reporter is quiet. */
typedef struct fcl_reporter {
    void (*line)(const char *text, void *user);
    void *user;
} fcl_reporter;
/* Formats a line to r's function; nothing when r or its function is NULL. */
FCL_API void fcl_report(const fcl_reporter *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Devices */
typedef enum fcl_device_type {
    FCL_DEVICE_GPU = 1,
    FCL_DEVICE_CPU = 2,
    FCL_DEVICE_ACCELERATOR = 4,
    FCL_DEVICE_OTHER = 8,
} fcl_device_type;

typedef struct fcl_device_info {
    int index;                 /* position in `facecl devices`, across all platforms */
    char platform[128];
    char platform_version[128];
    char name[128];
    char vendor[128];
    char driver_version[64];
    char opencl_c_version[64];
    fcl_device_type type;
    unsigned compute_units;
    unsigned clock_mhz;
    uint64_t global_mem_bytes;
    uint64_t local_mem_bytes;
    uint64_t max_alloc_bytes;
    size_t max_work_group_size;
    unsigned float_vector_width; /* native: 8 with AVX2, 16 with AVX-512 (PoCL) */
    bool fp16;
    bool fp64;
    bool local_mem_dedicated;  /* CL_LOCAL: on-chip local memory (GPUs but ARM Mali; not CPUs) */
    unsigned subgroup_width;   /* NVIDIA's warp, AMD's wavefront, Intel's widest subgroup; 0: not said */
} fcl_device_info;

FCL_API const char *fcl_device_type_str(fcl_device_type type);

/* Every device of every platform. *out is owned by the caller: free() it. */
FCL_API fcl_status fcl_devices_list(fcl_device_info **out, size_t *count);

/* Picks one device from a list by spec (see the overview); pure, no OpenCL calls. */
FCL_API fcl_status fcl_device_select(const fcl_device_info *devices, size_t count, const char *spec,
                             size_t *chosen);

/* Runtime: one device, its context, queue and program cache. */
typedef struct fcl_runtime fcl_runtime;

typedef enum fcl_disk_cache_mode {
    FCL_DISK_CACHE_AUTO = 0, /* FACECL_DISK_CACHE if set, else the measured default */
    FCL_DISK_CACHE_ON = 1,
    FCL_DISK_CACHE_OFF = 2,
} fcl_disk_cache_mode;

typedef struct fcl_runtime_options {
    bool profiling;                 /* queue with CL_QUEUE_PROFILING_ENABLE */
    fcl_disk_cache_mode disk_cache;
    const char *cache_dir;          /* NULL: FACECL_CACHE_DIR, $XDG_CACHE_HOME/facecl, ~/.cache/facecl */
    const char *kernel_dir;         /* NULL: FACECL_KERNEL_DIR, else the embedded sources */
} fcl_runtime_options;

FCL_API fcl_status fcl_runtime_create(const char *device_spec, const fcl_runtime_options *options,
                              fcl_runtime **out);
FCL_API void fcl_runtime_destroy(fcl_runtime *rt);
FCL_API const fcl_device_info *fcl_runtime_device(const fcl_runtime *rt);
/* Blocks until every command enqueued so far has finished. */
FCL_API fcl_status fcl_runtime_finish(fcl_runtime *rt);

/* Builds (or fetches from the caches) every embedded kernel file; used by
 * `facecl devices --build` and the start-up benchmark. */
FCL_API fcl_status fcl_runtime_build_all(fcl_runtime *rt);

/* `facecl devices --check`: builds every kernel file (*build_ms: how long that took),
 * then runs a kernel over 1000 floats, not a multiple of any work-group size, and reads
 * them back; *wrong counts the values that came back wrong (0 on a sound device). */
FCL_API fcl_status fcl_runtime_self_test(fcl_runtime *rt, double *build_ms, int *wrong);

/* Names of the embedded kernel files ("conv.cl", ...), NULL-terminated. */
FCL_API const char *const *fcl_kernel_files(void);

FCL_API const char *fcl_version(void);

/* ---- Models: a network from a model file (README: the format) ---- */
typedef struct fcl_model fcl_model;

/* Parses a model file; an error names the file and line (through the log callback). */
FCL_API fcl_status fcl_model_load(const char *path, fcl_model **out);
/* The same from text; source names it in messages. */
FCL_API fcl_status fcl_model_parse(const char *text, const char *source, fcl_model **out);
FCL_API void fcl_model_destroy(fcl_model *model);

typedef struct fcl_model_summary {
    const char *name;
    const char *source; /* the file it was read from (or fcl_model_parse's source) */
    int input_channels, input_height, input_width;
    int embedding_size;  /* floats per image out of the network */
    size_t parameters;   /* trainable */
    uint64_t multiply_adds; /* per image: the paper's "FLOPS" */
    int layers;          /* nodes of the graph, the input included */
} fcl_model_summary;
FCL_API fcl_model_summary fcl_model_describe(const fcl_model *model);

/* One node of the graph (index 0 is the input), as `facecl info` lists it. */
#define FCL_LAYER_MAX_INPUTS 8
typedef struct fcl_layer_info {
    const char *name, *type;      /* "conv", "maxpool", "concat", ... (README: the ops) */
    int in_c, in_h, in_w;         /* of its first input */
    int out_c, out_h, out_w;
    int kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w; /* windowed ops; 0 otherwise */
    int groups, bias, relu;       /* conv: groups and whether it has a bias; relu after */
    int maxout_group, lrn_size;
    int ceil_mode;                /* pools: output size rounded up (PyTorch's ceil_mode) */
    float scale;                  /* add: on the last input */
    float alpha, beta, k, eps;    /* lrn, prelu's start, batchnorm's eps */
    float rate;                   /* dropout: the fraction dropped in training */
    float pixel_mean, pixel_std;  /* input: the model takes (pixel - mean) / std of 0..255 pixels */
    size_t parameters;            /* trainable */
    uint64_t multiply_adds;       /* per image */
    int n_inputs;
    int inputs[FCL_LAYER_MAX_INPUTS]; /* node indices, each smaller than this one's */
} fcl_layer_info;
/* Node `index` of 0 .. fcl_model_describe().layers - 1. */
FCL_API fcl_status fcl_model_layer(const fcl_model *model, int index, fcl_layer_info *out);
/* The model as a model file in its explicit form (every key, every in=, inception
 * modules as their branches); it parses to the same network. *text: free() it. */
FCL_API fcl_status fcl_model_format(const fcl_model *model, char **text);
/* A copy of model planned for a height x width input (a fully convolutional network,
 * as MTCNN's P-Net over an image pyramid): FCL_ERR_SHAPE, logged, when a layer's
 * parameters depend on the input size (an fc over a map) or a window no longer fits. */
FCL_API fcl_status fcl_model_for_input(const fcl_model *model, int height, int width, fcl_model **out);
/* Activation memory of inference at `batch`: as planned (buffers shared by lifetime)
 * and as if every activation had its own, in bytes. */
FCL_API fcl_status fcl_model_plan_memory(const fcl_model *model, int batch, size_t *planned_bytes,
                                         size_t *unshared_bytes);

/* An image file decoded and prepared as model's input (C x H x W floats, as
 * fcl_embed_files does); an error names the file and the reason. */
FCL_API fcl_status fcl_image_file_to_input(const fcl_model *model, const char *path, float *input);

/* ---- Embedding: a model planned on a device for inference, with its weights ---- */
typedef struct fcl_embedder fcl_embedder;

/* Plans model on rt for up to max_batch images at a time. Without loaded (or seeded)
 * weights, the first pass seeds them as fcl_embedder_init_random(e, 1) does. */
FCL_API fcl_status fcl_embedder_create(fcl_runtime *rt, const fcl_model *model, int max_batch, fcl_embedder **out);
FCL_API void fcl_embedder_destroy(fcl_embedder *e);
/* Weights from a safetensors file written by `facecl train` (or a converter): the
 * whole header is checked against the model before anything is read. */
FCL_API fcl_status fcl_embedder_load_weights(fcl_embedder *e, const char *path);
/* The verification threshold `facecl eval` stored in a weights file: *found false
 * when it holds none. */
FCL_API fcl_status fcl_weights_threshold(const char *path, bool *found, double *threshold);

/* n (<= max_batch) inputs as the network takes them, n x C x H x W floats (the shipped
 * models: pixels / 255), to n x embedding_size floats. */
FCL_API fcl_status fcl_embed(fcl_embedder *e, const float *input, int n, float *embeddings);

/* An 8-bit image, rows of width x channels interleaved bytes (1 grey, 3 RGB), stride
 * bytes apart (0: tightly packed). */
typedef struct fcl_image {
    const uint8_t *pixels;
    int width, height, channels;
    size_t stride;
} fcl_image;
/* An image converted to model's channels, resized to its input and scaled as `facecl
 * embed` does: C x H x W floats into input. */
FCL_API fcl_status fcl_image_to_model_input(const fcl_model *model, const fcl_image *image, float *input);
/* Images of any size: converted to the model's channels, resized to its input and
 * scaled as `facecl embed` does, then embedded. */
FCL_API fcl_status fcl_embed_images(fcl_embedder *e, const fcl_image *images, int n, float *embeddings);
/* Image files (JPEG, PNG, BMP, PGM ...), decoded, then as fcl_embed_images. A file that
 * cannot be read is named in the log and fails the call. */
FCL_API fcl_status fcl_embed_files(fcl_embedder *e, const char *const *paths, int n, float *embeddings);
/* ||a - b||^2: what verification thresholds (0 to 4 for unit embeddings). */
FCL_API double fcl_squared_distance(const float *a, const float *b, int dim);
/* Replaces the weights with seeded random ones (as training starts). */
FCL_API fcl_status fcl_embedder_init_random(fcl_embedder *e, uint64_t seed);
/* After fcl_embed of input (n images) gave values that are not finite: runs the batch
 * again layer by layer; *layer and *type name the first layer whose output holds NaN
 * or Inf ("input" when the input itself does), NULL when this run is finite. */
FCL_API fcl_status fcl_embedder_nonfinite_layer(fcl_embedder *e, const float *input, int n, const char **layer,
                                                const char **type);
/* Multiply-adds the device's matrix products have run for e so far (counted where
 * they are launched: what the paper's FLOPS become on this device). */
FCL_API uint64_t fcl_embedder_device_macs(const fcl_embedder *e);

/* ---- Images and faces in them: MTCNN detection (README: detect) ---- */
/* path decoded to 8-bit pixels of `channels` (1 grey, 3 RGB): image->pixels is the
 * caller's, released with fcl_image_release; errors name the file. */
FCL_API fcl_status fcl_image_read(const char *path, int channels, fcl_image *image);
FCL_API void fcl_image_release(fcl_image *image);
/* image (grey or RGB) as a PNG file, written atomically; errors name the file. */
FCL_API fcl_status fcl_image_write_png(const char *path, const fcl_image *image);

typedef struct fcl_detect_options {
    int min_face;         /* smallest face looked for, in pixels (20) */
    double factor;        /* the image pyramid's step (0.709) */
    float thresholds[3];  /* face probability P-Net, R-Net and O-Net must give (0.6, 0.7, 0.7) */
} fcl_detect_options;
/* MTCNN's (and facenet-pytorch's) defaults. */
FCL_API fcl_detect_options fcl_detect_defaults(void);

typedef struct fcl_face {
    float box[4];          /* x1, y1, x2, y2 in the image's pixels */
    float probability;     /* O-Net's */
    float landmarks[5][2]; /* x, y of the left eye, right eye, nose, left and right mouth corners */
} fcl_face;

typedef struct fcl_detector fcl_detector;
/* MTCNN on rt: models_dir holds mtcnn-pnet.model, mtcnn-rnet.model and mtcnn-onet.model
 * (the project's models/), weights_dir their .safetensors (tools/mtcnn_convert.py, which
 * copies the model files there too: one folder may be both). */
FCL_API fcl_status fcl_detector_create(fcl_runtime *rt, const char *models_dir, const char *weights_dir,
                                       fcl_detector **out);
FCL_API void fcl_detector_destroy(fcl_detector *d);
/* The faces in image (grey or RGB), most probable first, as facenet-pytorch's
 * MTCNN.detect finds them; *faces (NULL when none) is the caller's to free(). o NULL:
 * the defaults. */
FCL_API fcl_status fcl_detect(fcl_detector *d, const fcl_image *image, const fcl_detect_options *o,
                              fcl_face **faces, int *n_faces);
/* The size x size crop of face that facenet-pytorch's extract_face makes (its box widened
 * by margin pixels of the output, clipped to the image, resized as Pillow's bilinear
 * filter does), image's channels per pixel, into out. */
FCL_API fcl_status fcl_face_crop(const fcl_image *image, const fcl_face *face, int size, int margin, uint8_t *out);
/* The face aligned instead: rotated and scaled so its five landmarks land, in least
 * squares, on the canonical 112x112 five-point template (insightface's, scaled to size),
 * size x size with image's channels into out; FCL_ERR_NUMERIC for non-finite landmarks. */
FCL_API fcl_status fcl_face_align(const fcl_image *image, const fcl_face *face, int size, uint8_t *out);

/* ---- Data sets ---- */
typedef struct fcl_dataset fcl_dataset;
/* dir holds IDX files (<split>-images-idx3-ubyte[.gz] and -labels-; split "train" or
 * "t10k": Fashion-MNIST) or one sub-folder of images per identity (split ignored). */
FCL_API fcl_status fcl_dataset_load(const char *dir, const char *split, fcl_dataset **out);
FCL_API void fcl_dataset_destroy(fcl_dataset *d);
FCL_API int fcl_dataset_images(const fcl_dataset *d);
FCL_API int fcl_dataset_identities(const fcl_dataset *d);
/* Holds out every `every`-th image of each identity (its every-th, 2 every-th, ...
 * image in the set's order), for a validation split that never trains: *held_out gets
 * those, *kept the rest; both keep every identity. every >= 2; a set without
 * identities is refused. */
FCL_API fcl_status fcl_dataset_split(const fcl_dataset *d, int every, fcl_dataset **kept, fcl_dataset **held_out);
/* A folder of images without identities (every label -1), for clustering. */
FCL_API fcl_status fcl_dataset_load_images(const char *dir, fcl_dataset **out);
/* The directory it was loaded from. */
FCL_API const char *fcl_dataset_source(const fcl_dataset *d);
/* Image i's file, or NULL for an IDX set (its images have no files). */
FCL_API const char *fcl_dataset_image_path(const fcl_dataset *d, int i);
/* Image i's identity in 0 .. identities - 1 (-1: none), and an identity's name. */
FCL_API int fcl_dataset_label(const fcl_dataset *d, int i);
FCL_API const char *fcl_dataset_identity_name(const fcl_dataset *d, int identity);
/* Files left out as unreadable when the folder was scanned. */
FCL_API int fcl_dataset_skipped(const fcl_dataset *d);
/* --detect for a folder data set: each image replaced by its most probable face (as
 * fcl_detect finds it), cropped by fcl_face_crop (align: fcl_face_align) at size x size
 * into crop_dir
 * (<identity>/<file name>.png; a crop newer than its image is reused, not remade).
 * Images without a face are named in the log and left out (counted by
 * fcl_dataset_skipped), and so are identities left without images; the data set then
 * reads the crops (fcl_dataset_image_path names them). IDX sets are refused. */
FCL_API fcl_status fcl_dataset_detect_faces(fcl_dataset *d, fcl_detector *detector, int size, int margin,
                                            bool align, const char *crop_dir, const fcl_reporter *report);
/* Image i prepared as model's input (C x H x W floats). */
FCL_API fcl_status fcl_dataset_input(const fcl_dataset *d, int i, const fcl_model *model, float *input);
/* Embeds images idx[0..n) of d (idx NULL: the first n) in batches of the embedder's
 * max_batch into out (n x embedding_size), reporting progress on long sets. */
FCL_API fcl_status fcl_embed_dataset(fcl_embedder *e, const fcl_dataset *d, const int *idx, int n, float *out,
                                     const fcl_reporter *report);

/* ---- Evaluation (README: the protocols) ---- */
/* The weights-file metadata key where `facecl eval` stores its 10-fold threshold. */
#define FCL_META_THRESHOLD "facecl.threshold"

typedef struct fcl_eval_options {
    const char *pairs_path; /* NULL: generate (and write to out_dir/pairs.txt) */
    const char *out_dir;    /* pairs.txt (NULL: nothing written) */
    int far_images;         /* all pairs among the first N test images give VAL at FAR */
    double far;             /* target false accept rate (1e-3) */
    int gallery_images;     /* gallery for identification (from the gallery set, or the test set) */
    fcl_reporter report;    /* progress lines (zero: quiet) */
} fcl_eval_options;
FCL_API fcl_eval_options fcl_eval_defaults(void);

typedef struct fcl_roc_point {
    double fpr, tpr, threshold;
} fcl_roc_point;

typedef struct fcl_eval_result {
    int folds, pairs;
    double accuracy, accuracy_std, threshold;  /* k-fold verification */
    double val, far, val_threshold;            /* at the target FAR */
    long same_pairs, diff_pairs;               /* of the VAL/ROC pair set */
    double auc, eer;
    double rank1, ncm;                         /* identification */
    int queries, gallery;
    int far_images;                            /* images the VAL/ROC pairs are drawn among */
    double embed_seconds, images_per_second;
    fcl_roc_point *roc;                        /* the ROC curve: roc_points points (fcl_eval_result_free) */
    int roc_points;
} fcl_eval_result;

/* test: pairs and queries; gallery: identification gallery (NULL: leave-one-out on
 * test). e's max_batch is the batch it embeds in. */
FCL_API fcl_status fcl_evaluate(fcl_embedder *e, const fcl_dataset *test, const fcl_dataset *gallery,
                                const fcl_eval_options *o, fcl_eval_result *r);
FCL_API void fcl_eval_result_free(fcl_eval_result *r);
/* results.json at json_path (model and weights named in it), and, with weights, the
 * 10-fold threshold in the weights file's metadata (FCL_META_THRESHOLD) for verify
 * and cluster. */
FCL_API fcl_status fcl_eval_save(const fcl_eval_result *r, const fcl_eval_options *o, const char *model,
                                 const char *weights, const char *json_path);
/* A text entry in a safetensors file's metadata, the file rewritten atomically. */
FCL_API fcl_status fcl_weights_set_meta(const char *path, const char *key, const char *value);

/* ---- Clustering (FaceNet section 1) ---- */
/* The largest set fcl_cluster accepts: its distance matrix is n x n floats. */
#define FCL_CLUSTER_MAX 12000
/* Average-linkage agglomerative clustering of n embeddings on squared L2 distances,
 * cut at threshold: cluster[i] in [0, *n_clusters), numbered by first item. */
FCL_API fcl_status fcl_cluster(const float *emb, int n, int dim, double threshold, int *cluster, int *n_clusters);
typedef struct fcl_cluster_quality {
    double precision, recall, f1; /* over pairs: "same cluster" predicting "same label" */
    double purity;                /* items in their cluster's most common label */
    double nmi;                   /* mutual information / mean of the two entropies */
    double ari;                   /* Rand index adjusted for chance (Hubert and Arabie) */
} fcl_cluster_quality;
/* Quality of cluster[] against label[] (both n entries, any non-negative ids). */
FCL_API fcl_status fcl_cluster_quality_of(const int *cluster, const int *label, int n, fcl_cluster_quality *q);

/* ---- Training ---- */
typedef enum fcl_mining { /* triplet mining, per anchor (README: what each does) */
    FCL_MINING_SEMI_HARD = 0, /* the paper's */
    FCL_MINING_BATCH_HARD = 1,
    FCL_MINING_BATCH_ALL = 2,
    FCL_MINING_COUNT
} fcl_mining;
FCL_API const char *fcl_mining_name(fcl_mining mining);
FCL_API fcl_status fcl_mining_parse(const char *name, fcl_mining *out);

typedef enum fcl_optimizer_kind {
    FCL_OPT_SGD = 0,     /* with momentum */
    FCL_OPT_ADAGRAD = 1, /* the FaceNet paper's */
    FCL_OPT_ADAM = 2,
    FCL_OPT_COUNT
} fcl_optimizer_kind;

typedef struct fcl_optim_config {
    fcl_optimizer_kind kind;
    float lr;           /* base learning rate */
    float momentum;     /* SGD */
    float beta1, beta2; /* Adam */
    float eps;          /* AdaGrad, Adam */
    float weight_decay; /* L2, added to the gradient */
} fcl_optim_config;
/* Defaults: SGD lr 0.01 momentum 0.9; AdaGrad lr 0.05 (the paper's) eps 1e-10;
 * Adam lr 1e-3 betas 0.9/0.999 eps 1e-8; no weight decay. */
FCL_API fcl_optim_config fcl_optim_defaults(fcl_optimizer_kind kind);
FCL_API const char *fcl_optimizer_name(fcl_optimizer_kind kind);
FCL_API fcl_status fcl_optimizer_parse(const char *name, fcl_optimizer_kind *out);

/* Learning-rate schedules: warm-up (linear from 0 over `warmup` steps), then constant,
 * step decay (times gamma every `step_every` steps) or cosine to min_lr at `total`. */
typedef enum fcl_schedule_kind { FCL_SCHEDULE_CONSTANT, FCL_SCHEDULE_STEP, FCL_SCHEDULE_COSINE } fcl_schedule_kind;
typedef struct fcl_schedule {
    fcl_schedule_kind kind;
    double base_lr, min_lr, gamma;
    long warmup, step_every, total;
} fcl_schedule;

/* What a training run reports now and then (and at its first and last step). */
typedef struct fcl_train_progress {
    long step, steps;       /* steps done, of */
    double loss;            /* this step's */
    double active_fraction; /* of the loss's triplets with loss > 0 (softmax: misclassified images) */
    const char *active;     /* what active_fraction counts: "active", "wrong" */
    double lr, images_per_second, eta_seconds;
    bool last;              /* the run's last report: done, or stopped */
} fcl_train_progress;
typedef void (*fcl_train_progress_fn)(const fcl_train_progress *progress, void *user);

typedef enum fcl_on_numeric { FCL_ON_NUMERIC_STOP, FCL_ON_NUMERIC_SKIP } fcl_on_numeric;

typedef struct fcl_train_options {
    int P, K;              /* identities per batch, images per identity */
    long steps;
    const char *loss;      /* a loss's name (`facecl train --help` lists them); NULL: "triplet" */
    fcl_mining mining;
    float alpha;           /* triplet margin */
    float softmax_weight;  /* > 0: the triplet loss plus this x joint_loss over a head */
    const char *joint_loss; /* that head loss (softmax, normface, cosface, arcface, ...); NULL: "softmax" */
    float scale;           /* margin losses: s; <= 0: the loss's default (fcl_loss_info) */
    float class_margin;    /* margin losses: m; < 0: the loss's default */
    bool easy_margin;      /* ArcFace: no margin where cos theta_y <= 0 */
    float pos_margin, neg_margin; /* contrastive: same pairs pulled within, different pushed beyond (L2) */
    /* L-Softmax and SphereFace: lambda = max(min, base (1 + gamma step)^-power); the
     * integer margin m is class_margin (< 0: 4) */
    float lambda_base, lambda_gamma, lambda_power, lambda_min;
    float center_weight, center_rate; /* centre loss: lambda (0.003) and the centres' rate alpha (0.5) */
    fcl_optim_config optim;
    fcl_schedule schedule; /* base_lr is optim.lr; total is steps */
    uint64_t seed;         /* initial weights, sampling, augmentation */
    const char *init;      /* NULL, or weights to start from (e.g. a softmax pre-training) */
    int crop_pad;
    bool flip;
    long checkpoint_every; /* steps; a checkpoint is also written at the end */
    const char *out_dir;   /* checkpoint.safetensors, weights.safetensors, train.csv */
    bool resume;           /* continue from out_dir/checkpoint.safetensors */
    bool force;            /* start over where out_dir already holds a run (else: an error) */
    fcl_on_numeric on_numeric;
    fcl_train_progress_fn progress; /* NULL: no reports */
    void *progress_user;
    double progress_seconds; /* between reports (15) */
    long stop_at;          /* > 0: pause after this step with a checkpoint (FCL_ERR_INTERRUPTED, no warning:
                            * the caller asked); a run resumed at or past it pauses at once */
    bool profile;          /* time every kernel (a runtime with profiling): summary.profile */
    volatile sig_atomic_t *stop; /* when *stop becomes non-zero: checkpoint, return FCL_ERR_INTERRUPTED */
    /* Data parallel: devices beyond the runtime fcl_train is given, each training a
     * replica of the network on its share of the P x K batch; and when this process is
     * one of several MPI ranks (mpirun, fcl_distributed_rank), every rank's replicas
     * share it too. The loss is the whole batch's and the weights are the same as on
     * one device, to float rounding. Losses on the embedding alone (triplet,
     * contrastive), models without batch normalisation; rank 0 writes the files. */
    fcl_runtime *const *more_devices;
    int n_more_devices;
} fcl_train_options;

/* The losses fcl_train_options.loss may name. */
typedef struct fcl_loss_info {
    const char *name;
    const char *summary;  /* one line: what it is, and where its defaults come from */
    bool head;            /* trains a classifier head over the identities beside the embedding */
    const char *options;  /* the `facecl train` options it takes beyond --loss ("scale class-margin") */
    float scale, margin;  /* its defaults for --scale and --class-margin, where it takes them */
} fcl_loss_info;
/* Loss i into *out; false past the last. */
FCL_API bool fcl_loss_at(int i, fcl_loss_info *out);
/* Whether the loss of that name takes `facecl train --option` (one of its options). */
FCL_API bool fcl_loss_takes(const char *loss, const char *option);

/* Defaults: P 10, K 8, triplet loss, semi-hard, alpha 0.2, AdaGrad, cosine, checkpoint every 100. */
FCL_API fcl_train_options fcl_train_defaults(void);

typedef struct fcl_train_summary {
    long first_step, steps_done; /* this run began at first_step and ended at steps_done */
    double last_loss, mean_loss_last; /* last step's loss; mean over the last 10% of steps */
    double seconds, images_per_second;
    double steady_images_per_second; /* from this run's second step on: no start-up costs */
    uint64_t gemm_macs;               /* multiply-adds the device ran in this run's steps */
    long skipped_batches; /* not finite, under FCL_ON_NUMERIC_SKIP */
    int unreadable_images;
    char *profile; /* with options.profile: device time per kernel and per layer, a table (free() it) */
    /* Data parallel: the replicas over all ranks, and this rank's seconds (summed over
     * its steps) in the devices' work (forward, backward, update), gathering the
     * embeddings, the loss (with sending its gradient) and summing the gradients. */
    int replicas;
    double compute_seconds, gather_seconds, loss_seconds, reduce_seconds;
    double reduce_bytes; /* gradient bytes each rank puts into the sum per step */
    double statistics_seconds; /* of compute: sharing batch-norm statistics (waiting for the others included) */
} fcl_train_summary;

/* This process's place among the MPI ranks mpirun started (MPI is initialised here on
 * first use, finalised at exit); rank 0 of 1 when started on its own. A facecl built
 * without MPI that mpirun starts fails with FCL_ERR_UNSUPPORTED, saying how to get it. */
FCL_API fcl_status fcl_distributed_rank(int *rank, int *size);
/* Whether this facecl was built with MPI (Open MPI's libopenmpi-dev present). */
FCL_API bool fcl_distributed_built(void);

/* Trains model's embedding on data; out_dir gets the checkpoint, the final weights and
 * train.csv. A NaN loss stops the run with FCL_ERR_NUMERIC, the last checkpoint intact. */
FCL_API fcl_status fcl_train(fcl_runtime *rt, const fcl_model *model, const fcl_dataset *data,
                     const fcl_train_options *options, fcl_train_summary *out);

/* What a training run writes in options.out_dir: its final weights, the checkpoint
 * options.resume continues from, and its log. */
#define FCL_WEIGHTS_FILE "weights.safetensors"
#define FCL_CHECKPOINT_FILE "checkpoint.safetensors"
#define FCL_TRAIN_LOG_FILE "train.csv" /* a row per logged step */

/* ---- GEMM tuning: the matrix products every layer runs, per device ---- */
/* The tuning file of rt's device (in the cache directory); false when there is no
 * cache directory (no FACECL_CACHE_DIR, XDG_CACHE_HOME or HOME). */
FCL_API bool fcl_tune_file(const fcl_runtime *rt, char *path, size_t size);
/* On a model's first use on a device: tunes the product shapes of model at batch
 * (training: forward and backward) the tuning file lacks, within `seconds` (<= 0 does
 * nothing, as does FACECL_GEMM_CONFIG), and saves the file. */
FCL_API fcl_status fcl_tune_first_use(fcl_runtime *rt, const fcl_model *model, int batch, bool training,
                                      double seconds, const fcl_reporter *report);
/* One class of product shapes and what tuning did for it. */
typedef struct fcl_tune_row {
    char name[64];         /* the class */
    char shape[64];        /* the timed shape, "MxNxK x count" */
    char before[96], after[96]; /* the configurations */
    double before_gflops, after_gflops; /* 0: not measured */
    int tried, rejected;
    bool complete;         /* every stage ran within the time budget */
} fcl_tune_row;
typedef struct fcl_tune_options {
    int batch;
    bool training;
    double seconds;        /* the whole budget */
    fcl_reporter report;
} fcl_tune_options;
/* Tunes every class the models' products use and writes the tuning file (entries of
 * other classes stay). rows gets up to max_rows classes, *n_rows of them. */
FCL_API fcl_status fcl_tune(fcl_runtime *rt, const fcl_model *const *models, int n_models, const fcl_tune_options *o,
                            fcl_tune_row *rows, int max_rows, int *n_rows);
/* facecl's GEMM on an n x n x n product on rt: GFLOP/s, best of 5 after a warm-up (on
 * PoCL single products vary by 1.5x from run to run, so the best is the ceiling). */
FCL_API fcl_status fcl_gemm_benchmark(fcl_runtime *rt, int n, double *gflops);

/* ---- Model exchange: ONNX (README: "ONNX", with the op table) ---- */
/* model with the weights file's parameters (weights NULL: seeded random ones, as
 * training starts, for measuring the architecture) as an ONNX file (opset 13) at
 * out_path, atomically: input "pixels" (0..255, N x C x H x W, the model's pixel
 * transform inside), output "embedding", the batch dimension dynamic; the model's
 * name and the weights' stored threshold in metadata_props. */
FCL_API fcl_status fcl_onnx_export(const fcl_model *model, const char *weights, uint64_t seed, const char *out_path);

/* What fcl_onnx_import needs beyond the file. */
typedef struct fcl_onnx_import_options {
    const char *name; /* the model's name; NULL: the one facecl's export stored, the graph's, the file's */
    /* The ONNX graph's input is (pixel - pixel_mean) / pixel_std of 0..255 pixels (0 and
     * 1: it takes the pixels themselves); a leading Sub/Div/Mul by constants in the graph
     * composes with it into the model file's input transform. */
    float pixel_mean, pixel_std;
} fcl_onnx_import_options;
/* An ONNX file (standard ops: README "ONNX") as a model file and a safetensors weights
 * file, both written atomically; an op or pattern facecl cannot run is an error naming
 * the node and its op type. Several graph outputs become one, their channels side by
 * side in the graph's order (the model file's header says which are which). options
 * NULL: the defaults (pixels as given). */
FCL_API fcl_status fcl_onnx_import(const char *onnx_path, const fcl_onnx_import_options *options,
                                   const char *model_path, const char *weights_path);

/* ---- Files, as the library writes its own ---- */
/* A whole file; *data is NUL-terminated and the caller's to free(). */
FCL_API fcl_status fcl_read_file(const char *path, char **data, size_t *length);
/* To "<path>.tmp.<pid>", flushed, then renamed over path: readers see the old file or
 * the new one, never a partial one (a device such as /dev/stdout is written in place). */
FCL_API fcl_status fcl_write_file_atomic(const char *path, const void *data, size_t length);
/* mkdir -p; succeeds when the directory exists already. */
FCL_API fcl_status fcl_mkdir_p(const char *path);
/* A growing string: a failed allocation sticks, and fcl_strbuf_status reports it once
 * the text is complete; free(text) after. */
typedef struct fcl_strbuf {
    char *text;
    size_t len, cap;
    bool failed;
} fcl_strbuf;
FCL_API void fcl_strbuf_printf(fcl_strbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
FCL_API fcl_status fcl_strbuf_status(const fcl_strbuf *b);

#ifdef __cplusplus
}
#endif
#endif
