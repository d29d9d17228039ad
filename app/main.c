/* facecl — entry point and subcommand table. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"demo", cmd_demo, "the main job: train a small model on Fashion-MNIST, evaluate, print the table"},
    {"train", cmd_train, "train a model with the triplet loss (checkpoints, --resume)"},
    {"eval", cmd_eval, "verification (10-fold, VAL at FAR, ROC) and identification accuracy"},
    {"verify", cmd_verify, "are two images the same identity? (distance and the stored threshold)"},
    {"cluster", cmd_cluster, "group a folder's images by identity (quality measures when labels are known)"},
    {"bench", cmd_bench, "benchmarks on this device: flops-accuracy (FaceNet's Figure 4)"},
    {"tune", cmd_tune, "tune the GEMM kernels for this device on a model's shapes (stored per device)"},
    {"devices", cmd_devices, "list OpenCL devices (--json, --check builds and runs the kernels)"},
    {"info", cmd_info, "per-layer table of a model: sizes, params, multiply-adds (--json, --memory)"},
    {"detect", cmd_detect, "find faces, their boxes and landmarks (MTCNN; CSV, JSON, PNG overlays, crops)"},
    {"embed", cmd_embed, "L2-normalised embeddings of images (CSV, .npy)"},
    {"export", cmd_export, "write a model and its weights as ONNX (onnxruntime, OpenVINO, ...)"},
    {"import", cmd_import, "read an ONNX network as a facecl model and weights"},
    {"version", cmd_version, "print the facecl version"},
    {"help", cmd_help, "show this help"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: facecl <command> [options]\n\n"
               "FaceNet-style embedding networks on any OpenCL device.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n`facecl <command> --help` shows a command's options.\n"
               "environment: FACECL_DEVICE (device index, gpu/cpu, or name substring),\n"
               "  FACECL_CACHE_DIR, FACECL_DISK_CACHE=0|1, FACECL_KERNEL_DIR (kernel sources for development),\n"
               "  FACECL_LOG=debug|info|warn|error, FACECL_TUNE_SECONDS (first-use GEMM tuning budget),\n"
               "  for measuring: FACECL_GEMM_CONFIG (one GEMM configuration, or clblast, everywhere),\n"
               "  FACECL_CONV=im2col|implicit|winograd (k x k convolutions forward)\n");
}

static int cmd_version(int argc, char **argv)
{
    (void)argc, (void)argv;
    printf("facecl %s\n", fcl_version());
    return 0;
}

static int cmd_help(int argc, char **argv)
{
    (void)argc, (void)argv;
    usage(stdout);
    return 0;
}

/* Errors the library has logged: after one, it has named the file and the reason, and
 * a failing command adds nothing (#20, item 14); without one, the status is all there is. */
static int errors_logged;

static void cli_log(fcl_log_level level, const char *message, void *user)
{
    (void)user;
    static const char *const prefix[] = {"debug", "info", "warning", "error"};
    if (level == FCL_LOG_ERROR)
        errors_logged++;
    fprintf(stderr, "facecl: %s: %s\n", prefix[level], message);
}

int cli_fail(const char *what, int status)
{
    if (errors_logged == 0)
        fprintf(stderr, "facecl: %s: %s\n", what, fcl_status_str(status));
    return 1;
}

bool cli_long(const char *option, const char *text, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < min || v > max) {
        fprintf(stderr, "facecl: --%s wants a whole number from %ld to %ld, not '%s'\n", option, min, max, text);
        return false;
    }
    *out = v;
    return true;
}

bool cli_double(const char *option, const char *text, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !(v >= min && v <= max)) {
        fprintf(stderr, "facecl: --%s wants a number from %g to %g, not '%s'\n", option, min, max, text);
        return false;
    }
    *out = v;
    return true;
}

static void set_log_level_from_env(void)
{
    static const struct {
        const char *name;
        fcl_log_level level;
    } levels[] = {{"debug", FCL_LOG_DEBUG}, {"info", FCL_LOG_INFO}, {"warn", FCL_LOG_WARN}, {"error", FCL_LOG_ERROR}};
    const char *env = getenv("FACECL_LOG");
    if (!env)
        return;
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
        if (strcmp(env, levels[i].name) == 0) {
            fcl_set_log_level(levels[i].level);
            return;
        }
    fprintf(stderr, "facecl: warning: FACECL_LOG=%s is not debug, info, warn or error; using warn\n", env);
}

/* What a command printed must have reached its destination: a full disk or /dev/full
 * on standard output is an error, not exit 0 with the output lost (#20, item 4). */
static int flushed(int status)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "facecl: writing to standard output failed: %s\n", strerror(errno));
        return status ? status : 1;
    }
    return status;
}

int main(int argc, char **argv)
{
    fcl_set_log_callback(cli_log, NULL);
    set_log_level_from_env();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        name = "help";
    if (strcmp(name, "--version") == 0)
        name = "version";
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(name, commands[i].name) == 0)
            return flushed(commands[i].run(argc - 1, argv + 1));
    fprintf(stderr, "facecl: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
