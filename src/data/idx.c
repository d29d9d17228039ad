#include "data/idx.h"
#include "runtime/log.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MAX_BYTES ((size_t)1 << 31)

static fcl_status reject(gzFile f, const char *path, const char *why)
{
    fcl_log(FCL_LOG_ERROR, "%s: not a valid IDX file: %s", path, why);
    gzclose(f);
    return FCL_ERR_FORMAT;
}

fcl_status fcl_idx_load(const char *path, fcl_idx *out)
{
    memset(out, 0, sizeof *out);
    gzFile f = gzopen(path, "rb"); /* reads gzip'd and plain files alike */
    if (!f) {
        fcl_log(FCL_LOG_ERROR, "%s: cannot open", path);
        return FCL_ERR_IO;
    }
    unsigned char magic[4];
    if (gzread(f, magic, 4) != 4)
        return reject(f, path, "shorter than its 4-byte magic");
    if (magic[0] != 0 || magic[1] != 0)
        return reject(f, path, "the magic does not start with two zero bytes");
    if (magic[2] != 0x08)
        return reject(f, path, "only unsigned-byte data (type 0x08) is supported");
    if (magic[3] < 1 || magic[3] > FCL_IDX_MAX_DIMS)
        return reject(f, path, "it has 0 or more than 4 dimensions");
    out->ndims = magic[3];
    out->count = 1;
    for (int d = 0; d < out->ndims; d++) {
        unsigned char b[4];
        if (gzread(f, b, 4) != 4)
            return reject(f, path, "truncated in its header");
        uint32_t v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
        if (v == 0 || v > (1u << 30) || out->count * v > MAX_BYTES)
            return reject(f, path, "a dimension is 0 or the data would exceed 2 GiB");
        out->dims[d] = (int)v;
        out->count *= v;
    }
    /* The buffer grows with the data actually read: a 60-byte file whose header
     * claims 2 GiB must not allocate 2 GiB (found by tests/fuzz/fuzz_idx). */
    size_t got = 0, cap = 0;
    while (got < out->count) {
        if (got == cap) {
            size_t grown = cap ? 2 * cap : (size_t)1 << 20;
            grown = grown < out->count ? grown : out->count;
            unsigned char *data = realloc(out->data, grown);
            if (!data) {
                gzclose(f);
                fcl_idx_free(out);
                return FCL_ERR_OUT_OF_HOST_MEMORY;
            }
            out->data = data;
            cap = grown;
        }
        int n = gzread(f, out->data + got, (unsigned)(cap - got));
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    unsigned char extra;
    int err;
    const char *zmsg = gzerror(f, &err);
    fcl_status st = FCL_SUCCESS;
    if (err != Z_OK && err != Z_BUF_ERROR) {
        fcl_log(FCL_LOG_ERROR, "%s: corrupt compressed data (%s)", path, zmsg);
        st = FCL_ERR_FORMAT;
    } else if (got < out->count) {
        fcl_log(FCL_LOG_ERROR, "%s: truncated: %zu of %zu data bytes", path, got, out->count);
        st = FCL_ERR_FORMAT;
    } else if (gzread(f, &extra, 1) != 0) {
        fcl_log(FCL_LOG_ERROR, "%s: longer than its header says (%zu data bytes)", path, out->count);
        st = FCL_ERR_FORMAT;
    }
    gzclose(f);
    if (st != FCL_SUCCESS)
        fcl_idx_free(out);
    return st;
}

void fcl_idx_free(fcl_idx *idx)
{
    free(idx->data);
    memset(idx, 0, sizeof *idx);
}
