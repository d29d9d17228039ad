/* Evaluation on the host: k-fold accuracy, VAL at FAR, ROC/AUC/EER and identification
 * against hand-computed values; the LFW pairs parser on good and malformed files; pairs
 * generated, written and read back; image folders with unreadable files and too few
 * identities; average-linkage clustering against the textbook loop, and its quality
 * measures against hand values. */
#include "data/dataset.h"
#include "eval/cluster.h"
#include "eval/metrics.h"
#include "eval/pairs.h"
#include "runtime/fileio.h"
#include "runtime/random.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

static char last_error[1024];

#define assert_near(a, b, tol) assert_true(fabs((double)(a) - (double)(b)) <= (tol))
static void capture(fcl_log_level level, const char *message, void *user)
{
    (void)user;
    if (level >= FCL_LOG_WARN)
        snprintf(last_error, sizeof last_error, "%s", message);
}

static void kfold_matches_hand_values(void **state)
{
    (void)state;
    /* Fold 1 trains on fold 0: threshold 0.4, and its different pair at 0.38 is wrongly
     * accepted (3/4). Fold 0 trains on fold 1: threshold (0.35 + 0.38) / 2, all right. */
    const double d[] = {0.1, 0.5, 0.3, 0.7, 0.2, 0.6, 0.38, 0.35};
    const bool same[] = {true, false, true, false, true, false, false, true};
    const int fold[] = {0, 0, 0, 0, 1, 1, 1, 1};
    double mean, std, t;
    assert_int_equal(fcl_kfold_accuracy(d, same, fold, 8, 2, &mean, &std, &t), FCL_SUCCESS);
    assert_true(fabs(mean - 0.875) < 1e-12);
    assert_true(fabs(std - 0.125) < 1e-12);
    assert_true(fabs(t - (0.365 + 0.4) / 2) < 1e-12);
    assert_int_equal(fcl_kfold_accuracy(d, same, fold, 8, 1, &mean, &std, &t), FCL_ERR_INVALID_ARGUMENT);
}

static void kfold_never_splits_equal_distances(void **state)
{
    (void)state;
    /* A same and a different pair at 0.2: no threshold separates them, so the best one
     * the training fold allows is between 0.1 and 0.2 (3 of 4 right), not at 0.2. */
    const double d[] = {0.2, 0.2, 0.6, 0.1, 0.2, 0.2, 0.6, 0.1};
    const bool same[] = {true, false, false, true, true, false, false, true};
    const int fold[] = {0, 0, 0, 0, 1, 1, 1, 1};
    double mean, std, t;
    assert_int_equal(fcl_kfold_accuracy(d, same, fold, 8, 2, &mean, &std, &t), FCL_SUCCESS);
    assert_true(fabs(t - 0.15) < 1e-12);
    assert_true(fabs(mean - 0.75) < 1e-12);
}

static void val_at_far_matches_hand_values(void **state)
{
    (void)state;
    const float diff[] = {0.9f, 0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 1.0f};
    const float same[] = {0.05f, 0.35f, 0.15f, 0.25f};
    double val, far, t;
    /* FAR 0.2 of 10: at most 2 false accepts, so the threshold sits just below 0.3. */
    assert_int_equal(fcl_val_at_far(same, 4, diff, 10, 0.2, &val, &far, &t), FCL_SUCCESS);
    assert_true(fabs(far - 0.2) < 1e-12);
    assert_true(fabs(val - 0.75) < 1e-12);
    assert_true(t < (double)0.3f && t > 0.2999); /* just below the float 0.3 */
    /* Ties: three different pairs at 0.2 cannot be split, so only 1 false accept fits. */
    const float tied[] = {0.1f, 0.2f, 0.2f, 0.2f, 0.5f, 0.6f, 0.7f, 0.8f, 0.9f, 1.0f};
    assert_int_equal(fcl_val_at_far(same, 4, tied, 10, 0.2, &val, &far, &t), FCL_SUCCESS);
    assert_true(fabs(far - 0.1) < 1e-12);
    assert_true(fabs(val - 0.5) < 1e-12);
    /* FAR 1e-3 cannot be measured on 10 different pairs. */
    assert_int_equal(fcl_val_at_far(same, 4, diff, 10, 1e-3, &val, &far, &t), FCL_ERR_INVALID_ARGUMENT);
}

