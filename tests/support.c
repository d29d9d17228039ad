#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

fcl_runtime *rt;

int open_test_runtime(void **state)
{
    (void)state;
    fcl_runtime_options o = {.disk_cache = FCL_DISK_CACHE_OFF};
    fcl_status st = fcl_runtime_create(getenv("FACECL_TEST_DEVICE"), &o, &rt);
    if (st != FCL_SUCCESS)
        fprintf(stderr, "no OpenCL device for this suite: %s\n", fcl_status_str(st));
    return st == FCL_SUCCESS ? 0 : -1;
}

int close_test_runtime(void **state)
{
    (void)state;
    fcl_runtime_destroy(rt);
    rt = NULL;
    return 0;
}

fcl_model *load_shipped_model(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.model", FACECL_MODEL_DIR, name);
    fcl_model *m = NULL;
    assert_int_equal(fcl_model_load(path, &m), FCL_SUCCESS);
    return m;
}
