/* An OpenCL fault injector, preloaded in front of the ICD loader (LD_PRELOAD): every
 * call to the functions below is counted, and with FACECL_FAULT=NAME:K the K-th call
 * to NAME fails (CL_OUT_OF_RESOURCES; a buffer CL_MEM_OBJECT_ALLOCATION_FAILURE; a
 * build CL_BUILD_PROGRAM_FAILURE). With FACECL_FAULT_COUNTS=FILE the counts are
 * appended to FILE at exit as "NAME COUNT" lines, so a test knows what to fail.
 * tests/fault_injection.sh drives it. Test tooling: never part of the library. */
#define _GNU_SOURCE
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    F_GET_PLATFORM_IDS, F_GET_DEVICE_IDS, F_CREATE_CONTEXT, F_CREATE_COMMAND_QUEUE, F_CREATE_BUFFER,
    F_CREATE_PROGRAM_WITH_SOURCE, F_CREATE_PROGRAM_WITH_BINARY, F_BUILD_PROGRAM, F_GET_PROGRAM_INFO,
    F_CREATE_KERNEL, F_SET_KERNEL_ARG, F_ENQUEUE_ND_RANGE_KERNEL, F_ENQUEUE_READ_BUFFER, F_ENQUEUE_WRITE_BUFFER,
    F_FINISH, F_GET_PLATFORM_INFO, F_GET_DEVICE_INFO, F_GET_PROGRAM_BUILD_INFO, F_WAIT_FOR_EVENTS,
    F_GET_EVENT_PROFILING_INFO, F_COUNT
};
static const char *const names[F_COUNT] = {
    "clGetPlatformIDs", "clGetDeviceIDs", "clCreateContext", "clCreateCommandQueue", "clCreateBuffer",
    "clCreateProgramWithSource", "clCreateProgramWithBinary", "clBuildProgram", "clGetProgramInfo",
    "clCreateKernel", "clSetKernelArg", "clEnqueueNDRangeKernel", "clEnqueueReadBuffer", "clEnqueueWriteBuffer",
    "clFinish", "clGetPlatformInfo", "clGetDeviceInfo", "clGetProgramBuildInfo", "clWaitForEvents",
    "clGetEventProfilingInfo",
};
static long counts[F_COUNT];
static int fail_fn = -1;
static long fail_at;

static void write_counts(void)
{
    const char *path = getenv("FACECL_FAULT_COUNTS");
    FILE *f = path ? fopen(path, "a") : NULL;
    for (int i = 0; f && i < F_COUNT; i++)
        fprintf(f, "%s %ld\n", names[i], counts[i]);
    if (f)
        fclose(f);
}

__attribute__((constructor)) static void setup(void)
{
    const char *spec = getenv("FACECL_FAULT");
    const char *colon = spec ? strchr(spec, ':') : NULL;
    for (int i = 0; colon && i < F_COUNT; i++)
        if (strlen(names[i]) == (size_t)(colon - spec) && strncmp(spec, names[i], (size_t)(colon - spec)) == 0) {
            fail_fn = i;
            fail_at = atol(colon + 1);
        }
    atexit(write_counts);
}

/* true when this call is the one to fail (counted atomically: data-parallel replicas call from threads) */
static int hit(int fn)
{
    return __atomic_add_fetch(&counts[fn], 1, __ATOMIC_RELAXED) == fail_at && fn == fail_fn;
}

/* The next definition of fn (the ICD loader's), read through an object pointer as
 * POSIX allows for dlsym's result. */
#define REAL(fn) (*(__typeof__(&fn) *)&(void *){dlsym(RTLD_NEXT, #fn)})

cl_int clGetPlatformIDs(cl_uint n, cl_platform_id *p, cl_uint *np)
{
    return hit(F_GET_PLATFORM_IDS) ? CL_OUT_OF_HOST_MEMORY : REAL(clGetPlatformIDs)(n, p, np);
}

cl_int clGetDeviceIDs(cl_platform_id p, cl_device_type t, cl_uint n, cl_device_id *d, cl_uint *nd)
{
    return hit(F_GET_DEVICE_IDS) ? CL_OUT_OF_RESOURCES : REAL(clGetDeviceIDs)(p, t, n, d, nd);
}

cl_context clCreateContext(const cl_context_properties *props, cl_uint n, const cl_device_id *d,
                           void(CL_CALLBACK *notify)(const char *, const void *, size_t, void *), void *user,
                           cl_int *err)
{
    if (hit(F_CREATE_CONTEXT)) {
        if (err)
            *err = CL_OUT_OF_RESOURCES;
        return NULL;
    }
    return REAL(clCreateContext)(props, n, d, notify, user, err);
}

cl_command_queue clCreateCommandQueue(cl_context c, cl_device_id d, cl_command_queue_properties props, cl_int *err)
{
    if (hit(F_CREATE_COMMAND_QUEUE)) {
        if (err)
            *err = CL_OUT_OF_RESOURCES;
        return NULL;
    }
    return REAL(clCreateCommandQueue)(c, d, props, err);
}

cl_mem clCreateBuffer(cl_context c, cl_mem_flags flags, size_t size, void *host, cl_int *err)
{
    if (hit(F_CREATE_BUFFER)) {
        if (err)
            *err = CL_MEM_OBJECT_ALLOCATION_FAILURE;
        return NULL;
    }
    return REAL(clCreateBuffer)(c, flags, size, host, err);
}

