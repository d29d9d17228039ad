/* Weights as safetensors: an 8-byte little-endian header length, a JSON header
 * {"<layer>.<tensor>": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]},
 *  "__metadata__": {...}}, then the raw little-endian data. Tensors are named
 * <layer>.weight / .bias (and .running_mean / .running_var for batch norm);
 * convolution weights are OIHW, fully connected weights [out, in].
 *
 * Reading validates the whole header before touching the data: every offset inside
 * the file, every tensor the model needs present with its exact shape, nothing extra,
 * no NaN or Inf. */
#include "io/safetensors.h"
#include "runtime/fileio.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HEADER (64u << 20)
#define MAX_DIMS 8

/* Little-endian hosts only: the raw float32 data is copied as it is. */
_Static_assert(sizeof(float) == 4, "float32");

typedef struct entry {
    char name[FCL_NAME_MAX + 32];
    char dtype[16];
    int64_t shape[MAX_DIMS];
    int ndims;
    uint64_t begin, end;
    bool seen;
} entry;

typedef struct writer {
    fcl_strbuf s;
    uint64_t data_at;
} writer;

static fcl_status append(writer *w, const char *fmt, ...) FCL_PRINTF(2, 3);
static fcl_status append(writer *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fcl_strbuf_vprintf(&w->s, fmt, ap);
    va_end(ap);
    return fcl_strbuf_status(&w->s);
}

/* A JSON string; only names and numbers are stored, so control characters are refused. */
static fcl_status append_string(writer *w, const char *text)
{
    fcl_status st = append(w, "\"");
    for (const char *c = text; *c && st == FCL_SUCCESS; c++) {
        if ((unsigned char)*c < 0x20)
            return FCL_ERR_INVALID_ARGUMENT;
        st = append(w, *c == '"' || *c == '\\' ? "\\%c" : "%c", *c);
    }
    return st == FCL_SUCCESS ? append(w, "\"") : st;
}

/* "key":"value", both escaped. */
static fcl_status append_pair(writer *w, const char *key, const char *value)
{
    fcl_status st = append_string(w, key);
    if (st == FCL_SUCCESS)
        st = append(w, ":");
    return st == FCL_SUCCESS ? append_string(w, value) : st;
}

/* A strict parser for the JSON subset safetensors headers use. */
typedef struct json {
    const char *p, *end;
    const char *path;
    writer *keep;             /* when set, every metadata pair but `replacing` is copied here */
    const char *replacing;
} json;

static fcl_status bad(const json *j, const char *what)
{
    fcl_log(FCL_LOG_ERROR, "%s: malformed safetensors header: %s", j->path, what);
    return FCL_ERR_FORMAT;
}

static void skip_ws(json *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
        j->p++;
}

static bool take(json *j, char c)
{
    skip_ws(j);
    if (j->p < j->end && *j->p == c) {
        j->p++;
        return true;
    }
    return false;
}

/* Reads a string without escapes beyond \" and \\ (names here are plain ASCII). */
static fcl_status read_string(json *j, char *out, size_t size)
{
    if (!take(j, '"'))
        return bad(j, "expected a string");
    size_t n = 0;
    while (j->p < j->end && *j->p != '"') {
        char c = *j->p++;
        if (c == '\\') {
            if (j->p >= j->end || (*j->p != '"' && *j->p != '\\' && *j->p != '/'))
                return bad(j, "unsupported escape in a string");
            c = *j->p++;
        }
        if ((unsigned char)c < 0x20)
            return bad(j, "control character in a string");
        if (n + 1 >= size)
            return bad(j, "string too long");
        out[n++] = c;
    }
    if (!take(j, '"'))
        return bad(j, "unterminated string");
    out[n] = '\0';
    return FCL_SUCCESS;
}

static fcl_status read_uint(json *j, uint64_t *out)
{
    skip_ws(j);
    uint64_t v = 0;
    const char *start = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
        if (v > (UINT64_MAX - 9) / 10)
            return bad(j, "number too large");
        v = v * 10 + (uint64_t)(*j->p++ - '0');
    }
    if (j->p == start)
        return bad(j, "expected a non-negative integer");
    *out = v;
    return FCL_SUCCESS;
}

