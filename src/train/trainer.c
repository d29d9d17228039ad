#include "train/trainer.h"
#include "train/parallel.h"
#include "data/loader.h"
#include "io/safetensors.h"
#include "runtime/clock.h"
#include "runtime/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

fcl_train_options fcl_train_defaults(void)
{
    return (fcl_train_options){
        .P = 10, .K = 8, .steps = 1000, .loss = "triplet", .mining = FCL_MINING_SEMI_HARD, .alpha = 0.2f,
        .scale = 0, .class_margin = -1, .pos_margin = 0, .neg_margin = 1,
        .lambda_base = 1000, .lambda_gamma = 0.12f, .lambda_power = 1, .lambda_min = 5,
        .center_weight = 0.003f, .center_rate = 0.5f,
        .optim = fcl_optim_defaults(FCL_OPT_ADAGRAD),
        .schedule = {.kind = FCL_SCHEDULE_COSINE, .gamma = 0.1, .warmup = 0},
        .seed = 1, .crop_pad = 2, .flip = true, .checkpoint_every = 100, .progress_seconds = 15,
    };
}

/* Everything that decides the run's numbers: a checkpoint made under other settings
 * cannot continue bit for bit, so resume refuses it. */
static void describe(const fcl_model *m, const fcl_dataset *d, const fcl_train_options *o, fcl_loss_kind loss,
                     fcl_loss_kind joint, char *out, size_t size)
{
    snprintf(out, size,
             "model=%s data=%s images=%d P=%d K=%d steps=%ld loss=%s mining=%s alpha=%g optimizer=%s lr=%g wd=%g "
             "schedule=%d warmup=%ld seed=%" PRIu64 " crop=%d flip=%d init=%s softmax_weight=%g",
             m->name, d->source, d->n, o->P, o->K, o->steps, fcl_loss_name(loss), fcl_mining_name(o->mining),
             (double)o->alpha,
             fcl_optimizer_name(o->optim.kind), (double)o->optim.lr, (double)o->optim.weight_decay,
             (int)o->schedule.kind, o->schedule.warmup, o->seed, o->crop_pad, (int)o->flip, o->init ? o->init : "",
             (double)o->softmax_weight);
    if (o->softmax_weight > 0 && joint != FCL_LOSS_SOFTMAX) { /* a joint loss other than softmax */
        const size_t at = strlen(out);
        snprintf(out + at, size - at, " joint=%s", fcl_loss_name(joint));
    }
    /* The settings of the options its losses take (the others' are in the line above). */
    const fcl_loss_kind terms[2] = {loss, joint};
    for (int t = 0; t < (o->softmax_weight > 0 ? 2 : 1); t++) {
        const fcl_loss_def *def = fcl_losses[terms[t]];
        const struct {
            const char *option, *key;
            double value;
        } settings[] = {
            {"scale", "scale", o->scale > 0 ? (double)o->scale : (double)def->default_scale},
            {"class-margin", "margin", o->class_margin >= 0 ? (double)o->class_margin : (double)def->default_margin},
            {"easy-margin", "easy", o->easy_margin},
            {"pos-margin", "pos_margin", o->pos_margin},
            {"neg-margin", "neg_margin", o->neg_margin},
            {"lambda", "lambda_base", o->lambda_base},
            {"lambda", "lambda_gamma", o->lambda_gamma},
            {"lambda", "lambda_power", o->lambda_power},
            {"lambda", "lambda_min", o->lambda_min},
            {"center-weight", "center_weight", o->center_weight},
            {"center-rate", "center_rate", o->center_rate},
        };
        for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
            if (fcl_loss_takes(def->name, settings[i].option)) {
                const size_t at = strlen(out);
                snprintf(out + at, size - at, " %s=%g", settings[i].key, settings[i].value);
            }
    }
}

typedef struct run {
    fcl_loss_kind loss; /* options.loss, looked up */
    fcl_net *net;
    int embedding_node; /* the model's output, where a head (if any) is attached */
    fcl_optimizer *opt;
    const fcl_train_options *o;
    char config[sizeof ((fcl_st_meta *)0)->value];
    fcl_objective objective; /* the loss, with any state it carries from step to step */
    char path[3][4096]; /* checkpoint, weights, log */
    fcl_parallel *par;     /* data parallel: the replicas (net and opt are the first's); NULL: one device */
    const fcl_comm *comm;  /* the MPI ranks; NULL: this process alone */
    bool root;             /* rank 0, which writes the files and reports */
} run;

