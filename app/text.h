/* Numbers as people read them in tables. */
#ifndef FCL_RUNTIME_TEXT_H
#define FCL_RUNTIME_TEXT_H
#include <stddef.h>

/* A count with a K/M/B suffix, as the paper writes FLOPS and parameters: 9408 ->
 * "9.4K", 1.6e9 -> "1.6B", 140e6 -> "140M". Returns out. */
const char *fcl_format_count(double v, char *out, size_t size);
#endif
