/* Data-parallel training (src/train/parallel.h): the replicas, the step's phases, and
 * where the gradients and embeddings meet. */
#include "train/parallel.h"
#include "runtime/clock.h"
#include "train/step.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct replica {
    fcl_net *net;
    fcl_optimizer *opt;
    float *grads; /* host copy of its parameter gradient */
    int first, count; /* its images in the global batch */
    fcl_status st;    /* of the phase just run */
    struct fcl_parallel *owner;
    int index;          /* among this process's replicas */
    fcl_net_sync sync;  /* its batch-norm statistics' way to the others (when they have batch norm) */
    int meetings;       /* of the phase so far */
    bool met_failure;   /* a meeting of this phase said some replica failed */
} replica;

/* Where the replicas' batch-norm sums meet, once per batch-norm layer forward and once
 * backward: each replica of each rank comes to the same meetings in the same order. */
typedef struct meeting {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    bool ready;            /* lock and changed initialised */
    int arrived;           /* at the meeting in progress */
    unsigned long round;   /* meetings held */
    float *v[FCL_PARALLEL_MAX_LOCAL];
    fcl_status worst, result;
} meeting;

struct fcl_parallel {
    replica *reps;
    int n_local, total, batch, dim; /* replicas here and over all ranks; dim: floats per embedding */
    size_t per_image;        /* floats per input image */
    const fcl_comm *comm;    /* NULL: this process alone */
    int *rank_floats;        /* per rank: floats of embeddings it contributes */
    int rank_first;          /* this rank's first image */
    fcl_model *loss_model;   /* the embeddings as an input node */
    fcl_net *loss_net;
    float *emb;             /* the global batch's embeddings */
    struct packet *packet;  /* rank 0's loss and its gradient, for every rank */
    fcl_parallel_times times;
    meeting meeting;
    int meetings_per_pass; /* batch-norm layers, when the replicas share statistics; 0 otherwise */
    /* the phase's arguments */
    const float *images;
    float lr;
};

/* What rank 0 sends after the loss: its status, the result, then d loss / d embeddings
 * (batch x dim floats). */
typedef struct packet {
    fcl_loss_result result;
    int64_t status;
    float grad[];
} packet;

int fcl_parallel_replicas(const fcl_parallel *p) { return p->total; }
fcl_net *fcl_parallel_net(const fcl_parallel *p) { return p->reps[0].net; }
fcl_optimizer *fcl_parallel_optimizer(const fcl_parallel *p) { return p->reps[0].opt; }
fcl_net *fcl_parallel_loss_net(const fcl_parallel *p) { return p->loss_net; }
fcl_parallel_times fcl_parallel_timing(const fcl_parallel *p) { return p->times; }

static fcl_status agree(const fcl_parallel *p, fcl_status st) { return fcl_comm_agree(p->comm, st); }

/* to[i] = the sum of v[0..count)[i], as a pairwise tree ((v0 + v1) + (v2 + v3)) ... in
 * v[0]: the order two ranks of two replicas each give too (MPI's sum of two is exact
 * either way round). */
static void sum_tree(float *const *v, int count, size_t n)
{
    for (int stride = 1; stride < count; stride *= 2)
        for (int j = 0; j + stride < count; j += 2 * stride) {
            float *to = v[j];
            const float *from = v[j + stride];
            for (size_t i = 0; i < n; i++)
                to[i] += from[i];
        }
}

/* The replicas here meet; the first (on the thread that called the step, the one MPI may
 * be called from) waits for all, sums their v, adds the ranks' and hands the result to
 * each while they wait. A failure any replica brings ends the meeting without a sum,
 * with the worst status for all; a replica that brings one need not wait (leave). */
