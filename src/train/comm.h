/* The processes a data-parallel run spans: their number, this one's rank, and the
 * collectives the trainer needs, over the MPI world (src/train/comm_mpi.c, built when
 * Open MPI's libopenmpi-dev is present) or none (one process). Buffers are host
 * memory: OpenCL buffers are not MPI-aware, so the trainer stages through the host. */
#ifndef FCL_TRAIN_COMM_H
#define FCL_TRAIN_COMM_H
#include "runtime/runtime.h"

typedef struct fcl_comm {
    int rank, size;
    /* all = every rank's `counts[r]` floats one after the other; mine is this rank's. */
    fcl_status (*allgather)(const struct fcl_comm *c, const float *mine, float *all, const int *counts);
    /* buf = the sum over the ranks of buf: the same bits on every rank. */
    fcl_status (*allreduce_sum)(const struct fcl_comm *c, float *buf, size_t n);
    /* buf on every rank = rank 0's. */
    fcl_status (*broadcast)(const struct fcl_comm *c, void *buf, size_t bytes);
    /* *value = the largest over the ranks: a failure or a stop one rank saw, all see. */
    fcl_status (*agree_max)(const struct fcl_comm *c, int *value);
} fcl_comm;

/* The MPI world when this process was started by mpirun with more than one rank
 * (MPI initialised here, finalised at exit); NULL for a single process. A facecl built
 * without MPI but started as one of several ranks fails with FCL_ERR_UNSUPPORTED,
 * saying how to get MPI. */
fcl_status fcl_comm_world(const fcl_comm **out);
/* The world itself (comm_mpi.c, with MPI only). */
fcl_status fcl_comm_mpi_world(const fcl_comm **out);
/* Every rank leaves with the same status: the worst (most negative) any rank had; a
 * rank that was fine says another failed. c NULL: st. */
fcl_status fcl_comm_agree(const fcl_comm *c, fcl_status st);
#endif
