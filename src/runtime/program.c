/* Kernel sources and the program cache: in memory per runtime, on disk per device.
 *
 * A disk entry holds its full key (facecl version, platform, device, driver, kernel
 * file, source hash, options) and a checksum of the binary. An entry whose key or
 * checksum does not match, or that the driver refuses, is rebuilt from source and
 * rewritten: the cache is never trusted over the source. */
#include "runtime/fileio.h"
#include "runtime/kernels.h"
#include "runtime/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char entry_magic[8] = {'F', 'C', 'L', 'P', 'R', 'O', 'G', '1'};

/* Options every program gets: the language floor all supported devices share. */
static const char base_options[] = "-cl-std=CL1.2";

uint64_t fcl_hash64(const void *data, size_t length, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t h = seed;
    for (size_t i = 0; i < length; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

const char *const *fcl_kernel_files(void)
{
    static const char *names[64];
    _Static_assert(sizeof names / sizeof names[0] > 1, "room for the terminator");
    size_t n = 0;
    for (const struct fcl_embedded_kernel *k = fcl_embedded_kernels; k->file && n + 1 < 64; k++)
        names[n++] = k->file;
    names[n] = NULL;
    return names;
}

fcl_status fcl_kernel_source(const fcl_runtime *rt, const char *file, char **source, size_t *length)
{
    *source = NULL;
    *length = 0;
    if (strchr(file, '/')) /* kernel names are plain file names, never paths */
        return FCL_ERR_KERNEL_NOT_FOUND;
    if (rt && rt->kernel_dir) {
        size_t n = strlen(rt->kernel_dir) + strlen(file) + 2;
        char *path = malloc(n);
        if (!path)
            return FCL_ERR_OUT_OF_HOST_MEMORY;
        snprintf(path, n, "%s/%s", rt->kernel_dir, file);
        fcl_status st = fcl_read_file(path, source, length);
        if (st == FCL_ERR_IO)
            fcl_log(FCL_LOG_ERROR, "kernel file %s not readable (FACECL_KERNEL_DIR=%s)", path, rt->kernel_dir);
        free(path);
        return st == FCL_ERR_IO ? FCL_ERR_KERNEL_NOT_FOUND : st;
    }
    for (const struct fcl_embedded_kernel *k = fcl_embedded_kernels; k->file; k++)
        if (strcmp(k->file, file) == 0) {
            *source = malloc(k->length + 1);
            if (!*source)
                return FCL_ERR_OUT_OF_HOST_MEMORY;
            memcpy(*source, k->source, k->length + 1);
            *length = k->length;
            return FCL_SUCCESS;
        }
    fcl_log(FCL_LOG_ERROR, "no embedded kernel file named %s", file);
    return FCL_ERR_KERNEL_NOT_FOUND;
}

static char *build_log(cl_program program, cl_device_id device)
{
    size_t size = 0;
    if (clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, NULL, &size) != CL_SUCCESS)
        return NULL;
    char *log = malloc(size + 1);
    if (!log)
        return NULL;
    if (clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, size, log, NULL) != CL_SUCCESS)
        size = 0;
    log[size] = '\0';
    return log;
}

static fcl_status build(fcl_runtime *rt, cl_program program, const char *file, const char *options,
                        bool report)
{
    cl_int err = clBuildProgram(program, 1, &rt->device, options, NULL, NULL);
    if (err == CL_SUCCESS)
        return FCL_SUCCESS;
    if (report) {
        char *log = build_log(program, rt->device);
        fcl_log(FCL_LOG_ERROR, "building kernel file %s failed (%s) on %s\noptions: %s\nbuild log:\n%s", file,
                fcl_status_str(err), rt->info.name, options, log ? log : "(no log)");
        free(log);
    }
    return err == CL_BUILD_PROGRAM_FAILURE ? FCL_ERR_BUILD : err;
}

/* Text that identifies a binary: everything that changes what the compiler emits. */
#define CACHE_KEY_FORMAT "facecl %s\nplatform %s | %s\ndevice %s\ndriver %s\nfile %s\nsource %016llx %zu\noptions %s\n"
static char *cache_key(const fcl_runtime *rt, const char *file, const char *source, size_t length,
                       const char *options)
{
    const fcl_device_info *d = &rt->info;
    unsigned long long h = fcl_hash64(source, length, FCL_HASH_SEED);
    int n = snprintf(NULL, 0, CACHE_KEY_FORMAT, FACECL_VERSION, d->platform, d->platform_version, d->name,
                     d->driver_version, file, h, length, options);
    char *key = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (key)
        snprintf(key, (size_t)n + 1, CACHE_KEY_FORMAT, FACECL_VERSION, d->platform, d->platform_version, d->name,
                 d->driver_version, file, h, length, options);
    return key;
}