static fcl_status meet_or_leave(replica *r, fcl_status mine, float *v, size_t n, bool leave)
{
    fcl_parallel *p = r->owner;
    meeting *m = &p->meeting;
    const double t0 = fcl_seconds();
    r->meetings++;
    pthread_mutex_lock(&m->lock);
    m->v[r->index] = v;
    if (mine < m->worst)
        m->worst = mine;
    m->arrived++;
    const unsigned long round = m->round;
    if (r->index == 0) {
        while (m->arrived < p->n_local)
            pthread_cond_wait(&m->changed, &m->lock);
        fcl_status st = agree(p, m->worst);
        if (st == FCL_SUCCESS) {
            sum_tree(m->v, p->n_local, n);
            if (p->comm)
                st = p->comm->allreduce_sum(p->comm, m->v[0], n);
        }
        for (int j = 1; j < p->n_local && st == FCL_SUCCESS; j++)
            memcpy(m->v[j], m->v[0], n * sizeof *v);
        m->result = st;
        m->worst = FCL_SUCCESS;
        m->arrived = 0;
        m->round++;
        pthread_cond_broadcast(&m->changed);
        p->times.statistics += fcl_seconds() - t0;
    } else {
        pthread_cond_broadcast(&m->changed);
        while (m->round == round && !leave)
            pthread_cond_wait(&m->changed, &m->lock);
    }
    const fcl_status st = leave ? mine : m->result;
    pthread_mutex_unlock(&m->lock);
    r->met_failure = st != FCL_SUCCESS;
    return st;
}

/* fcl_net_sync's sum. */
static fcl_status meet(void *ctx, fcl_status mine, float *v, size_t n) { return meet_or_leave(ctx, mine, v, n, false); }

/* After a phase that meets: a replica that failed between meetings still owes the others
 * the phase's next one, where all of them learn of the failure and stop. */
static void settle(fcl_parallel *p, replica *r)
{
    if (r->st != FCL_SUCCESS && !r->met_failure && r->meetings < p->meetings_per_pass)
        meet_or_leave(r, r->st, NULL, 0, r->index > 0);
    r->meetings = 0;
    r->met_failure = false;
}

typedef void (*phase_fn)(fcl_parallel *p, replica *r);
typedef struct phase_arg {
    fcl_parallel *p;
    replica *r;
    phase_fn fn;
} phase_arg;

static void *phase_thread(void *arg)
{
    phase_arg *a = arg;
    a->fn(a->p, a->r);
    return NULL;
}

/* fn on every local replica at once, one thread each (the first on this one): each
 * device has its own queue, so they run side by side. The first failure comes back. A
 * replica without a thread runs in turn, unless the phase meets (the replicas wait for
 * each other there): then it fails, and says so to the others. */
static fcl_status run_phase(fcl_parallel *p, phase_fn fn, bool meets)
{
    phase_arg args[FCL_PARALLEL_MAX_LOCAL];
    pthread_t threads[FCL_PARALLEL_MAX_LOCAL];
    bool started[FCL_PARALLEL_MAX_LOCAL] = {false};
    for (int j = 1; j < p->n_local; j++) {
        args[j] = (phase_arg){p, &p->reps[j], fn};
        started[j] = pthread_create(&threads[j], NULL, phase_thread, &args[j]) == 0;
        if (!started[j] && meets && p->meetings_per_pass > 0) {
            fcl_log(FCL_LOG_ERROR, "no thread for device replica %d of %d: stopping", j + 1, p->n_local);
            p->reps[j].st = FCL_ERR_OUT_OF_HOST_MEMORY;
            settle(p, &p->reps[j]);
        } else if (!started[j]) {
            fn(p, &p->reps[j]); /* no thread: in turn */
        }
    }
    fn(p, &p->reps[0]);
    fcl_status st = FCL_SUCCESS;
    for (int j = 0; j < p->n_local; j++) {
        if (j > 0 && started[j])
            pthread_join(threads[j], NULL);
        if (st == FCL_SUCCESS)
            st = p->reps[j].st;
    }
    return st;
}

static void forward_phase(fcl_parallel *p, replica *r)
{
    r->st = fcl_net_forward(r->net, p->images + (size_t)r->first * p->per_image, p->emb + (size_t)r->first * p->dim);
    settle(p, r);
}

/* Its part of the loss's gradient into its output, back through the layers, and the
 * parameter gradient read out. */
static void backward_phase(fcl_parallel *p, replica *r)
{
    fcl_net *net = r->net;
    const size_t n = net->model->n_params;
    const fcl_view out = fcl_net_output_view(net, net->model->n_nodes - 1);
    fcl_status st = fcl_net_fill(net, net->grads, 0, n, 0.0f);
    if (st == FCL_SUCCESS)
        st = fcl_net_begin_backward(net);
    if (st == FCL_SUCCESS)
        st = fcl_net_write(net, net->dacts, (size_t)out.off, (size_t)r->count * p->dim,
                           p->packet->grad + (size_t)r->first * p->dim);
    if (st == FCL_SUCCESS)
        st = fcl_net_backward_layers(net);
    if (st == FCL_SUCCESS)
        st = fcl_net_read(net, net->grads, 0, n, r->grads);
    r->st = st;
    settle(p, r);
}

