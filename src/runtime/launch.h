/* Launching kernels: arguments by value, 1-D and n-D grids, a kernel built on first use
 * per (file, function), and with a profiling runtime the device time of every launch.
 * Each module declares the kernels it uses as fcl_kernel_def constants beside its code
 * (src/layers/pool.c: pool_forward, pool_backward) and launches them through a
 * launcher: one per network, per GEMM context or per tuner, so nothing is shared
 * between networks or devices in one process. */
#ifndef FCL_RUNTIME_LAUNCH_H
#define FCL_RUNTIME_LAUNCH_H
#include "runtime/runtime.h"

/* A kernel: its source file (cl/) and function; its address is its identity. */
typedef struct fcl_kernel_def {
    const char *file, *name;
} fcl_kernel_def;

/* Kernel arguments by value: FCL_LAUNCH_ON(l, &k, n, FCL_I(3), FCL_M(buf), ...). */
typedef struct fcl_arg {
    size_t size;
    const void *ptr;
} fcl_arg;
#define FCL_I(v) ((fcl_arg){sizeof(cl_int), &(cl_int){(cl_int)(v)}})
#define FCL_F(v) ((fcl_arg){sizeof(cl_float), &(cl_float){(cl_float)(v)}})
#define FCL_U(v) ((fcl_arg){sizeof(cl_uint), &(cl_uint){(cl_uint)(v)}})
#define FCL_M(v) ((fcl_arg){sizeof(cl_mem), &(cl_mem){(v)}})
#define FCL_LOCAL(bytes) ((fcl_arg){(bytes), NULL}) /* a __local buffer of that size */
#define FCL_ARGS(...) (const fcl_arg[]){__VA_ARGS__}, sizeof((const fcl_arg[]){__VA_ARGS__}) / sizeof(fcl_arg)

/* One kernel's built handle and, with profiling, its device time and launches. */
typedef struct fcl_launch_slot {
    const fcl_kernel_def *def;
    cl_kernel kernel; /* built on first use; NULL for kernels their caller builds */
    double ms;
    long calls;
} fcl_launch_slot;

typedef struct fcl_launcher {
    fcl_runtime *rt;
    bool dry_run; /* arguments checked, nothing enqueued: recording shapes costs no compute */
    fcl_launch_slot *slots;
    int n_slots, cap_slots;
    /* With a profiling runtime, every timed launch's milliseconds also go here (a
     * network charges them to the layer it is running); NULL: nowhere. */
    void (*account)(void *user, double ms);
    void *account_user;
} fcl_launcher;

void fcl_launcher_init(fcl_launcher *l, fcl_runtime *rt);
/* Releases the kernels it built. */
void fcl_launcher_release(fcl_launcher *l);

/* k over work_items work-items (1-D, the work-group chosen so every compute unit gets
 * two groups), built on first use; the kernel checks its own bound. */
fcl_status fcl_launch(fcl_launcher *l, const fcl_kernel_def *k, size_t work_items, const fcl_arg *args,
                      size_t n_args);
#define FCL_LAUNCH_ON(l, k, n, ...) fcl_launch((l), (k), (n), FCL_ARGS(__VA_ARGS__))
/* The same with a kernel the caller built (other build options), timed under k. */
fcl_status fcl_launch_kernel(fcl_launcher *l, const fcl_kernel_def *k, cl_kernel kernel, size_t work_items,
                             const fcl_arg *args, size_t n_args);
/* Over a dims-dimensional grid, the work-group size left to the driver (global 0: nothing). */
fcl_status fcl_launch_grid(fcl_launcher *l, const fcl_kernel_def *k, cl_uint dims, const size_t *global,
                           const fcl_arg *args, size_t n_args);
/* Sets the arguments and enqueues kernel (k's, built on first use, when NULL) with
 * explicit global and local sizes (local may be NULL). */
fcl_status fcl_enqueue(fcl_launcher *l, const fcl_kernel_def *k, cl_kernel kernel, cl_uint dims, const size_t *global,
                       const size_t *local, const fcl_arg *args, size_t n_args);
/* Waits for ev (a profiling run's), adds its device time to k's slot and the account
 * hook, and releases it. */
void fcl_launcher_account_event(fcl_launcher *l, const fcl_kernel_def *k, cl_event ev);
/* The slot of k (created empty when new; NULL without memory). */
fcl_launch_slot *fcl_launcher_slot(fcl_launcher *l, const fcl_kernel_def *k);

/* The device's compute units (at least 1: a driver may report 0). */
static inline size_t fcl_compute_units(const fcl_runtime *rt)
{
    return rt->info.compute_units ? rt->info.compute_units : 1;
}
#endif
