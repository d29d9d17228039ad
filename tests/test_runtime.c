/* The OpenCL runtime on a real device: selection, the program caches, build failures. */
#include "runtime/fileio.h"
#include "runtime/runtime.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

static char tmpdir[64];
static char kernel_dir[128];
static char cache_dir[128];

/* Everything the library logs, so tests can check what users would read. */
static char logged[65536];
static unsigned warnings;

static void capture(fcl_log_level level, const char *message, void *user)
{
    (void)user;
    if (level == FCL_LOG_WARN)
        warnings++;
    size_t used = strlen(logged);
    snprintf(logged + used, sizeof logged - used, "%s\n", message);
}

static void reset_log(void)
{
    logged[0] = '\0';
    warnings = 0;
}

static void write_text(const char *dir, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(fcl_write_file_atomic(path, text, strlen(text)), FCL_SUCCESS);
}

static const char put_kernel[] = "#ifndef VALUE\n#define VALUE 1\n#endif\n"
                                 "__kernel void put(__global float *x) { x[get_global_id(0)] = VALUE; }\n";

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/facecl-test-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(kernel_dir, sizeof kernel_dir, "%s/cl", tmpdir);
    snprintf(cache_dir, sizeof cache_dir, "%s/cache", tmpdir);
    if (fcl_mkdir_p(kernel_dir) != FCL_SUCCESS)
        return -1;
    fcl_set_log_callback(capture, NULL);
    fcl_set_log_level(FCL_LOG_DEBUG);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static fcl_runtime *open_rt(fcl_disk_cache_mode mode, const char *cache, const char *kernels)
{
    fcl_runtime_options o = {.disk_cache = mode, .cache_dir = cache, .kernel_dir = kernels};
    fcl_runtime *rt = NULL;
    fcl_status st = fcl_runtime_create(getenv("FACECL_TEST_DEVICE"), &o, &rt);
    if (st != FCL_SUCCESS)
        fail_msg("no OpenCL device for the opencl suite: %s", fcl_status_str(st));
    return rt;
}

/* Runs put() from (file, options) and returns x[0]. */
static float run_put(fcl_runtime *rt, const char *file, const char *options)
{
    cl_kernel k;
    assert_int_equal(fcl_kernel_create(rt, file, options, "put", &k), FCL_SUCCESS);
    cl_int err;
    cl_mem buf = clCreateBuffer(rt->context, CL_MEM_READ_WRITE, 4 * sizeof(float), NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    assert_int_equal(clSetKernelArg(k, 0, sizeof buf, &buf), CL_SUCCESS);
    size_t global = 4;
    float out[4] = {0};
    assert_int_equal(clEnqueueNDRangeKernel(rt->queue, k, 1, NULL, &global, NULL, 0, NULL, NULL), CL_SUCCESS);
    assert_int_equal(clEnqueueReadBuffer(rt->queue, buf, CL_TRUE, 0, sizeof out, out, 0, NULL, NULL), CL_SUCCESS);
    clReleaseMemObject(buf);
    clReleaseKernel(k);
    return out[0];
}

static void selection_on_real_devices(void **state)
{
    (void)state;
    fcl_device_info *list;
    size_t n;
    assert_int_equal(fcl_devices_list(&list, &n), FCL_SUCCESS);
    assert_true(n >= 1);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(list[i].index, (int)i);
        assert_true(list[i].compute_units > 0);
        assert_true(list[i].global_mem_bytes > 0);
        assert_true(list[i].max_work_group_size > 0);
        assert_true(strlen(list[i].name) > 0);
    }
    char spec[16];
    snprintf(spec, sizeof spec, "%zu", n - 1);
    fcl_runtime *rt;
    fcl_runtime_options o = {.disk_cache = FCL_DISK_CACHE_OFF};
    assert_int_equal(fcl_runtime_create(spec, &o, &rt), FCL_SUCCESS);
    assert_string_equal(fcl_runtime_device(rt)->name, list[n - 1].name);
    fcl_runtime_destroy(rt);
    /* A piece of the device's own name selects it. */
    char piece[8];
    snprintf(piece, sizeof piece, "%.6s", list[0].name);
    assert_int_equal(fcl_runtime_create(piece, &o, &rt), FCL_SUCCESS);
    fcl_runtime_destroy(rt);
    reset_log();
    assert_int_equal(fcl_runtime_create("no-such-device-anywhere", &o, &rt), FCL_ERR_DEVICE_NOT_FOUND);
    assert_null(rt);
    assert_non_null(strstr(logged, "no-such-device-anywhere"));
    free(list);
}