/* The last is optional: checkpoints from before losses kept state have none. */
enum { CKPT_STEP, CKPT_SAMPLER, CKPT_OPT_STEPS, CKPT_CONFIG, CKPT_LOSS_STATE, CKPT_META };
static const char *const meta_keys[CKPT_META] = {"facecl.step", "facecl.sampler", "facecl.optimizer_steps",
                                                 "facecl.train_config", "facecl.loss_state"};

/* The parameters (with batch-norm statistics), the optimiser's buffers, the step and
 * the sampler state, in one file written atomically. */
/* The optimiser's buffers, then the loss's state tensors, as a checkpoint's extra
 * tensors (host copies in *host, the caller's to free). */
enum { MAX_EXTRA = 2 + FCL_OBJECTIVE_MAX_TERMS };
static int extra_tensors(run *r, fcl_st_tensor extra[MAX_EXTRA], cl_mem bufs[MAX_EXTRA],
                         fcl_loss_tensor lt[FCL_OBJECTIVE_MAX_TERMS], float **host)
{
    static const char *const opt_names[2] = {FCL_ST_STATE_PREFIX "optimizer.0", FCL_ST_STATE_PREFIX "optimizer.1"};
    const int n_opt = fcl_optimizer_state_count(r->opt);
    const int n_loss = fcl_objective_tensors(&r->objective, lt, FCL_OBJECTIVE_MAX_TERMS);
    size_t total = 0;
    int n = 0;
    for (int i = 0; i < n_opt; i++, n++) {
        extra[n] = (fcl_st_tensor){opt_names[i], NULL, r->net->model->n_params};
        bufs[n] = fcl_optimizer_state(r->opt, i);
    }
    for (int i = 0; i < n_loss; i++, n++) {
        extra[n] = (fcl_st_tensor){lt[i].name, NULL, lt[i].count};
        bufs[n] = lt[i].buf;
    }
    for (int i = 0; i < n; i++)
        total += extra[i].count;
    *host = malloc((total ? total : 1) * sizeof **host);
    size_t at = 0;
    for (int i = 0; *host && i < n; at += extra[i].count, i++)
        extra[i].data = *host + at;
    return *host ? n : -1;
}

/* The parameters (with batch-norm statistics), the optimiser's buffers, the loss's
 * state, the step and the sampler state, in one file written atomically. */
static fcl_status save_checkpoint(run *r, long step, uint64_t sampler, const char *path, bool with_state)
{
    const size_t n = r->net->model->n_params;
    fcl_st_tensor extra[MAX_EXTRA];
    cl_mem bufs[MAX_EXTRA];
    fcl_loss_tensor lt[FCL_OBJECTIVE_MAX_TERMS];
    float *state = NULL, *host = malloc((n ? n : 1) * sizeof *host);
    const int n_extra = with_state ? extra_tensors(r, extra, bufs, lt, &state) : 0;
    if (!host || n_extra < 0) {
        free(host);
        free(state);
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    }
    fcl_status st = fcl_net_read(r->net, r->net->params, 0, n, host);
    for (int i = 0; i < n_extra && st == FCL_SUCCESS; i++)
        st = fcl_net_read(r->net, bufs[i], 0, extra[i].count, extra[i].data);
    fcl_st_meta meta[CKPT_META];
    for (int i = 0; i < CKPT_META; i++)
        meta[i].key = meta_keys[i];
    snprintf(meta[CKPT_STEP].value, sizeof meta[0].value, "%ld", step);
    snprintf(meta[CKPT_SAMPLER].value, sizeof meta[0].value, "%" PRIu64, sampler);
    snprintf(meta[CKPT_OPT_STEPS].value, sizeof meta[0].value, "%ld", fcl_optimizer_steps(r->opt));
    snprintf(meta[CKPT_CONFIG].value, sizeof meta[0].value, "%s", r->config);
    if (st == FCL_SUCCESS)
        st = fcl_objective_save_state(&r->objective, meta[CKPT_LOSS_STATE].value, sizeof meta[0].value);
    if (st == FCL_SUCCESS)
        st = fcl_safetensors_save(r->net->model, host, extra, n_extra, meta, CKPT_META, path);
    free(host);
    free(state);
    return st;
}

