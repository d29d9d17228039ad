/* Checked file helpers: whole-file reads, atomic writes (temp file + rename). */
#ifndef FCL_RUNTIME_FILEIO_H
#define FCL_RUNTIME_FILEIO_H
#include "facecl.h"

#include <stdarg.h>

/* Reads a whole file; *data is NUL-terminated and the caller's to free(). */
fcl_status fcl_read_file(const char *path, char **data, size_t *length);
/* A text file (model, pairs): unreadable or holding a NUL byte is an error that names
 * the file and `what` it should have been. */
fcl_status fcl_read_text_file(const char *path, const char *what, char **text);

/* A growing string for writers (JSON headers, SVG): a failed allocation sticks, and
 * fcl_strbuf_status reports it once the text is complete. */
typedef struct fcl_strbuf {
    char *text;
    size_t len, cap;
    bool failed;
} fcl_strbuf;
void fcl_strbuf_printf(fcl_strbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void fcl_strbuf_vprintf(fcl_strbuf *b, const char *fmt, va_list ap);
fcl_status fcl_strbuf_status(const fcl_strbuf *b);

/* Writes to "<path>.tmp.<pid>", flushes, then renames over path: readers see the old
 * file or the new one, never a partial one. */
fcl_status fcl_write_file_atomic(const char *path, const void *data, size_t length);
/* mkdir -p; succeeds when the directory exists already. */
fcl_status fcl_mkdir_p(const char *path);
#endif