static fcl_status read_uint_array(json *j, uint64_t *out, int max, int *count)
{
    *count = 0;
    if (!take(j, '['))
        return bad(j, "expected an array");
    if (take(j, ']'))
        return FCL_SUCCESS;
    do {
        if (*count == max)
            return bad(j, "array too long");
        fcl_status st = read_uint(j, &out[(*count)++]);
        if (st != FCL_SUCCESS)
            return st;
    } while (take(j, ','));
    return take(j, ']') ? FCL_SUCCESS : bad(j, "expected ']'");
}

/* __metadata__: an object of string values; the keys in meta[] get their values. */
static fcl_status read_metadata(json *j, fcl_st_meta *meta, int n_meta)
{
    char key[256], value[4096];
    if (!take(j, '{'))
        return bad(j, "__metadata__ must be an object");
    if (take(j, '}'))
        return FCL_SUCCESS;
    do {
        fcl_status st = read_string(j, key, sizeof key);
        if (st == FCL_SUCCESS && !take(j, ':'))
            st = bad(j, "expected ':'");
        if (st == FCL_SUCCESS)
            st = read_string(j, value, sizeof value);
        if (st == FCL_SUCCESS && j->keep && strcmp(key, j->replacing) != 0) {
            st = append_pair(j->keep, key, value);
            if (st == FCL_SUCCESS)
                st = append(j->keep, ",");
        }
        if (st != FCL_SUCCESS)
            return st;
        for (int i = 0; i < n_meta; i++)
            if (strcmp(meta[i].key, key) == 0) {
                if (strlen(value) >= sizeof meta[i].value)
                    return bad(j, "a metadata value is too long");
                memcpy(meta[i].value, value, strlen(value) + 1);
                meta[i].found = true;
            }
    } while (take(j, ','));
    return take(j, '}') ? FCL_SUCCESS : bad(j, "expected '}'");
}

static fcl_status read_entry(json *j, entry *e)
{
    bool has_dtype = false, has_shape = false, has_offsets = false;
    if (!take(j, '{'))
        return bad(j, "a tensor entry must be an object");
    do {
        char key[32];
        fcl_status st = read_string(j, key, sizeof key);
        if (st == FCL_SUCCESS && !take(j, ':'))
            st = bad(j, "expected ':'");
        if (st != FCL_SUCCESS)
            return st;
        if (strcmp(key, "dtype") == 0) {
            st = read_string(j, e->dtype, sizeof e->dtype);
            has_dtype = true;
        } else if (strcmp(key, "shape") == 0) {
            uint64_t dims[MAX_DIMS];
            st = read_uint_array(j, dims, MAX_DIMS, &e->ndims);
            for (int d = 0; d < e->ndims; d++)
                e->shape[d] = dims[d] > INT32_MAX ? -1 : (int64_t)dims[d];
            has_shape = true;
        } else if (strcmp(key, "data_offsets") == 0) {
            uint64_t off[2];
            int n;
            st = read_uint_array(j, off, 2, &n);
            if (st == FCL_SUCCESS && n != 2)
                st = bad(j, "data_offsets needs [begin, end]");
            e->begin = off[0];
            e->end = off[1];
            has_offsets = true;
        } else {
            st = bad(j, "unknown key in a tensor entry");
        }
        if (st != FCL_SUCCESS)
            return st;
    } while (take(j, ','));
    if (!take(j, '}'))
        return bad(j, "expected '}'");
    if (!has_dtype || !has_shape || !has_offsets)
        return bad(j, "a tensor entry needs dtype, shape and data_offsets");
    return FCL_SUCCESS;
}

static int by_name(const void *a, const void *b) { return strcmp(((const entry *)a)->name, ((const entry *)b)->name); }

