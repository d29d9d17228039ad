#ifndef FCL_RUNTIME_LOG_H
#define FCL_RUNTIME_LOG_H
#include "facecl.h"

#if defined(__GNUC__)
#define FCL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define FCL_PRINTF(a, b)
#endif

void fcl_log(fcl_log_level level, const char *fmt, ...) FCL_PRINTF(2, 3);

/* Progress for a person, which the library never prints itself: long operations
 * format a line and hand it to the caller's function (the CLI prints it). */
typedef struct fcl_reporter {
    void (*line)(const char *text, void *user);
    void *user;
} fcl_reporter;
/* Formats a line to r's function; nothing when r or its function is NULL. */
void fcl_report(const fcl_reporter *r, const char *fmt, ...) FCL_PRINTF(2, 3);

/* Logs an error naming the failed call and returns its status, for `return FCL_FAIL(...)`. */
#define FCL_CL_FAIL(call, err) \
    (fcl_log(FCL_LOG_ERROR, "%s:%d: %s failed: %s", __FILE__, __LINE__, call, fcl_status_str(err)), (err))

#endif
