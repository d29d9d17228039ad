#include "runtime/launch.h"
#include "runtime/clock.h"

#include <stdlib.h>

/* Work-group size for the 1-D kernels; the global size is rounded up to it and every
 * kernel checks its bound. */
#define LOCAL_SIZE 64

void fcl_launcher_init(fcl_launcher *l, fcl_runtime *rt) { *l = (fcl_launcher){.rt = rt}; }

void fcl_launcher_release(fcl_launcher *l)
{
    for (int i = 0; i < l->n_slots; i++)
        if (l->slots[i].kernel)
            clReleaseKernel(l->slots[i].kernel);
    free(l->slots);
    l->slots = NULL;
    l->n_slots = l->cap_slots = 0;
}

fcl_launch_slot *fcl_launcher_slot(fcl_launcher *l, const fcl_kernel_def *k)
{
    for (int i = 0; i < l->n_slots; i++)
        if (l->slots[i].def == k)
            return &l->slots[i];
    if (l->n_slots == l->cap_slots) {
        int cap = l->cap_slots ? 2 * l->cap_slots : 32;
        fcl_launch_slot *grown = realloc(l->slots, (size_t)cap * sizeof *grown);
        if (!grown)
            return NULL;
        l->slots = grown;
        l->cap_slots = cap;
    }
    l->slots[l->n_slots] = (fcl_launch_slot){.def = k};
    return &l->slots[l->n_slots++];
}

void fcl_launcher_account_event(fcl_launcher *l, const fcl_kernel_def *k, cl_event ev)
{
    /* Waiting serialises the queue: profiling runs measure, they do not race. */
    cl_ulong start = 0, end = 0;
    fcl_launch_slot *slot = fcl_launcher_slot(l, k);
    if (clWaitForEvents(1, &ev) == CL_SUCCESS &&
        clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof start, &start, NULL) == CL_SUCCESS &&
        clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof end, &end, NULL) == CL_SUCCESS && slot) {
        const double ms = (double)(end - start) / 1e6;
        slot->ms += ms;
        slot->calls++;
        if (l->account)
            l->account(l->account_user, ms);
    }
    clReleaseEvent(ev);
}

fcl_status fcl_enqueue(fcl_launcher *l, const fcl_kernel_def *k, cl_kernel kernel, cl_uint dims, const size_t *global,
                       const size_t *local, const fcl_arg *args, size_t n_args)
{
    if (!kernel) {
        fcl_launch_slot *slot = fcl_launcher_slot(l, k);
        if (!slot)
            return FCL_ERR_OUT_OF_HOST_MEMORY;
        if (!slot->kernel) {
            fcl_status st = fcl_kernel_create(l->rt, k->file, "", k->name, &slot->kernel);
            if (st != FCL_SUCCESS)
                return st;
        }
        kernel = slot->kernel;
    }
    if (l->dry_run)
        return FCL_SUCCESS;
    for (size_t i = 0; i < n_args; i++) {
        cl_int err = clSetKernelArg(kernel, (cl_uint)i, args[i].size, args[i].ptr);
        if (err != CL_SUCCESS) {
            fcl_log(FCL_LOG_ERROR, "%s argument %zu: %s", k->name, i, fcl_status_str(err));
            return err;
        }
    }
    cl_event ev = NULL;
    cl_int err = clEnqueueNDRangeKernel(l->rt->queue, kernel, dims, NULL, global, local, 0, NULL,
                                        l->rt->profiling ? &ev : NULL);
    if (err != CL_SUCCESS)
        fcl_log(FCL_LOG_ERROR, "enqueueing %s: %s", k->name, fcl_status_str(err));
    if (ev)
        fcl_launcher_account_event(l, k, ev);
    return err;
}

fcl_status fcl_launch_kernel(fcl_launcher *l, const fcl_kernel_def *k, cl_kernel kernel, size_t work_items,
                             const fcl_arg *args, size_t n_args)
{
    if (work_items == 0)
        return FCL_SUCCESS;
    size_t local = l->rt->info.max_work_group_size < LOCAL_SIZE ? l->rt->info.max_work_group_size : LOCAL_SIZE;
    /* A small launch (one work-item per channel, per image) still needs two work-groups
     * per compute unit: PoCL runs each group on one core. */
    const size_t groups_wanted = 2 * fcl_compute_units(l->rt);
    while (local > 1 && (work_items + local - 1) / local < groups_wanted)
        local /= 2;
    const size_t global = (work_items + local - 1) / local * local;
    return fcl_enqueue(l, k, kernel, 1, &global, &local, args, n_args);
}

fcl_status fcl_launch(fcl_launcher *l, const fcl_kernel_def *k, size_t work_items, const fcl_arg *args, size_t n_args)
{
    return fcl_launch_kernel(l, k, NULL, work_items, args, n_args);
}

fcl_status fcl_launch_grid(fcl_launcher *l, const fcl_kernel_def *k, cl_uint dims, const size_t *global,
                           const fcl_arg *args, size_t n_args)
{
    for (cl_uint d = 0; d < dims; d++)
        if (global[d] == 0)
            return FCL_SUCCESS;
    return fcl_enqueue(l, k, NULL, dims, global, NULL, args, n_args);
}

fcl_status fcl_runtime_self_test(fcl_runtime *rt, double *build_ms, int *wrong)
{
    static const fcl_kernel_def fill = {"tensor.cl", "fill"};
    enum { N = 1000 }; /* not a multiple of any work-group size */
    *wrong = 0;
    const double t0 = fcl_seconds();
    fcl_status st = fcl_runtime_build_all(rt);
    *build_ms = (fcl_seconds() - t0) * 1e3;
    cl_mem buf = NULL;
    if (st == FCL_SUCCESS)
        st = fcl_runtime_buffer(rt, N, 0.0f, &buf);
    fcl_launcher l;
    fcl_launcher_init(&l, rt);
    if (st == FCL_SUCCESS) /* fill writes eight floats a work-item: N / 8, rounded up */
        st = FCL_LAUNCH_ON(&l, &fill, (N + 7) / 8, FCL_M(buf), FCL_U(0), FCL_F(0.5f), FCL_U(N));
    float host[N];
    if (st == FCL_SUCCESS) {
        cl_int err = clEnqueueReadBuffer(rt->queue, buf, CL_TRUE, 0, sizeof host, host, 0, NULL, NULL);
        st = err == CL_SUCCESS ? FCL_SUCCESS : FCL_CL_FAIL("clEnqueueReadBuffer", err);
    }
    for (int i = 0; st == FCL_SUCCESS && i < N; i++)
        *wrong += host[i] != 0.5f;
    fcl_launcher_release(&l);
    if (buf)
        clReleaseMemObject(buf);
    return st;
}
