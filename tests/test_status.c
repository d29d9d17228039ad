/* Status and OpenCL error-code naming. */
#include "facecl.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

static void opencl_codes_have_their_names(void **state)
{
    (void)state;
    assert_string_equal(fcl_status_str(0), "CL_SUCCESS");
    assert_string_equal(fcl_status_str(-5), "CL_OUT_OF_RESOURCES");
    assert_string_equal(fcl_status_str(-11), "CL_BUILD_PROGRAM_FAILURE");
    assert_string_equal(fcl_status_str(-30), "CL_INVALID_VALUE");
    assert_string_equal(fcl_status_str(-54), "CL_INVALID_WORK_GROUP_SIZE");
    assert_string_equal(fcl_status_str(-72), "CL_MAX_SIZE_RESTRICTION_EXCEEDED");
    assert_non_null(strstr(fcl_status_str(-1001), "CL_PLATFORM_NOT_FOUND_KHR"));
}

static void own_codes_have_names(void **state)
{
    (void)state;
    for (int s = FCL_ERR_NO_PLATFORM; s >= FCL_ERR_LAST; s--) {
        const char *name = fcl_status_str(s);
        assert_non_null(name);
        assert_int_equal(strncmp(name, "FCL_ERR_", 8), 0);
    }
    assert_non_null(strstr(fcl_status_str(FCL_ERR_NO_PLATFORM), "pocl-opencl-icd"));
    assert_non_null(strstr(fcl_status_str(FCL_ERR_BUILD), "BUILD"));
}

static void gaps_and_unknown_codes_are_unknown(void **state)
{
    (void)state;
    assert_string_equal(fcl_status_str(-20), "unknown status"); /* gap between -19 and -30 */
    assert_string_equal(fcl_status_str(-73), "unknown status");
    assert_string_equal(fcl_status_str(7), "unknown status");
    assert_string_equal(fcl_status_str(FCL_ERR_LAST - 1), "unknown status");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(opencl_codes_have_their_names),
        cmocka_unit_test(own_codes_have_names),
        cmocka_unit_test(gaps_and_unknown_codes_are_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