/* The summed gradient (in the first replica's host copy) into every replica, and the
 * same optimiser step everywhere. */
static void update_phase(fcl_parallel *p, replica *r)
{
    fcl_status st = FCL_SUCCESS;
    if (r != &p->reps[0]) /* the first's device copy was written and checked already */
        st = fcl_net_write(r->net, r->net->grads, 0, r->net->model->n_params, p->reps[0].grads);
    r->st = st == FCL_SUCCESS ? fcl_optimizer_step(r->opt, p->lr) : st;
}

/* Rank 0: the loss of the global batch and its gradient into the packet. */
static fcl_status global_loss(fcl_parallel *p, fcl_objective *objective, const int *labels)
{
    fcl_net *ln = p->loss_net;
    const fcl_view in = fcl_net_output_view(ln, 0);
    const size_t n = (size_t)p->batch * p->dim;
    fcl_loss_result res = {0};
    fcl_status st = fcl_net_write(ln, ln->acts, (size_t)in.off, n, p->emb);
    if (st == FCL_SUCCESS)
        st = fcl_net_begin_backward(ln);
    if (st == FCL_SUCCESS)
        st = fcl_objective_compute(objective, labels, true, &res);
    if (st == FCL_SUCCESS && !isfinite(res.loss)) {
        fcl_log(FCL_LOG_ERROR, "the %s loss is %g: stopping before the parameters change",
                objective->terms[0].def->name, res.loss);
        st = FCL_ERR_NUMERIC;
    }
    if (st == FCL_SUCCESS)
        st = fcl_net_read(ln, ln->dacts, (size_t)in.off, n, p->packet->grad);
    p->packet->result = res;
    p->packet->status = st;
    return st;
}

fcl_status fcl_parallel_step(fcl_parallel *p, fcl_objective *objective, const float *images, const int *labels,
                             float lr, uint32_t dropout_key, fcl_loss_result *out)
{
    fcl_status st = fcl_train_check_images(images, (size_t)p->batch, p->per_image);
    if (st != FCL_SUCCESS) /* every rank holds the whole batch: all stop here alike */
        return st;
    const int rank = p->comm ? p->comm->rank : 0;
    double t0 = fcl_seconds();
    p->images = images;
    p->lr = lr;
    for (int j = 0; j < p->n_local; j++)
        p->reps[j].net->dropout_key = dropout_key;
    st = agree(p, run_phase(p, forward_phase, true));
    double t1 = fcl_seconds();
    if (st == FCL_SUCCESS && p->comm)
        st = p->comm->allgather(p->comm, p->emb + (size_t)p->rank_first * p->dim, p->emb, p->rank_floats);
    double t2 = fcl_seconds();
    if (st == FCL_SUCCESS && rank == 0)
        global_loss(p, objective, labels); /* its status travels in the packet */
    if (st == FCL_SUCCESS && p->comm)
        st = p->comm->broadcast(p->comm, p->packet, sizeof *p->packet + (size_t)p->batch * p->dim * sizeof(float));
    if (st == FCL_SUCCESS)
        st = (fcl_status)p->packet->status;
    double t3 = fcl_seconds();
    if (st == FCL_SUCCESS)
        st = agree(p, run_phase(p, backward_phase, true));
    double t4 = fcl_seconds();
    const size_t n = p->reps[0].net->model->n_params;
    float *sum = p->reps[0].grads;
    float *grads[FCL_PARALLEL_MAX_LOCAL];
    for (int j = 0; j < p->n_local; j++)
        grads[j] = p->reps[j].grads;
    if (st == FCL_SUCCESS)
        sum_tree(grads, p->n_local, n);
    if (st == FCL_SUCCESS && p->comm)
        st = p->comm->allreduce_sum(p->comm, sum, n);
    double t5 = fcl_seconds();
    /* The sum is the same on every rank, so this check stops all of them alike. */
    if (st == FCL_SUCCESS)
        st = fcl_net_write(p->reps[0].net, p->reps[0].net->grads, 0, n, sum);
    if (st == FCL_SUCCESS)
        st = fcl_net_check_gradients(p->reps[0].net);
    if (st == FCL_SUCCESS)
        st = agree(p, run_phase(p, update_phase, false));
    double t6 = fcl_seconds();
    if (st == FCL_SUCCESS) {
        *out = p->packet->result;
        p->times.compute += (t1 - t0) + (t4 - t3) + (t6 - t5);
        p->times.gather += t2 - t1;
        p->times.loss += t3 - t2;
        p->times.reduce += t5 - t4;
        p->times.reduce_bytes = p->comm ? (double)n * sizeof(float) : 0;
        p->times.steps++;
    }
    return st;
}

