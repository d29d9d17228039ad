/* Checked file helpers: whole-file reads, atomic writes (temp file + rename). */
#ifndef FCL_RUNTIME_FILEIO_H
#define FCL_RUNTIME_FILEIO_H
#include "facecl.h"

/* Reads a whole file; *data is NUL-terminated and the caller's to free(). */
fcl_status fcl_read_file(const char *path, char **data, size_t *length);
/* Writes to "<path>.tmp.<pid>", flushes, then renames over path: readers see the old
 * file or the new one, never a partial one. */
fcl_status fcl_write_file_atomic(const char *path, const void *data, size_t length);
/* mkdir -p; succeeds when the directory exists already. */
fcl_status fcl_mkdir_p(const char *path);
#endif
