/* facecl train MODEL DATA: triplet-loss training with online mining on the device. */
#include "cli.h"
#include "faces.h"

#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FCL_MAX_TRAIN_DEVICES 16 /* --devices: one process drives at most this many */

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* The --loss lines of the help, from the loss table. */
static void loss_lines(char *out, size_t size)
{
    size_t at = 0;
    out[0] = '\0';
    fcl_loss_info l;
    for (int i = 0; fcl_loss_at(i, &l) && at < size; i++) {
        int n = snprintf(out + at, size - at, "                         %-12s %s\n", l.name, l.summary);
        at += n > 0 ? (size_t)n : 0;
    }
}

/* --lambda BASE,GAMMA,POWER,MIN: SphereFace's annealing. */
static bool parse_lambda(const char *text, fcl_train_options *o)
{
    double v[4];
    char end;
    if (sscanf(text, "%lf,%lf,%lf,%lf%c", &v[0], &v[1], &v[2], &v[3], &end) != 4 || !(v[3] >= 0) ||
        !(v[0] >= v[3]) || !(v[1] >= 0) || !(v[2] >= 0) || v[0] > 1e9) {
        fprintf(stderr, "facecl train: --lambda wants BASE,GAMMA,POWER,MIN with BASE >= MIN >= 0 and GAMMA, "
                        "POWER >= 0 (SphereFace's: 1000,0.12,1,5), not '%s'\n", text);
        return false;
    }
    o->lambda_base = (float)v[0], o->lambda_gamma = (float)v[1], o->lambda_power = (float)v[2];
    o->lambda_min = (float)v[3];
    return true;
}

/* Whether name is one of the losses (then *info says what it is). */
static bool known_loss(const char *name, fcl_loss_info *info)
{
    for (int i = 0; fcl_loss_at(i, info); i++)
        if (strcmp(info->name, name) == 0)
            return true;
    return false;
}