fcl_status fcl_parallel_sync(fcl_parallel *p)
{
    fcl_net *first = p->reps[0].net;
    const size_t n = first->model->n_params;
    float *host = p->reps[0].grads; /* free between steps */
    const int n_state = fcl_optimizer_state_count(p->reps[0].opt);
    fcl_status st = FCL_SUCCESS;
    for (int b = -1; b < n_state && st == FCL_SUCCESS; b++) { /* -1: the parameters */
        st = fcl_net_read(first, b < 0 ? first->params : fcl_optimizer_state(p->reps[0].opt, b), 0, n, host);
        for (int j = 1; j < p->n_local && st == FCL_SUCCESS; j++)
            st = fcl_net_write(p->reps[j].net, b < 0 ? p->reps[j].net->params : fcl_optimizer_state(p->reps[j].opt, b),
                               0, n, host);
    }
    for (int j = 1; j < p->n_local; j++)
        fcl_optimizer_set_steps(p->reps[j].opt, fcl_optimizer_steps(p->reps[0].opt));
    return st;
}

void fcl_parallel_destroy(fcl_parallel *p)
{
    if (!p)
        return;
    for (int j = 0; p->reps && j < p->n_local; j++) {
        fcl_optimizer_destroy(p->reps[j].opt);
        fcl_net_destroy(p->reps[j].net);
        free(p->reps[j].grads);
    }
    free(p->reps);
    if (p->meeting.ready) {
        pthread_mutex_destroy(&p->meeting.lock);
        pthread_cond_destroy(&p->meeting.changed);
    }
    fcl_net_destroy(p->loss_net);
    fcl_model_destroy(p->loss_model);
    free(p->rank_floats);
    free(p->emb);
    free(p->packet);
    free(p);
}

/* Replicas per rank, each rank's own count gathered (a rank may drive more devices). */
static fcl_status replicas_per_rank(const fcl_comm *comm, int n_local, int *per_rank)
{
    if (!comm) {
        per_rank[0] = n_local;
        return FCL_SUCCESS;
    }
    float *all = malloc((size_t)comm->size * sizeof *all);
    int *ones = calloc((size_t)comm->size, sizeof *ones);
    fcl_status st = all && ones ? FCL_SUCCESS : FCL_ERR_OUT_OF_HOST_MEMORY;
    for (int r = 0; ones && r < comm->size; r++)
        ones[r] = 1;
    const float mine = (float)n_local;
    if (st == FCL_SUCCESS)
        st = comm->allgather(comm, &mine, all, ones);
    for (int r = 0; st == FCL_SUCCESS && r < comm->size; r++)
        per_rank[r] = (int)all[r];
    free(all);
    free(ones);
    return st;
}

