/* Which processes a run spans: the environment mpirun gives its ranks says whether this
 * is one of several; the MPI world itself is src/train/comm_mpi.c. */
#include "train/comm.h"

#include <stdlib.h>

/* The number of ranks the launcher started (Open MPI, or a PMI launcher such as
 * MPICH's or Slurm's); 1 when started on its own. */
static long launched_ranks(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v)
            return strtol(v, NULL, 10);
    }
    return 1;
}

#ifdef FACECL_HAVE_MPI
bool fcl_distributed_built(void) { return true; }
#else
bool fcl_distributed_built(void) { return false; }
#endif

fcl_status fcl_comm_world(const fcl_comm **out)
{
    *out = NULL;
    if (launched_ranks() <= 1)
        return FCL_SUCCESS;
#ifdef FACECL_HAVE_MPI
    return fcl_comm_mpi_world(out);
#else
    fcl_log(FCL_LOG_ERROR, "started as one of %ld MPI ranks, but this facecl was built without MPI: install "
                           "Open MPI (apt-get install openmpi-bin libopenmpi-dev) and rebuild (./facecl.sh setup)",
            launched_ranks());
    return FCL_ERR_UNSUPPORTED;
#endif
}

fcl_status fcl_distributed_rank(int *rank, int *size)
{
    const fcl_comm *c;
    fcl_status st = fcl_comm_world(&c);
    *rank = c ? c->rank : 0;
    *size = c ? c->size : 1;
    return st;
}

fcl_status fcl_comm_agree(const fcl_comm *c, fcl_status st)
{
    if (!c)
        return st;
    int worst = -(int)st;
    fcl_status cst = c->agree_max(c, &worst);
    if (cst != FCL_SUCCESS)
        return cst;
    if (st == FCL_SUCCESS && worst != 0)
        fcl_log(FCL_LOG_ERROR, "rank %d: another rank failed (its message says why); stopping", c->rank);
    return st != FCL_SUCCESS ? st : (fcl_status)-worst;
}