static fcl_status load_checkpoint(run *r, long *step, uint64_t *sampler)
{
    const char *path = r->path[0];
    const size_t n = r->net->model->n_params;
    const int nbuf = fcl_optimizer_state_count(r->opt);
    fcl_st_tensor extra[MAX_EXTRA];
    cl_mem bufs[MAX_EXTRA];
    fcl_loss_tensor lt[FCL_OBJECTIVE_MAX_TERMS];
    float *state = NULL, *host = malloc((n ? n : 1) * sizeof *host);
    const int n_extra = extra_tensors(r, extra, bufs, lt, &state);
    if (!host || n_extra < 0) {
        free(host);
        free(state);
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    }
    fcl_st_meta meta[CKPT_META];
    for (int i = 0; i < CKPT_META; i++)
        meta[i].key = meta_keys[i];
    fcl_status st = fcl_safetensors_load(r->net->model, path, host, extra, n_extra, meta, CKPT_META);
    for (int i = 0; i < CKPT_LOSS_STATE && st == FCL_SUCCESS; i++)
        if (!meta[i].found) {
            fcl_log(FCL_LOG_ERROR, "%s: no %s: not a facecl training checkpoint", path, meta_keys[i]);
            st = FCL_ERR_FORMAT;
        }
    if (st == FCL_SUCCESS && strcmp(meta[CKPT_CONFIG].value, r->config) != 0) {
        fcl_log(FCL_LOG_ERROR, "%s was made with other settings; resume needs the same ones.\n  checkpoint: %s\n  now:        %s",
                path, meta[CKPT_CONFIG].value, r->config);
        st = FCL_ERR_INVALID_ARGUMENT;
    }
    char *end1, *end2, *end3;
    if (st == FCL_SUCCESS) {
        *step = strtol(meta[CKPT_STEP].value, &end1, 10);
        *sampler = strtoull(meta[CKPT_SAMPLER].value, &end2, 10);
        long opt_steps = strtol(meta[CKPT_OPT_STEPS].value, &end3, 10);
        if (*end1 || *end2 || *end3 || *step < 0 || *step > r->o->steps || opt_steps < 0) {
            fcl_log(FCL_LOG_ERROR, "%s: the step or sampler state in its metadata is malformed", path);
            st = FCL_ERR_FORMAT;
        } else {
            fcl_optimizer_set_steps(r->opt, opt_steps);
        }
    }
    /* A sum of squares below 0 is a damaged file, not a learning rate too large (the
     * NaN it would make in the first step says so otherwise). */
    for (int i = 0; i < nbuf && st == FCL_SUCCESS; i++)
        for (size_t j = 0; j < n && fcl_optimizer_state_is_squares(r->opt, i); j++)
            if (extra[i].data[j] < 0) {
                fcl_log(FCL_LOG_ERROR, "%s: the optimiser's sum of squared gradients (%s) holds %g at %zu: the "
                                       "checkpoint is damaged; resume from an intact one, or start over (--force)",
                        path, extra[i].name, extra[i].data[j], j);
                st = FCL_ERR_FORMAT;
                break;
            }
    if (st == FCL_SUCCESS)
        st = fcl_net_write(r->net, r->net->params, 0, n, host);
    for (int i = 0; i < n_extra && st == FCL_SUCCESS; i++)
        st = fcl_net_write(r->net, bufs[i], 0, extra[i].count, extra[i].data);
    if (st == FCL_SUCCESS && meta[CKPT_LOSS_STATE].found &&
        (st = fcl_objective_load_state(&r->objective, meta[CKPT_LOSS_STATE].value)) != FCL_SUCCESS)
        fcl_log(FCL_LOG_ERROR, "%s: the loss's state '%s' cannot be restored", path, meta[CKPT_LOSS_STATE].value);
    free(host);
    free(state);
    return st;
}

/* Opens train.csv for appending; on resume keeps only the rows up to the checkpoint's
 * step (a killed run may have logged steps the checkpoint does not hold). */
