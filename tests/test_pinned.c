/* The shipped models compute what they computed before the graph became a DAG: for
 * each, FNV-1a hashes of the float bits of (1) the embeddings of a fixed batch in
 * inference, (2) every parameter gradient of a training forward and backward with a
 * fixed output gradient, (3) the losses and final parameters of three training steps
 * (semi-hard triplet loss, AdaGrad). The GEMM configuration is forced, so the figures
 * depend on the device's arithmetic only, not on its default tiles or a tuning file.
 *
 * tests/pinned_outputs.txt holds the hashes, one device per block; they were written
 * by this program (FACECL_PIN_WRITE=1 prints the lines) built against the library
 * before the DAG change (commit 4818cd3). Each model is run twice, as shipped and in
 * its explicit DAG form. A device without a block is skipped, and says so: another
 * CPU or GPU may round differently. */
#include "train/step.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "support.h"

#define PIN_CONFIG "tm=6,vw=8,wn=2,ku=1,lx=1,ly=16,kc=0,sk=1,pb=1"
enum { BATCH = 8, P = 4, K = 2 };

static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) {
        h ^= c[i];
        h *= 1099511628211ULL;
    }
    return h;
}
#define FNV_START 1469598103934665603ULL

static float *fixed_images(const fcl_model *m)
{
    const size_t n = (size_t)BATCH * fcl_shape_size(m->nodes[0].out);
    float *x = malloc(n * sizeof *x);
    uint64_t s = 7;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ULL + 1;
        x[i] = (float)((s >> 40) / 16777216.0);
    }
    return x;
}

/* The three hashes of one model, loaded from its file or (explicit) from the DAG form
 * fcl_model_format writes: every input named, inception modules as convs and concats. */
static void hashes(const char *name, bool explicit, uint64_t out[3])
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.model", FACECL_MODEL_DIR, name);
    fcl_model *m;
    assert_int_equal(fcl_model_load(path, &m), FCL_SUCCESS);
    if (explicit) {
        char *text;
        fcl_model *dag;
        assert_int_equal(fcl_model_format(m, &text), FCL_SUCCESS);
        assert_int_equal(fcl_model_parse(text, name, &dag), FCL_SUCCESS);
        free(text);
        fcl_model_destroy(m);
        m = dag;
    }
    float *x = fixed_images(m);
    const size_t ny = (size_t)BATCH * fcl_shape_size(fcl_model_output(m)->out);
    float *y = malloc(ny * sizeof *y), *dy = malloc(ny * sizeof *dy), *g = malloc(m->n_params * sizeof *g);
    for (size_t i = 0; i < ny; i++)
        dy[i] = (float)((int)(i % 7) - 3) * 0.1f;
    for (int train = 0; train < 2; train++) {
        fcl_net *net;
        assert_int_equal(fcl_net_create(rt, m, BATCH, train, &net), FCL_SUCCESS);
        assert_int_equal(fcl_net_init_params(net, 42), FCL_SUCCESS);
        assert_int_equal(fcl_net_forward(net, x, y), FCL_SUCCESS);
        out[train] = fnv(y, ny * sizeof *y, FNV_START);
        if (train) {
            assert_int_equal(fcl_net_fill(net, net->grads, 0, m->n_params, 0.0f), FCL_SUCCESS);
            assert_int_equal(fcl_net_backward(net, dy), FCL_SUCCESS);
            assert_int_equal(fcl_net_read(net, net->grads, 0, m->n_params, g), FCL_SUCCESS);
            out[1] = fnv(g, m->n_params * sizeof *g, out[1]);
        }
        fcl_net_destroy(net);
    }
    /* Three training steps. */
    fcl_net *net;
    fcl_optimizer *opt;
    assert_int_equal(fcl_net_create(rt, m, BATCH, true, &net), FCL_SUCCESS);
    assert_int_equal(fcl_net_init_params(net, 42), FCL_SUCCESS);
    fcl_objective loss = {0};
    const fcl_loss_params params = {.mining = FCL_MINING_SEMI_HARD, .alpha = 0.2f};
    assert_int_equal(fcl_objective_add(&loss, net, FCL_LOSS_TRIPLET, m->n_nodes - 1, &params, 1.0f), FCL_SUCCESS);
    fcl_optim_config c = fcl_optim_defaults(FCL_OPT_ADAGRAD);
    assert_int_equal(fcl_optimizer_create(net, &c, &opt), FCL_SUCCESS);
    int labels[BATCH];
    for (int i = 0; i < BATCH; i++)
        labels[i] = i / K;
    out[2] = FNV_START;
    for (int step = 0; step < 3; step++) {
        fcl_loss_result r;
        assert_int_equal(fcl_train_step(net, &loss, opt, x, labels, c.lr, &r), FCL_SUCCESS);
        out[2] = fnv(&r.loss, sizeof r.loss, out[2]);
    }
    assert_int_equal(fcl_net_read(net, net->params, 0, m->n_params, g), FCL_SUCCESS);
    out[2] = fnv(g, m->n_params * sizeof *g, out[2]);
    fcl_optimizer_destroy(opt);
    fcl_objective_destroy(&loss);
    fcl_net_destroy(net);
    free(x), free(y), free(dy), free(g);
    fcl_model_destroy(m);
}

