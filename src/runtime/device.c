/* Device enumeration across every platform, and selection by index, type or name. */
#include "runtime/runtime.h"

#include <CL/cl_ext.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void info_string(cl_device_id d, cl_device_info what, char *dst, size_t size)
{
    dst[0] = '\0';
    if (clGetDeviceInfo(d, what, size, dst, NULL) != CL_SUCCESS)
        snprintf(dst, size, "?");
    dst[size - 1] = '\0';
}

static bool has_extension(cl_device_id d, const char *ext)
{
    size_t size = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, 0, NULL, &size) != CL_SUCCESS || size == 0)
        return false;
    char *all = malloc(size + 1);
    if (!all)
        return false;
    bool found = false;
    if (clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, size, all, NULL) == CL_SUCCESS) {
        all[size] = '\0';
        size_t n = strlen(ext);
        for (char *p = strstr(all, ext); p && !found; p = strstr(p + 1, ext))
            found = (p == all || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0');
    }
    free(all);
    return found;
}

/* The SIMD width the vendor's extension reports (the GEMM's GPU defaults size
 * work-groups by it); 0 where none does. */
static unsigned subgroup_width(cl_device_id d)
{
    cl_uint width = 0;
    if (has_extension(d, "cl_nv_device_attribute_query"))
        clGetDeviceInfo(d, CL_DEVICE_WARP_SIZE_NV, sizeof width, &width, NULL);
    else if (has_extension(d, "cl_amd_device_attribute_query"))
        clGetDeviceInfo(d, CL_DEVICE_WAVEFRONT_WIDTH_AMD, sizeof width, &width, NULL);
    else if (has_extension(d, "cl_intel_subgroups")) {
        size_t sizes[8] = {0}, bytes = 0;
        if (clGetDeviceInfo(d, CL_DEVICE_SUB_GROUP_SIZES_INTEL, sizeof sizes, sizes, &bytes) == CL_SUCCESS)
            for (size_t i = 0; i < bytes / sizeof sizes[0] && i < 8; i++)
                width = sizes[i] > width ? (cl_uint)sizes[i] : width;
    }
    return width;
}

static fcl_device_type map_type(cl_device_type t)
{
    if (t & CL_DEVICE_TYPE_GPU)
        return FCL_DEVICE_GPU;
    if (t & CL_DEVICE_TYPE_CPU)
        return FCL_DEVICE_CPU;
    if (t & CL_DEVICE_TYPE_ACCELERATOR)
        return FCL_DEVICE_ACCELERATOR;
    return FCL_DEVICE_OTHER;
}

static void describe(struct fcl_device_entry *e, const char *platform, const char *platform_version)
{
    fcl_device_info *in = &e->info;
    cl_device_id d = e->device;
    snprintf(in->platform, sizeof in->platform, "%s", platform);
    snprintf(in->platform_version, sizeof in->platform_version, "%s", platform_version);
    info_string(d, CL_DEVICE_NAME, in->name, sizeof in->name);
    info_string(d, CL_DEVICE_VENDOR, in->vendor, sizeof in->vendor);
    info_string(d, CL_DRIVER_VERSION, in->driver_version, sizeof in->driver_version);
    info_string(d, CL_DEVICE_OPENCL_C_VERSION, in->opencl_c_version, sizeof in->opencl_c_version);
    cl_device_type type = 0;
    cl_uint units = 0, clock = 0, vector = 0;
    cl_ulong global = 0, local = 0, alloc = 0;
    size_t wg = 0;
    clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_CLOCK_FREQUENCY, sizeof clock, &clock, NULL);
    clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof global, &global, NULL);
    clGetDeviceInfo(d, CL_DEVICE_LOCAL_MEM_SIZE, sizeof local, &local, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof alloc, &alloc, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
    clGetDeviceInfo(d, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT, sizeof vector, &vector, NULL);
    in->float_vector_width = vector;
    in->type = map_type(type);
    in->clock_mhz = clock;
    in->global_mem_bytes = global;
    in->local_mem_bytes = local;
    in->max_alloc_bytes = alloc;
    in->max_work_group_size = wg ? wg : 1; /* a failed query must not make launches divide by zero */
    in->compute_units = units ? units : 1;
    in->fp16 = has_extension(d, "cl_khr_fp16");
    in->fp64 = has_extension(d, "cl_khr_fp64");
    cl_device_local_mem_type local_type = CL_GLOBAL;
    clGetDeviceInfo(d, CL_DEVICE_LOCAL_MEM_TYPE, sizeof local_type, &local_type, NULL);
    in->local_mem_dedicated = local_type == CL_LOCAL;
    in->subgroup_width = subgroup_width(d);
}