static FILE *open_log(const char *path, long keep_through)
{
    char *text = NULL;
    size_t len = 0, kept = 0;
    if (keep_through >= 0 && fcl_read_file(path, &text, &len) == FCL_SUCCESS) {
        for (char *line = text; line < text + len;) {
            char *nl = memchr(line, '\n', (size_t)(text + len - line));
            if (!nl)
                break; /* a torn last line */
            long step = strtol(line, NULL, 10);
            if (line != text && step > keep_through)
                break;
            line = nl + 1;
            kept = (size_t)(line - text);
        }
    }
    fcl_status st = kept ? fcl_write_file_atomic(path, text, kept) : FCL_SUCCESS;
    free(text);
    if (st != FCL_SUCCESS)
        return NULL;
    if (kept)
        return fopen(path, "a");
    FILE *f = fopen(path, "w"); /* a new run, or a resumed one whose log is gone */
    if (f)
        fprintf(f, "step,loss,active_fraction,lr,images_per_second\n");
    return f;
}

static void report_progress(const run *r, long step, const fcl_loss_result *res, double lr, double ips, double eta,
                            bool last)
{
    const fcl_train_progress p = {.step = step, .steps = r->o->steps, .loss = res->loss,
                                  .active_fraction = res->active_fraction, .active = fcl_losses[r->loss]->active,
                                  .lr = lr, .images_per_second = ips, .eta_seconds = eta, .last = last};
    r->o->progress(&p, r->o->progress_user);
}

static fcl_status train_loop(run *r, const fcl_dataset *data, long start, uint64_t sampler_state, FILE *log,
                             fcl_train_summary *sum)
{
    const fcl_train_options *o = r->o;
    const fcl_model *m = r->net->model;
    fcl_loader_config lc = {.data = data, .P = o->P, .K = o->K, .input = fcl_model_input_form(m),
                            .crop_pad = o->crop_pad, .flip = o->flip, .seed = o->seed};
    fcl_loader *loader;
    fcl_objective *loss = &r->objective;
    fcl_status st = fcl_loader_create(&lc, sampler_state, start, &loader);
    if (st != FCL_SUCCESS)
        return st;
    fcl_schedule sched = o->schedule;
    sched.base_lr = o->optim.lr;
    sched.total = o->steps;
    const int B = o->P * o->K;
    const double t0 = fcl_seconds();
    const uint64_t macs0 = r->net->gemm->macs;
    double last_shown = t0, loss_sum = 0, t1 = t0;
    long loss_count = 0, tail_from = o->steps - (o->steps + 9) / 10;
    uint64_t sampler_now = sampler_state;
    fcl_loss_result res = {0};
    long step = start;
    while (step < o->steps && st == FCL_SUCCESS) {
        const fcl_batch *b = fcl_loader_next(loader);
        double lr = fcl_schedule_lr(&sched, step);
        /* Dropout's masks: a function of the seed and the step, so a resumed run draws
         * what the uninterrupted one drew. */
        r->net->dropout_key = (uint32_t)(((o->seed + 1) * 0x9E3779B97F4A7C15ULL) >> 32) + (uint32_t)step;
        loss->step = step;
        st = r->par ? fcl_parallel_step(r->par, loss, b->images, b->labels, (float)lr, r->net->dropout_key, &res)
                    : fcl_train_step(r->net, loss, r->opt, b->images, b->labels, (float)lr, &res);
        sampler_now = b->sampler_after;
        fcl_loader_release(loader, b);
        if (st == FCL_ERR_NUMERIC && o->on_numeric == FCL_ON_NUMERIC_SKIP) {
            fcl_log(FCL_LOG_WARN, "step %ld: batch skipped (not finite); the parameters are unchanged", step + 1);
            sum->skipped_batches++;
            st = FCL_SUCCESS;
            res.loss = NAN;
        } else if (st == FCL_ERR_NUMERIC) {
            fcl_log(FCL_LOG_ERROR, "training stopped at step %ld: the loss or the data is not finite. The last good "
                                   "checkpoint, %s, is untouched; try a smaller learning rate (--lr)",
                    step + 1, r->path[0]);
            break;
        }
        if (st != FCL_SUCCESS)
            break;
        step++;
        double t = fcl_seconds(), ips = (double)(step - start) * B / (t - t0);
        if (isfinite(res.loss) && step > tail_from) {
            loss_sum += res.loss;
            loss_count++;
        }
        if (log)
            fprintf(log, "%ld,%.6g,%.6g,%.6g,%.1f\n", step, res.loss, res.active_fraction, lr, ips);
        bool ckpt = step == o->steps || (o->checkpoint_every > 0 && step % o->checkpoint_every == 0);
        int stop_seen = o->stop && *o->stop;
        if (r->comm) /* a signal one rank caught stops every rank after the same step */
            st = r->comm->agree_max(r->comm, &stop_seen);
        bool stop = stop_seen || step == o->stop_at;
        if ((ckpt || stop) && r->root) {
            if (log)
                fflush(log);
            if (st == FCL_SUCCESS)
                st = save_checkpoint(r, step, sampler_now, r->path[0], true);
        }
        if (o->progress && r->root && (t - last_shown >= o->progress_seconds || step == o->steps || step == start + 1 || stop)) {
            report_progress(r, step, &res, lr, ips, (double)(o->steps - step) * (t - t0) / (double)(step - start),
                            step == o->steps || stop);
            last_shown = t;
        }
        sum->steps_done = step;
        sum->last_loss = res.loss;
        sum->seconds = t - t0;
        sum->images_per_second = ips;
        if (step == start + 1)
            t1 = t;
        else
            sum->steady_images_per_second = (double)(step - start - 1) * B / (t - t1);
        sum->gemm_macs = r->net->gemm->macs - macs0;
        if (stop && st == FCL_SUCCESS) {
            if (step != o->stop_at && r->root) /* a pause the caller planned is the caller's to mention */
                fcl_log(FCL_LOG_WARN, "stopped at step %ld; %s holds the progress: run again with --resume", step,
                        r->path[0]);
            st = FCL_ERR_INTERRUPTED;
        }
    }
    sum->mean_loss_last = loss_count ? loss_sum / (double)loss_count : NAN;
    sum->unreadable_images = fcl_loader_failures(loader);
    fcl_loader_destroy(loader);
    return st;
}