static char *entry_path(const fcl_runtime *rt, const char *key)
{
    size_t n = strlen(rt->cache_dir) + 40;
    char *path = malloc(n);
    if (path)
        snprintf(path, n, "%s/%016llx.bin", rt->cache_dir,
                 (unsigned long long)fcl_hash64(key, strlen(key), FCL_HASH_SEED));
    return path;
}

bool fcl_program_cache_entry_valid(const char *data, size_t size, const char *key, const unsigned char **binary,
                                   size_t *binary_size)
{
    size_t key_len = strlen(key);
    uint32_t stored_key_len;
    uint64_t bin_len, bin_hash;
    size_t at = sizeof entry_magic;
    if (size < at + sizeof stored_key_len || memcmp(data, entry_magic, sizeof entry_magic) != 0)
        return false;
    memcpy(&stored_key_len, data + at, sizeof stored_key_len);
    at += sizeof stored_key_len;
    if (stored_key_len != key_len || size - at < key_len || memcmp(data + at, key, key_len) != 0)
        return false;
    at += key_len;
    if (size - at < sizeof bin_len + sizeof bin_hash)
        return false;
    memcpy(&bin_len, data + at, sizeof bin_len);
    memcpy(&bin_hash, data + at + sizeof bin_len, sizeof bin_hash);
    at += sizeof bin_len + sizeof bin_hash;
    if (bin_len == 0 || bin_len != size - at)
        return false;
    if (fcl_hash64(data + at, (size_t)bin_len, FCL_HASH_SEED) != bin_hash)
        return false;
    *binary = (const unsigned char *)data + at;
    *binary_size = (size_t)bin_len;
    return true;
}

/* Tries the disk cache. true: *out holds a built program. */
static bool load_from_disk(fcl_runtime *rt, const char *file, const char *key, const char *options,
                           cl_program *out)
{
    char *path = entry_path(rt, key);
    char *data = NULL;
    size_t size = 0;
    bool loaded = false;
    if (path && fcl_read_file(path, &data, &size) == FCL_SUCCESS) {
        const unsigned char *binary;
        size_t binary_size;
        if (fcl_program_cache_entry_valid(data, size, key, &binary, &binary_size)) {
            cl_int status, err;
            cl_program p = clCreateProgramWithBinary(rt->context, 1, &rt->device, &binary_size, &binary, &status,
                                                     &err);
            if (err == CL_SUCCESS && status == CL_SUCCESS && build(rt, p, file, options, false) == FCL_SUCCESS) {
                *out = p;
                loaded = true;
            } else if (p) {
                clReleaseProgram(p);
            }
        }
        if (!loaded) {
            rt->stats.disk_rejects++;
            fcl_log(FCL_LOG_INFO, "program cache entry %s is corrupt or stale; rebuilding", path);
        }
    }
    free(data);
    free(path);
    return loaded;
}

static void disable_disk_cache(fcl_runtime *rt, const char *why)
{
    fcl_log(FCL_LOG_WARN, "program disk cache %s %s; continuing without it", rt->cache_dir, why);
    rt->disk_cache = false;
}

static void store_to_disk(fcl_runtime *rt, cl_program program, const char *key)
{
    size_t bin_size = 0;
    if (clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof bin_size, &bin_size, NULL) != CL_SUCCESS ||
        bin_size == 0)
        return;
    uint32_t key_len = (uint32_t)strlen(key);
    size_t head = sizeof entry_magic + sizeof key_len + key_len + 2 * sizeof(uint64_t);
    unsigned char *entry = malloc(head + bin_size);
    if (!entry)
        return;
    unsigned char *binary = entry + head;
    if (clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof binary, &binary, NULL) != CL_SUCCESS) {
        free(entry);
        return;
    }
    uint64_t len64 = bin_size, hash = fcl_hash64(binary, bin_size, FCL_HASH_SEED);
    unsigned char *w = entry;
    memcpy(w, entry_magic, sizeof entry_magic), w += sizeof entry_magic;
    memcpy(w, &key_len, sizeof key_len), w += sizeof key_len;
    memcpy(w, key, key_len), w += key_len;
    memcpy(w, &len64, sizeof len64), w += sizeof len64;
    memcpy(w, &hash, sizeof hash);
    char *path = entry_path(rt, key);
    if (fcl_mkdir_p(rt->cache_dir) != FCL_SUCCESS)
        disable_disk_cache(rt, "cannot be created");
    else if (!path || fcl_write_file_atomic(path, entry, head + bin_size) != FCL_SUCCESS)
        disable_disk_cache(rt, "is not writable");
    else
        rt->stats.disk_writes++;
    free(path);
    free(entry);
}

