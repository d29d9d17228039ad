/* Training on a tiny generated data set: the triplet loss falls, the same seeds give
 * bit-identical weights, a NaN in the batch stops the step before any parameter
 * changes, and the joint loss is the sum of its parts. */
#include "data/sampler.h"
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

enum { IDS = 6, PER_ID = 12, SIDE = 8, P = 4, K = 4, STEPS = 60 };

static float images[IDS * PER_ID][SIDE * SIDE];
static int labels[IDS * PER_ID];

static uint64_t rng = 2024;
static double uniform(void)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng >> 11) / 9007199254740992.0;
}

/* Each identity is a random 8x8 template; its images add noise. */
static int setup(void **state)
{
    (void)state;
    float templates[IDS][SIDE * SIDE];
    for (int i = 0; i < IDS; i++)
        for (int j = 0; j < SIDE * SIDE; j++)
            templates[i][j] = (float)uniform();
    for (int n = 0; n < IDS * PER_ID; n++) {
        labels[n] = n % IDS;
        for (int j = 0; j < SIDE * SIDE; j++)
            images[n][j] = templates[labels[n]][j] + 0.4f * (float)(uniform() - 0.5);
    }
    return open_test_runtime(state);
}

static const char model_text[] = "input h=8 w=8 c=1\nconv c1 k=3 c=8\nmaxpool p1 k=2 s=2 p=0\n"
                                 "fc f1 c=32 relu=1\nfc emb c=16\nl2norm l2\n";

/* The objective for a net: the triplet loss with mining, or softmax when mining is
 * FCL_MINING_COUNT (the net then ends in a classifier head). */
static fcl_objective make_loss(fcl_net *net, fcl_mining mining)
{
    fcl_objective loss = {0};
    const fcl_loss_params params = {.mining = mining, .alpha = 0.2f};
    const fcl_loss_kind kind = mining == FCL_MINING_COUNT ? FCL_LOSS_SOFTMAX : FCL_LOSS_TRIPLET;
    assert_int_equal(fcl_objective_add(&loss, net, kind, net->model->n_nodes - 1, &params, 1.0f), FCL_SUCCESS);
    return loss;
}

static fcl_model *make_model_from(const char *text, fcl_mining mining)
{
    fcl_model *m, *h;
    assert_int_equal(fcl_model_parse(text, "tiny", &m), FCL_SUCCESS);
    if (mining != FCL_MINING_COUNT)
        return m;
    assert_int_equal(fcl_model_with_head(m, "train.classifier", FCL_OP_FC, IDS, &h), FCL_SUCCESS);
    assert_int_equal(h->n_nodes, m->n_nodes + 1);
    assert_int_equal(fcl_model_output(h)->out.c, IDS);
    fcl_model_destroy(m);
    return h;
}

static fcl_model *make_model(fcl_mining mining) { return make_model_from(model_text, mining); }

/* Trains STEPS steps of the model in text; returns the mean loss of the first and last
 * 10 steps, and the final parameters in *params (malloc'd). mining FCL_MINING_COUNT:
 * softmax. */
static void train_text(const char *text, fcl_mining mining, uint64_t seed, double *first, double *last,
                       float **params, size_t *n_params)
{
    fcl_net *net;
    fcl_optimizer *opt;
    fcl_sampler *s;
    fcl_model *m = make_model_from(text, mining);
    assert_int_equal(fcl_net_create(rt, m, P * K, true, &net), FCL_SUCCESS);
    assert_int_equal(fcl_net_init_params(net, seed), FCL_SUCCESS);
    fcl_objective loss = make_loss(net, mining);
    fcl_optim_config c = fcl_optim_defaults(FCL_OPT_ADAM);
    c.lr = 3e-3f;
    assert_int_equal(fcl_optimizer_create(net, &c, &opt), FCL_SUCCESS);
    assert_int_equal(fcl_sampler_create(labels, IDS * PER_ID, P, K, seed, &s), FCL_SUCCESS);
    float batch[P * K][SIDE * SIDE];
    int idx[P * K], batch_labels[P * K];
    *first = *last = 0;
    for (int step = 0; step < STEPS; step++) {
        fcl_sampler_next(s, idx);
        for (int i = 0; i < P * K; i++) {
            memcpy(batch[i], images[idx[i]], sizeof batch[i]);
            batch_labels[i] = labels[idx[i]];
        }
        fcl_loss_result r;
        assert_int_equal(fcl_train_step(net, &loss, opt, &batch[0][0], batch_labels, c.lr, &r), FCL_SUCCESS);
        if (step < 10)
            *first += r.loss / 10;
        if (step >= STEPS - 10)
            *last += r.loss / 10;
    }
    *n_params = m->n_params;
    *params = malloc(m->n_params * sizeof **params);
    assert_int_equal(fcl_net_read(net, net->params, 0, m->n_params, *params), FCL_SUCCESS);
    fcl_sampler_destroy(s);
    fcl_optimizer_destroy(opt);
    fcl_objective_destroy(&loss);
    fcl_net_destroy(net);
    fcl_model_destroy(m);
}

