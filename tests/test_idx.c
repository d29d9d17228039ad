/* IDX reading: raw and gzip'd, the real Fashion-MNIST files when installed, and every
 * malformed file rejected. Host only. */
#include "data/dataset.h"
#include "data/idx.h"
#include "runtime/fileio.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

static char raw[64], gz[64];
/* 3 images of 2x2: magic, dims 3,2,2, then 12 bytes */
static const unsigned char good[] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2,
                                     1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

static void write_gz(const char *path, const void *data, size_t n)
{
    gzFile f = gzopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(gzwrite(f, data, (unsigned)n), (int)n);
    assert_int_equal(gzclose(f), Z_OK);
}

static int setup(void **state)
{
    (void)state;
    snprintf(raw, sizeof raw, "/tmp/facecl-idx-%d", (int)getpid());
    snprintf(gz, sizeof gz, "/tmp/facecl-idx-%d.gz", (int)getpid());
    fcl_set_log_level(FCL_LOG_ERROR + 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    remove(raw);
    remove(gz);
    return 0;
}

static void reads_raw_and_gzip(void **state)
{
    (void)state;
    assert_int_equal(fcl_write_file_atomic(raw, good, sizeof good), FCL_SUCCESS);
    write_gz(gz, good, sizeof good);
    const char *paths[] = {raw, gz};
    for (int i = 0; i < 2; i++) {
        fcl_idx idx;
        assert_int_equal(fcl_idx_load(paths[i], &idx), FCL_SUCCESS);
        assert_int_equal(idx.ndims, 3);
        assert_int_equal(idx.dims[0], 3);
        assert_int_equal(idx.count, 12);
        assert_memory_equal(idx.data, good + 16, 12);
        fcl_idx_free(&idx);
    }
}

static void every_truncation_and_extension_is_rejected(void **state)
{
    (void)state;
    unsigned char longer[sizeof good + 1];
    memcpy(longer, good, sizeof good);
    longer[sizeof good] = 99;
    for (size_t cut = 0; cut <= sizeof longer; cut++) {
        if (cut == sizeof good)
            continue;
        fcl_idx idx;
        write_gz(gz, longer, cut);
        if (fcl_idx_load(gz, &idx) == FCL_SUCCESS)
            fail_msg("an IDX file of %zu bytes (header says %zu) was accepted", cut, sizeof good);
        assert_null(idx.data);
    }
}

static void bad_headers_are_rejected(void **state)
{
    (void)state;
    static const struct {
        int at;
        unsigned char value;
    } edits[] = {{0, 1}, {2, 0x0d}, {3, 0}, {3, 5}, {7, 0}, {4, 0x7f}};
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        unsigned char bad[sizeof good];
        memcpy(bad, good, sizeof good);
        bad[edits[i].at] = edits[i].value;
        assert_int_equal(fcl_write_file_atomic(raw, bad, sizeof bad), FCL_SUCCESS);
        fcl_idx idx;
        assert_int_equal(fcl_idx_load(raw, &idx), FCL_ERR_FORMAT);
    }
    fcl_idx idx;
    assert_int_equal(fcl_idx_load("/nonexistent/file.idx", &idx), FCL_ERR_IO);
    /* gzip data that is damaged midway. */
    write_gz(gz, good, sizeof good);
    char *file;
    size_t n;
    assert_int_equal(fcl_read_file(gz, &file, &n), FCL_SUCCESS);
    file[n / 2] ^= 0x5a;
    file[n / 2 + 1] ^= 0x3c;
    assert_int_equal(fcl_write_file_atomic(gz, file, n), FCL_SUCCESS);
    free(file);
    assert_int_not_equal(fcl_idx_load(gz, &idx), FCL_SUCCESS);
}

static void reads_fashion_mnist_when_installed(void **state)
{
    (void)state;
    const char *images = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
    if (access(images, R_OK) != 0)
        skip(); /* dataset-fashion-mnist not installed */
    fcl_idx idx;
    assert_int_equal(fcl_idx_load(images, &idx), FCL_SUCCESS);
    assert_int_equal(idx.ndims, 3);
    assert_int_equal(idx.dims[0], 10000);
    assert_int_equal(idx.dims[1], 28);
    assert_int_equal(idx.dims[2], 28);
    fcl_idx_free(&idx);
}

/* Identities are labels 0..N-1: a label file with a stray 200 among 0-2 is refused
 * instead of reading as 201 identities (#20, item 8). */