static fcl_status parse_header(json *j, fcl_st_meta *meta, int n_meta, entry **out, int *count)
{
    entry *list = NULL;
    int n = 0, cap = 0;
    fcl_status st = take(j, '{') ? FCL_SUCCESS : bad(j, "the header must be a JSON object");
    if (st == FCL_SUCCESS && !take(j, '}')) {
        do {
            char name[sizeof list->name];
            st = read_string(j, name, sizeof name);
            if (st == FCL_SUCCESS && !take(j, ':'))
                st = bad(j, "expected ':'");
            if (st != FCL_SUCCESS)
                break;
            if (strcmp(name, "__metadata__") == 0) {
                if ((st = read_metadata(j, meta, n_meta)) != FCL_SUCCESS)
                    break;
                continue;
            }
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                entry *grown = realloc(list, (size_t)cap * sizeof *grown);
                if (!grown) {
                    st = FCL_ERR_OUT_OF_HOST_MEMORY;
                    break;
                }
                list = grown;
            }
            memset(&list[n], 0, sizeof list[n]);
            snprintf(list[n].name, sizeof list[n].name, "%s", name);
            if ((st = read_entry(j, &list[n])) != FCL_SUCCESS)
                break;
            n++;
        } while (st == FCL_SUCCESS && take(j, ','));
        if (st == FCL_SUCCESS && !take(j, '}'))
            st = bad(j, "expected '}' or ','");
    }
    /* Sorted by name, a repeated name sits next to itself, and lookups are a binary
     * search: a header of 200,000 entries takes milliseconds, not minutes. */
    if (st == FCL_SUCCESS && n > 1)
        qsort(list, (size_t)n, sizeof *list, by_name);
    for (int i = 1; i < n && st == FCL_SUCCESS; i++)
        if (strcmp(list[i - 1].name, list[i].name) == 0)
            st = bad(j, "a tensor name appears twice");
    skip_ws(j);
    if (st == FCL_SUCCESS && j->p != j->end)
        st = bad(j, "text after the header object");
    if (st != FCL_SUCCESS) {
        free(list);
        return st;
    }
    *out = list;
    *count = n;
    return FCL_SUCCESS;
}

/* Calls fn for every parameter tensor of the model, in arena order. */
typedef fcl_status (*tensor_fn)(void *ctx, const char *name, const fcl_param_desc *d, size_t offset);
static fcl_status each_tensor(const fcl_model *m, tensor_fn fn, void *ctx)
{
    for (int i = 0; i < m->n_nodes; i++) {
        fcl_param_desc d[FCL_MAX_PARAMS];
        int np = fcl_ops[m->nodes[i].op]->params(&m->nodes[i], d);
        size_t at = m->nodes[i].param_off;
        for (int k = 0; k < np; k++) {
            char name[sizeof ((entry *)0)->name];
            snprintf(name, sizeof name, "%s.%s", m->nodes[i].name, d[k].suffix);
            fcl_status st = fn(ctx, name, &d[k], at);
            if (st != FCL_SUCCESS)
                return st;
            at += d[k].count;
        }
    }
    return FCL_SUCCESS;
}

static fcl_status header_shape(writer *w, const char *name, const int *dims, int ndims, size_t count)
{
    fcl_status st = append(w, ",\"%s\":{\"dtype\":\"F32\",\"shape\":[", name);
    for (int i = 0; i < ndims && st == FCL_SUCCESS; i++)
        st = append(w, "%s%d", i ? "," : "", dims[i]);
    if (st == FCL_SUCCESS)
        st = append(w, "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}", w->data_at, w->data_at + count * 4);
    w->data_at += count * 4;
    return st;
}

static fcl_status header_entry(void *ctx, const char *name, const fcl_param_desc *d, size_t offset)
{
    (void)offset;
    return header_shape(ctx, name, d->dims, d->ndims, d->count);
}

fcl_status fcl_safetensors_save(const fcl_model *m, const float *params, const fcl_st_tensor *extra, int n_extra,
                                const fcl_st_meta *meta, int n_meta, const char *path)
{
    writer w = {0};
    fcl_status st = append(&w, "{\"__metadata__\":{\"format\":\"pt\",\"producer\":\"facecl %s\",\"model\":", FACECL_VERSION);
    if (st == FCL_SUCCESS)
        st = append_string(&w, m->name);
    for (int i = 0; i < n_meta && st == FCL_SUCCESS; i++) {
        st = append(&w, ",");
        if (st == FCL_SUCCESS)
            st = append_pair(&w, meta[i].key, meta[i].value);
    }
    if (st == FCL_SUCCESS)
        st = append(&w, "}");
    if (st == FCL_SUCCESS)
        st = each_tensor(m, header_entry, &w);
    size_t data_bytes = m->n_params * 4;
    for (int i = 0; i < n_extra && st == FCL_SUCCESS; i++) {
        int dims[1] = {(int)extra[i].count};
        st = extra[i].count > INT32_MAX ? FCL_ERR_INVALID_ARGUMENT : header_shape(&w, extra[i].name, dims, 1, extra[i].count);
        data_bytes += extra[i].count * 4;
    }
    if (st == FCL_SUCCESS)
        st = append(&w, "}");
    while (st == FCL_SUCCESS && w.s.len % 8 != 0) /* the data starts 8-byte aligned */
        st = append(&w, " ");
    size_t total = 8 + w.s.len + data_bytes;
    unsigned char *file = st == FCL_SUCCESS ? malloc(total) : NULL;
    if (st == FCL_SUCCESS && !file)
        st = FCL_ERR_OUT_OF_HOST_MEMORY;
    if (st == FCL_SUCCESS) {
        uint64_t n = w.s.len;
        for (int i = 0; i < 8; i++)
            file[i] = (unsigned char)(n >> (8 * i));
        memcpy(file + 8, w.s.text, w.s.len);
        unsigned char *at = file + 8 + w.s.len;
        memcpy(at, params, m->n_params * 4); /* arena order = header order */
        at += m->n_params * 4;
        for (int i = 0; i < n_extra; at += extra[i].count * 4, i++)
            memcpy(at, extra[i].data, extra[i].count * 4);
        st = fcl_write_file_atomic(path, file, total);
        if (st != FCL_SUCCESS)
            fcl_log(FCL_LOG_ERROR, "cannot write %s", path);
    }
    free(file);
    free(w.s.text);
    return st;
}

