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
 */
#ifndef FACECL_H
#define FACECL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
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
const char *fcl_status_str(int status);

/* Logging: the library reports details through one process-wide callback. */
typedef enum fcl_log_level {
    FCL_LOG_DEBUG = 0,
    FCL_LOG_INFO = 1,
    FCL_LOG_WARN = 2,
    FCL_LOG_ERROR = 3,
} fcl_log_level;

typedef void (*fcl_log_fn)(fcl_log_level level, const char *message, void *user);

/* NULL restores the default (stderr, WARN and above). */
void fcl_set_log_callback(fcl_log_fn fn, void *user);
/* Messages below this level are dropped before formatting. */
void fcl_set_log_level(fcl_log_level level);
fcl_log_level fcl_get_log_level(void);

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
} fcl_device_info;

const char *fcl_device_type_str(fcl_device_type type);

/* Every device of every platform. *out is owned by the caller: free() it. */
fcl_status fcl_devices_list(fcl_device_info **out, size_t *count);

/* Picks one device from a list by spec (see the overview); pure, no OpenCL calls. */
fcl_status fcl_device_select(const fcl_device_info *devices, size_t count, const char *spec,
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

fcl_status fcl_runtime_create(const char *device_spec, const fcl_runtime_options *options,
                              fcl_runtime **out);
void fcl_runtime_destroy(fcl_runtime *rt);
const fcl_device_info *fcl_runtime_device(const fcl_runtime *rt);
/* Blocks until every command enqueued so far has finished. */
fcl_status fcl_runtime_finish(fcl_runtime *rt);

/* Builds (or fetches from the caches) every embedded kernel file; used by
 * `facecl devices --build` and the start-up benchmark. */
fcl_status fcl_runtime_build_all(fcl_runtime *rt);

/* Names of the embedded kernel files ("conv.cl", ...), NULL-terminated. */
const char *const *fcl_kernel_files(void);

const char *fcl_version(void);

#ifdef __cplusplus
}
#endif
#endif