static fcl_status remember(fcl_runtime *rt, const char *file, const char *options, cl_program program)
{
    struct fcl_program_entry *e = malloc(sizeof *e);
    size_t n = strlen(file) + strlen(options) + 2;
    char *key = malloc(n);
    if (!e || !key) {
        free(e);
        free(key);
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    }
    snprintf(key, n, "%s\n%s", file, options);
    e->key = key;
    e->program = program;
    e->next = rt->programs;
    rt->programs = e;
    return FCL_SUCCESS;
}

static cl_program find_in_memory(const fcl_runtime *rt, const char *file, const char *options)
{
    size_t flen = strlen(file);
    for (const struct fcl_program_entry *e = rt->programs; e; e = e->next)
        if (strncmp(e->key, file, flen) == 0 && e->key[flen] == '\n' && strcmp(e->key + flen + 1, options) == 0)
            return e->program;
    return NULL;
}

fcl_status fcl_program_get(fcl_runtime *rt, const char *file, const char *options, cl_program *out)
{
    *out = NULL;
    if (!options)
        options = "";
    size_t olen = strlen(base_options) + strlen(options) + 2;
    char *full_options = malloc(olen);
    if (!full_options)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    snprintf(full_options, olen, "%s %s", base_options, options);

    cl_program program = find_in_memory(rt, file, full_options);
    if (program) {
        rt->stats.memory_hits++;
        free(full_options);
        *out = program;
        return FCL_SUCCESS;
    }
    char *source = NULL, *key = NULL;
    size_t length = 0;
    fcl_status st = fcl_kernel_source(rt, file, &source, &length);
    if (st == FCL_SUCCESS && rt->disk_cache) {
        key = cache_key(rt, file, source, length, full_options);
        if (!key)
            st = FCL_ERR_OUT_OF_HOST_MEMORY;
        else if (load_from_disk(rt, file, key, full_options, &program))
            rt->stats.disk_hits++;
    }
    if (st == FCL_SUCCESS && !program) {
        cl_int err;
        const char *src = source;
        program = clCreateProgramWithSource(rt->context, 1, &src, &length, &err);
        if (err != CL_SUCCESS)
            st = FCL_CL_FAIL("clCreateProgramWithSource", err);
        else if ((st = build(rt, program, file, full_options, true)) != FCL_SUCCESS) {
            clReleaseProgram(program);
            program = NULL;
        } else {
            rt->stats.source_builds++;
            if (rt->disk_cache && key)
                store_to_disk(rt, program, key);
        }
    }
    if (st == FCL_SUCCESS && (st = remember(rt, file, full_options, program)) != FCL_SUCCESS) {
        clReleaseProgram(program);
        program = NULL;
    }
    free(key);
    free(source);
    free(full_options);
    *out = program;
    return st;
}

fcl_status fcl_kernel_create(fcl_runtime *rt, const char *file, const char *options, const char *name,
                             cl_kernel *out)
{
    cl_program program;
    *out = NULL;
    fcl_status st = fcl_program_get(rt, file, options, &program);
    if (st != FCL_SUCCESS)
        return st;
    cl_int err;
    *out = clCreateKernel(program, name, &err);
    if (err != CL_SUCCESS) {
        fcl_log(FCL_LOG_ERROR, "kernel %s not found in %s: %s", name, file, fcl_status_str(err));
        return err;
    }
    return FCL_SUCCESS;
}

fcl_status fcl_runtime_build_all(fcl_runtime *rt)
{
    for (const struct fcl_embedded_kernel *k = fcl_embedded_kernels; k->file; k++) {
        cl_program p;
        fcl_status st = fcl_program_get(rt, k->file, "", &p);
        if (st != FCL_SUCCESS)
            return st;
    }
    return FCL_SUCCESS;
}