fcl_status fcl_weights_save(const fcl_model *m, const float *params, const char *path)
{
    return fcl_safetensors_save(m, params, NULL, 0, NULL, 0, path);
}

typedef struct loader {
    const char *path;
    entry *entries;
    int n_entries;
    const unsigned char *data;
    uint64_t data_size;
    float *params;
} loader;

/* Copies entry `name` of `count` F32 values in `ndims` dims (dims NULL: any 1-D) to dst,
 * checking shape, offsets and finiteness. */
static fcl_status load_values(loader *l, const char *name, const int *dims, int ndims, size_t count, float *dst)
{
    entry key;
    snprintf(key.name, sizeof key.name, "%s", name);
    entry *e = l->n_entries ? bsearch(&key, l->entries, (size_t)l->n_entries, sizeof *e, by_name) : NULL;
    if (!e) {
        fcl_log(FCL_LOG_ERROR, "%s: no tensor %s: this file does not belong to this model or lacks training state",
                l->path, name);
        return FCL_ERR_FORMAT;
    }
    e->seen = true;
    bool shape_ok = e->ndims == ndims;
    for (int i = 0; i < ndims && shape_ok; i++)
        shape_ok = e->shape[i] == (dims ? dims[i] : (int64_t)count);
    if (strcmp(e->dtype, "F32") != 0 || !shape_ok) {
        char have[96] = "", want[96] = "";
        for (int i = 0; i < e->ndims; i++)
            snprintf(have + strlen(have), sizeof have - strlen(have), "%s%" PRId64, i ? "," : "", e->shape[i]);
        for (int i = 0; i < ndims; i++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", i ? "," : "",
                     dims ? (long long)dims[i] : (long long)count);
        fcl_log(FCL_LOG_ERROR, "%s: %s is %s [%s] in the file; the model needs F32 [%s] (these weights are for "
                               "another model, or another version of it)", l->path, name, e->dtype, have, want);
        return FCL_ERR_FORMAT;
    }
    if (e->begin > e->end || e->end > l->data_size || e->end - e->begin != count * 4) {
        fcl_log(FCL_LOG_ERROR, "%s: %s's data_offsets [%" PRIu64 ", %" PRIu64 "] do not fit its shape or the file (%" PRIu64
                               " data bytes)", l->path, name, e->begin, e->end, l->data_size);
        return FCL_ERR_FORMAT;
    }
    memcpy(dst, l->data + e->begin, count * 4);
    for (size_t i = 0; i < count; i++)
        if (!isfinite(dst[i])) {
            fcl_log(FCL_LOG_ERROR, "%s: %s[%zu] is %g: refusing a file that holds NaN or Inf", l->path, name, i,
                    dst[i]);
            return FCL_ERR_NUMERIC;
        }
    return FCL_SUCCESS;
}

static fcl_status load_tensor(void *ctx, const char *name, const fcl_param_desc *d, size_t offset)
{
    loader *l = ctx;
    return load_values(l, name, d->dims, d->ndims, d->count, l->params + offset);
}