static void roc_auc_and_eer_match_hand_values(void **state)
{
    (void)state;
    float same[] = {0.6f, 0.1f, 0.3f, 0.2f}, diff[] = {0.8f, 0.4f, 0.7f, 0.5f};
    double auc, eer;
    fcl_roc_point pts[16];
    size_t n;
    assert_int_equal(fcl_roc(same, 4, diff, 4, &auc, &eer, pts, 16, &n), FCL_SUCCESS);
    assert_true(fabs(auc - 0.875) < 1e-12); /* 14 of the 16 (same, different) orderings are right */
    assert_true(fabs(eer - 0.25) < 1e-12);
    assert_int_equal(n, 8);
    assert_true(pts[n - 1].fpr == 1 && pts[n - 1].tpr == 1);
    float s2[] = {0.1f, 0.2f}, d2[] = {0.3f, 0.4f};
    assert_int_equal(fcl_roc(s2, 2, d2, 2, &auc, &eer, NULL, 0, NULL), FCL_SUCCESS);
    assert_true(auc == 1.0 && eer == 0.0);
}

static void identification_matches_hand_values(void **state)
{
    (void)state;
    const float gallery[] = {0, 0, 0, 0.5f, 1, 0, 1, 0.5f}; /* labels 0, 0, 1, 1 */
    const int glabel[] = {0, 0, 1, 1};
    const float query[] = {0.1f, 0.9f, 0.9f, 0.2f, 0.6f, 0.6f};
    const int qlabel[] = {0, 1, 0};
    /* Nearest neighbours: (0, 0.5) -> 0 right; (1, 0) -> 1 right; (1, 0.5) -> 1 wrong. */
    assert_true(fabs(fcl_rank1_accuracy(query, qlabel, 3, gallery, glabel, 4, 2, false) - 2.0 / 3) < 1e-12);
    /* Class means (0, 0.25) and (1, 0.25): the third query goes to class 1, wrong. */
    assert_true(fabs(fcl_ncm_accuracy(query, qlabel, 3, gallery, glabel, 4, 2, 2) - 2.0 / 3) < 1e-12);
    /* Leave-one-out on the gallery: each point's nearest other point shares its label. */
    assert_true(fcl_rank1_accuracy(gallery, glabel, 4, gallery, glabel, 4, 2, true) == 1.0);
}

/* alice: images 0-2, bob: 3-5, as an image folder lists them. */
static fcl_dataset two_people(void)
{
    fcl_dataset d = {.n = 6, .n_classes = 2};
    snprintf(d.source, sizeof d.source, "people");
    d.labels = malloc(6 * sizeof *d.labels);
    d.class_names = calloc(2, sizeof *d.class_names);
    d.class_start = malloc(3 * sizeof *d.class_start);
    for (int i = 0; i < 6; i++)
        d.labels[i] = i / 3;
    snprintf(d.class_names[0], FCL_CLASS_NAME_MAX, "alice");
    snprintf(d.class_names[1], FCL_CLASS_NAME_MAX, "bob");
    d.class_start[0] = 0, d.class_start[1] = 3, d.class_start[2] = 6;
    return d;
}

static void pairs_parser_reads_lfw_format(void **state)
{
    (void)state;
    fcl_dataset d = two_people();
    fcl_pairs p;
    assert_int_equal(fcl_pairs_parse("2\t1\nalice\t1\t2\n\nalice 3 bob 2\r\nbob 1 3\nbob 1 alice 3\n", "p.txt", &d, &p),
                     FCL_SUCCESS);
    assert_int_equal(p.n, 4);
    assert_int_equal(p.folds, 2);
    const fcl_pair want[] = {{0, 1, true, 0}, {2, 4, false, 0}, {3, 5, true, 1}, {3, 2, false, 1}};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(p.pairs[i].a, want[i].a);
        assert_int_equal(p.pairs[i].b, want[i].b);
        assert_int_equal(p.pairs[i].same, want[i].same);
        assert_int_equal(p.pairs[i].fold, want[i].fold);
    }
    fcl_pairs_free(&p);
    fcl_dataset_free(&d);
}

