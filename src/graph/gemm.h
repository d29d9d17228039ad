/* cl/gemm.cl's parameters: the register tile and work-group shape a device runs best,
 * chosen per shape class from shipped defaults, a per-device tuning database in the
 * cache directory (`facecl tune`), or FACECL_GEMM_CONFIG (for measuring). */
#ifndef FCL_GRAPH_GEMM_H
#define FCL_GRAPH_GEMM_H

#include "runtime/runtime.h"

#include <stdio.h>

/* A work-item computes a tm x (vw*wn) tile of C in tm*wn floatVW accumulators; ku = 4
 * reads rows of A four k at a time; lx x ly is the work-group (0 x 0: the driver's);
 * kc > 0 splits K into launches of kc, so the slices of A and B a work-group shares
 * stay in cache (0: one launch); sk = 1 computes each chunk of a chunked reduction (a
 * weight gradient's images) as its own product into a workspace and sums them after,
 * which multiplies the work-items when M x N is small; pb = 1 packs B into contiguous
 * panels a work-item's width first (a copy of B in a workspace). impl picks the
 * implementation: facecl's kernel with those settings, or CLBlast's Xgemm (the others
 * all 0; text form "clblast"). */
enum { FCL_GEMM_FACECL = 0, FCL_GEMM_CLBLAST = 1 };
typedef struct fcl_gemm_config {
    int impl;
    int tm, vw, wn, ku, lx, ly, kc, sk, pb;
} fcl_gemm_config;

/* Shape classes: A transposed or not, M and N each in four size buckets (up to 16, 64,
 * 256, more) and the whole reduction (K x chunks) in three (up to 256, 2048, more): a
 * weight gradient summing 12544 positions wants other settings than a layer's forward. */
enum {
    FCL_GEMM_SIZE_BUCKETS = 4,
    FCL_GEMM_K_BUCKETS = 3,
    FCL_GEMM_CLASSES = 2 * FCL_GEMM_SIZE_BUCKETS * FCL_GEMM_SIZE_BUCKETS * FCL_GEMM_K_BUCKETS
};
typedef struct fcl_gemm_shape fcl_gemm_shape;
int fcl_gemm_class(const fcl_gemm_shape *s);
/* "NN M<=16 N>256 K<=256": for tables and the tuning file's comments. */
void fcl_gemm_class_name(int cls, char *buf, size_t size);

/* The shipped default for a device: a tile that fits its registers. */
fcl_gemm_config fcl_gemm_device_default(const fcl_device_info *info);
/* "tm=6,vw=8,wn=2,ku=1,lx=0,ly=0,kc=0,sk=0,pb=0" or "clblast"; parse accepts those forms,
 * every field required, and rejects values the kernel cannot take and "clblast" in a
 * build without CLBlast (why says which). */
void fcl_gemm_config_format(const fcl_gemm_config *c, char *buf, size_t size);
bool fcl_gemm_config_parse(const char *text, fcl_gemm_config *c, char *why, size_t why_size);
/* The -D options that build cl/gemm.cl with this configuration. */
void fcl_gemm_config_options(const fcl_gemm_config *c, bool trans_a, char *buf, size_t size);
static inline int fcl_gemm_config_tn(const fcl_gemm_config *c) { return c->vw * c->wn; }

/* A GEMM's shape as the tuner sees it, and a list a net fills while recording. The
 * tuner times it with plain rows and B not transposed: a convolution's tall product
 * (rows in segments, C transposed, W^T as B) does the same multiply-adds and differs
 * only in where its tile stores land and a small packing of B. */
struct fcl_gemm_shape {
    bool trans_a;
    int M, N, K, chunks, batch;
};
typedef struct fcl_gemm_recorder {
    fcl_gemm_shape *shapes;
    int n, cap;
} fcl_gemm_recorder;

/* The per-device tuning database: a text file in the cache directory whose name hashes
 * the device name, driver version and platform, and which repeats them inside. */
typedef struct fcl_gemm_db {
    bool has[FCL_GEMM_CLASSES];
    fcl_gemm_config config[FCL_GEMM_CLASSES];
    double gflops[FCL_GEMM_CLASSES]; /* what the tuner measured with it */
} fcl_gemm_db;
/* Path of rt's database; false when the runtime has no cache directory. */
bool fcl_gemm_db_path(const fcl_runtime *rt, char *buf, size_t size);
/* Loads rt's database into db. A missing file gives an empty db and FCL_SUCCESS; a
 * corrupt one, or one written for another device or driver, is ignored with one
 * warning (empty db, FCL_SUCCESS): `facecl tune` rebuilds it. */