fcl_status fcl_device_entries(struct fcl_device_entry **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    cl_uint np = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &np);
    if (err == -1001 /* CL_PLATFORM_NOT_FOUND_KHR: the ICD loader found no driver */ || np == 0)
        return FCL_ERR_NO_PLATFORM;
    if (err != CL_SUCCESS)
        return FCL_CL_FAIL("clGetPlatformIDs", err);
    cl_platform_id *platforms = calloc(np, sizeof *platforms);
    if (!platforms)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    err = clGetPlatformIDs(np, platforms, NULL);
    if (err != CL_SUCCESS) {
        free(platforms);
        return FCL_CL_FAIL("clGetPlatformIDs", err);
    }
    struct fcl_device_entry *list = NULL;
    size_t n = 0;
    fcl_status st = FCL_SUCCESS;
    for (cl_uint p = 0; p < np && st == FCL_SUCCESS; p++) {
        cl_uint nd = 0;
        /* A platform without devices answers CL_DEVICE_NOT_FOUND: skip it. */
        if (clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd) != CL_SUCCESS || nd == 0)
            continue;
        char pname[128] = "?", pversion[128] = "?";
        clGetPlatformInfo(platforms[p], CL_PLATFORM_NAME, sizeof pname, pname, NULL);
        clGetPlatformInfo(platforms[p], CL_PLATFORM_VERSION, sizeof pversion, pversion, NULL);
        pname[sizeof pname - 1] = pversion[sizeof pversion - 1] = '\0';
        cl_device_id *ids = calloc(nd, sizeof *ids);
        struct fcl_device_entry *grown = realloc(list, (n + nd) * sizeof *list);
        if (!ids || !grown) {
            free(ids);
            st = FCL_ERR_OUT_OF_HOST_MEMORY;
            if (grown)
                list = grown;
            break;
        }
        list = grown;
        err = clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, nd, ids, NULL);
        if (err != CL_SUCCESS) {
            free(ids);
            st = FCL_CL_FAIL("clGetDeviceIDs", err);
            break;
        }
        for (cl_uint i = 0; i < nd; i++, n++) {
            memset(&list[n], 0, sizeof list[n]);
            list[n].platform = platforms[p];
            list[n].device = ids[i];
            list[n].info.index = (int)n;
            describe(&list[n], pname, pversion);
        }
        free(ids);
    }
    free(platforms);
    if (st != FCL_SUCCESS) {
        free(list);
        return st;
    }
    if (n == 0) {
        free(list);
        return FCL_ERR_NO_DEVICE;
    }
    *out = list;
    *count = n;
    return FCL_SUCCESS;
}

/* The entries' descriptions as one array (selection works on those); NULL if out of memory. */
static fcl_device_info *infos_of(const struct fcl_device_entry *entries, size_t n)
{
    fcl_device_info *infos = malloc(n * sizeof *infos);
    for (size_t i = 0; infos && i < n; i++)
        infos[i] = entries[i].info;
    return infos;
}

fcl_status fcl_devices_list(fcl_device_info **out, size_t *count)
{
    struct fcl_device_entry *entries;
    size_t n;
    *out = NULL;
    *count = 0;
    fcl_status st = fcl_device_entries(&entries, &n);
    if (st != FCL_SUCCESS)
        return st;
    *out = infos_of(entries, n);
    free(entries);
    if (!*out)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    *count = n;
    return FCL_SUCCESS;
}

fcl_status fcl_device_pick(const char *spec, struct fcl_device_entry *out)
{
    struct fcl_device_entry *entries;
    size_t n, chosen = 0;
    fcl_status st = fcl_device_entries(&entries, &n);
    if (st != FCL_SUCCESS)
        return st;
    fcl_device_info *infos = infos_of(entries, n);
    st = infos ? fcl_device_select(infos, n, spec, &chosen) : FCL_ERR_OUT_OF_HOST_MEMORY;
    if (st == FCL_SUCCESS)
        *out = entries[chosen];
    else if (st == FCL_ERR_DEVICE_NOT_FOUND)
        fcl_log(FCL_LOG_ERROR, "no OpenCL device matches '%s' (see `facecl devices`)", spec ? spec : "");
    free(infos);
    free(entries);
    return st;
}

static const struct {
    const char *word;
    fcl_device_type type;
} type_words[] = {
    {"gpu", FCL_DEVICE_GPU},
    {"cpu", FCL_DEVICE_CPU},
    {"accelerator", FCL_DEVICE_ACCELERATOR},
    {"acc", FCL_DEVICE_ACCELERATOR},
};

const char *fcl_device_type_str(fcl_device_type type)
{
    switch (type) {
    case FCL_DEVICE_GPU: return "GPU";
    case FCL_DEVICE_CPU: return "CPU";
    case FCL_DEVICE_ACCELERATOR: return "accelerator";
    default: return "other";
    }
}

static bool contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return true;
    }
    return n == 0;
}

static bool equals_nocase(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return false;
    return *a == *b;
}

static bool first_of_type(const fcl_device_info *d, size_t n, fcl_device_type t, size_t *chosen)
{
    for (size_t i = 0; i < n; i++)
        if (d[i].type == t) {
            *chosen = i;
            return true;
        }
    return false;
}

fcl_status fcl_device_select(const fcl_device_info *devices, size_t count, const char *spec,
                             size_t *chosen)
{
    if (count == 0)
        return FCL_ERR_NO_DEVICE;
    if (!spec || !*spec) {
        if (first_of_type(devices, count, FCL_DEVICE_GPU, chosen) ||
            first_of_type(devices, count, FCL_DEVICE_CPU, chosen))
            return FCL_SUCCESS;
        *chosen = 0;
        return FCL_SUCCESS;
    }
    size_t digits = strspn(spec, "0123456789");
    if (digits > 0 && spec[digits] == '\0') {
        unsigned long index = strtoul(spec, NULL, 10);
        if (digits > 9 || index >= count)
            return FCL_ERR_DEVICE_NOT_FOUND;
        *chosen = index;
        return FCL_SUCCESS;
    }
    for (size_t w = 0; w < sizeof type_words / sizeof type_words[0]; w++)
        if (equals_nocase(spec, type_words[w].word))
            return first_of_type(devices, count, type_words[w].type, chosen) ? FCL_SUCCESS
                                                                              : FCL_ERR_DEVICE_NOT_FOUND;
    for (size_t i = 0; i < count; i++)
        if (contains_nocase(devices[i].name, spec) || contains_nocase(devices[i].platform, spec)) {
            *chosen = i;
            return FCL_SUCCESS;
        }
    return FCL_ERR_DEVICE_NOT_FOUND;
}