cl_program clCreateProgramWithSource(cl_context c, cl_uint n, const char **src, const size_t *len, cl_int *err)
{
    if (hit(F_CREATE_PROGRAM_WITH_SOURCE)) {
        if (err)
            *err = CL_OUT_OF_RESOURCES;
        return NULL;
    }
    return REAL(clCreateProgramWithSource)(c, n, src, len, err);
}

cl_program clCreateProgramWithBinary(cl_context c, cl_uint n, const cl_device_id *d, const size_t *len,
                                     const unsigned char **bin, cl_int *status, cl_int *err)
{
    if (hit(F_CREATE_PROGRAM_WITH_BINARY)) {
        if (err)
            *err = CL_INVALID_BINARY;
        return NULL;
    }
    return REAL(clCreateProgramWithBinary)(c, n, d, len, bin, status, err);
}

cl_int clBuildProgram(cl_program p, cl_uint n, const cl_device_id *d, const char *options,
                      void(CL_CALLBACK *notify)(cl_program, void *), void *user)
{
    return hit(F_BUILD_PROGRAM) ? CL_BUILD_PROGRAM_FAILURE : REAL(clBuildProgram)(p, n, d, options, notify, user);
}

cl_int clGetProgramInfo(cl_program p, cl_program_info what, size_t size, void *value, size_t *ret)
{
    return hit(F_GET_PROGRAM_INFO) ? CL_OUT_OF_RESOURCES : REAL(clGetProgramInfo)(p, what, size, value, ret);
}

cl_kernel clCreateKernel(cl_program p, const char *name, cl_int *err)
{
    if (hit(F_CREATE_KERNEL)) {
        if (err)
            *err = CL_OUT_OF_RESOURCES;
        return NULL;
    }
    return REAL(clCreateKernel)(p, name, err);
}

cl_int clSetKernelArg(cl_kernel k, cl_uint i, size_t size, const void *value)
{
    return hit(F_SET_KERNEL_ARG) ? CL_OUT_OF_RESOURCES : REAL(clSetKernelArg)(k, i, size, value);
}

cl_int clEnqueueNDRangeKernel(cl_command_queue q, cl_kernel k, cl_uint dims, const size_t *offset,
                              const size_t *global, const size_t *local, cl_uint nw, const cl_event *wait,
                              cl_event *ev)
{
    return hit(F_ENQUEUE_ND_RANGE_KERNEL) ? CL_OUT_OF_RESOURCES
                                          : REAL(clEnqueueNDRangeKernel)(q, k, dims, offset, global, local, nw, wait, ev);
}

cl_int clEnqueueReadBuffer(cl_command_queue q, cl_mem m, cl_bool block, size_t off, size_t size, void *ptr,
                           cl_uint nw, const cl_event *wait, cl_event *ev)
{
    return hit(F_ENQUEUE_READ_BUFFER) ? CL_OUT_OF_RESOURCES
                                      : REAL(clEnqueueReadBuffer)(q, m, block, off, size, ptr, nw, wait, ev);
}

cl_int clEnqueueWriteBuffer(cl_command_queue q, cl_mem m, cl_bool block, size_t off, size_t size, const void *ptr,
                            cl_uint nw, const cl_event *wait, cl_event *ev)
{
    return hit(F_ENQUEUE_WRITE_BUFFER) ? CL_OUT_OF_RESOURCES
                                       : REAL(clEnqueueWriteBuffer)(q, m, block, off, size, ptr, nw, wait, ev);
}

cl_int clFinish(cl_command_queue q)
{
    return hit(F_FINISH) ? CL_OUT_OF_RESOURCES : REAL(clFinish)(q);
}

cl_int clGetPlatformInfo(cl_platform_id p, cl_platform_info what, size_t size, void *value, size_t *ret)
{
    return hit(F_GET_PLATFORM_INFO) ? CL_OUT_OF_HOST_MEMORY : REAL(clGetPlatformInfo)(p, what, size, value, ret);
}

cl_int clGetDeviceInfo(cl_device_id d, cl_device_info what, size_t size, void *value, size_t *ret)
{
    return hit(F_GET_DEVICE_INFO) ? CL_OUT_OF_RESOURCES : REAL(clGetDeviceInfo)(d, what, size, value, ret);
}

cl_int clGetProgramBuildInfo(cl_program p, cl_device_id d, cl_program_build_info what, size_t size, void *value,
                             size_t *ret)
{
    return hit(F_GET_PROGRAM_BUILD_INFO) ? CL_OUT_OF_RESOURCES
                                         : REAL(clGetProgramBuildInfo)(p, d, what, size, value, ret);
}

cl_int clWaitForEvents(cl_uint n, const cl_event *events)
{
    return hit(F_WAIT_FOR_EVENTS) ? CL_OUT_OF_RESOURCES : REAL(clWaitForEvents)(n, events);
}

cl_int clGetEventProfilingInfo(cl_event e, cl_profiling_info what, size_t size, void *value, size_t *ret)
{
    return hit(F_GET_EVENT_PROFILING_INFO) ? CL_OUT_OF_RESOURCES
                                           : REAL(clGetEventProfilingInfo)(e, what, size, value, ret);
}
