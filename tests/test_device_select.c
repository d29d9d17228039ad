/* Device selection by index, type and name substring, on synthetic device lists. */
#include "facecl.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

static fcl_device_info dev(int index, fcl_device_type type, const char *platform, const char *name)
{
    fcl_device_info d;
    memset(&d, 0, sizeof d);
    d.index = index;
    d.type = type;
    snprintf(d.platform, sizeof d.platform, "%s", platform);
    snprintf(d.name, sizeof d.name, "%s", name);
    return d;
}

/* cpu first, then two GPUs on another platform: the default must still be a GPU. */
static fcl_device_info mixed[3];

static int setup(void **state)
{
    (void)state;
    mixed[0] = dev(0, FCL_DEVICE_CPU, "Portable Computing Language", "pthread-haswell-AMD EPYC 9454");
    mixed[1] = dev(1, FCL_DEVICE_GPU, "NVIDIA CUDA", "NVIDIA H100 80GB HBM3");
    mixed[2] = dev(2, FCL_DEVICE_GPU, "AMD Accelerated Parallel Processing", "gfx1100");
    return 0;
}

static size_t pick(const fcl_device_info *d, size_t n, const char *spec)
{
    size_t chosen = 99;
    assert_int_equal(fcl_device_select(d, n, spec, &chosen), FCL_SUCCESS);
    return chosen;
}

static void default_prefers_first_gpu(void **state)
{
    (void)state;
    assert_int_equal(pick(mixed, 3, NULL), 1);
    assert_int_equal(pick(mixed, 3, ""), 1);
}

static void default_falls_back_to_cpu(void **state)
{
    (void)state;
    fcl_device_info only[2] = {dev(0, FCL_DEVICE_ACCELERATOR, "x", "fpga"), dev(1, FCL_DEVICE_CPU, "p", "cpu0")};
    assert_int_equal(pick(only, 2, NULL), 1);
    fcl_device_info acc[1] = {dev(0, FCL_DEVICE_ACCELERATOR, "x", "fpga")};
    assert_int_equal(pick(acc, 1, NULL), 0);
}

static void by_index(void **state)
{
    (void)state;
    assert_int_equal(pick(mixed, 3, "0"), 0);
    assert_int_equal(pick(mixed, 3, "2"), 2);
    size_t chosen;
    assert_int_equal(fcl_device_select(mixed, 3, "3", &chosen), FCL_ERR_DEVICE_NOT_FOUND);
    assert_int_equal(fcl_device_select(mixed, 3, "99999999999999999999", &chosen), FCL_ERR_DEVICE_NOT_FOUND);
}

static void by_type_any_case(void **state)
{
    (void)state;
    assert_int_equal(pick(mixed, 3, "cpu"), 0);
    assert_int_equal(pick(mixed, 3, "GPU"), 1);
    size_t chosen;
    assert_int_equal(fcl_device_select(mixed, 3, "accelerator", &chosen), FCL_ERR_DEVICE_NOT_FOUND);
}

static void by_name_or_platform_substring(void **state)
{
    (void)state;
    assert_int_equal(pick(mixed, 3, "h100"), 1);
    assert_int_equal(pick(mixed, 3, "GFX11"), 2);
    assert_int_equal(pick(mixed, 3, "epyc"), 0);
    assert_int_equal(pick(mixed, 3, "portable"), 0); /* platform name */
}

static void no_match(void **state)
{
    (void)state;
    size_t chosen = 7;
    assert_int_equal(fcl_device_select(mixed, 3, "mali", &chosen), FCL_ERR_DEVICE_NOT_FOUND);
    assert_int_equal(chosen, 7); /* untouched on failure */
    assert_int_equal(fcl_device_select(mixed, 0, NULL, &chosen), FCL_ERR_NO_DEVICE);
    assert_int_equal(fcl_device_select(mixed, 3, "1x", &chosen), FCL_ERR_DEVICE_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_prefers_first_gpu),
        cmocka_unit_test(default_falls_back_to_cpu),
        cmocka_unit_test(by_index),
        cmocka_unit_test(by_type_any_case),
        cmocka_unit_test(by_name_or_platform_substring),
        cmocka_unit_test(no_match),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
