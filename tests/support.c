#include "support.h"

#include <stdio.h>
#include <stdlib.h>

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
