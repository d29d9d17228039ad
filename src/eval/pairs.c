#include "eval/pairs.h"
#include "runtime/fileio.h"
#include "runtime/log.h"
#include "runtime/random.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fcl_pairs_free(fcl_pairs *p)
{
    free(p->pairs);
    memset(p, 0, sizeof *p);
}

#define MAX_TOKENS 5

/* Splits one line into whitespace-separated tokens (in place); returns their count,
 * MAX_TOKENS when there are too many. */
static int tokenize(char *line, char **tok)
{
    int n = 0;
    char *save = NULL;
    for (char *p = strtok_r(line, " \t\r", &save); p; p = strtok_r(NULL, " \t\r", &save)) {
        if (n == MAX_TOKENS)
            return MAX_TOKENS;
        tok[n++] = p;
    }
    return n;
}

static bool parse_count(const char *s, long max, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < 1 || v > max)
        return false;
    *out = (int)v;
    return true;
}

/* "name number" -> data set index, or an error naming the line. */
static fcl_status lookup(const fcl_dataset *d, const char *path, int line, const char *name, const char *number,
                         int *out)
{
    int k;
    if (!parse_count(number, 1 << 30, &k)) {
        fcl_log(FCL_LOG_ERROR, "%s:%d: '%.40s%s' is not an image number (1, 2, ...)", path, line, number,
                strlen(number) > 40 ? "..." : "");
        return FCL_ERR_PARSE;
    }
    if ((*out = fcl_dataset_find(d, name, k)) < 0) {
        fcl_log(FCL_LOG_ERROR, "%s:%d: %.80s%s has no image %d in %s", path, line, name, strlen(name) > 80 ? "..." : "",
                k, d->source);
        return FCL_ERR_PARSE;
    }
    return FCL_SUCCESS;
}

fcl_status fcl_pairs_parse(const char *text, const char *path, const fcl_dataset *d, fcl_pairs *out)
{
    memset(out, 0, sizeof *out);
    char *copy = strdup(text);
    if (!copy)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    fcl_status st = FCL_SUCCESS;
    int line_no = 0, cap = 0;
    char *next = copy;
    while (next && st == FCL_SUCCESS) {
        char *line = next, *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        next = nl ? nl + 1 : NULL;
        line_no++;
        char *tok[MAX_TOKENS];
        int n = tokenize(line, tok);
        if (n == 0)
            continue;
        if (out->folds == 0) {
            if (n != 2 || !parse_count(tok[0], 1000, &out->folds) || !parse_count(tok[1], 1 << 24, &out->per_fold)) {
                fcl_log(FCL_LOG_ERROR, "%s:%d: the first line must be '<folds> <pairs per fold and kind>', "
                                       "as in LFW's pairs.txt (10 300)", path, line_no);
                st = FCL_ERR_PARSE;
                out->folds = 0;
            }
            continue;
        }
        if (n != 3 && n != 4) {
            fcl_log(FCL_LOG_ERROR, "%s:%d: expected 'name i j' or 'name1 i name2 j', found %d fields", path, line_no, n);
            st = FCL_ERR_PARSE;
            break;
        }
        fcl_pair p = {.same = n == 3};
        st = lookup(d, path, line_no, tok[0], tok[1], &p.a);
        if (st == FCL_SUCCESS)
            st = n == 3 ? lookup(d, path, line_no, tok[0], tok[2], &p.b) : lookup(d, path, line_no, tok[2], tok[3], &p.b);
        if (st != FCL_SUCCESS)
            break;
        int per_fold_total = 2 * out->per_fold, at = out->n % per_fold_total;
        p.fold = out->n / per_fold_total;
        if (p.fold >= out->folds || p.same != (at < out->per_fold)) {
            fcl_log(FCL_LOG_ERROR, "%s:%d: expected a %s pair here (each fold: %d same pairs, then %d different; "
                                   "%d folds)", path, line_no, p.fold >= out->folds ? "no more" : at < out->per_fold ? "same" : "different",
                    out->per_fold, out->per_fold, out->folds);
            st = FCL_ERR_PARSE;
            break;
        }
        if (out->n == cap) {
            cap = cap ? 2 * cap : 1024;
            fcl_pair *grown = realloc(out->pairs, (size_t)cap * sizeof *grown);
            if (!grown) {
                st = FCL_ERR_OUT_OF_HOST_MEMORY;
                break;
            }
            out->pairs = grown;
        }
        out->pairs[out->n++] = p;
    }
    if (st == FCL_SUCCESS && (out->folds == 0 || out->n != out->folds * 2 * out->per_fold)) {
        fcl_log(FCL_LOG_ERROR, "%s: %d pairs, but its first line promises %d folds of %d same + %d different", path,
                out->n, out->folds, out->per_fold, out->per_fold);
        st = FCL_ERR_PARSE;
    }
    free(copy);
    if (st != FCL_SUCCESS)
        fcl_pairs_free(out);
    return st;
}