static void label_gaps_are_refused(void **state)
{
    (void)state;
    char dir[64], path[128];
    snprintf(dir, sizeof dir, "/tmp/facecl-labels-%d", (int)getpid());
    assert_int_equal(fcl_mkdir_p(dir), FCL_SUCCESS);
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dir);
    assert_int_equal(fcl_write_file_atomic(path, good, sizeof good), FCL_SUCCESS);
    unsigned char labels[] = {0, 0, 8, 1, 0, 0, 0, 3, 0, 1, 2};
    snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte", dir);
    assert_int_equal(fcl_write_file_atomic(path, labels, sizeof labels), FCL_SUCCESS);
    fcl_dataset d;
    assert_int_equal(fcl_dataset_open(dir, "train", &d), FCL_SUCCESS);
    assert_int_equal(d.n_classes, 3);
    fcl_dataset_free(&d);
    labels[10] = 200;
    assert_int_equal(fcl_write_file_atomic(path, labels, sizeof labels), FCL_SUCCESS);
    assert_int_equal(fcl_dataset_open(dir, "train", &d), FCL_ERR_FORMAT);
    remove(path);
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dir);
    remove(path);
    rmdir(dir);
}

/* fcl_dataset_split: every 2nd image of each identity held out, in the set's order,
 * for an IDX set (pixels copied) and a folder set (paths copied, identity ranges redone). */
static void split_holds_out_every_nth_of_each_identity(void **state)
{
    (void)state;
    unsigned char pixels[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    int labels[9] = {0, 1, 0, 0, 1, 2, 0, 1, 1};
    char names[3][FCL_CLASS_NAME_MAX] = {"a", "b", "c"};
    fcl_dataset d = {.n = 9, .n_classes = 3, .labels = labels, .class_names = names, .pixels = pixels, .ih = 1, .iw = 1};
    fcl_dataset *kept, *held;
    assert_int_equal(fcl_dataset_split(&d, 2, &kept, &held), FCL_SUCCESS);
    const unsigned char want_held[] = {3, 5, 7, 9}, want_kept[] = {1, 2, 4, 6, 8};
    const int held_labels[] = {0, 1, 0, 1}, kept_labels[] = {0, 1, 0, 2, 1};
    assert_int_equal(held->n, 4);
    assert_int_equal(kept->n, 5);
    assert_int_equal(held->n_classes, 3);
    assert_memory_equal(held->pixels, want_held, 4);
    assert_memory_equal(kept->pixels, want_kept, 5);
    assert_memory_equal(held->labels, held_labels, sizeof held_labels);
    assert_memory_equal(kept->labels, kept_labels, sizeof kept_labels);
    assert_string_equal(kept->class_names[2], "c");
    fcl_dataset_destroy(kept);
    fcl_dataset_destroy(held);
    assert_int_equal(fcl_dataset_split(&d, 1, &kept, &held), FCL_ERR_INVALID_ARGUMENT);
    assert_null(kept);

    char *paths[6] = {"a/1", "a/2", "a/3", "b/1", "b/2", "c/1"};
    int folder_labels[6] = {0, 0, 0, 1, 1, 2}, starts[4] = {0, 3, 5, 6};
    fcl_dataset f = {.n = 6, .n_classes = 3, .labels = folder_labels, .class_names = names, .class_start = starts,
                     .paths = paths};
    assert_int_equal(fcl_dataset_split(&f, 2, &kept, &held), FCL_SUCCESS);
    const int held_starts[] = {0, 1, 2, 2}, kept_starts[] = {0, 2, 3, 4};
    assert_memory_equal(held->class_start, held_starts, sizeof held_starts);
    assert_memory_equal(kept->class_start, kept_starts, sizeof kept_starts);
    assert_string_equal(held->paths[0], "a/2");
    assert_string_equal(held->paths[1], "b/2");
    assert_string_equal(kept->paths[1], "a/3");
    assert_string_equal(kept->paths[3], "c/1");
    fcl_dataset_destroy(kept);
    fcl_dataset_destroy(held);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_raw_and_gzip),
        cmocka_unit_test(every_truncation_and_extension_is_rejected),
        cmocka_unit_test(bad_headers_are_rejected),
        cmocka_unit_test(reads_fashion_mnist_when_installed),
        cmocka_unit_test(label_gaps_are_refused),
        cmocka_unit_test(split_holds_out_every_nth_of_each_identity),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