/* Reads a whole safetensors file and checks its header length; j spans the JSON header. */
static fcl_status read_container(const char *path, char **file, size_t *size, json *j)
{
    fcl_status st = fcl_read_file(path, file, size);
    if (st != FCL_SUCCESS) {
        fcl_log(FCL_LOG_ERROR, "cannot read %s: %s", path, st == FCL_ERR_IO ? strerror(errno) : fcl_status_str(st));
        return st;
    }
    uint64_t header_len = 0;
    for (int i = 0; i < 8 && *size >= 8; i++)
        header_len |= (uint64_t)(unsigned char)(*file)[i] << (8 * i);
    if (*size < 8 || header_len > *size - 8 || header_len > MAX_HEADER) {
        fcl_log(FCL_LOG_ERROR, "%s: not a safetensors file (header length %" PRIu64 ", file %zu bytes)", path,
                header_len, *size);
        free(*file);
        return FCL_ERR_FORMAT;
    }
    *j = (json){*file + 8, *file + 8 + header_len, path, NULL, ""};
    return FCL_SUCCESS;
}

static int by_begin(const void *a, const void *b)
{
    const entry *x = *(const entry *const *)a, *y = *(const entry *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* The data section as the format defines it: the tensors' byte ranges tile it, with
 * no overlap (two tensors reading the same bytes), no hole and nothing after the last. */
static fcl_status check_layout(const char *path, const entry *list, int n, uint64_t data_size)
{
    const entry **order = malloc((size_t)(n ? n : 1) * sizeof *order);
    if (!order)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    for (int i = 0; i < n; i++)
        order[i] = &list[i];
    qsort(order, (size_t)n, sizeof *order, by_begin);
    uint64_t at = 0;
    fcl_status st = FCL_SUCCESS;
    for (int i = 0; i < n && st == FCL_SUCCESS; i++) {
        const entry *e = order[i];
        if (e->begin != at || e->end < e->begin) {
            fcl_log(FCL_LOG_ERROR, "%s: %s's data_offsets [%" PRIu64 ", %" PRIu64 "] %s byte %" PRIu64 ": the tensors' "
                                   "data must follow each other without overlaps or gaps", path, e->name, e->begin,
                    e->end, e->begin < at ? "overlap the previous tensor's, which ends at" : "leave a gap after",
                    at);
            st = FCL_ERR_FORMAT;
        }
        at = e->end;
    }
    if (st == FCL_SUCCESS && at != data_size) {
        fcl_log(FCL_LOG_ERROR, "%s: %" PRIu64 " bytes after the last tensor's data (%" PRIu64 " of %" PRIu64
                               "): the file holds more than its header describes", path, data_size - at, at,
                data_size);
        st = FCL_ERR_FORMAT;
    }
    free(order);
    return st;
}

fcl_status fcl_safetensors_load(const fcl_model *m, const char *path, float *params, fcl_st_tensor *extra, int n_extra,
                                fcl_st_meta *meta, int n_meta)
{
    for (int i = 0; i < n_meta; i++)
        meta[i].found = false;
    char *file;
    size_t size;
    json j;
    fcl_status st = read_container(path, &file, &size, &j);
    if (st != FCL_SUCCESS)
        return st;
    loader l = {.path = path, .data = (const unsigned char *)j.end, .data_size = size - (size_t)(j.end - file),
                .params = params};
    st = parse_header(&j, meta, n_meta, &l.entries, &l.n_entries);
    if (st == FCL_SUCCESS)
        st = check_layout(path, l.entries, l.n_entries, l.data_size);
    if (st == FCL_SUCCESS)
        st = each_tensor(m, load_tensor, &l);
    for (int i = 0; i < n_extra && st == FCL_SUCCESS; i++)
        st = load_values(&l, extra[i].name, NULL, 1, extra[i].count, extra[i].data);
    for (int i = 0; i < l.n_entries && st == FCL_SUCCESS; i++)
        if (!l.entries[i].seen && strncmp(l.entries[i].name, FCL_ST_STATE_PREFIX, strlen(FCL_ST_STATE_PREFIX)) != 0) {
            fcl_log(FCL_LOG_ERROR, "%s: tensor %s is not in model %s: these weights do not belong to it", path,
                    l.entries[i].name, m->name);
            st = FCL_ERR_FORMAT;
        }
    free(l.entries);
    free(file);
    return st;
}

fcl_status fcl_weights_load(const fcl_model *m, const char *path, float *params)
{
    return fcl_safetensors_load(m, path, params, NULL, 0, NULL, 0);
}

fcl_status fcl_net_save_weights(fcl_net *net, const char *path)
{
    size_t n = net->model->n_params;
    float *host = malloc((n ? n : 1) * sizeof *host);
    if (!host)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    fcl_status st = fcl_net_read(net, net->params, 0, n, host);
    if (st == FCL_SUCCESS)
        st = fcl_weights_save(net->model, host, path);
    free(host);
    return st;
}

fcl_status fcl_net_load_weights(fcl_net *net, const char *path)
{
    return fcl_net_load_weights_of(net, net->model, path);
}

fcl_status fcl_net_load_weights_of(fcl_net *net, const fcl_model *m, const char *path)
{
    size_t n = m->n_params;
    if (n > net->model->n_params)
        return FCL_ERR_INVALID_ARGUMENT;
    float *host = malloc((n ? n : 1) * sizeof *host);
    if (!host)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    fcl_status st = fcl_weights_load(m, path, host);
    if (st == FCL_SUCCESS)
        st = fcl_net_write(net, net->params, 0, n, host);
    free(host);
    return st;
}

fcl_status fcl_safetensors_read_meta(const char *path, fcl_st_meta *meta, int n_meta)
{
    for (int i = 0; i < n_meta; i++)
        meta[i].found = false;
    char *file;
    size_t size;
    json j;
    fcl_status st = read_container(path, &file, &size, &j);
    if (st != FCL_SUCCESS)
        return st;
    entry *entries;
    int n_entries;
    st = parse_header(&j, meta, n_meta, &entries, &n_entries);
    if (st == FCL_SUCCESS)
        free(entries);
    free(file);
    return st;
}

/* The header is written again with the old metadata (key replaced), the same entries
 * and offsets; the data bytes are copied unchanged. */
fcl_status fcl_safetensors_set_meta(const char *path, const char *key, const char *value)
{
    char *file;
    size_t size;
    json j;
    fcl_status st = read_container(path, &file, &size, &j);
    if (st != FCL_SUCCESS)
        return st;
    writer w = {0};
    entry *entries = NULL;
    int n = 0;
    st = append(&w, "{\"__metadata__\":{");
    j.keep = &w;
    j.replacing = key;
    if (st == FCL_SUCCESS)
        st = parse_header(&j, NULL, 0, &entries, &n);
    if (st == FCL_SUCCESS)
        st = append_pair(&w, key, value);
    if (st == FCL_SUCCESS)
        st = append(&w, "}");
    for (int i = 0; i < n && st == FCL_SUCCESS; i++) {
        st = append(&w, ",");
        if (st == FCL_SUCCESS)
            st = append_string(&w, entries[i].name);
        if (st == FCL_SUCCESS)
            st = append(&w, ":{\"dtype\":");
        if (st == FCL_SUCCESS)
            st = append_string(&w, entries[i].dtype);
        if (st == FCL_SUCCESS)
            st = append(&w, ",\"shape\":[");
        for (int d = 0; d < entries[i].ndims && st == FCL_SUCCESS; d++)
            st = append(&w, "%s%" PRId64, d ? "," : "", entries[i].shape[d]);
        if (st == FCL_SUCCESS)
            st = append(&w, "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}", entries[i].begin, entries[i].end);
    }
    if (st == FCL_SUCCESS)
        st = append(&w, "}");
    while (st == FCL_SUCCESS && w.s.len % 8 != 0)
        st = append(&w, " ");
    size_t data_bytes = size - (size_t)(j.end - file), total = 8 + w.s.len + data_bytes;
    unsigned char *out = st == FCL_SUCCESS ? malloc(total) : NULL;
    if (st == FCL_SUCCESS && !out)
        st = FCL_ERR_OUT_OF_HOST_MEMORY;
    if (st == FCL_SUCCESS) {
        for (int i = 0; i < 8; i++)
            out[i] = (unsigned char)((uint64_t)w.s.len >> (8 * i));
        memcpy(out + 8, w.s.text, w.s.len);
        memcpy(out + 8 + w.s.len, j.end, data_bytes);
        st = fcl_write_file_atomic(path, out, total);
        if (st != FCL_SUCCESS)
            fcl_log(FCL_LOG_ERROR, "cannot write %s", path);
    }
    free(out);
    free(entries);
    free(w.s.text);
    free(file);
    return st;
}