static void pairs_parser_rejects_malformed_files(void **state)
{
    (void)state;
    static const struct {
        const char *text, *where;
    } bad[] = {
        {"ten 1\nalice 1 2\nalice 1 bob 1\n", "p.txt:1"},       /* header */
        {"1 1\nalice 1\nalice 1 bob 1\n", "p.txt:2"},           /* two fields */
        {"1 1\nalice 1 2\nalice 1 bob 1 x\n", "p.txt:3"},       /* five fields */
        {"1 1\nalice 1 4\nalice 1 bob 1\n", "p.txt:2"},         /* alice has no image 4 */
        {"1 1\nalice one 2\nalice 1 bob 1\n", "p.txt:2"},       /* not a number */
        {"1 1\ncarol 1 2\nalice 1 bob 1\n", "p.txt:2"},         /* unknown identity */
        {"1 1\nalice 1 bob 1\nalice 1 2\n", "p.txt:2"},         /* different where same is due */
        {"1 1\nalice 1 2\nalice 1 bob 1\nbob 1 2\n", "p.txt:4"}, /* more than promised */
        {"2 1\nalice 1 2\nalice 1 bob 1\n", "p.txt: 2 pairs"},  /* fewer than promised */
        {"", "p.txt: 0 pairs"},
    };
    fcl_dataset d = two_people();
    fcl_set_log_callback(capture, NULL);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fcl_pairs p;
        last_error[0] = '\0';
        assert_int_equal(fcl_pairs_parse(bad[i].text, "p.txt", &d, &p), FCL_ERR_PARSE);
        if (!strstr(last_error, bad[i].where))
            fail_msg("case %zu: '%s' does not name %s", i, last_error, bad[i].where);
        assert_null(p.pairs);
    }
    fcl_set_log_callback(NULL, NULL);
    fcl_dataset_free(&d);
}

/* Field by field: the struct's padding holds no data. */
static bool same_pairs(const fcl_pairs *x, const fcl_pairs *y)
{
    bool same = x->n == y->n && x->folds == y->folds && x->per_fold == y->per_fold;
    for (int i = 0; same && i < x->n; i++)
        same = x->pairs[i].a == y->pairs[i].a && x->pairs[i].b == y->pairs[i].b &&
               x->pairs[i].same == y->pairs[i].same && x->pairs[i].fold == y->pairs[i].fold;
    return same;
}

static void generated_pairs_round_trip(void **state)
{
    (void)state;
    /* IDX-like order: labels interleaved, so image numbers count within each class. */
    fcl_dataset d = {.n = 40, .n_classes = 4};
    snprintf(d.source, sizeof d.source, "idx");
    d.labels = malloc(40 * sizeof *d.labels);
    d.class_names = calloc(4, sizeof *d.class_names);
    for (int i = 0; i < 40; i++)
        d.labels[i] = (i * 7) % 4;
    for (int k = 0; k < 4; k++)
        snprintf(d.class_names[k], FCL_CLASS_NAME_MAX, "class%d", k);
    fcl_pairs p, q, again;
    assert_int_equal(fcl_pairs_generate(&d, 3, 5, 42, &p), FCL_SUCCESS);
    assert_int_equal(fcl_pairs_generate(&d, 3, 5, 42, &again), FCL_SUCCESS);
    assert_true(same_pairs(&p, &again)); /* deterministic */
    for (int i = 0; i < p.n; i++) {
        assert_int_equal(d.labels[p.pairs[i].a] == d.labels[p.pairs[i].b], p.pairs[i].same);
        assert_int_not_equal(p.pairs[i].a, p.pairs[i].b);
        for (int j = 0; j < i; j++) /* no pair twice, in either order (#20, item 6) */
            if ((p.pairs[j].a == p.pairs[i].a && p.pairs[j].b == p.pairs[i].b) ||
                (p.pairs[j].a == p.pairs[i].b && p.pairs[j].b == p.pairs[i].a))
                fail_msg("pair %d (%d, %d) is pair %d again", i, p.pairs[i].a, p.pairs[i].b, j);
    }
    /* 40 images of 4 identities hold 180 same pairs: asked for 3 folds of 70, each fold
     * gets 60 of each kind, none twice; 200 folds cannot have one each: an error. */
    assert_int_equal(fcl_pairs_generate(&d, 3, 70, 42, &q), FCL_SUCCESS);
    assert_int_equal(q.per_fold, 60);
    for (int i = 0; i < q.n; i++)
        for (int j = 0; j < i; j++)
            if ((q.pairs[j].a == q.pairs[i].a && q.pairs[j].b == q.pairs[i].b) ||
                (q.pairs[j].a == q.pairs[i].b && q.pairs[j].b == q.pairs[i].a))
                fail_msg("pair %d (%d, %d) is pair %d again", i, q.pairs[i].a, q.pairs[i].b, j);
    fcl_pairs_free(&q);
    const fcl_log_level level = fcl_get_log_level();
    fcl_set_log_level(FCL_LOG_ERROR + 1);
    const fcl_status too_many = fcl_pairs_generate(&d, 200, 1, 42, &q);
    fcl_set_log_level(level);
    assert_int_equal(too_many, FCL_ERR_INVALID_ARGUMENT);
    char path[64];
    snprintf(path, sizeof path, "/tmp/facecl-pairs-%ld.txt", (long)getpid());
    assert_int_equal(fcl_pairs_write(&p, &d, path), FCL_SUCCESS);
    assert_int_equal(fcl_pairs_load(path, &d, &q), FCL_SUCCESS);
    assert_true(same_pairs(&p, &q));
    remove(path);
    fcl_pairs_free(&p);
    fcl_pairs_free(&q);
    fcl_pairs_free(&again);
    fcl_dataset_free(&d);
}

