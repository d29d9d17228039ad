#ifndef FCL_RUNTIME_LOG_H
#define FCL_RUNTIME_LOG_H
#include "facecl.h"

#if defined(__GNUC__)
#define FCL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define FCL_PRINTF(a, b)
#endif

/* fcl_log (messages through the log callback) and fcl_report (progress lines to an
 * fcl_reporter) are public: facecl.h. */

/* Logs an error naming the failed call and returns its status, for `return FCL_FAIL(...)`. */
#define FCL_CL_FAIL(call, err) \
    (fcl_log(FCL_LOG_ERROR, "%s:%d: %s failed: %s", __FILE__, __LINE__, call, fcl_status_str(err)), (err))

#endif