fcl_status fcl_parallel_create(fcl_runtime *const *rts, int n_local, const fcl_comm *comm, const fcl_model *m,
                               int batch, const fcl_optim_config *optim, fcl_parallel **out)
{
    *out = NULL;
    if (n_local < 1 || n_local > FCL_PARALLEL_MAX_LOCAL) {
        fcl_log(FCL_LOG_ERROR, "%d devices in one process: 1 to %d can train together", n_local,
                FCL_PARALLEL_MAX_LOCAL);
        return FCL_ERR_INVALID_ARGUMENT;
    }
    const int ranks = comm ? comm->size : 1, rank = comm ? comm->rank : 0;
    int *per_rank = calloc((size_t)ranks, sizeof *per_rank);
    fcl_status st = per_rank ? replicas_per_rank(comm, n_local, per_rank) : FCL_ERR_OUT_OF_HOST_MEMORY;
    int total = 0, before = 0;
    for (int r = 0; st == FCL_SUCCESS && r < ranks; r++) {
        before += r < rank ? per_rank[r] : 0;
        total += per_rank[r];
    }
    if (st == FCL_SUCCESS && batch < total) {
        fcl_log(FCL_LOG_ERROR, "a batch of %d images cannot be split over %d devices: each needs one at least "
                               "(a larger -P or -K, or fewer devices)", batch, total);
        st = FCL_ERR_INVALID_ARGUMENT;
    }
    fcl_parallel *p = st == FCL_SUCCESS ? calloc(1, sizeof *p) : NULL;
    if (st == FCL_SUCCESS && !p)
        st = FCL_ERR_OUT_OF_HOST_MEMORY;
    if (st != FCL_SUCCESS) {
        free(per_rank);
        return st;
    }
    const fcl_node *emb = fcl_model_output(m);
    *p = (fcl_parallel){.n_local = n_local, .total = total, .batch = batch, .dim = fcl_shape_size(emb->out),
                        .per_image = (size_t)fcl_shape_size(m->nodes[0].out), .comm = comm};
    for (int i = 0; i < m->n_nodes && total > 1; i++)
        p->meetings_per_pass += m->nodes[i].op == FCL_OP_BATCHNORM;
    p->meeting.worst = FCL_SUCCESS;
    if (pthread_mutex_init(&p->meeting.lock, NULL) == 0) {
        p->meeting.ready = pthread_cond_init(&p->meeting.changed, NULL) == 0;
        if (!p->meeting.ready)
            pthread_mutex_destroy(&p->meeting.lock);
    }
    p->reps = calloc((size_t)n_local, sizeof *p->reps);
    if (!p->meeting.ready)
        st = FCL_ERR_OUT_OF_HOST_MEMORY;
    p->rank_floats = calloc((size_t)ranks, sizeof *p->rank_floats);
    p->emb = malloc((size_t)batch * p->dim * sizeof *p->emb);
    p->packet = malloc(sizeof *p->packet + (size_t)batch * p->dim * sizeof(float));
    if (!p->reps || !p->rank_floats || !p->emb || !p->packet)
        st = FCL_ERR_OUT_OF_HOST_MEMORY;
    /* Replica g (over all ranks, in rank order) takes images [g B / total, (g + 1) B / total). */
    for (int r = 0, g = 0; st == FCL_SUCCESS && r < ranks; r++) {
        const int first = (int)((long)g * batch / total);
        g += per_rank[r];
        p->rank_floats[r] = ((int)((long)g * batch / total) - first) * p->dim;
        if (r == rank)
            p->rank_first = first;
    }
    free(per_rank);
    for (int j = 0; j < n_local && st == FCL_SUCCESS; j++) {
        replica *r = &p->reps[j];
        const long g = before + j;
        r->first = (int)(g * batch / total);
        r->count = (int)((g + 1) * batch / total) - r->first;
        st = fcl_net_create(rts[j], m, r->count, true, &r->net);
        r->owner = p;
        r->index = j;
        r->sync = (fcl_net_sync){.sum = meet, .ctx = r, .images = batch};
        if (st == FCL_SUCCESS) {
            r->net->input_gradient = false;
            r->net->first_image = r->first;
            r->net->sync = p->meetings_per_pass > 0 ? &r->sync : NULL; /* the whole batch's statistics */
            st = fcl_optimizer_create(r->net, optim, &r->opt);
        }
        if (st == FCL_SUCCESS && !(r->grads = malloc((m->n_params ? m->n_params : 1) * sizeof *r->grads)))
            st = FCL_ERR_OUT_OF_HOST_MEMORY;
    }
    if (st == FCL_SUCCESS)
        st = fcl_model_output_as_input(m, &p->loss_model);
    if (st == FCL_SUCCESS)
        st = fcl_net_create(rts[0], p->loss_model, batch, true, &p->loss_net);
    if (st != FCL_SUCCESS) {
        fcl_parallel_destroy(p);
        return st;
    }
    *out = p;
    return FCL_SUCCESS;
}