fcl_status fcl_pairs_load(const char *path, const fcl_dataset *d, fcl_pairs *out)
{
    char *text;
    memset(out, 0, sizeof *out);
    fcl_status st = fcl_read_text_file(path, "pairs file", &text);
    if (st != FCL_SUCCESS)
        return st;
    st = fcl_pairs_parse(text, path, d, out);
    free(text);
    return st;
}

/* A set of drawn pairs (unordered), open addressing: a pair drawn twice would count
 * twice in the folds' accuracy. */
typedef struct pair_set {
    uint64_t *keys; /* (min + 1) << 32 | (max + 1); 0: empty */
    size_t cap;
} pair_set;

static bool pair_set_add(pair_set *s, int a, int b)
{
    const uint64_t lo = (uint64_t)(a < b ? a : b) + 1, hi = (uint64_t)(a < b ? b : a) + 1, key = lo << 32 | hi;
    for (size_t i = (size_t)(key * 0x9E3779B97F4A7C15ULL >> 20) % s->cap;; i = (i + 1) % s->cap) {
        if (s->keys[i] == key)
            return false;
        if (!s->keys[i]) {
            s->keys[i] = key;
            return true;
        }
    }
}

fcl_status fcl_pairs_generate(const fcl_dataset *d, int folds, int per_fold, uint64_t seed, fcl_pairs *out)
{
    memset(out, 0, sizeof *out);
    /* Each identity's images in data set order, for drawing by identity. */
    int *count = calloc((size_t)d->n_classes + 1, sizeof *count), *order = malloc((size_t)d->n * sizeof *order);
    int *start = calloc((size_t)d->n_classes + 1, sizeof *start);
    fcl_status st = count && order && start ? FCL_SUCCESS : FCL_ERR_OUT_OF_HOST_MEMORY;
    int usable = 0;
    for (int i = 0; st == FCL_SUCCESS && i < d->n; i++)
        count[d->labels[i]]++;
    for (int k = 0; st == FCL_SUCCESS && k < d->n_classes; k++) {
        start[k + 1] = start[k] + count[k];
        usable += count[k] >= 2;
        count[k] = 0;
    }
    for (int i = 0; st == FCL_SUCCESS && i < d->n; i++)
        order[start[d->labels[i]] + count[d->labels[i]]++] = i;
    if (st == FCL_SUCCESS && usable < 2) {
        fcl_log(FCL_LOG_ERROR, "%s: pairs need at least 2 identities with 2 or more images", d->source);
        st = FCL_ERR_INVALID_ARGUMENT;
    }
    /* A small set holds fewer distinct pairs than the protocol's folds x 300: each fold
     * then gets what there is, so that no pair is drawn twice. */
    double same_pairs = 0, all_pairs = (double)d->n * (d->n - 1) / 2;
    for (int k = 0; st == FCL_SUCCESS && k < d->n_classes; k++)
        same_pairs += (double)count[k] * (count[k] - 1) / 2;
    const double fit = fmin(same_pairs, all_pairs - same_pairs) / folds;
    if (st == FCL_SUCCESS && fit < 1) {
        fcl_log(FCL_LOG_ERROR, "%s: %.0f same-identity pairs, fewer than the %d folds: use a larger test set, or "
                               "give a pairs file (--pairs)", d->source, same_pairs, folds);
        st = FCL_ERR_INVALID_ARGUMENT;
    } else if (st == FCL_SUCCESS && fit < per_fold) {
        fcl_log(FCL_LOG_INFO, "%s: %.0f same and %.0f different pairs: %d folds of %.0f of each", d->source,
                same_pairs, all_pairs - same_pairs, folds, floor(fit));
        per_fold = (int)fit;
    }
    if (st == FCL_SUCCESS) {
        out->folds = folds;
        out->per_fold = per_fold;
        out->n = folds * 2 * per_fold;
        out->pairs = malloc((size_t)out->n * sizeof *out->pairs);
        st = out->pairs ? FCL_SUCCESS : FCL_ERR_OUT_OF_HOST_MEMORY;
    }
    pair_set drawn = {.cap = st == FCL_SUCCESS ? 4 * (size_t)out->n + 1 : 0};
    if (st == FCL_SUCCESS && !(drawn.keys = calloc(drawn.cap, sizeof *drawn.keys)))
        st = FCL_ERR_OUT_OF_HOST_MEMORY;
    uint64_t rng = seed;
    for (int i = 0; st == FCL_SUCCESS && i < out->n; i++) {
        fcl_pair *p = &out->pairs[i];
        p->fold = i / (2 * per_fold);
        p->same = i % (2 * per_fold) < per_fold;
        bool fresh = false;
        for (int attempt = 0; !fresh && attempt < 10000; attempt++) { /* draw again a pair already drawn */
            int ka, kb;
            do
                ka = fcl_random_below(&rng, d->n_classes);
            while (count[ka] < (p->same ? 2 : 1));
            do
                kb = p->same ? ka : fcl_random_below(&rng, d->n_classes);
            while (!p->same && (kb == ka || count[kb] < 1));
            int ia = fcl_random_below(&rng, count[ka]), ib;
            do
                ib = fcl_random_below(&rng, count[kb]);
            while (p->same && ib == ia);
            p->a = order[start[ka] + ia];
            p->b = order[start[kb] + ib];
            fresh = pair_set_add(&drawn, p->a, p->b);
        }
        if (!fresh) {
            fcl_log(FCL_LOG_ERROR, "%s: too few distinct %s pairs for %d folds of %d: use a larger test set, or give "
                                   "a pairs file (--pairs)", d->source, p->same ? "same-identity" : "different-identity",
                    folds, per_fold);
            st = FCL_ERR_INVALID_ARGUMENT;
        }
    }
    free(drawn.keys);
    free(count);
    free(order);
    free(start);
    if (st != FCL_SUCCESS)
        fcl_pairs_free(out);
    return st;
}