static void usage(FILE *f, const fcl_train_options *d)
{
    char losses[4096];
    loss_lines(losses, sizeof losses);
    fprintf(f,
            "usage: facecl train MODEL DATA [options]\n\n"
            "Trains MODEL's embedding with the triplet loss and online mining (FaceNet, section 3).\n"
            "DATA: a directory with IDX files (Fashion-MNIST: /usr/share/datasets/fashion-mnist, its\n"
            "train split is used) or one sub-folder of JPEG/PNG images per identity.\n\n"
            "  --out DIR            checkpoint, final weights and train.csv (default runs/<model>)\n"
            "  --steps N            optimiser steps (%ld)\n"
            "  --identities P       identities per batch (%d)\n"
            "  --per-identity K     images per identity (%d); a batch is P x K images\n"
            "  --loss L             the loss (default %s); a loss over the identities trains through a\n"
            "                       train.classifier layer on the embedding (kept in the checkpoint,\n"
            "                       skipped when the weights are loaded for use):\n"
            "%s"
            "  --mining M           semi-hard (the paper's), batch-hard or batch-all\n"
            "  --margin A           triplet margin alpha (%g)\n"
            "  --softmax-weight W   add W x softmax cross-entropy (through the same train.classifier\n"
            "                       layer) to the triplet loss: a joint loss (0: triplet alone); also\n"
            "                       to contrastive\n"
            "  --joint-loss L       the head loss --softmax-weight adds instead of softmax (normface,\n"
            "                       cosface, arcface, adacos, lsoftmax, sphereface, center), its\n"
            "                       options as for --loss L\n"
            "  --scale S            normface, cosface, arcface: the logit scale s (default: the loss's)\n"
            "  --class-margin M     cosface, arcface: the margin m on the label's cosine or angle;\n"
            "                       lsoftmax, sphereface: the angle's multiplier m, 1 to 4 (4)\n"
            "  --lambda B,G,P,MIN   lsoftmax, sphereface: lambda = max(MIN, B (1 + G step)^-P), the\n"
            "                       label's logit (lambda cos + psi) / (1 + lambda) (SphereFace's\n"
            "                       1000,0.12,1,5)\n"
            "  --easy-margin        arcface: no margin where cos theta_y <= 0 (InsightFace's option)\n"
            "  --center-weight L    center: lambda, the centre term's weight beside softmax (%g)\n"
            "  --center-rate A      center: the centres' update rate alpha (%g)\n"
            "  --pos-margin D       contrastive: same identities pulled within L2 distance D (%g)\n"
            "  --neg-margin D       contrastive: different ones pushed beyond D (%g; facecl's default for\n"
            "                       unit embeddings, whose distances lie in 0..2)\n",
            d->steps, d->P, d->K, d->loss, losses, (double)d->alpha, (double)d->center_weight,
            (double)d->center_rate, (double)d->pos_margin, (double)d->neg_margin);
    fprintf(f, /* two parts: C compilers need not take longer strings */
            "  --optimizer O        adagrad (the paper's, lr 0.05), sgd (momentum 0.9, lr 0.01), adam (lr 1e-3)\n"
            "  --lr X               base learning rate (default: the optimiser's)\n"
            "  --weight-decay X     L2 weight decay (0)\n"
            "  --schedule S         constant, step (x0.1 after each quarter) or cosine (default)\n"
            "  --warmup N           linear warm-up steps (0)\n"
            "  --seed S             initial weights, sampling and augmentation (%llu)\n"
            "  --init W             start from the weights in W (weights or checkpoint of an earlier\n"
            "                       run, e.g. a --loss softmax pre-training) instead of random ones;\n"
            "                       the optimiser, step and schedule start afresh\n"
            "  --crop-pad N         random shift of up to N pixels (%d; 0: off)\n"
            "  --no-flip            no random horizontal flips\n"
            "  --checkpoint-every N steps between checkpoints (%ld)\n"
            "  --resume             continue from DIR/checkpoint.safetensors, bit for bit\n"
            "  --force              start over in a DIR that holds a run (without it, or --resume, an\n"
            "                       error: a finished run's weights are not replaced by accident)\n"
            "  --stop-at STEP       pause after STEP with a checkpoint (exit 130); --resume goes on\n"
            "  --on-nan stop|skip   a non-finite loss stops the run (default) or skips the batch\n"
            "  --device D           OpenCL device (index, gpu, cpu or a name)\n"
            "  --devices D1,D2,...  data parallel: a replica on each device, each taking its share of\n"
            "                       the batch (the loss and batch-norm statistics are the whole batch's;\n"
            "                       triplet or contrastive). Under mpirun every rank does the same:\n"
            "                       mpirun -np 2 facecl train ... (README: several devices and hosts)\n"
            "  --tune-seconds S     on a model's first use on the device, tune the GEMM kernels for\n"
            "                       up to S seconds (default %.0f, FACECL_TUNE_SECONDS; 0: off;\n"
            "                       never with --resume, which keeps the kernels it started with)\n"
            "  --quiet              no progress lines\n"
            "  --profile            time every kernel and print where the device time went\n"
            "  --detect, --mtcnn DIR, --crop-margin M  train on each image's most probable face\n"
            "                       (MTCNN, cropped as facenet-pytorch does at the model's input\n"
            "                       size, once, into the cache; images without one are named, left out)\n\n"
            "Ctrl-C (or SIGTERM) finishes the current step, writes a checkpoint and exits; --resume\n"
            "goes on from there. Exit status: 0 done, 1 error, 2 bad usage, 3 stopped on NaN, 130\n"
            "interrupted.\n",
            (unsigned long long)d->seed,
            d->crop_pad,
            d->checkpoint_every, cli_tune_seconds());
    if (!fcl_distributed_built())
        fprintf(f, "\nThis facecl was built without MPI: for mpirun, install openmpi-bin and libopenmpi-dev\n"
                   "and rebuild (./facecl.sh setup).\n");
}

static bool parse_schedule(const char *text, fcl_schedule_kind *out)
{
    static const char *const names[] = {[FCL_SCHEDULE_CONSTANT] = "constant", [FCL_SCHEDULE_STEP] = "step",
                                        [FCL_SCHEDULE_COSINE] = "cosine"};
    for (int i = 0; i < 3; i++)
        if (strcmp(text, names[i]) == 0) {
            *out = (fcl_schedule_kind)i;
            return true;
        }
    fprintf(stderr, "facecl train: --schedule wants constant, step or cosine, not '%s'\n", text);
    return false;
}

