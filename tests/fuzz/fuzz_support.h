/* What the libFuzzer harnesses share: the input as a file, for parsers that read paths. */
#ifndef FCL_FUZZ_SUPPORT_H
#define FCL_FUZZ_SUPPORT_H
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Writes data to a per-process file in /tmp (name ending in suffix) and returns its path. */
const char *fuzz_file(const uint8_t *data, size_t size, const char *suffix);
/* The input as a NUL-terminated string (malloc'd; NULL when out of memory). */
char *fuzz_text(const uint8_t *data, size_t size);
/* Silences facecl's log: rejections are the expected outcome. */
void fuzz_quiet(void);
#endif
