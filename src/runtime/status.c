/* Readable names for fcl_status and every OpenCL error code. */
#include "facecl.h"

#include <stddef.h>

/* OpenCL 1.2/2.x/3.0 error codes, indexed by -code. */
static const char *const cl_error_names[] = {
    [0] = "CL_SUCCESS",
    [1] = "CL_DEVICE_NOT_FOUND",
    [2] = "CL_DEVICE_NOT_AVAILABLE",
    [3] = "CL_COMPILER_NOT_AVAILABLE",
    [4] = "CL_MEM_OBJECT_ALLOCATION_FAILURE",
    [5] = "CL_OUT_OF_RESOURCES",
    [6] = "CL_OUT_OF_HOST_MEMORY",
    [7] = "CL_PROFILING_INFO_NOT_AVAILABLE",
    [8] = "CL_MEM_COPY_OVERLAP",
    [9] = "CL_IMAGE_FORMAT_MISMATCH",
    [10] = "CL_IMAGE_FORMAT_NOT_SUPPORTED",
    [11] = "CL_BUILD_PROGRAM_FAILURE",
    [12] = "CL_MAP_FAILURE",
    [13] = "CL_MISALIGNED_SUB_BUFFER_OFFSET",
    [14] = "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST",
    [15] = "CL_COMPILE_PROGRAM_FAILURE",
    [16] = "CL_LINKER_NOT_AVAILABLE",
    [17] = "CL_LINK_PROGRAM_FAILURE",
    [18] = "CL_DEVICE_PARTITION_FAILED",
    [19] = "CL_KERNEL_ARG_INFO_NOT_AVAILABLE",
    [30] = "CL_INVALID_VALUE",
    [31] = "CL_INVALID_DEVICE_TYPE",
    [32] = "CL_INVALID_PLATFORM",
    [33] = "CL_INVALID_DEVICE",
    [34] = "CL_INVALID_CONTEXT",
    [35] = "CL_INVALID_QUEUE_PROPERTIES",
    [36] = "CL_INVALID_COMMAND_QUEUE",
    [37] = "CL_INVALID_HOST_PTR",
    [38] = "CL_INVALID_MEM_OBJECT",
    [39] = "CL_INVALID_IMAGE_FORMAT_DESCRIPTOR",
    [40] = "CL_INVALID_IMAGE_SIZE",
    [41] = "CL_INVALID_SAMPLER",
    [42] = "CL_INVALID_BINARY",
    [43] = "CL_INVALID_BUILD_OPTIONS",
    [44] = "CL_INVALID_PROGRAM",
    [45] = "CL_INVALID_PROGRAM_EXECUTABLE",
    [46] = "CL_INVALID_KERNEL_NAME",
    [47] = "CL_INVALID_KERNEL_DEFINITION",
    [48] = "CL_INVALID_KERNEL",
    [49] = "CL_INVALID_ARG_INDEX",
    [50] = "CL_INVALID_ARG_VALUE",
    [51] = "CL_INVALID_ARG_SIZE",
    [52] = "CL_INVALID_KERNEL_ARGS",
    [53] = "CL_INVALID_WORK_DIMENSION",
    [54] = "CL_INVALID_WORK_GROUP_SIZE",
    [55] = "CL_INVALID_WORK_ITEM_SIZE",
    [56] = "CL_INVALID_GLOBAL_OFFSET",
    [57] = "CL_INVALID_EVENT_WAIT_LIST",
    [58] = "CL_INVALID_EVENT",
    [59] = "CL_INVALID_OPERATION",
    [60] = "CL_INVALID_GL_OBJECT",
    [61] = "CL_INVALID_BUFFER_SIZE",
    [62] = "CL_INVALID_MIP_LEVEL",
    [63] = "CL_INVALID_GLOBAL_WORK_SIZE",
    [64] = "CL_INVALID_PROPERTY",
    [65] = "CL_INVALID_IMAGE_DESCRIPTOR",
    [66] = "CL_INVALID_COMPILER_OPTIONS",
    [67] = "CL_INVALID_LINKER_OPTIONS",
    [68] = "CL_INVALID_DEVICE_PARTITION_COUNT",
    [69] = "CL_INVALID_PIPE_SIZE",
    [70] = "CL_INVALID_DEVICE_QUEUE",
    [71] = "CL_INVALID_SPEC_ID",
    [72] = "CL_MAX_SIZE_RESTRICTION_EXCEEDED",
};

/* facecl's own codes, indexed by -(code + 2000). */
static const char *const fcl_error_names[] = {
    [0] = "FCL_ERR_NO_PLATFORM (no OpenCL platform: install ocl-icd-libopencl1 and a driver, "
          "e.g. pocl-opencl-icd for CPUs)",
    [1] = "FCL_ERR_NO_DEVICE (no OpenCL device on any platform)",
    [2] = "FCL_ERR_DEVICE_NOT_FOUND (no device matches the selection)",
    [3] = "FCL_ERR_KERNEL_NOT_FOUND (no kernel source of that name)",
    [4] = "FCL_ERR_BUILD (an OpenCL program failed to build)",
    [5] = "FCL_ERR_OUT_OF_HOST_MEMORY",
    [6] = "FCL_ERR_IO (a file could not be read or written)",
    [7] = "FCL_ERR_INVALID_ARGUMENT",
    [8] = "FCL_ERR_PARSE (malformed text file)",
    [9] = "FCL_ERR_FORMAT (malformed binary file)",
    [10] = "FCL_ERR_SHAPE (tensor shapes do not fit)",
    [11] = "FCL_ERR_NUMERIC (NaN or Inf)",
    [12] = "FCL_ERR_UNSUPPORTED (the device lacks a needed feature)",
    [13] = "FCL_ERR_INTERRUPTED (stopped on request)",
};
_Static_assert(sizeof fcl_error_names / sizeof fcl_error_names[0] == -(FCL_ERR_LAST + 2000) + 1,
               "every fcl_status needs a name");

const char *fcl_status_str(int status)
{
    if (status <= 0 && -status < (int)(sizeof cl_error_names / sizeof cl_error_names[0]) &&
        cl_error_names[-status])
        return cl_error_names[-status];
    int own = -(status + 2000);
    if (own >= 0 && own < (int)(sizeof fcl_error_names / sizeof fcl_error_names[0]))
        return fcl_error_names[own];
    switch (status) { /* extension codes that sit outside both tables */
    case -1000: return "CL_INVALID_GL_SHAREGROUP_REFERENCE_KHR";
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR (no OpenCL driver installed)";
    case -1002: return "CL_INVALID_D3D10_DEVICE_KHR";
    case -1092: return "CL_INVALID_ACCELERATOR_INTEL";
    default: return "unknown status";
    }
}
