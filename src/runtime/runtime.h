/* Internal runtime API: OpenCL handles, the program cache, kernel sources. */
#ifndef FCL_RUNTIME_RUNTIME_H
#define FCL_RUNTIME_RUNTIME_H

#include "facecl.h"
#include "runtime/log.h"

#include <CL/cl.h>

struct fcl_device_entry {
    fcl_device_info info;
    cl_platform_id platform;
    cl_device_id device;
};

/* Every device on every platform, with handles. *out is the caller's to free(). */
fcl_status fcl_device_entries(struct fcl_device_entry **out, size_t *count);
/* The device a spec selects (see fcl_device_select). */
fcl_status fcl_device_pick(const char *spec, struct fcl_device_entry *out);

struct fcl_program_stats {
    unsigned memory_hits;   /* served from this runtime's in-memory cache */
    unsigned disk_hits;     /* loaded from a valid disk-cache entry */
    unsigned source_builds; /* compiled from source */
    unsigned disk_rejects;  /* disk entries found corrupt or stale, then rebuilt */
    unsigned disk_writes;   /* entries written to disk */
};

struct fcl_program_entry {
    char *key; /* kernel file + '\n' + options */
    cl_program program;
    struct fcl_program_entry *next;
};

struct fcl_runtime {
    fcl_device_info info;
    cl_platform_id platform;
    cl_device_id device;
    cl_context context;
    cl_command_queue queue;
    bool profiling;
    bool disk_cache;
    bool clblast_used; /* CLBlast holds programs for this context: released with it */
    char *cache_dir;
    char *kernel_dir;
    struct fcl_program_entry *programs;
    struct fcl_program_stats stats;
    const char *said[8]; /* fcl_runtime_first_time's keys */
    int n_said;
};

/* A device buffer of n floats, every one `value` (benchmarks' operands). */
fcl_status fcl_runtime_buffer(fcl_runtime *rt, size_t n, float value, cl_mem *out);

/* True the first time `key` (a string constant; its address is the key) is asked about
 * on rt: a warning every network on a device would repeat is given once per device. */
bool fcl_runtime_first_time(fcl_runtime *rt, const char *key);

/* The source text of a kernel file, from kernel_dir if set, else embedded.
 * *source is NUL-terminated and the caller's to free(). */
fcl_status fcl_kernel_source(const fcl_runtime *rt, const char *file, char **source, size_t *length);

/* A built program for (file, options): in-memory cache, then disk cache, then source.
 * The runtime owns the program. */
fcl_status fcl_program_get(fcl_runtime *rt, const char *file, const char *options, cl_program *out);

/* A kernel from that program; the caller releases it with clReleaseKernel. */
fcl_status fcl_kernel_create(fcl_runtime *rt, const char *file, const char *options, const char *name,
                             cl_kernel *out);

/* Parses a kernel-cache file (data, size) written for key: true when its magic, key,
 * length and checksum all match; *binary then points into data. Anything else, a
 * corrupt, truncated or stale entry, is false and the program is built from source. */
bool fcl_program_cache_entry_valid(const char *data, size_t size, const char *key, const unsigned char **binary,
                                   size_t *binary_size);

/* 64-bit FNV-1a, used for cache keys and entry checksums. */
uint64_t fcl_hash64(const void *data, size_t length, uint64_t seed);
#define FCL_HASH_SEED 0xcbf29ce484222325ULL

#endif