static void every_embedded_kernel_builds(void **state)
{
    (void)state;
    fcl_runtime *rt = open_rt(FCL_DISK_CACHE_OFF, NULL, NULL);
    assert_int_equal(fcl_runtime_build_all(rt), FCL_SUCCESS);
    const char *const *files = fcl_kernel_files();
    size_t count = 0;
    while (files[count])
        count++;
    assert_true(count >= 1);
    assert_int_equal(rt->stats.source_builds, count);
    fcl_runtime_destroy(rt);
}

static void cache_miss_then_memory_hit_then_disk_hit(void **state)
{
    (void)state;
    write_text(kernel_dir, "put.cl", put_kernel);
    fcl_runtime *rt = open_rt(FCL_DISK_CACHE_ON, cache_dir, kernel_dir);
    assert_float_equal(run_put(rt, "put.cl", ""), 1.0f, 0);
    assert_int_equal(rt->stats.source_builds, 1);
    assert_int_equal(rt->stats.disk_writes, 1);
    assert_float_equal(run_put(rt, "put.cl", ""), 1.0f, 0);
    assert_int_equal(rt->stats.memory_hits, 1);
    assert_int_equal(rt->stats.source_builds, 1);
    fcl_runtime_destroy(rt);

    rt = open_rt(FCL_DISK_CACHE_ON, cache_dir, kernel_dir);
    assert_float_equal(run_put(rt, "put.cl", ""), 1.0f, 0);
    assert_int_equal(rt->stats.disk_hits, 1);
    assert_int_equal(rt->stats.source_builds, 0);
    fcl_runtime_destroy(rt);
}

static void different_options_give_different_binaries(void **state)
{
    (void)state;
    write_text(kernel_dir, "put.cl", put_kernel);
    fcl_runtime *rt = open_rt(FCL_DISK_CACHE_ON, cache_dir, kernel_dir);
    assert_float_equal(run_put(rt, "put.cl", "-DVALUE=2"), 2.0f, 0);
    assert_float_equal(run_put(rt, "put.cl", "-DVALUE=3"), 3.0f, 0);
    assert_int_equal(rt->stats.source_builds, 2);
    fcl_runtime_destroy(rt);
    /* From disk, each options string still gets its own binary. */
    rt = open_rt(FCL_DISK_CACHE_ON, cache_dir, kernel_dir);
    assert_float_equal(run_put(rt, "put.cl", "-DVALUE=3"), 3.0f, 0);
    assert_float_equal(run_put(rt, "put.cl", "-DVALUE=2"), 2.0f, 0);
    assert_int_equal(rt->stats.disk_hits, 2);
    assert_int_equal(rt->stats.source_builds, 0);
    fcl_runtime_destroy(rt);
}

static void changed_source_is_a_miss(void **state)
{
    (void)state;
    write_text(kernel_dir, "put.cl", put_kernel);
    fcl_runtime *rt = open_rt(FCL_DISK_CACHE_ON, cache_dir, kernel_dir);
    run_put(rt, "put.cl", "");
    fcl_runtime_destroy(rt);
    write_text(kernel_dir, "put.cl", "__kernel void put(__global float *x) { x[get_global_id(0)] = 5; }\n");
    rt = open_rt(FCL_DISK_CACHE_ON, cache_dir, kernel_dir);
    assert_float_equal(run_put(rt, "put.cl", ""), 5.0f, 0);
    assert_int_equal(rt->stats.disk_hits, 0);
    assert_int_equal(rt->stats.source_builds, 1);
    fcl_runtime_destroy(rt);
}

/* Damages every entry in the cache directory with `how`, then checks a rebuild. */
static void damage_entries(const char *how)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "for f in '%s'/*.bin; do %s; done", cache_dir, how);
    assert_int_equal(system(cmd), 0);
}

static void check_rebuilt_after_damage(const char *how)
{
    write_text(kernel_dir, "put.cl", put_kernel);
    fcl_runtime *rt = open_rt(FCL_DISK_CACHE_ON, cache_dir, kernel_dir);
    run_put(rt, "put.cl", "-DVALUE=7");
    fcl_runtime_destroy(rt);
    damage_entries(how);
    rt = open_rt(FCL_DISK_CACHE_ON, cache_dir, kernel_dir);
    assert_float_equal(run_put(rt, "put.cl", "-DVALUE=7"), 7.0f, 0);
    assert_int_equal(rt->stats.disk_rejects, 1);
    assert_int_equal(rt->stats.source_builds, 1);
    assert_int_equal(rt->stats.disk_writes, 1);
    fcl_runtime_destroy(rt);
    /* The rewritten entry is good again. */
    rt = open_rt(FCL_DISK_CACHE_ON, cache_dir, kernel_dir);
    assert_float_equal(run_put(rt, "put.cl", "-DVALUE=7"), 7.0f, 0);
    assert_int_equal(rt->stats.disk_hits, 1);
    assert_int_equal(rt->stats.disk_rejects, 0);
    fcl_runtime_destroy(rt);
}

