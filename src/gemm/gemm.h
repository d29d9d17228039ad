/* cl/gemm.cl's parameters: the register tile and work-group shape a device runs best,
 * chosen per shape class from shipped defaults, a per-device tuning database in the
 * cache directory (`facecl tune`), or FACECL_GEMM_CONFIG (for measuring). */
#ifndef FCL_GEMM_GEMM_H
#define FCL_GEMM_GEMM_H

#include "runtime/launch.h"

#include <stdio.h>

/* A work-item computes a tm x (vw*wn) tile of C in tm*wn floatVW accumulators; ku = 4
 * reads rows of A four k at a time; lx x ly is the work-group (0 x 0: the driver's);
 * kc > 0 splits K into launches of kc, so the slices of A and B a work-group shares
 * stay in cache (0: one launch); sk = 1 computes each chunk of a chunked reduction (a
 * weight gradient's images) as its own product into a workspace and sums them after,
 * which multiplies the work-items when M x N is small; pb = 1 packs B into contiguous
 * panels a work-item's width first (a copy of B in a workspace). impl picks the
 * implementation: facecl's kernel with those settings (text "tm=..."), the GPU kernel
 * of cl/gemm_tiled.cl, or CLBlast's Xgemm (the others all 0; text "clblast").
 * The GPU kernel (FCL_GEMM_TILED, text "tiled:tm=..,tn=..,lx=..,ly=..,kw=..,vw=..,pad=..,
 * db=..,kc=..,sk=.."): an lx x ly work-group computes (ly*tm) x (lx*tn) of C through
 * local memory in slices of kw, each work-item tm x tn (kept in wn); vw is the width
 * of its global loads (1..8), pad = 1 pads local rows, db = 1 double-buffers them; kc
 * and sk as above; ku = 1 and pb = 0. */
