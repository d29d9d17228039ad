/* The MPI world as an fcl_comm (built when Open MPI is present). Errors come back as
 * codes (MPI_ERRORS_RETURN) and are logged with MPI's own words; a rank that dies is
 * mpirun's to notice: it ends the job's other ranks. */
#include "train/comm.h"

#include <mpi.h>
#include <stdlib.h>

static fcl_status mpi_check(int rc, const char *what)
{
    if (rc == MPI_SUCCESS)
        return FCL_SUCCESS;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, text, &len);
    fcl_log(FCL_LOG_ERROR, "%s failed: %.*s", what, len, text);
    return FCL_ERR_IO;
}

static fcl_status mpi_allgather(const fcl_comm *c, const float *mine, float *all, const int *counts)
{
    int *displs = malloc((size_t)c->size * sizeof *displs);
    if (!displs)
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    for (int r = 0, at = 0; r < c->size; at += counts[r], r++)
        displs[r] = at;
    fcl_status st = mpi_check(MPI_Allgatherv(mine, counts[c->rank], MPI_FLOAT, all, counts, displs, MPI_FLOAT,
                                             MPI_COMM_WORLD), "MPI_Allgatherv");
    free(displs);
    return st;
}

/* In pieces, so a count past INT_MAX floats still goes. */
static fcl_status mpi_allreduce_sum(const fcl_comm *c, float *buf, size_t n)
{
    (void)c;
    const size_t piece = (size_t)1 << 28;
    fcl_status st = FCL_SUCCESS;
    for (size_t at = 0; at < n && st == FCL_SUCCESS; at += piece)
        st = mpi_check(MPI_Allreduce(MPI_IN_PLACE, buf + at, (int)(n - at < piece ? n - at : piece), MPI_FLOAT,
                                     MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
    return st;
}

static fcl_status mpi_broadcast(const fcl_comm *c, void *buf, size_t bytes)
{
    (void)c;
    const size_t piece = (size_t)1 << 30;
    fcl_status st = FCL_SUCCESS;
    for (size_t at = 0; at < bytes && st == FCL_SUCCESS; at += piece)
        st = mpi_check(MPI_Bcast((char *)buf + at, (int)(bytes - at < piece ? bytes - at : piece), MPI_BYTE, 0,
                                 MPI_COMM_WORLD), "MPI_Bcast");
    return st;
}

static fcl_status mpi_agree_max(const fcl_comm *c, int *value)
{
    (void)c;
    return mpi_check(MPI_Allreduce(MPI_IN_PLACE, value, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");
}

static fcl_comm world = {.allgather = mpi_allgather, .allreduce_sum = mpi_allreduce_sum,
                         .broadcast = mpi_broadcast, .agree_max = mpi_agree_max};

static void finish(void)
{
    int done = 0;
    MPI_Finalized(&done);
    if (!done)
        MPI_Finalize();
}

/* Initialised once: MPI cannot start twice in a process. Finalised at exit, since
 * mpirun calls a rank that ends without MPI_Finalize a failure. */
fcl_status fcl_comm_mpi_world(const fcl_comm **out)
{
    int started = 0;
    MPI_Initialized(&started);
    if (!started) {
        int provided = 0;
        fcl_status st = mpi_check(MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
        if (st != FCL_SUCCESS)
            return st;
        atexit(finish);
        MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
        MPI_Comm_rank(MPI_COMM_WORLD, &world.rank);
        MPI_Comm_size(MPI_COMM_WORLD, &world.size);
    }
    *out = &world;
    return FCL_SUCCESS;
}