static void train(fcl_mining mining, uint64_t seed, double *first, double *last, float **params, size_t *n_params)
{
    train_text(model_text, mining, seed, first, last, params, n_params);
}

/* Networks of the shapes the DAG format opened: a residual block (scaled add with
 * ReLU over a concat of branches), 1x3/3x1 kernels with per-axis padding and a 2x1
 * stride, and a depthwise-separable one with PReLU. Each trains with the triplet loss,
 * the loss falls, and the same seed gives the same weights. */
static void dag_networks_train(void **state)
{
    (void)state;
    static const char *const nets[] = {
        "input h=8 w=8 c=1\nconv stem k=3 c=8\nconv b0 k=1 c=4\nconv b1 k=1 c=4 in=stem\nconv b1b k=3 c=4\n"
        "concat mix in=b0,b1b\nconv up k=1 c=8 relu=0\nadd res in=stem,up scale=0.17 relu=1\n"
        "maxpool p k=2 s=2 p=0\nfc emb c=16\nl2norm l2\n",
        "input h=8 w=8 c=1\nconv a k=1x3 c=8 bias=0 relu=0\nbatchnorm bn relu=1\nconv b k=3x1 s=2x1 c=8\n"
        "conv c k=3 s=1x2 p=valid c=8\nfc emb c=16\nl2norm l2\n",
        "input h=8 w=8 c=1\nconv a k=3 c=8 relu=0\nprelu act\nconv dw k=3 s=2 c=8 groups=8 relu=0\n"
        "prelu act2\nconv pw k=1 c=12\nfc emb c=16\nl2norm l2\n",
    };
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++) {
        double first, last, f2, l2;
        float *a, *b;
        size_t n;
        train_text(nets[i], FCL_MINING_SEMI_HARD, 5, &first, &last, &a, &n);
        if (!(last < 0.7 * first))
            fail_msg("network %zu: loss %.4f -> %.4f", i, first, last);
        train_text(nets[i], FCL_MINING_SEMI_HARD, 5, &f2, &l2, &b, &n);
        assert_memory_equal(a, b, n * sizeof *a);
        free(a);
        free(b);
    }
}

static void loss_falls_with_each_mining(void **state)
{
    (void)state;
    for (int s = 0; s <= FCL_MINING_COUNT; s++) { /* each mining, then softmax */
        double first, last;
        float *p;
        size_t n;
        train((fcl_mining)s, 7, &first, &last, &p, &n);
        if (!(last < 0.5 * first))
            fail_msg("%s: mean loss of the first 10 steps %.4f, last 10 %.4f: not halved",
                     s < FCL_MINING_COUNT ? fcl_mining_name((fcl_mining)s) : "softmax", first, last);
        free(p);
    }
}

static void same_seed_same_weights(void **state)
{
    (void)state;
    double f1, l1, f2, l2;
    float *a, *b;
    size_t n;
    train(FCL_MINING_SEMI_HARD, 11, &f1, &l1, &a, &n);
    train(FCL_MINING_SEMI_HARD, 11, &f2, &l2, &b, &n);
    assert_memory_equal(a, b, n * sizeof *a);
    free(a);
    free(b);
}

