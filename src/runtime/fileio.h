/* Checked file helpers: whole-file reads, atomic writes (temp file + rename). */
#ifndef FCL_RUNTIME_FILEIO_H
#define FCL_RUNTIME_FILEIO_H
#include "facecl.h"

#include <stdarg.h>

/* A text file (model, pairs): unreadable or holding a NUL byte is an error that names
 * the file and `what` it should have been. */
fcl_status fcl_read_text_file(const char *path, const char *what, char **text);

/* fcl_strbuf, fcl_read_file, fcl_write_file_atomic and fcl_mkdir_p are public (facecl.h). */
void fcl_strbuf_vprintf(fcl_strbuf *b, const char *fmt, va_list ap);
#endif
