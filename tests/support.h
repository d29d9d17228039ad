/* What the OpenCL test suites share: one runtime on the test device (FACECL_TEST_DEVICE,
 * else the default), without the disk cache so each run builds what it tests. */
#ifndef FCL_TESTS_SUPPORT_H
#define FCL_TESTS_SUPPORT_H
#include "runtime/runtime.h"

extern fcl_runtime *rt;
/* cmocka group setup/teardown */
int open_test_runtime(void **state);
int close_test_runtime(void **state);
/* models/<name>.model, parsed; fails the test when it cannot be. */
struct fcl_model *load_shipped_model(const char *name);
#endif