static const char *const models[] = {"fmnist-tiny", "fmnist-small", "fmnist-bn", "fmnist-bn512", "fmnist-bn512-drop",
                                     "fmnist-inception", "fmnist-nns2"};

/* The pinned hashes of this device's block of tests/pinned_outputs.txt, in models'
 * order; false when the file has no block for it. */
static bool pinned(uint64_t want[][3], char *devices, size_t size)
{
    char path[512], line[512];
    snprintf(path, sizeof path, "%s/../tests/pinned_outputs.txt", FACECL_MODEL_DIR);
    FILE *f = fopen(path, "r");
    if (!f && getenv("FACECL_PIN_WRITE"))
        return false;
    if (!f)
        fail_msg("cannot read %s", path);
    bool mine = false, found = false;
    devices[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "device ", 7) == 0) {
            mine = strcmp(line + 7, rt->info.name) == 0;
            found |= mine;
            snprintf(devices + strlen(devices), size - strlen(devices), "'%s' ", line + 7);
            continue;
        }
        char name[64];
        unsigned long long h[3];
        if (!mine || sscanf(line, "%63s %llx %llx %llx", name, &h[0], &h[1], &h[2]) != 4)
            continue;
        for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
            if (strcmp(models[i], name) == 0)
                for (int k = 0; k < 3; k++)
                    want[i][k] = h[k];
    }
    fclose(f);
    return found;
}

static void shipped_models_compute_what_they_did(void **state)
{
    (void)state;
    enum { N = sizeof models / sizeof models[0] };
    uint64_t want[N][3] = {{0}};
    char devices[1024];
    const bool have = pinned(want, devices, sizeof devices);
    if (!have && !getenv("FACECL_PIN_WRITE")) {
        printf("no pinned outputs for device '%s' (tests/pinned_outputs.txt has %s)\n", rt->info.name, devices);
        skip();
    }
    if (getenv("FACECL_PIN_WRITE"))
        printf("device %s\n", rt->info.name);
    for (size_t i = 0; i < N; i++)
        for (int explicit = 0; explicit < 2; explicit++) {
            uint64_t got[3];
            hashes(models[i], explicit, got);
            if (getenv("FACECL_PIN_WRITE")) {
                if (!explicit)
                    printf("%s %016llx %016llx %016llx\n", models[i], (unsigned long long)got[0],
                           (unsigned long long)got[1], (unsigned long long)got[2]);
                continue;
            }
            static const char *const what[3] = {"embeddings", "gradients", "training steps"};
            for (int k = 0; k < 3; k++)
                if (got[k] != want[i][k])
                    fail_msg("%s%s: the %s hash to %016llx, pinned %016llx", models[i],
                             explicit ? " (written as an explicit DAG)" : "", what[k], (unsigned long long)got[k],
                             (unsigned long long)want[i][k]);
        }
}

static int setup(void **state)
{
    setenv("FACECL_GEMM_CONFIG", PIN_CONFIG, 1);
    return open_test_runtime(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shipped_models_compute_what_they_did),
    };
    return cmocka_run_group_tests(tests, setup, close_test_runtime);
}
