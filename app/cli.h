/* The `facecl` command: one file per subcommand, registered in main.c's table. */
#ifndef FCL_CLI_H
#define FCL_CLI_H
#include "facecl.h"

#include <stdio.h>

/* Each subcommand gets argv with argv[0] = its own name; returns the exit status. */
int cmd_devices(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_cluster(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_tune(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_detect(int argc, char **argv);

/* Prints the device table (or JSON) to f. */
void cli_print_devices(FILE *f, const fcl_device_info *devices, size_t count, bool json);

/* Opens a runtime on the device the user asked for; on failure prints why (and the
 * list of devices when the selection matched nothing) and returns NULL. */
fcl_runtime *cli_open_runtime(const char *device_spec, const fcl_runtime_options *options);

/* Prints "facecl: <what>: <status>" to stderr and returns 1, for `return cli_fail(...)`. */
int cli_fail(const char *what, int status);
/* Option values, range-checked; on a bad one print what was wanted and return false. */
bool cli_long(const char *option, const char *text, long min, long max, long *out);
bool cli_double(const char *option, const char *text, double min, double max, double *out);

/* The first-use GEMM tuning budget of train and demo: FACECL_TUNE_SECONDS if it is a
 * number >= 0 (a bad value warns), else 60. */
double cli_tune_seconds(void);

/* Training's progress lines on stdout: user points to an int, 1 for a line a report
 * or 2 for one live line rewritten in place (a terminal). cli_train_progress_mode says
 * which suits stdout (0 with quiet); cli_train_progress_set puts the printer into o. */
void cli_train_progress(const fcl_train_progress *p, void *user);
/* Whether an output path names one of the inputs (the same file, through any link):
 * then says so on stderr, naming the option; the caller exits 2 before anything is
 * written. */
bool cli_output_is_input(const char *who, const char *option, const char *out, const char *const *inputs,
                         int n_inputs);
/* A warning when model's output is no l2norm layer: its embeddings are not unit
 * vectors, so squared distances are not in 0..4 and thresholds mean little. */
void cli_warn_unnormalised(const fcl_model *m, const char *who);
/* After embedder's pass of the images x named names[0..n) gave embeddings e: false
 * when one is not finite, saying which image and the layer whose output first held
 * NaN or Inf. The zero vector out of an l2norm model (all-zero weights, or a black
 * image through untrained ones) is said too, and false only when zero_is_error. */
bool cli_embeddings_sound(fcl_embedder *embedder, const fcl_model *m, const float *x, const float *e, int n,
                          const char *const *names, bool zero_is_error);
/* The model's last node: the embedding. */
fcl_layer_info cli_output_layer(const fcl_model *m);
/* text as one CSV field (RFC 4180): quoted, with quotes doubled, when it holds a comma,
 * a quote or a line break. */
void cli_csv_field(fcl_strbuf *b, const char *text);
/* The library's progress lines (fcl_reporter) on stdout. */
fcl_reporter cli_reporter(void);
int cli_train_progress_mode(bool quiet);
void cli_train_progress_set(fcl_train_options *o, int *mode);

/* Model files shipped with facecl, relative to the source directory. */
#define CLI_MODEL_DIR "models"
/* A name becomes models/<name>.model, a path (with '/' or ending in .model) stays; false
 * (having listed models/ as `facecl <who>`) when the file cannot be read. */
bool cli_resolve_model(const char *who, const char *name, char *out, size_t size);

/* Where Debian's dataset-fashion-mnist puts the IDX files. */
#define CLI_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"
/* Fashion-MNIST's train and t10k splits from dir; false (both freed, having said how
 * to get the data, as `facecl <who>`) when either is missing. */
bool cli_open_fashion_mnist(const char *who, const char *dir, fcl_dataset **train, fcl_dataset **test);

/* A model with trained weights on a device, ready for inference. */
typedef struct cli_net {
    fcl_model *model;
    fcl_runtime *rt;
    fcl_embedder *embedder;
} cli_net;
/* 0, or the exit status after saying what failed; cli_net_close in both cases. */
int cli_net_open(cli_net *s, const char *model_path, const char *weights, const char *device, int batch);
void cli_net_close(cli_net *s);
/* name in file's directory (results beside the weights), written to out. */
const char *cli_path_beside(const char *file, const char *name, char *out, size_t size);
/* The verification threshold (a squared distance): given when >= 0, else the one
 * `facecl eval` stored in the weights file; false (having said why) without one. */
bool cli_threshold(const char *weights, double given, double *out);
#endif