fcl_status fcl_gemm_db_load(const fcl_runtime *rt, fcl_gemm_db *db);
/* Writes it atomically (the file is complete or absent). */
fcl_status fcl_gemm_db_save(const fcl_runtime *rt, const fcl_gemm_db *db);
/* The text form, exposed for tests: parse checks the header against rt's device. */
fcl_status fcl_gemm_db_format(const fcl_runtime *rt, const fcl_gemm_db *db, char **text);
fcl_status fcl_gemm_db_parse(const fcl_runtime *rt, const char *text, fcl_gemm_db *db, char *why, size_t why_size);

/* The configuration per class a net on rt uses: FACECL_GEMM_CONFIG if set (every
 * class), else the database's entry, else the device default. */
void fcl_gemm_choose_configs(const fcl_runtime *rt, fcl_gemm_config configs[FCL_GEMM_CLASSES]);
/* k x k convolutions forward: im2col into a workspace, then the GEMM (the default), or
 * an implicit GEMM reading the input in place (FACECL_CONV=implicit, for measuring the
 * two against each other: bench/RESULTS.md). */
bool fcl_gemm_conv_implicit_chosen(void);

/* ---- CLBlast behind the same call (src/graph/gemm_clblast.c) ---- */
enum { FCL_CLBLAST_CPU_SETS = 4, FCL_CLBLAST_PARAMS = 16 };
/* Xgemm parameter sets for CPU devices (CLBlastOverrideParameters), the first the one
 * runs use, and their names. */
extern const size_t fcl_clblast_cpu_sets[FCL_CLBLAST_CPU_SETS][FCL_CLBLAST_PARAMS];
/* Not const pointers: CLBlastOverrideParameters takes const char **. */
extern const char *fcl_clblast_param_names[FCL_CLBLAST_PARAMS];
/* Whether this build has CLBlast (meson option clblast). */
bool fcl_gemm_clblast_available(void);

/* ---- the tuner (src/graph/gemm_tune.c) ---- */
typedef struct fcl_net fcl_net;
typedef struct fcl_model fcl_model;

/* Records the shape of every GEMM one forward (and with training, backward) pass of
 * model at batch runs, without running it (a dry run: the kernels are built, none is
 * launched). rec's shapes are the caller's to free(). */
fcl_status fcl_gemm_record(fcl_runtime *rt, const fcl_model *model, int batch, bool training, fcl_gemm_recorder *rec);
/* A net whose only use is running GEMMs (fcl_gemm_run_config) on buffers of its own. */
fcl_status fcl_gemm_scratch_net(fcl_runtime *rt, fcl_model **model, fcl_net **net);

typedef struct fcl_gemm_tune_options {
    double seconds; /* for the whole search; a class not reached keeps what it had (<= 0: no limit) */
    bool progress;  /* a line per class on stdout */
} fcl_gemm_tune_options;

/* What the tuner did for one shape class. */
typedef struct fcl_gemm_tune_class {
    bool used;               /* the shapes had one of this class */
    bool complete;           /* every stage ran within the time budget */
    fcl_gemm_shape shape;    /* the largest, which was timed */
    double macs;             /* multiply-adds of all the class's shapes */
    fcl_gemm_config start, best;
    double start_gflops, best_gflops; /* 0: nothing measured */
    int tried, rejected;     /* candidates timed or checked; skipped as failing or wrong */
} fcl_gemm_tune_class;

/* Tunes every class the shapes use, starting from the configurations a net on rt uses
 * now; the winners go into db (entries of other classes stay). */
fcl_status fcl_gemm_tune(fcl_runtime *rt, const fcl_gemm_shape *shapes, int n_shapes, const fcl_gemm_tune_options *o,
                         fcl_gemm_db *db, fcl_gemm_tune_class report[FCL_GEMM_CLASSES]);

/* On a model's first use on a device: tunes the classes its shapes use that the tuning
 * file lacks, within `seconds` (<= 0 does nothing, as does FACECL_GEMM_CONFIG), and
 * saves the file. With progress, says so on stdout first. */
fcl_status fcl_gemm_tune_first_use(fcl_runtime *rt, const fcl_model *model, int batch, bool training, double seconds,
                                   bool progress);

#endif