/* A w x h grey PGM (which stb_image reads), or garbage when corrupt. */
static void write_image(const char *path, int w, int h, int value, bool corrupt)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (corrupt) {
        fputs("not an image at all", f);
    } else {
        fprintf(f, "P5\n%d %d\n255\n", w, h);
        for (int i = 0; i < w * h; i++)
            fputc(value, f);
    }
    fclose(f);
}

/* JPEGs go through libjpeg (the pixels PIL gives; tests/facenet_pytorch_oracle.py checks
 * them against it): baseline, progressive and grey files decode; a cut-short one is an
 * error naming the file, not an image with a grey bottom. */
static void jpegs_decode_whole_or_not_at_all(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int c, h, w;
    } files[] = {{"rgb.jpg", 3, 6, 7}, {"progressive.jpg", 3, 9, 8}, {"grey.jpg", 1, 5, 4}, {"rgb.jpg", 1, 6, 7}};
    char path[512];
    float img[3 * 9 * 8];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/../tests/fuzz/corpus/image/%s", FACECL_MODEL_DIR, files[i].name);
        const fcl_input_form form = {files[i].c, files[i].h, files[i].w, 0.0f, 255.0f};
        assert_int_equal(fcl_image_load(path, &form, img), FCL_SUCCESS);
        float lo = 1, hi = 0;
        for (int j = 0; j < files[i].c * files[i].h * files[i].w; j++)
            lo = fminf(lo, img[j]), hi = fmaxf(hi, img[j]);
        assert_true(lo >= 0 && hi <= 1 && hi - lo > 0.3f); /* random pixels, in range */
    }
    snprintf(path, sizeof path, "%s/../tests/fuzz/corpus/image/rgb.jpg", FACECL_MODEL_DIR);
    size_t size;
    char *bytes;
    assert_int_equal(fcl_read_file(path, &bytes, &size), FCL_SUCCESS);
    char cut[] = "/tmp/facecl-test-cut-XXXXXX";
    int fd = mkstemp(cut);
    assert_true(fd >= 0);
    assert_true(write(fd, bytes, size - 16) == (ssize_t)(size - 16)); /* the scan data cut short */
    close(fd);
    free(bytes);
    fcl_set_log_callback(capture, NULL);
    assert_int_equal(fcl_image_load(cut, &(fcl_input_form){3, 6, 7, 0.0f, 255.0f}, img), FCL_ERR_FORMAT);
    fcl_set_log_callback(NULL, NULL);
    assert_non_null(strstr(last_error, cut));
    assert_non_null(strstr(last_error, "JPEG"));
    unlink(cut);
}

