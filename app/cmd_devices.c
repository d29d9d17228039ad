/* facecl devices: what OpenCL sees, and (with --check) whether facecl runs there. */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

void cli_print_devices(FILE *f, const fcl_device_info *d, size_t n, bool json)
{
    if (json) {
        fprintf(f, "[\n");
        for (size_t i = 0; i < n; i++) {
            fprintf(f, "  {\"index\": %d, \"platform\": ", d[i].index);
            json_string(f, d[i].platform);
            fprintf(f, ", \"name\": ");
            json_string(f, d[i].name);
            fprintf(f, ", \"vendor\": ");
            json_string(f, d[i].vendor);
            fprintf(f, ", \"driver\": ");
            json_string(f, d[i].driver_version);
            fprintf(f, ", \"opencl_c\": ");
            json_string(f, d[i].opencl_c_version);
            fprintf(f,
                    ", \"type\": \"%s\", \"compute_units\": %u, \"clock_mhz\": %u, \"global_mem_bytes\": %llu, "
                    "\"local_mem_bytes\": %llu, \"max_alloc_bytes\": %llu, \"max_work_group_size\": %zu, "
                    "\"fp16\": %s, \"fp64\": %s, \"local_mem_dedicated\": %s, \"subgroup_width\": %u}%s\n",
                    fcl_device_type_str(d[i].type), d[i].compute_units, d[i].clock_mhz,
                    (unsigned long long)d[i].global_mem_bytes, (unsigned long long)d[i].local_mem_bytes,
                    (unsigned long long)d[i].max_alloc_bytes, d[i].max_work_group_size, d[i].fp16 ? "true" : "false",
                    d[i].fp64 ? "true" : "false", d[i].local_mem_dedicated ? "true" : "false", d[i].subgroup_width,
                    i + 1 < n ? "," : "");
        }
        fprintf(f, "]\n");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "[%d] %s\n", d[i].index, d[i].name);
        fprintf(f, "    platform       %s (%s)\n", d[i].platform, d[i].platform_version);
        fprintf(f, "    type           %s\n", fcl_device_type_str(d[i].type));
        fprintf(f, "    compute units  %u @ %u MHz\n", d[i].compute_units, d[i].clock_mhz);
        fprintf(f, "    global memory  %.1f GiB (largest buffer %.1f GiB)\n", d[i].global_mem_bytes / 1073741824.0,
                d[i].max_alloc_bytes / 1073741824.0);
        fprintf(f, "    local memory   %llu KiB (%s)\n", (unsigned long long)(d[i].local_mem_bytes / 1024),
                d[i].local_mem_dedicated ? "on chip" : "in global memory");
        if (d[i].subgroup_width)
            fprintf(f, "    subgroup       %u work-items\n", d[i].subgroup_width);
        fprintf(f, "    work-group     up to %zu work-items\n", d[i].max_work_group_size);
        fprintf(f, "    OpenCL C       %s, driver %s\n", d[i].opencl_c_version, d[i].driver_version);
        fprintf(f, "    fp16 %s, fp64 %s\n", d[i].fp16 ? "yes" : "no", d[i].fp64 ? "yes" : "no");
    }
}

fcl_runtime *cli_open_runtime(const char *device_spec, const fcl_runtime_options *options)
{
    fcl_runtime *rt = NULL;
    fcl_status st = fcl_runtime_create(device_spec, options, &rt);
    if (st == FCL_SUCCESS)
        return rt;
    fprintf(stderr, "facecl: cannot open an OpenCL device: %s\n", fcl_status_str(st));
    if (st == FCL_ERR_NO_PLATFORM || st == FCL_ERR_NO_DEVICE) {
        fprintf(stderr, "  Install an OpenCL driver: on Debian/Ubuntu `apt-get install ocl-icd-libopencl1 "
                        "pocl-opencl-icd` gives a CPU device; GPU vendors ship their own ICD.\n");
    } else if (st == FCL_ERR_DEVICE_NOT_FOUND) {
        fcl_device_info *list;
        size_t n;
        if (fcl_devices_list(&list, &n) == FCL_SUCCESS) {
            fprintf(stderr, "  '%s' matches none of these devices (use an index, gpu/cpu, or part of a name):\n",
                    device_spec ? device_spec : getenv("FACECL_DEVICE") ? getenv("FACECL_DEVICE") : "");
            cli_print_devices(stderr, list, n, false);
            free(list);
        }
    }
    return NULL;
}

/* Builds every kernel file and runs one kernel, checking what comes back. */
static int check_device(int index)
{
    char spec[16];
    snprintf(spec, sizeof spec, "%d", index);
    fcl_runtime *rt = cli_open_runtime(spec, NULL);
    if (!rt)
        return 1;
    double built;
    int bad;
    fcl_status st = fcl_runtime_self_test(rt, &built, &bad);
    if (st != FCL_SUCCESS)
        printf("[%d] %s: FAILED: %s\n", index, fcl_runtime_device(rt)->name, fcl_status_str(st));
    else if (bad)
        printf("[%d] %s: FAILED: %d of 1000 values wrong\n", index, fcl_runtime_device(rt)->name, bad);
    else
        printf("[%d] %s: ok (kernels built in %.0f ms, test kernel verified)\n", index, fcl_runtime_device(rt)->name, built);
    fcl_runtime_destroy(rt);
    return st != FCL_SUCCESS || bad;
}

int cmd_devices(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"check", no_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    bool json = false, check = false;
    int c;
    while ((c = getopt_long(argc, argv, "jch", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 'c': check = true; break;
        case 'h':
            printf("usage: facecl devices [--json] [--check]\n\n"
                   "Lists every OpenCL device on every platform.\n"
                   "  --json   machine-readable output\n"
                   "  --check  on each device, build every facecl kernel and run a test kernel\n");
            return 0;
        default: return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "facecl devices: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    fcl_device_info *list;
    size_t n;
    fcl_status st = fcl_devices_list(&list, &n);
    if (st != FCL_SUCCESS) {
        fprintf(stderr, "facecl: %s\n", fcl_status_str(st));
        if (st == FCL_ERR_NO_PLATFORM || st == FCL_ERR_NO_DEVICE)
            fprintf(stderr, "  Install an OpenCL driver: on Debian/Ubuntu `apt-get install ocl-icd-libopencl1 "
                            "pocl-opencl-icd` gives a CPU device.\n");
        return 1;
    }
    cli_print_devices(stdout, list, n, json);
    int failures = 0;
    for (size_t i = 0; check && i < n; i++)
        failures += check_device(list[i].index);
    free(list);
    return failures ? 1 : 0;
}
