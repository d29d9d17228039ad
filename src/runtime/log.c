/* The library's one log sink: a callback the host may replace. */
#include "runtime/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static void default_sink(fcl_log_level level, const char *message, void *user)
{
    (void)user;
    static const char *const prefix[] = {"debug", "info", "warning", "error"};
    fprintf(stderr, "facecl: %s: %s\n", prefix[level], message);
}

static fcl_log_fn sink = default_sink;
static void *sink_user;
static fcl_log_level min_level = FCL_LOG_WARN;

void fcl_set_log_callback(fcl_log_fn fn, void *user)
{
    sink = fn ? fn : default_sink;
    sink_user = fn ? user : NULL;
}

void fcl_set_log_level(fcl_log_level level) { min_level = level; }
fcl_log_level fcl_get_log_level(void) { return min_level; }

void fcl_log(fcl_log_level level, const char *fmt, ...)
{
    if (level < min_level)
        return;
    char small[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        sink(level, small, sink_user);
        return;
    }
    /* Long messages (kernel build logs) are formatted again at full length. */
    char *big = malloc((size_t)n + 1);
    if (!big) {
        sink(level, small, sink_user);
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sink(level, big, sink_user);
    free(big);
}

void fcl_report(const fcl_reporter *r, const char *fmt, ...)
{
    if (!r || !r->line)
        return;
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    r->line(text, r->user);
}