static void image_folders(void **state)
{
    (void)state;
    char root[64], path[256];
    snprintf(root, sizeof root, "/tmp/facecl-folders-%ld", (long)getpid());
    snprintf(path, sizeof path, "%s/bob", root);
    assert_int_equal(fcl_mkdir_p(path), FCL_SUCCESS);
    snprintf(path, sizeof path, "%s/alice", root);
    assert_int_equal(fcl_mkdir_p(path), FCL_SUCCESS);
    static const char *const files[] = {"alice/b.pgm", "alice/a.pgm", "alice/broken.jpg", "bob/x.pgm"};
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", root, files[i]);
        write_image(path, 5 + i, 4, 40 * i, i == 2);
    }
    fcl_set_log_callback(capture, NULL);
    fcl_dataset d;
    assert_int_equal(fcl_dataset_open(root, "train", &d), FCL_SUCCESS);
    assert_int_equal(d.n, 3);
    assert_int_equal(d.skipped, 1);
    assert_int_equal(d.n_classes, 2);
    assert_string_equal(d.class_names[0], "alice");
    assert_int_equal(fcl_dataset_find(&d, "alice", 1), 0); /* a.pgm, sorted by name */
    assert_true(strstr(d.paths[0], "alice/a.pgm") != NULL);
    assert_int_equal(fcl_dataset_find(&d, "bob", 1), 2);
    assert_int_equal(fcl_dataset_find(&d, "bob", 2), -1);
    float img[3 * 6 * 6];
    assert_int_equal(fcl_dataset_image(&d, 2, &(fcl_input_form){3, 6, 6, 0.0f, 255.0f}, img), FCL_SUCCESS);
    for (int i = 0; i < 3 * 36; i++)
        assert_true(fabsf(img[i] - 120 / 255.0f) < 1e-6f); /* x.pgm is all 120, grey to all channels */
    assert_int_equal(fcl_dataset_image(&d, 2, &(fcl_input_form){1, 6, 6, 127.5f, 128.0f}, img), FCL_SUCCESS);
    for (int i = 0; i < 36; i++)
        assert_true(img[i] == (120 - 127.5f) / 128.0f); /* facenet-pytorch's standardisation */
    fcl_dataset_free(&d);
    /* A folder of images without identities, for clustering. */
    snprintf(path, sizeof path, "%s/alice", root);
    assert_int_equal(fcl_dataset_open_images(path, &d), FCL_SUCCESS);
    assert_int_equal(d.n, 2);
    assert_int_equal(d.skipped, 1);
    assert_int_equal(d.n_classes, 0);
    assert_int_equal(d.labels[1], -1);
    assert_true(strstr(d.paths[1], "alice/b.pgm") != NULL);
    fcl_dataset_free(&d);
    assert_int_equal(fcl_dataset_open_images(root, &d), FCL_ERR_INVALID_ARGUMENT); /* only folders */
    /* With bob's only image gone, one identity is left: an error naming the folder. */
    snprintf(path, sizeof path, "%s/bob/x.pgm", root);
    remove(path);
    assert_int_equal(fcl_dataset_open(root, "train", &d), FCL_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(last_error, root));
    fcl_set_log_callback(NULL, NULL);
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", root, files[i]);
        remove(path);
    }
    snprintf(path, sizeof path, "%s/alice", root);
    rmdir(path);
    snprintf(path, sizeof path, "%s/bob", root);
    rmdir(path);
    rmdir(root);
}

/* Average linkage the textbook way: merge the two closest clusters (mean of the
 * original squared distances) while that mean is <= t. Returns a cluster per item. */
static void naive_average_linkage(const float *x, int n, int dim, double t, int *cluster)
{
    for (int i = 0; i < n; i++)
        cluster[i] = i;
    for (;;) {
        double best = INFINITY;
        int ba = -1, bb = -1;
        for (int a = 0; a < n; a++)
            for (int b = a + 1; b < n; b++) {
                double sum = 0;
                int count = 0;
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < n; j++)
                        if (cluster[i] == a && cluster[j] == b) {
                            sum += fcl_sqdist(x + i * dim, x + j * dim, dim);
                            count++;
                        }
                if (count && sum / count < best) {
                    best = sum / count;
                    ba = a, bb = b;
                }
            }
        if (ba < 0 || best > t)
            return;
        for (int i = 0; i < n; i++)
            if (cluster[i] == bb)
                cluster[i] = ba;
    }
}