/* One run at a time in a directory: an exclusive lock on dir/.facecl-lock for the
 * run's life (the kernel drops it when the process dies, SIGKILL included), so a second
 * run on the same --out stops at once instead of interleaving its files. */
static fcl_status lock_run(const char *dir, int *fd)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/.facecl-lock", dir);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (*fd < 0) {
        fcl_log(FCL_LOG_ERROR, "cannot create %s: %s", path, strerror(errno));
        return FCL_ERR_IO;
    }
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        fcl_log(FCL_LOG_ERROR, "%s is in use by another facecl training run: wait for it to end, or give another --out",
                dir);
        close(*fd);
        *fd = -1;
        return FCL_ERR_INVALID_ARGUMENT;
    }
    return FCL_SUCCESS;
}

fcl_status fcl_train(fcl_runtime *rt, const fcl_model *m, const fcl_dataset *data, const fcl_train_options *o,
                     fcl_train_summary *out)
{
    memset(out, 0, sizeof *out);
    if (o->steps < 1 || o->P < 2 || o->K < 2 || !(o->alpha >= 0) || !(o->softmax_weight >= 0) || !o->out_dir) {
        fcl_log(FCL_LOG_ERROR, "training needs steps >= 1, P >= 2, K >= 2, a margin >= 0, a softmax weight >= 0 "
                               "and an output directory");
        return FCL_ERR_INVALID_ARGUMENT;
    }
    run r = {.o = o};
    if (fcl_loss_parse(o->loss ? o->loss : "triplet", &r.loss) != FCL_SUCCESS) {
        fcl_log(FCL_LOG_ERROR, "training: unknown loss '%s' (`facecl train --help` lists them)", o->loss);
        return FCL_ERR_INVALID_ARGUMENT;
    }
    fcl_loss_kind joint;
    if (fcl_loss_parse(o->joint_loss ? o->joint_loss : "softmax", &joint) != FCL_SUCCESS || !fcl_losses[joint]->head ||
        (o->softmax_weight > 0 && fcl_losses[r.loss]->head)) {
        fcl_log(FCL_LOG_ERROR, "training: a joint loss adds a loss over a classifier head (softmax, normface, cosface, "
                               "arcface, ...) to one on the embedding, not '%s' to '%s'",
                o->joint_loss ? o->joint_loss : "softmax", fcl_loss_name(r.loss));
        return FCL_ERR_INVALID_ARGUMENT;
    }
    fcl_status st = fcl_comm_world(&r.comm);
    if (st != FCL_SUCCESS)
        return st;
    r.root = !r.comm || r.comm->rank == 0;
    const bool parallel = r.comm || o->n_more_devices > 0;
    if (parallel && (fcl_losses[r.loss]->head || o->softmax_weight > 0)) {
        fcl_log(FCL_LOG_ERROR, "training on several devices takes a loss on the embedding alone (triplet, "
                               "contrastive), not %s%s: its classifier head is not replicated yet",
                fcl_loss_name(r.loss), o->softmax_weight > 0 ? " with a joint loss" : "");
        return FCL_ERR_UNSUPPORTED;
    }
    describe(m, data, o, r.loss, joint, r.config, sizeof r.config);
    static const char *const names[3] = {FCL_CHECKPOINT_FILE, FCL_WEIGHTS_FILE, FCL_TRAIN_LOG_FILE};
    for (int i = 0; i < 3; i++)
        snprintf(r.path[i], sizeof r.path[i], "%s/%s", o->out_dir, names[i]);
    int lock = -1;
    if (r.root) { /* the files are rank 0's; the other ranks only read the checkpoint on --resume */
        st = fcl_mkdir_p(o->out_dir);
        if (st != FCL_SUCCESS)
            fcl_log(FCL_LOG_ERROR, "cannot create the output directory %s", o->out_dir);
        if (st == FCL_SUCCESS)
            st = lock_run(o->out_dir, &lock);
        struct stat sb;
        if (st == FCL_SUCCESS && !o->resume && !o->force && stat(r.path[0], &sb) == 0) {
            fcl_log(FCL_LOG_ERROR, "%s already holds a training run (%s): --resume continues it, --force starts it "
                                   "over, or give another --out", o->out_dir, FCL_CHECKPOINT_FILE);
            st = FCL_ERR_INVALID_ARGUMENT;
        }
    }
    st = fcl_comm_agree(r.comm, st);
    fcl_model *head = NULL; /* softmax or joint: the embedding, then a classifier over the identities */
    /* Softmax alone or in a joint loss: a classifier over the identities on the embedding. */
    const fcl_loss_kind head_loss = fcl_losses[r.loss]->head ? r.loss : joint;
    if (st == FCL_SUCCESS && (fcl_losses[r.loss]->head || o->softmax_weight > 0))
        st = fcl_model_with_head(m, FCL_ST_STATE_PREFIX "classifier", fcl_losses[head_loss]->head_op,
                                 data->n_classes, &head);
    r.embedding_node = m->n_nodes - 1;
    fcl_net *loss_net = NULL; /* the net the loss reads, and the node */
    int loss_node = 0;
    if (st == FCL_SUCCESS && parallel) {
        const int n_rts = 1 + o->n_more_devices; /* fcl_parallel_create checks it before reading rts */
        fcl_runtime *rts[FCL_PARALLEL_MAX_LOCAL] = {rt};
        for (int i = 1; i < n_rts && i < FCL_PARALLEL_MAX_LOCAL; i++)
            rts[i] = o->more_devices[i - 1];
        st = fcl_parallel_create(rts, n_rts, r.comm, m, o->P * o->K, &o->optim, &r.par);
        if (st == FCL_SUCCESS) {
            r.net = fcl_parallel_net(r.par);
            r.opt = fcl_parallel_optimizer(r.par);
            loss_net = fcl_parallel_loss_net(r.par); /* the global batch's embeddings: its input */
        }
    } else if (st == FCL_SUCCESS) {
        st = fcl_net_create(rt, head ? head : m, o->P * o->K, true, &r.net);
        if (st == FCL_SUCCESS)
            r.net->input_gradient = false; /* nothing reads the images' gradient */
        if (st == FCL_SUCCESS)
            st = fcl_optimizer_create(r.net, &o->optim, &r.opt);
        loss_net = r.net;
        /* The loss on what it reads: the embedding, or the logits of the classifier head
         * after it (the network's output); a joint loss adds softmax on those logits. */
        loss_node = r.net && fcl_losses[r.loss]->head ? r.net->model->n_nodes - 1 : r.embedding_node;
    }
    st = fcl_comm_agree(r.comm, st);
    const fcl_loss_params params = {.mining = o->mining, .alpha = o->alpha, .scale = o->scale,
                                    .class_margin = o->class_margin, .easy_margin = o->easy_margin,
                                    .pos_margin = o->pos_margin, .neg_margin = o->neg_margin,
                                    .lambda_base = o->lambda_base, .lambda_gamma = o->lambda_gamma,
                                    .lambda_power = o->lambda_power, .lambda_min = o->lambda_min,
                                    .center_weight = o->center_weight, .center_rate = o->center_rate};
    if (st == FCL_SUCCESS)
        st = fcl_objective_add(&r.objective, loss_net, r.loss, loss_node, &params, 1.0f);
    if (st == FCL_SUCCESS && o->softmax_weight > 0)
        st = fcl_objective_add(&r.objective, loss_net, joint, r.net->model->n_nodes - 1, &params, o->softmax_weight);
    long start = 0;
    uint64_t sampler = o->seed ^ 0x5a17e5ULL; /* the sampler's stream differs from the weights' */
    if (st == FCL_SUCCESS) /* every rank: the same start */
        st = o->resume ? load_checkpoint(&r, &start, &sampler) : fcl_net_init_params(r.net, o->seed);
    if (st == FCL_SUCCESS && !o->resume && o->init) { /* a softmax head, if any, keeps its seeded start */
        st = fcl_net_load_weights_of(r.net, m, o->init);
        if (st != FCL_SUCCESS)
            fcl_log(FCL_LOG_ERROR, "--init %s: cannot start from these weights (see above)", o->init);
    }
    if (st == FCL_SUCCESS && r.par)
        st = fcl_parallel_sync(r.par);
    st = fcl_comm_agree(r.comm, st);
    out->first_step = start;
    FILE *log = NULL;
    if (st == FCL_SUCCESS && r.root && !(log = open_log(r.path[2], o->resume ? start : -1)))
        fcl_log(FCL_LOG_WARN, "cannot write %s; training goes on without the log", r.path[2]);
    if (st == FCL_SUCCESS && r.root && !o->resume) /* step 0, so a run killed before its first checkpoint can resume */
        st = save_checkpoint(&r, 0, sampler, r.path[0], true);
    st = fcl_comm_agree(r.comm, st);
    if (st == FCL_SUCCESS && o->stop_at > 0 && start >= o->stop_at && start < o->steps) {
        out->steps_done = start; /* resumed at or past its pause: it pauses again at once, untouched */
        st = FCL_ERR_INTERRUPTED;
    } else if (st == FCL_SUCCESS && start < o->steps) {
        st = train_loop(&r, data, start, sampler, log, out);
    } else {
        out->steps_done = start;
    }
    if (st == FCL_SUCCESS && r.root)
        st = save_checkpoint(&r, o->steps, 0, r.path[1], false);
    if (r.par) {
        const fcl_parallel_times t = fcl_parallel_timing(r.par);
        out->replicas = fcl_parallel_replicas(r.par);
        out->compute_seconds = t.compute;
        out->gather_seconds = t.gather;
        out->loss_seconds = t.loss;
        out->reduce_seconds = t.reduce;
        out->reduce_bytes = t.reduce_bytes;
        out->statistics_seconds = t.statistics;
    }
    if (log)
        fclose(log);
    size_t length;
    FILE *table = o->profile && r.net ? open_memstream(&out->profile, &length) : NULL;
    if (table) {
        fcl_net_print_profile(r.net, table);
        fclose(table);
    }
    fcl_objective_destroy(&r.objective);
    if (r.par) {
        fcl_parallel_destroy(r.par); /* its replicas' nets and optimisers with it */
    } else {
        fcl_optimizer_destroy(r.opt);
        fcl_net_destroy(r.net);
    }
    fcl_model_destroy(head);
    if (lock >= 0)
        close(lock); /* releases the lock */
    return st;
}
