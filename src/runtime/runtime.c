/* Runtime: one device, its context, one in-order queue, and the program caches. */
#include "runtime/runtime.h"

#ifdef FACECL_HAVE_CLBLAST
#include <clblast_c.h>
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether the disk cache pays off, per platform, as measured by bench/startup.sh
 * (bench/RESULTS.md): first match wins; platforms not listed use it. */
static const struct {
    const char *platform_substring;
    bool use_disk_cache;
} disk_cache_defaults[] = {
    /* PoCL keeps its own kernel cache, and reading CL_PROGRAM_BINARIES makes it compile
     * an extra generic binary, so a cold start costs more with facecl's cache; a warm
     * one costs less (the binary skips PoCL's source hashing), and most starts are warm. */
    {"Portable Computing Language", true},
};

static bool default_disk_cache(const char *platform)
{
    const char *env = getenv("FACECL_DISK_CACHE");
    if (env && (strcmp(env, "0") == 0 || strcmp(env, "off") == 0))
        return false;
    if (env && (strcmp(env, "1") == 0 || strcmp(env, "on") == 0))
        return true;
    if (env && *env) /* neither: said, then the default */
        fcl_log(FCL_LOG_WARN, "FACECL_DISK_CACHE=%s is not 0, 1, off or on; using the default", env);
    for (size_t i = 0; i < sizeof disk_cache_defaults / sizeof disk_cache_defaults[0]; i++)
        if (strstr(platform, disk_cache_defaults[i].platform_substring))
            return disk_cache_defaults[i].use_disk_cache;
    return true;
}

static char *default_cache_dir(void)
{
    const char *dir = getenv("FACECL_CACHE_DIR");
    if (dir && *dir)
        return strdup(dir);
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    const char *base = (xdg && *xdg) ? xdg : home;
    const char *suffix = (xdg && *xdg) ? "/facecl" : "/.cache/facecl";
    if (!base || !*base)
        return NULL;
    size_t n = strlen(base) + strlen(suffix) + 1;
    char *path = malloc(n);
    if (path)
        snprintf(path, n, "%s%s", base, suffix);
    return path;
}

static char *dup_or_env(const char *value, const char *env_name)
{
    if (!value) {
        value = getenv(env_name);
        if (value && !*value)
            value = NULL;
    }
    return value ? strdup(value) : NULL;
}

fcl_status fcl_runtime_create(const char *device_spec, const fcl_runtime_options *options,
                              fcl_runtime **out)
{
    static const fcl_runtime_options defaults = {0};
    if (!out)
        return FCL_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!options)
        options = &defaults;
    if (!device_spec || !*device_spec)
        device_spec = getenv("FACECL_DEVICE");

    struct fcl_device_entry picked;
    fcl_status st = fcl_device_pick(device_spec, &picked);
    if (st != FCL_SUCCESS)
        return st;
    fcl_runtime *rt = calloc(1, sizeof *rt);
    if (!rt)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    rt->info = picked.info;
    rt->platform = picked.platform;
    rt->device = picked.device;

    cl_int err;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)rt->platform, 0};
    rt->context = clCreateContext(props, 1, &rt->device, NULL, NULL, &err);
    if (err != CL_SUCCESS) {
        st = FCL_CL_FAIL("clCreateContext", err);
        goto fail;
    }
    rt->profiling = options->profiling;
    rt->queue = clCreateCommandQueue(rt->context, rt->device, rt->profiling ? CL_QUEUE_PROFILING_ENABLE : 0, &err);
    if (err != CL_SUCCESS) {
        st = FCL_CL_FAIL("clCreateCommandQueue", err);
        goto fail;
    }
    rt->disk_cache = options->disk_cache == FCL_DISK_CACHE_ON ||
                     (options->disk_cache == FCL_DISK_CACHE_AUTO && default_disk_cache(rt->info.platform));
    rt->cache_dir = options->cache_dir ? strdup(options->cache_dir) : default_cache_dir();
    if (rt->disk_cache && !rt->cache_dir) {
        fcl_log(FCL_LOG_WARN, "no cache directory (HOME and XDG_CACHE_HOME unset); continuing without disk cache");
        rt->disk_cache = false;
    }
    rt->kernel_dir = dup_or_env(options->kernel_dir, "FACECL_KERNEL_DIR");
    fcl_log(FCL_LOG_INFO, "device %d: %s (%s), disk cache %s", rt->info.index, rt->info.name, rt->info.platform,
            rt->disk_cache ? rt->cache_dir : "off");
    *out = rt;
    return FCL_SUCCESS;
fail:
    fcl_runtime_destroy(rt);
    return st;
}

void fcl_runtime_destroy(fcl_runtime *rt)
{
    if (!rt)
        return;
    if (rt->queue)
        clFinish(rt->queue);
    for (struct fcl_program_entry *e = rt->programs, *next; e; e = next) {
        next = e->next;
        clReleaseProgram(e->program);
        free(e->key);
        free(e);
    }
#ifdef FACECL_HAVE_CLBLAST
    if (rt->clblast_used)
        CLBlastClearCache();
#endif
    if (rt->queue)
        clReleaseCommandQueue(rt->queue);
    if (rt->context)
        clReleaseContext(rt->context);
    free(rt->cache_dir);
    free(rt->kernel_dir);
    free(rt);
}

const fcl_device_info *fcl_runtime_device(const fcl_runtime *rt) { return &rt->info; }

fcl_status fcl_runtime_finish(fcl_runtime *rt)
{
    cl_int err = clFinish(rt->queue);
    return err == CL_SUCCESS ? FCL_SUCCESS : FCL_CL_FAIL("clFinish", err);
}

const char *fcl_version(void) { return FACECL_VERSION; }

bool fcl_runtime_first_time(fcl_runtime *rt, const char *key)
{
    for (int i = 0; i < rt->n_said; i++)
        if (rt->said[i] == key)
            return false;
    if (rt->n_said < (int)(sizeof rt->said / sizeof rt->said[0]))
        rt->said[rt->n_said++] = key;
    return true;
}

fcl_status fcl_runtime_buffer(fcl_runtime *rt, size_t n, float value, cl_mem *out)
{
    *out = NULL;
    float *host = malloc((n ? n : 1) * sizeof *host);
    if (!host)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    for (size_t i = 0; i < n; i++)
        host[i] = value;
    cl_int err;
    *out = clCreateBuffer(rt->context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, (n ? n : 1) * sizeof *host, host, &err);
    free(host);
    return err == CL_SUCCESS ? FCL_SUCCESS : FCL_CL_FAIL("clCreateBuffer", err);
}