static void clustering_cuts_the_average_linkage_tree(void **state)
{
    (void)state;
    /* 1-D points; squared distances merge {0, .1} at .01, {2, 2.2} at .04, then .3 joins
     * {0, .1} at (.09 + .04) / 2 = .065, the two groups at 23.36 / 6 = 3.89, 5 last. */
    static const float x[] = {5.0f, 0.1f, 2.2f, 0.0f, 0.3f, 2.0f};
    static const struct {
        double t;
        int clusters, expect[6];
    } cuts[] = {
        {0.0, 6, {0, 1, 2, 3, 4, 5}},  {0.05, 4, {0, 1, 2, 1, 3, 2}}, {0.07, 3, {0, 1, 2, 1, 1, 2}},
        {3.9, 2, {0, 1, 1, 1, 1, 1}},  {4.0, 2, {0, 1, 1, 1, 1, 1}},  {100, 1, {0, 0, 0, 0, 0, 0}},
    };
    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
        int got[6], n_clusters;
        assert_int_equal(fcl_cluster(x, 6, 1, cuts[c].t, got, &n_clusters), FCL_SUCCESS);
        assert_int_equal(n_clusters, cuts[c].clusters);
        assert_memory_equal(got, cuts[c].expect, sizeof got);
    }
    /* A merge exactly at the threshold is made (squared distance .25, exact in binary). */
    static const float exact[] = {0.0f, 0.5f, 3.0f};
    int three[3], n3;
    assert_int_equal(fcl_cluster(exact, 3, 1, 0.25, three, &n3), FCL_SUCCESS);
    assert_int_equal(n3, 2);
    assert_int_equal(three[1], 0);
    /* Random 3-D points against the textbook loop: the same partition at every cut. */
    enum { N = 40, DIM = 3 };
    float pts[N * DIM];
    uint64_t rng = 7;
    for (int i = 0; i < N * DIM; i++)
        pts[i] = (float)(fcl_splitmix64(&rng) >> 40) / (float)(1 << 24) + (float)(i / DIM % 4); /* 4 loose groups */
    for (double t = 0.05; t < 8; t *= 2) {
        int fast[N], slow[N], n_clusters;
        assert_int_equal(fcl_cluster(pts, N, DIM, t, fast, &n_clusters), FCL_SUCCESS);
        naive_average_linkage(pts, N, DIM, t, slow);
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++)
                assert_int_equal(fast[i] == fast[j], slow[i] == slow[j]);
    }
    float bad[] = {0, 1, NAN};
    int got[3], n_clusters;
    assert_int_equal(fcl_cluster(bad, 3, 1, 1.0, got, &n_clusters), FCL_ERR_NUMERIC);
}

static void cluster_quality_matches_hand_values(void **state)
{
    (void)state;
    /* Identities {0,0,0,1,1,1} as clusters {0,0 | 0,1 | 1,1}: same-cluster pairs 3, of
     * them same-identity 2, same-identity pairs 6; expected index 3 * 6 / 15 = 1.2. */
    const int label[] = {0, 0, 0, 1, 1, 1}, cluster[] = {0, 0, 1, 1, 2, 2};
    fcl_cluster_quality q;
    assert_int_equal(fcl_cluster_quality_of(cluster, label, 6, &q), FCL_SUCCESS);
    assert_near(q.precision, 2.0 / 3, 1e-12);
    assert_near(q.recall, 2.0 / 6, 1e-12);
    assert_near(q.f1, 4.0 / 9, 1e-12);
    assert_near(q.purity, 5.0 / 6, 1e-12);
    assert_near(q.ari, (2 - 1.2) / (4.5 - 1.2), 1e-12);
    /* I = 2 * (2/6) ln(6*2 / (2*3)) = (2/3) ln 2; H(clusters) = ln 3, H(identities) = ln 2. */
    assert_near(q.nmi, 2 * (2.0 / 3) * log(2) / (log(3) + log(2)), 1e-12);
    /* The same partition under other names is perfect; all singletons recall nothing. */
    const int renamed[] = {9, 9, 9, 4, 4, 4}, singles[] = {0, 1, 2, 3, 4, 5};
    assert_int_equal(fcl_cluster_quality_of(renamed, label, 6, &q), FCL_SUCCESS);
    assert_near(q.precision + q.recall + q.f1 + q.purity + q.nmi + q.ari, 6, 1e-12);
    assert_int_equal(fcl_cluster_quality_of(singles, label, 6, &q), FCL_SUCCESS);
    assert_near(q.precision, 1, 0);
    assert_near(q.recall, 0, 0);
    assert_near(q.f1, 0, 0);
    assert_near(q.purity, 1, 0);
    assert_true(q.ari <= 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kfold_matches_hand_values),
        cmocka_unit_test(kfold_never_splits_equal_distances),
        cmocka_unit_test(val_at_far_matches_hand_values),
        cmocka_unit_test(roc_auc_and_eer_match_hand_values),
        cmocka_unit_test(identification_matches_hand_values),
        cmocka_unit_test(pairs_parser_reads_lfw_format),
        cmocka_unit_test(pairs_parser_rejects_malformed_files),
        cmocka_unit_test(generated_pairs_round_trip),
        cmocka_unit_test(jpegs_decode_whole_or_not_at_all),
        cmocka_unit_test(image_folders),
        cmocka_unit_test(clustering_cuts_the_average_linkage_tree),
        cmocka_unit_test(cluster_quality_matches_hand_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