static void nan_in_the_batch_stops_before_the_update(void **state)
{
    (void)state;
    fcl_net *net;
    fcl_optimizer *opt;
    fcl_model *m = make_model(FCL_MINING_COUNT); /* with a head, so softmax can run too */
    assert_int_equal(fcl_net_create(rt, m, P * K, true, &net), FCL_SUCCESS);
    assert_int_equal(fcl_net_init_params(net, 3), FCL_SUCCESS);
    fcl_objective losses[FCL_MINING_COUNT + 1];
    for (int s = 0; s <= FCL_MINING_COUNT; s++)
        losses[s] = make_loss(net, (fcl_mining)s);
    fcl_optim_config c = fcl_optim_defaults(FCL_OPT_ADAGRAD);
    assert_int_equal(fcl_optimizer_create(net, &c, &opt), FCL_SUCCESS);
    float *before = malloc(m->n_params * sizeof *before), *after = malloc(m->n_params * sizeof *after);
    assert_int_equal(fcl_net_read(net, net->params, 0, m->n_params, before), FCL_SUCCESS);
    float batch[P * K][SIDE * SIDE];
    int batch_labels[P * K];
    for (int i = 0; i < P * K; i++) {
        memcpy(batch[i], images[i], sizeof batch[i]);
        batch_labels[i] = labels[i];
    }
    batch[5][17] = NAN;
    fcl_loss_result r;
    fcl_set_log_level(FCL_LOG_ERROR + 1);
    for (int s = 0; s <= FCL_MINING_COUNT; s++)
        assert_int_equal(fcl_train_step(net, &losses[s], opt, &batch[0][0], batch_labels, 0.05f, &r), FCL_ERR_NUMERIC);
    /* A NaN that reaches the embeddings another way (here: in the weights) is caught by
     * the loss: the mining counts non-finite distances instead of dropping them, and the
     * softmax's NaN logits give a NaN loss. */
    batch[5][17] = 0.5f;
    float *poisoned = malloc(m->n_params * sizeof *poisoned);
    memcpy(poisoned, before, m->n_params * sizeof *poisoned);
    poisoned[0] = NAN; /* c1.weight[0]: every embedding becomes NaN */
    assert_int_equal(fcl_net_write(net, net->params, 0, m->n_params, poisoned), FCL_SUCCESS);
    for (int s = 0; s <= FCL_MINING_COUNT; s++)
        assert_int_equal(fcl_train_step(net, &losses[s], opt, &batch[0][0], batch_labels, 0.05f, &r), FCL_ERR_NUMERIC);
    assert_int_equal(fcl_net_read(net, net->params, 0, m->n_params, after), FCL_SUCCESS);
    assert_memory_equal(poisoned + 1, after + 1, (m->n_params - 1) * sizeof *after); /* nothing stepped */
    free(poisoned);
    assert_int_equal(fcl_net_write(net, net->params, 0, m->n_params, before), FCL_SUCCESS);
    fcl_set_log_level(FCL_LOG_WARN);
    assert_int_equal(fcl_net_read(net, net->params, 0, m->n_params, after), FCL_SUCCESS);
    assert_memory_equal(before, after, m->n_params * sizeof *after);
    free(before), free(after);
    fcl_optimizer_destroy(opt);
    for (int s = 0; s <= FCL_MINING_COUNT; s++)
        fcl_objective_destroy(&losses[s]);
    fcl_net_destroy(net);
    fcl_model_destroy(m);
}

/* One step at learning rate 0 (SGD: the parameters stay put) with loss; the loss comes
 * back and the parameter gradient lands in grads (n floats). */
static double step_gradient(fcl_net *net, fcl_objective *loss, float *grads, size_t n)
{
    fcl_optimizer *opt;
    fcl_optim_config c = fcl_optim_defaults(FCL_OPT_SGD);
    assert_int_equal(fcl_optimizer_create(net, &c, &opt), FCL_SUCCESS);
    float batch[P * K][SIDE * SIDE];
    int batch_labels[P * K];
    for (int i = 0; i < P * K; i++) {
        memcpy(batch[i], images[(i * 5) % (IDS * PER_ID)], sizeof batch[i]);
        batch_labels[i] = labels[(i * 5) % (IDS * PER_ID)];
    }
    fcl_loss_result r;
    assert_int_equal(fcl_train_step(net, loss, opt, &batch[0][0], batch_labels, 0.0f, &r), FCL_SUCCESS);
    assert_int_equal(fcl_net_read(net, net->grads, 0, n, grads), FCL_SUCCESS);
    fcl_optimizer_destroy(opt);
    return r.loss;
}

/* The joint loss is the triplet loss on the embedding (not on the head's logits) plus
 * the weighted cross-entropy, in its value and in every parameter's gradient. */
