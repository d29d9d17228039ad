#include "runtime/fileio.h"
#include "runtime/log.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

fcl_status fcl_read_file(const char *path, char **data, size_t *length)
{
    *data = NULL;
    *length = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return FCL_ERR_IO;
    char *buf = NULL;
    size_t used = 0, cap = 0;
    for (;;) {
        if (cap - used < 65536) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *grown = realloc(buf, ncap + 1);
            if (!grown) {
                free(buf);
                fclose(f);
                return FCL_ERR_OUT_OF_HOST_MEMORY;
            }
            buf = grown;
            cap = ncap;
        }
        size_t got = fread(buf + used, 1, cap - used, f);
        used += got;
        if (got == 0)
            break;
    }
    bool failed = ferror(f);
    const int saved = errno;
    fclose(f);
    if (failed) {
        free(buf);
        errno = saved; /* for the caller's message */
        return FCL_ERR_IO;
    }
    buf[used] = '\0';
    *data = buf;
    *length = used;
    return FCL_SUCCESS;
}

static void sync_parent_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return;
    char *slash = strrchr(copy, '/');
    const char *dir = slash ? (slash == copy ? "/" : (*slash = '\0', copy)) : ".";
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd); /* best effort: some file systems refuse fsync on directories */
        close(fd);
    }
    free(copy);
}

/* A device or pipe (/dev/stdout, /dev/full, a FIFO) is written in place: renaming a
 * temporary file over it would replace the device node itself. */
static fcl_status write_in_place(const char *path, const void *data, size_t length)
{
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(data, 1, length, f) == length;
    ok = f && (fflush(f) == 0) && ok;
    ok = f && (fclose(f) == 0) && ok;
    if (!ok)
        fcl_log(FCL_LOG_ERROR, "writing %s: %s", path, strerror(errno)); /* ENOSPC from /dev/full, EPIPE, ... */
    return ok ? FCL_SUCCESS : FCL_ERR_IO;
}

fcl_status fcl_write_file_atomic(const char *path, const void *data, size_t length)
{
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
        return S_ISDIR(sb.st_mode) ? (fcl_log(FCL_LOG_ERROR, "writing %s: it is a directory", path), FCL_ERR_IO)
                                   : write_in_place(path, data, length);
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (!tmp)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        fcl_log(FCL_LOG_ERROR, "writing %s: %s", tmp, strerror(errno));
        free(tmp);
        return FCL_ERR_IO;
    }
    bool ok = fwrite(data, 1, length, f) == length;
    ok = (fflush(f) == 0) && ok;
    ok = (fsync(fileno(f)) == 0) && ok;
    ok = (fclose(f) == 0) && ok;
    if (ok && rename(tmp, path) != 0)
        ok = false;
    if (!ok) {
        const int saved = errno;
        fcl_log(FCL_LOG_ERROR, "writing %s: %s", path, strerror(saved)); /* ENOSPC, EROFS, ... */
        remove(tmp);
    }
    free(tmp);
    if (ok) /* the rename itself survives a power cut only once the directory is synced */
        sync_parent_dir(path);
    return ok ? FCL_SUCCESS : FCL_ERR_IO;
}

fcl_status fcl_mkdir_p(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    fcl_status st = FCL_SUCCESS;
    for (char *p = copy + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(copy, 0755) != 0 && errno != EEXIST) {
            fcl_log(FCL_LOG_ERROR, "cannot create the directory %s: %s", copy, strerror(errno));
            st = FCL_ERR_IO;
            break;
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
    struct stat sb;
    if (st == FCL_SUCCESS && (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)))
        st = FCL_ERR_IO;
    free(copy);
    return st;
}

fcl_status fcl_read_text_file(const char *path, const char *what, char **text)
{
    size_t length;
    fcl_status st = fcl_read_file(path, text, &length);
    if (st != FCL_SUCCESS) {
        fcl_log(FCL_LOG_ERROR, "cannot read the %s %s: %s", what, path,
                st == FCL_ERR_IO ? strerror(errno) : fcl_status_str(st));
        return st;
    }
    if (strlen(*text) != length) {
        fcl_log(FCL_LOG_ERROR, "%s: not a text %s (it holds a NUL byte)", path, what);
        free(*text);
        *text = NULL;
        return FCL_ERR_PARSE;
    }
    return FCL_SUCCESS;
}

void fcl_strbuf_vprintf(fcl_strbuf *b, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    if (!b->failed && n >= 0 && b->len + (size_t)n + 1 > b->cap) {
        size_t cap = (b->cap + (size_t)n + 1) * 2;
        char *grown = realloc(b->text, cap);
        if (grown) {
            b->text = grown;
            b->cap = cap;
        } else {
            b->failed = true;
        }
    }
    if (b->failed || n < 0) {
        b->failed = true;
    } else {
        vsnprintf(b->text + b->len, b->cap - b->len, fmt, again);
        b->len += (size_t)n;
    }
    va_end(again);
}

void fcl_strbuf_printf(fcl_strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fcl_strbuf_vprintf(b, fmt, ap);
    va_end(ap);
}

fcl_status fcl_strbuf_status(const fcl_strbuf *b) { return b->failed ? FCL_ERR_OUT_OF_HOST_MEMORY : FCL_SUCCESS; }