enum { FCL_GEMM_FACECL = 0, FCL_GEMM_CLBLAST = 1, FCL_GEMM_TILED = 2 };
typedef struct fcl_gemm_config {
    int impl;
    int tm, vw, wn, ku, lx, ly, kc, sk, pb;
    int kw, pad, db; /* the GPU kernel's (0 for the others) */
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

/* The shipped default for a device: on a CPU facecl's register tile that fits its
 * vector registers; on a GPU the tiled kernel sized for its vendor class (see gemm.c). */
fcl_gemm_config fcl_gemm_device_default(const fcl_device_info *info);
/* facecl's register-tiled kernel for the device (the CPU default; the GPU fallback
 * where a product needs what the tiled kernel lacks). */
fcl_gemm_config fcl_gemm_register_default(const fcl_device_info *info);
/* Local memory the tiled kernel with c takes, in bytes. */
size_t fcl_gemm_tiled_local_bytes(const fcl_gemm_config *c);
/* Whether the device can run the tiled kernel c: its work-group, its local memory. */
bool fcl_gemm_tiled_fits(const fcl_gemm_config *c, const fcl_device_info *info);
/* "tm=6,vw=8,wn=2,ku=1,lx=0,ly=0,kc=0,sk=0,pb=0", "tiled:..." (above) or "clblast"; parse
 * accepts those forms,
 * every field required, and rejects values the kernel cannot take and "clblast" in a
 * build without CLBlast (why says which). */
void fcl_gemm_config_format(const fcl_gemm_config *c, char *buf, size_t size);
bool fcl_gemm_config_parse(const char *text, fcl_gemm_config *c, char *why, size_t why_size);
/* The -D options that build cl/gemm.cl (cl/gemm_tiled.cl for FCL_GEMM_TILED) with this
 * configuration. */
void fcl_gemm_config_options(const fcl_gemm_config *c, bool trans_a, char *buf, size_t size);
/* Columns of C a work-item computes. */
static inline int fcl_gemm_config_tn(const fcl_gemm_config *c) { return c->impl == FCL_GEMM_TILED ? c->wn : c->vw * c->wn; }

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
fcl_status fcl_gemm_db_load(fcl_runtime *rt, fcl_gemm_db *db);
/* Writes it atomically (the file is complete or absent). */
fcl_status fcl_gemm_db_save(const fcl_runtime *rt, const fcl_gemm_db *db);
/* The text form, exposed for tests: parse checks the header against rt's device. */
fcl_status fcl_gemm_db_format(const fcl_runtime *rt, const fcl_gemm_db *db, char **text);
fcl_status fcl_gemm_db_parse(const fcl_runtime *rt, const char *text, fcl_gemm_db *db, char *why, size_t why_size);

/* The configuration per class a net on rt uses: FACECL_GEMM_CONFIG if set (every
 * class), else the database's entry, else the device default. */
void fcl_gemm_choose_configs(fcl_runtime *rt, fcl_gemm_config configs[FCL_GEMM_CLASSES]);
/* How k x k convolutions run forward: im2col into a workspace, then the GEMM (the
 * default); an implicit GEMM reading the input in place (FACECL_CONV=implicit); or, for
 * 3x3 stride-1 ones, Winograd F(2x2, 3x3) (FACECL_CONV=winograd); the others stay on
 * im2col. bench_compare measures the three against each other (bench/RESULTS.md). */
typedef enum fcl_conv_way { FCL_CONV_IM2COL, FCL_CONV_IMPLICIT, FCL_CONV_WINOGRAD, FCL_CONV_WAYS } fcl_conv_way;
extern const char *const fcl_conv_way_names[FCL_CONV_WAYS];
fcl_conv_way fcl_gemm_conv_way_chosen(fcl_runtime *rt);

/* ---- CLBlast behind the same call (src/gemm/gemm_clblast.c) ---- */
enum { FCL_CLBLAST_CPU_SETS = 4, FCL_CLBLAST_PARAMS = 16 };
/* Xgemm parameter sets for CPU devices (CLBlastOverrideParameters), the first the one
 * runs use, and their names. */
extern const size_t fcl_clblast_cpu_sets[FCL_CLBLAST_CPU_SETS][FCL_CLBLAST_PARAMS];
/* Not const pointers: CLBlastOverrideParameters takes const char **. */
extern const char *fcl_clblast_param_names[FCL_CLBLAST_PARAMS];
/* Whether this build has CLBlast (meson option clblast). */
bool fcl_gemm_clblast_available(void);

/* ---- running products: a GEMM context ---- */

/* C = op(A) op(B) [+ C] [+ bias] [ReLU] on the device (cl/gemm.cl has the layout), for
 * `batch` independent products; the reduction runs over `chunks` pieces of K. With
 * trans_b, B(k, n) = b[n*ldb + k]: facecl's kernels read such a B only through packing
 * (a workspace the device must hold: without it, an error). With m_seg > 0, the rows of
 * A and C come in segments of m_seg, a_seg and c_seg apart (a batch's images as one
 * tall product); with trans_c, C(m, n) = c[m + n*ldc] (within a segment). Those two run
 * on facecl's own kernel only (chunks = 1 there). */
typedef struct fcl_gemm {
    int M, N, K, chunks, batch;
    bool trans_a, trans_b;
    cl_mem a;
    int a_off, lda, a_chunk, a_batch;
    cl_mem b;
    int b_off, ldb, b_chunk, b_batch;
    cl_mem c;
    int c_off, ldc, c_batch;
    bool accumulate, relu;
    int bias_mode; /* 0 none, 1 per row, 2 per column */
    cl_mem bias;
    int bias_off;
    int m_seg, a_seg, c_seg;
    bool trans_c;
} fcl_gemm;

/* An implicit-GEMM convolution's geometry: input H x W, output width OW, kernel KH x KW,
 * one stride S and padding P. */
typedef struct fcl_conv_geometry {
    int H, W, OW, KH, KW, S, P;
} fcl_conv_geometry;

/* What runs products on one device: the configuration of each shape class, the kernels
 * built per configuration, and the workspaces (packed B, split chunks). It launches
 * through a launcher: a network's (so its GEMMs join the network's profile and dry
 * runs) or its own. A context serves one thread; two networks have two. */
typedef struct fcl_gemm_ctx {
    fcl_runtime *rt;
    fcl_launcher *launch;
    fcl_launcher own_launch; /* when created without one */
    fcl_gemm_config configs[FCL_GEMM_CLASSES];
    struct fcl_gemm_kernel {
        fcl_gemm_config config;
        bool trans_a;
        cl_kernel kernel, pack; /* pack: B's packer, with pb = 1 */
        cl_kernel conv;         /* gemm_conv or gemm_tiled_conv, an implicit-GEMM convolution (built on first use) */
    } *kernels; /* built on first use, one per tile and transpose */
    int n_kernels, kernels_cap;
    cl_mem scratch; /* per-chunk products of split reductions (sk = 1) */
    size_t scratch_floats;
    cl_mem pack; /* B packed into panels (pb = 1) */
    size_t pack_floats;
    bool workspace_warned;
    fcl_gemm_recorder *recorder; /* when set, every product's shape is appended (the tuner's) */
    uint64_t macs;               /* multiply-adds launched: the measured FLOP count */
} fcl_gemm_ctx;

/* A context on rt with the configurations fcl_gemm_choose_configs picks; launch NULL:
 * a launcher of its own. */
fcl_status fcl_gemm_ctx_create(fcl_runtime *rt, fcl_launcher *launch, fcl_gemm_ctx **out);
void fcl_gemm_ctx_destroy(fcl_gemm_ctx *ctx);

/* g with its class's configuration. */
fcl_status fcl_gemm_run(fcl_gemm_ctx *ctx, const fcl_gemm *g);
/* The same with a given configuration (the tuner, the benchmarks). */
fcl_status fcl_gemm_run_config(fcl_gemm_ctx *ctx, const fcl_gemm *g, const fcl_gemm_config *c);
/* A convolution's forward as an implicit GEMM (cl/gemm.cl gemm_conv, or
 * cl/gemm_tiled.cl gemm_tiled_conv when the class's configuration is tiled) with the
 * tile of its class: g one product per image (M channels, N positions, K = C*KH*KW,
 * weights as A, bias per row, relu), B the input images themselves (b_off, b_batch =
 * an image's stride), unfolded on the fly with this geometry. */
fcl_status fcl_gemm_conv_run(fcl_gemm_ctx *ctx, const fcl_gemm *g, const fcl_conv_geometry *cv);
/* CLBlast's Xgemm for g (src/gemm/gemm_clblast.c). */
fcl_status fcl_gemm_clblast_run(fcl_gemm_ctx *ctx, const fcl_gemm *g);

/* ---- the tuner (src/gemm/gemm_tune.c) ---- */

typedef struct fcl_gemm_tune_options {
    double seconds; /* for the whole search; a class not reached keeps what it had (<= 0: no limit) */
    fcl_reporter report; /* a line per class (none: quiet) */
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

/* Tunes every class the shapes use, starting from the configurations a context on rt
 * would use now; the winners go into db (entries of other classes stay). */
fcl_status fcl_gemm_tune(fcl_runtime *rt, const fcl_gemm_shape *shapes, int n_shapes, const fcl_gemm_tune_options *o,
                         fcl_gemm_db *db, fcl_gemm_tune_class report[FCL_GEMM_CLASSES]);

/* Whether first-use tuning within `seconds` can happen on rt: seconds > 0, no
 * FACECL_GEMM_CONFIG, a cache directory to keep the file in. */
bool fcl_gemm_tune_wanted(const fcl_runtime *rt, double seconds);
/* The classes of shapes[] (reordered) that the tuning file lacks, tuned within
 * `seconds`, and the file saved; says so to report first (a model's
 * first use on a device: src/graph/gemm_shapes.c records its shapes). */
fcl_status fcl_gemm_tune_missing(fcl_runtime *rt, fcl_gemm_shape *shapes, int n_shapes, double seconds,
                                 const fcl_reporter *report);

#endif