static void corrupt_entry_is_rebuilt(void **state)
{
    (void)state;
    /* Flip one byte near the end, inside the binary. */
    check_rebuilt_after_damage("s=$(stat -c %s \"$f\"); printf '\\377' | dd of=\"$f\" bs=1 seek=$((s-10)) "
                               "conv=notrunc status=none; printf '\\000' | dd of=\"$f\" bs=1 seek=$((s-11)) "
                               "conv=notrunc status=none");
}

static void truncated_entry_is_rebuilt(void **state)
{
    (void)state;
    check_rebuilt_after_damage("truncate -s 40 \"$f\"");
}

static void garbage_entry_is_rebuilt(void **state)
{
    (void)state;
    check_rebuilt_after_damage("head -c 4096 /dev/urandom > \"$f\"");
}

static void build_failure_reports_file_options_and_log(void **state)
{
    (void)state;
    write_text(kernel_dir, "broken.cl",
               "__kernel void put(__global float *x) { x[0] = undeclared_thing_42; }\n");
    fcl_runtime *rt = open_rt(FCL_DISK_CACHE_OFF, NULL, kernel_dir);
    reset_log();
    cl_program p;
    assert_int_equal(fcl_program_get(rt, "broken.cl", "-DSOME_OPTION=1", &p), FCL_ERR_BUILD);
    assert_null(p);
    assert_non_null(strstr(logged, "broken.cl"));
    assert_non_null(strstr(logged, "-DSOME_OPTION=1"));
    assert_non_null(strstr(logged, "undeclared_thing_42")); /* the compiler's own words */
    assert_non_null(strstr(logged, "CL_BUILD_PROGRAM_FAILURE"));
    /* The failure is not cached: a fixed source builds. */
    write_text(kernel_dir, "broken.cl", put_kernel);
    assert_float_equal(run_put(rt, "broken.cl", "-DSOME_OPTION=1"), 1.0f, 0);
    fcl_runtime_destroy(rt);
}

static void missing_kernel_file(void **state)
{
    (void)state;
    fcl_runtime *rt = open_rt(FCL_DISK_CACHE_OFF, NULL, NULL);
    cl_program p;
    assert_int_equal(fcl_program_get(rt, "no_such_file.cl", "", &p), FCL_ERR_KERNEL_NOT_FOUND);
    assert_int_equal(fcl_program_get(rt, "../tensor.cl", "", &p), FCL_ERR_KERNEL_NOT_FOUND);
    fcl_runtime_destroy(rt);
    rt = open_rt(FCL_DISK_CACHE_OFF, NULL, kernel_dir);
    reset_log();
    assert_int_equal(fcl_program_get(rt, "tensor.cl", "", &p), FCL_ERR_KERNEL_NOT_FOUND);
    assert_non_null(strstr(logged, "FACECL_KERNEL_DIR"));
    fcl_runtime_destroy(rt);
}

static void unwritable_cache_dir_warns_once_and_works(void **state)
{
    (void)state;
    write_text(kernel_dir, "put.cl", put_kernel);
    fcl_runtime *rt = open_rt(FCL_DISK_CACHE_ON, "/proc/facecl-cannot-exist/cache", kernel_dir);
    reset_log();
    assert_float_equal(run_put(rt, "put.cl", "-DVALUE=4"), 4.0f, 0);
    assert_float_equal(run_put(rt, "put.cl", "-DVALUE=5"), 5.0f, 0);
    assert_int_equal(warnings, 1);
    assert_non_null(strstr(logged, "without it"));
    fcl_runtime_destroy(rt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(selection_on_real_devices),
        cmocka_unit_test(every_embedded_kernel_builds),
        cmocka_unit_test(cache_miss_then_memory_hit_then_disk_hit),
        cmocka_unit_test(different_options_give_different_binaries),
        cmocka_unit_test(changed_source_is_a_miss),
        cmocka_unit_test(corrupt_entry_is_rebuilt),
        cmocka_unit_test(truncated_entry_is_rebuilt),
        cmocka_unit_test(garbage_entry_is_rebuilt),
        cmocka_unit_test(build_failure_reports_file_options_and_log),
        cmocka_unit_test(missing_kernel_file),
        cmocka_unit_test(unwritable_cache_dir_warns_once_and_works),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