static void joint_loss_is_triplet_plus_weighted_softmax(void **state)
{
    (void)state;
    const float weight = 0.5f;
    fcl_model *base, *head = make_model(FCL_MINING_COUNT);
    assert_int_equal(fcl_model_parse(model_text, "tiny", &base), FCL_SUCCESS);
    fcl_net *net, *plain;
    assert_int_equal(fcl_net_create(rt, head, P * K, true, &net), FCL_SUCCESS);
    assert_int_equal(fcl_net_create(rt, base, P * K, true, &plain), FCL_SUCCESS);
    assert_int_equal(fcl_net_init_params(net, 5), FCL_SUCCESS);
    const size_t n = head->n_params, nb = base->n_params;
    float *p = malloc(n * sizeof *p), *joint = malloc(n * sizeof *joint), *trip = malloc(n * sizeof *trip),
          *soft = malloc(n * sizeof *soft), *alone = malloc(nb * sizeof *alone);
    assert_int_equal(fcl_net_read(net, net->params, 0, n, p), FCL_SUCCESS);
    assert_int_equal(fcl_net_write(plain, plain->params, 0, nb, p), FCL_SUCCESS); /* the head's come last */
    /* joint, triplet alone and softmax alone on the net with the head; triplet on the
     * net without it. */
    const fcl_loss_params params = {.mining = FCL_MINING_BATCH_ALL, .alpha = 0.2f};
    const int embedding = base->n_nodes - 1, logits = head->n_nodes - 1;
    fcl_objective jl = {0}, tl = {0}, sl = {0}, al = {0};
    assert_int_equal(fcl_objective_add(&jl, net, FCL_LOSS_TRIPLET, embedding, &params, 1.0f), FCL_SUCCESS);
    assert_int_equal(fcl_objective_add(&jl, net, FCL_LOSS_SOFTMAX, logits, &params, weight), FCL_SUCCESS);
    assert_int_equal(fcl_objective_add(&tl, net, FCL_LOSS_TRIPLET, embedding, &params, 1.0f), FCL_SUCCESS);
    assert_int_equal(fcl_objective_add(&sl, net, FCL_LOSS_SOFTMAX, logits, &params, 1.0f), FCL_SUCCESS);
    assert_int_equal(fcl_objective_add(&al, plain, FCL_LOSS_TRIPLET, embedding, &params, 1.0f), FCL_SUCCESS);
    double lj = step_gradient(net, &jl, joint, n), lt = step_gradient(net, &tl, trip, n);
    double ls = step_gradient(net, &sl, soft, n), la = step_gradient(plain, &al, alone, nb);
    assert_true(lt > 0 && ls > 0);
    if (fabs(lt - la) > 1e-6 * la) /* the same embedding as the model without its head */
        fail_msg("triplet loss with the head %.9g, without %.9g", lt, la);
    if (fabs(lj - (lt + weight * ls)) > 1e-6 * lj)
        fail_msg("joint loss %.9g, wanted %.9g + %g x %.9g", lj, lt, (double)weight, ls);
    double scale = 0;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(joint[i]));
    for (size_t i = 0; i < n; i++) {
        double want = trip[i] + weight * soft[i];
        if (fabs(joint[i] - want) > 1e-5 * scale)
            fail_msg("gradient %zu: joint %.9g, triplet + weight x softmax %.9g", i, joint[i], want);
        if (i < nb && fabs(trip[i] - alone[i]) > 1e-5 * scale)
            fail_msg("gradient %zu: triplet %.9g with the head, %.9g without", i, trip[i], alone[i]);
    }
    free(p), free(joint), free(trip), free(soft), free(alone);
    fcl_objective_destroy(&jl);
    fcl_objective_destroy(&tl);
    fcl_objective_destroy(&sl);
    fcl_objective_destroy(&al);
    fcl_net_destroy(net);
    fcl_net_destroy(plain);
    fcl_model_destroy(head);
    fcl_model_destroy(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loss_falls_with_each_mining),
        cmocka_unit_test(dag_networks_train),
        cmocka_unit_test(same_seed_same_weights),
        cmocka_unit_test(nan_in_the_batch_stops_before_the_update),
        cmocka_unit_test(joint_loss_is_triplet_plus_weighted_softmax),
    };
    return cmocka_run_group_tests(tests, setup, close_test_runtime);
}