int cmd_train(int argc, char **argv)
{
    enum { O_STEPS = 256, O_P, O_K, O_MINING, O_MARGIN, O_SOFTMAX_WEIGHT, O_SCALE, O_CLASS_MARGIN, O_EASY, O_POS, O_NEG, O_CENTER_WEIGHT, O_CENTER_RATE, O_LAMBDA, O_OPT, O_LR, O_WD, O_SCHED, O_WARMUP,
           O_SEED, O_PAD, O_NOFLIP, O_EVERY, O_RESUME, O_ONNAN, O_QUIET, O_PROFILE, O_STOP_AT, O_LOSS, O_TUNE, O_INIT, O_FORCE, O_JOINT, O_DEVICES };
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'},         {"steps", required_argument, NULL, O_STEPS},
        {"identities", required_argument, NULL, O_P},  {"per-identity", required_argument, NULL, O_K},
        {"mining", required_argument, NULL, O_MINING}, {"margin", required_argument, NULL, O_MARGIN},
        {"softmax-weight", required_argument, NULL, O_SOFTMAX_WEIGHT},
        {"scale", required_argument, NULL, O_SCALE}, {"class-margin", required_argument, NULL, O_CLASS_MARGIN},
        {"easy-margin", no_argument, NULL, O_EASY}, {"pos-margin", required_argument, NULL, O_POS},
        {"neg-margin", required_argument, NULL, O_NEG}, {"lambda", required_argument, NULL, O_LAMBDA},
        {"center-weight", required_argument, NULL, O_CENTER_WEIGHT},
        {"center-rate", required_argument, NULL, O_CENTER_RATE},
        {"optimizer", required_argument, NULL, O_OPT}, {"lr", required_argument, NULL, O_LR},
        {"weight-decay", required_argument, NULL, O_WD}, {"schedule", required_argument, NULL, O_SCHED},
        {"warmup", required_argument, NULL, O_WARMUP}, {"seed", required_argument, NULL, O_SEED},
        {"crop-pad", required_argument, NULL, O_PAD},  {"no-flip", no_argument, NULL, O_NOFLIP},
        {"checkpoint-every", required_argument, NULL, O_EVERY}, {"resume", no_argument, NULL, O_RESUME},
        {"force", no_argument, NULL, O_FORCE},
        {"on-nan", required_argument, NULL, O_ONNAN},  {"device", required_argument, NULL, 'd'},
        {"devices", required_argument, NULL, O_DEVICES},
        {"quiet", no_argument, NULL, O_QUIET},         {"profile", no_argument, NULL, O_PROFILE},
        {"stop-at", required_argument, NULL, O_STOP_AT}, {"loss", required_argument, NULL, O_LOSS},
        {"tune-seconds", required_argument, NULL, O_TUNE}, {"init", required_argument, NULL, O_INIT},
        {"joint-loss", required_argument, NULL, O_JOINT}, CLI_FACES_OPTIONS,
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    fcl_train_options o = fcl_train_defaults();
    int progress = cli_train_progress_mode(false);
    const char *loss = "triplet";
    const char *given[8]; /* the loss options given, by name */
    int n_given = 0;
    fcl_loss_info info;
    fcl_loss_at(0, &info); /* the default, triplet */
    const char *out_dir = NULL, *device = NULL, *devices = NULL;
    double lr = 0, x, tune_seconds = cli_tune_seconds();
    long v;
    bool ok = true;
    int c;
    int index = -1;
    cli_faces_args fa = {0};
    while (ok && (c = getopt_long(argc, argv, "o:d:h", opts, &index)) != -1) {
        if (cli_faces_option(&fa, c, optarg, &ok))
            continue;
        if (c >= O_SCALE && c <= O_LAMBDA && index >= 0 && n_given < 8)
            given[n_given++] = opts[index].name;
        index = -1;
        switch (c) {
        case 'o': out_dir = optarg; break;
        case 'd': device = optarg; break;
        case O_DEVICES: devices = optarg; break;
        case O_STEPS: ok = cli_long("steps", optarg, 1, 100000000, &o.steps); break;
        case O_P: ok = cli_long("identities", optarg, 2, 100000, &v), o.P = (int)v; break;
        case O_K: ok = cli_long("per-identity", optarg, 2, 100000, &v), o.K = (int)v; break;
        case O_MINING:
            if (!(ok = fcl_mining_parse(optarg, &o.mining) == FCL_SUCCESS))
                fprintf(stderr, "facecl train: --mining wants semi-hard, batch-hard or batch-all, not '%s'\n", optarg);
            break;
        case O_LOSS:
            if (!(ok = known_loss(optarg, &info))) {
                char losses[4096];
                loss_lines(losses, sizeof losses);
                fprintf(stderr, "facecl train: unknown --loss '%s'; the losses are:\n%s", optarg, losses);
            }
            loss = optarg;
            break;
        case O_MARGIN: ok = cli_double("margin", optarg, 0, 4, &x), o.alpha = (float)x; break;
        case O_SCALE: ok = cli_double("scale", optarg, 0.01, 1000, &x), o.scale = (float)x; break;
        case O_CLASS_MARGIN: ok = cli_double("class-margin", optarg, 0, 4, &x), o.class_margin = (float)x; break;
        case O_EASY: o.easy_margin = true; break;
        case O_POS: ok = cli_double("pos-margin", optarg, 0, 4, &x), o.pos_margin = (float)x; break;
        case O_NEG: ok = cli_double("neg-margin", optarg, 0, 4, &x), o.neg_margin = (float)x; break;
        case O_LAMBDA: ok = parse_lambda(optarg, &o); break;
        case O_CENTER_WEIGHT: ok = cli_double("center-weight", optarg, 0, 100, &x), o.center_weight = (float)x; break;
        case O_CENTER_RATE: ok = cli_double("center-rate", optarg, 0, 1, &x), o.center_rate = (float)x; break;
        case O_SOFTMAX_WEIGHT:
            ok = cli_double("softmax-weight", optarg, 0, 100, &x), o.softmax_weight = (float)x;
            break;
        case O_OPT: {
            fcl_optimizer_kind kind;
            ok = fcl_optimizer_parse(optarg, &kind) == FCL_SUCCESS;
            if (ok)
                o.optim = fcl_optim_defaults(kind);
            break;
        }
        case O_LR: ok = cli_double("lr", optarg, 1e-12, 100, &lr); break;
        case O_WD: ok = cli_double("weight-decay", optarg, 0, 1, &x), o.optim.weight_decay = (float)x; break;
        case O_SCHED: ok = parse_schedule(optarg, &o.schedule.kind); break;
        case O_WARMUP: ok = cli_long("warmup", optarg, 0, 100000000, &o.schedule.warmup); break;
        case O_INIT: o.init = optarg; break;
        case O_JOINT: o.joint_loss = optarg; break;
        case O_SEED: ok = cli_long("seed", optarg, 0, 0x7fffffffL, &v), o.seed = (uint64_t)v; break;
        case O_PAD: ok = cli_long("crop-pad", optarg, 0, 64, &v), o.crop_pad = (int)v; break;
        case O_NOFLIP: o.flip = false; break;
        case O_EVERY: ok = cli_long("checkpoint-every", optarg, 1, 100000000, &o.checkpoint_every); break;
        case O_RESUME: o.resume = true; break;
        case O_FORCE: o.force = true; break;
        case O_ONNAN:
            ok = strcmp(optarg, "stop") == 0 || strcmp(optarg, "skip") == 0;
            o.on_numeric = strcmp(optarg, "skip") == 0 ? FCL_ON_NUMERIC_SKIP : FCL_ON_NUMERIC_STOP;
            if (!ok)
                fprintf(stderr, "facecl train: --on-nan wants stop or skip\n");
            break;
        case O_QUIET: progress = 0; break;
        case O_PROFILE: o.profile = true; break;
        case O_TUNE: ok = cli_double("tune-seconds", optarg, 0, 1e6, &tune_seconds); break;
        case O_STOP_AT: ok = cli_long("stop-at", optarg, 1, 100000000, &o.stop_at); break;
        case 'h': usage(stdout, &o); return 0;
        default: ok = false;
        }
    }
    if (!ok)
        return 2;
    if (argc - optind != 2) {
        usage(stderr, &o);
        return 2;
    }
    o.loss = loss;
    cli_train_progress_set(&o, &progress);
    if (device && devices) {
        fprintf(stderr, "facecl train: --device or --devices, not both (--devices lists every device)\n");
        return 2;
    }
    int rank = 0, ranks = 1; /* under mpirun, this process's place */
    fcl_status dst = fcl_distributed_rank(&rank, &ranks);
    if (dst != FCL_SUCCESS)
        return cli_fail("mpirun", dst);
    if (info.head && o.softmax_weight > 0) {
        fprintf(stderr, "facecl train: --softmax-weight adds a head loss to a loss on the embedding (triplet, "
                        "contrastive); --loss %s has a head already, so leave it out\n", o.loss);
        return 2;
    }
    fcl_loss_info joint = {0};
    if (o.joint_loss && (!known_loss(o.joint_loss, &joint) || !joint.head || o.softmax_weight <= 0)) {
        fprintf(stderr, "facecl train: --joint-loss names the head loss --softmax-weight W adds (softmax, "
                        "normface, cosface, arcface, adacos, lsoftmax, sphereface, center), not '%s'%s\n",
                o.joint_loss, o.softmax_weight <= 0 ? ", and needs --softmax-weight" : "");
        return 2;
    }
    /* A loss's own options mean nothing to the others: say so rather than ignore them. */
    for (int i = 0; i < n_given; i++)
        if (!fcl_loss_takes(info.name, given[i]) && !(o.joint_loss && fcl_loss_takes(joint.name, given[i]))) {
            fprintf(stderr, "facecl train: --%s is not an option of --loss %s (%s%s)\n", given[i], loss,
                    *info.options ? "it takes: " : "it takes none of the loss options", info.options);
            return 2;
        }
    if (lr > 0)
        o.optim.lr = (float)lr;
    o.schedule.step_every = o.schedule.kind == FCL_SCHEDULE_STEP ? o.steps / 4 : 0;
    fcl_model *m;
    fcl_status st = fcl_model_load(argv[optind], &m);
    if (st != FCL_SUCCESS)
        return cli_fail(argv[optind], st);
    cli_warn_unnormalised(m, "train");
    const fcl_model_summary ms = fcl_model_describe(m);
    char default_out[4200];
    snprintf(default_out, sizeof default_out, "runs/%s", ms.name);
    o.out_dir = out_dir ? out_dir : default_out;
    fcl_dataset *data;
    if ((st = fcl_dataset_load(argv[optind + 1], "train", &data)) != FCL_SUCCESS) {
        fcl_model_destroy(m);
        return cli_fail(argv[optind + 1], st);
    }
    fcl_runtime_options ro = {0}; /* zero: the defaults */
    ro.profiling = o.profile;
    /* --devices: the first is the runtime fcl_train gets, the rest train replicas beside it. */
    char *specs = devices ? strdup(devices) : NULL, *spec_at[FCL_MAX_TRAIN_DEVICES];
    int n_specs = 0;
    for (char *tok = specs ? strtok(specs, ",") : NULL; tok && n_specs < FCL_MAX_TRAIN_DEVICES; tok = strtok(NULL, ","))
        spec_at[n_specs++] = tok;
    fcl_runtime *rt = devices && n_specs == 0 ? NULL : cli_open_runtime(devices ? spec_at[0] : device, &ro);
    fcl_runtime *more[FCL_MAX_TRAIN_DEVICES];
    o.more_devices = more;
    for (int i = 1; rt && i < n_specs; i++)
        if ((more[o.n_more_devices] = cli_open_runtime(spec_at[i], &ro)))
            o.n_more_devices++;
        else {
            fcl_runtime_destroy(rt);
            rt = NULL;
        }
    if (devices && n_specs == 0)
        fprintf(stderr, "facecl train: --devices wants a list such as 0,1 (indices or names, as --device takes)\n");
    int status = rt ? cli_faces_dataset(&fa, rt, m, data, "train") : 1;
    if (rt && status != 0) {
        fcl_runtime_destroy(rt);
        rt = NULL;
    }
    if (rt) {
        status = 1;
        if (rank != 0) /* rank 0 speaks for the run; the others print only their errors */
            o.progress = NULL;
    }
    if (rt && rank == 0) {
        printf("facecl train: %s on %d images of %d identities (%s), [%d] %s\n", ms.name, fcl_dataset_images(data),
               fcl_dataset_identities(data), fcl_dataset_source(data), fcl_runtime_device(rt)->index,
               fcl_runtime_device(rt)->name);
        char objective[96];
        const double margin_m = o.class_margin >= 0 ? (double)o.class_margin : (double)info.margin;
        if (fcl_loss_takes(info.name, "scale"))
            snprintf(objective, sizeof objective, "%s over %d identities, s %g, m %g%s", o.loss,
                     fcl_dataset_identities(data), o.scale > 0 ? (double)o.scale : (double)info.scale, margin_m,
                     o.easy_margin ? " (easy margin)" : "");
        else if (fcl_loss_takes(info.name, "lambda"))
            snprintf(objective, sizeof objective, "%s over %d identities, m %g, lambda %g -> %g", o.loss,
                     fcl_dataset_identities(data), margin_m, (double)o.lambda_base, (double)o.lambda_min);
        else if (info.head)
            snprintf(objective, sizeof objective, "%s over %d identities", o.loss, fcl_dataset_identities(data));
        else if (fcl_loss_takes(info.name, "pos-margin"))
            snprintf(objective, sizeof objective, "contrastive, margins %g and %g, %s weight %g", (double)o.pos_margin,
                     (double)o.neg_margin, o.joint_loss ? o.joint_loss : "softmax", (double)o.softmax_weight);
        else
            snprintf(objective, sizeof objective, "%s mining, margin %g, %s weight %g", fcl_mining_name(o.mining),
                     (double)o.alpha, o.joint_loss ? o.joint_loss : "softmax", (double)o.softmax_weight);
        printf("  %ld steps of %d x %d images, %s, %s lr %g, output %s%s\n", o.steps, o.P, o.K, objective,
               fcl_optimizer_name(o.optim.kind), (double)o.optim.lr, o.out_dir, o.resume ? " (resuming)" : "");
        for (int i = 0; i < o.n_more_devices; i++)
            printf("  and [%d] %s\n", fcl_runtime_device(more[i])->index, fcl_runtime_device(more[i])->name);
        if (ranks > 1)
            printf("  %d MPI ranks, each with %d device%s: the batch is split over all of them\n", ranks,
                   1 + o.n_more_devices, o.n_more_devices ? "s" : "");
        fflush(stdout);
    }
    if (rt) {
        o.stop = &stop_requested;
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        fcl_train_summary sum = {0};
        const fcl_reporter report = cli_reporter();
        /* Data parallel: no tuning, so every replica runs the kernels the tuning file names
         * (tune on one device first: `facecl tune`). */
        const bool parallel = ranks > 1 || o.n_more_devices > 0;
        st = o.resume || parallel
                 ? FCL_SUCCESS
                 : fcl_tune_first_use(rt, m, o.P * o.K, true, tune_seconds, progress > 0 ? &report : NULL);
        if (st == FCL_SUCCESS)
            st = fcl_train(rt, m, data, &o, &sum);
        if (sum.profile)
            fputs(sum.profile, stdout);
        free(sum.profile);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        if (sum.unreadable_images)
            fprintf(stderr, "facecl train: %d images could not be decoded and were replaced\n", sum.unreadable_images);
        if (st == FCL_SUCCESS && rank == 0 && sum.replicas > 0) {
            const double per = sum.steps_done > sum.first_step ? 1e3 / (double)(sum.steps_done - sum.first_step) : 0;
            char sent[48] = "", stats[64] = ""; /* what each rank puts into MPI's sum; none within one process */
            if (sum.reduce_bytes > 0)
                snprintf(sent, sizeof sent, " (%.1f MB a rank)", sum.reduce_bytes / 1e6);
            if (sum.statistics_seconds > 0)
                snprintf(stats, sizeof stats, " (%.1f of it sharing batch-norm statistics)",
                         sum.statistics_seconds * per);
            printf("data parallel, %d replicas, ms per step: devices %.1f%s, gathering embeddings %.1f, loss %.1f, "
                   "summing gradients %.1f%s\n", sum.replicas, sum.compute_seconds * per, stats,
                   sum.gather_seconds * per, sum.loss_seconds * per, sum.reduce_seconds * per, sent);
        }
        if (st == FCL_SUCCESS) {
            if (rank == 0)
                printf("done: steps %ld-%ld in %.1f s (%.0f images/s), final loss %.4f (mean of the last 10%%: "
                       "%.4f)\n  weights    %s/%s\n  checkpoint %s/%s\n  log        %s/%s\n",
                       sum.first_step, sum.steps_done, sum.seconds, sum.images_per_second, sum.last_loss,
                       sum.mean_loss_last, o.out_dir, FCL_WEIGHTS_FILE, o.out_dir, FCL_CHECKPOINT_FILE, o.out_dir,
                       FCL_TRAIN_LOG_FILE);
            status = 0;
        } else {
            if (st == FCL_ERR_INTERRUPTED && o.stop_at > 0 && !stop_requested)
                fprintf(stderr, "facecl train: paused after step %ld as --stop-at asked; %s/%s holds the progress: "
                                "the same command with --resume goes on\n", o.stop_at, o.out_dir, FCL_CHECKPOINT_FILE);
            status = st == FCL_ERR_NUMERIC ? 3 : st == FCL_ERR_INTERRUPTED ? 130 : cli_fail("train", st);
        }
    }
    for (int i = 0; i < o.n_more_devices; i++)
        fcl_runtime_destroy(more[i]);
    fcl_runtime_destroy(rt);
    free(specs);
    fcl_dataset_destroy(data);
    fcl_model_destroy(m);
    return status;
}