/* The 1-based number of image i among its identity's images. */
static int number_of(const fcl_dataset *d, int i)
{
    if (d->class_start)
        return i - d->class_start[d->labels[i]] + 1;
    int k = 0;
    for (int j = 0; j <= i; j++)
        k += d->labels[j] == d->labels[i];
    return k;
}

fcl_status fcl_pairs_write(const fcl_pairs *p, const fcl_dataset *d, const char *path)
{
    size_t cap = 32 + (size_t)p->n * (2 * FCL_CLASS_NAME_MAX + 32), len = 0;
    char *text = malloc(cap);
    if (!text)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    len += (size_t)snprintf(text, cap, "%d\t%d\n", p->folds, p->per_fold);
    for (int i = 0; i < p->n; i++) {
        const fcl_pair *q = &p->pairs[i];
        const char *na = d->class_names[d->labels[q->a]], *nb = d->class_names[d->labels[q->b]];
        if (q->same)
            len += (size_t)snprintf(text + len, cap - len, "%s\t%d\t%d\n", na, number_of(d, q->a), number_of(d, q->b));
        else
            len += (size_t)snprintf(text + len, cap - len, "%s\t%d\t%s\t%d\n", na, number_of(d, q->a), nb,
                                    number_of(d, q->b));
    }
    fcl_status st = fcl_write_file_atomic(path, text, len);
    if (st != FCL_SUCCESS)
        fcl_log(FCL_LOG_ERROR, "cannot write the pairs file %s", path);
    free(text);
    return st;
}
