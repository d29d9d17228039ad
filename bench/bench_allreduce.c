/* The link a data-parallel run's gradients cross, measured with MPI itself (#25): the
 * latency alpha (a ping-pong of 8 bytes) and the bandwidth beta (of the gradient's size:
 * a smaller probe fits in caches a gradient does not), then the
 * time gamma of adding one float array into another (the reduction's arithmetic, memory
 * bound), then the ring model's prediction of an MPI_Allreduce of a network's gradient
 * (Thakur, Rabenseifner and Gropp 2005): 2 (N - 1) alpha + 2 (N - 1) / N x bytes / beta
 * + (N - 1) / N x bytes x gamma, against the allreduce measured.
 *   mpirun -np 2 build/bench/bench_allreduce [MEGABYTES]   (default 29.8: NN2's gradient) */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static double ping_pong(char *buf, int bytes, int rank, int reps)
{
    MPI_Barrier(MPI_COMM_WORLD);
    const double t0 = MPI_Wtime();
    for (int i = 0; i < reps; i++) {
        if (rank == 0) {
            MPI_Send(buf, bytes, MPI_BYTE, 1, 0, MPI_COMM_WORLD);
            MPI_Recv(buf, bytes, MPI_BYTE, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        } else if (rank == 1) {
            MPI_Recv(buf, bytes, MPI_BYTE, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Send(buf, bytes, MPI_BYTE, 0, 0, MPI_COMM_WORLD);
        }
    }
    return (MPI_Wtime() - t0) / (2.0 * reps); /* one way */
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const double mb = argc > 1 ? atof(argv[1]) : 29.8;
    const int floats = (int)(mb * 1e6 / sizeof(float)), big = floats * (int)sizeof(float);
    char *buf = calloc(big > 8 ? (size_t)big : 8, 1);
    float *grad = calloc(floats > 0 ? (size_t)floats : 1, sizeof *grad);
    if (size < 2 || !buf || !grad || floats < 1) {
        if (rank == 0)
            fprintf(stderr, "bench_allreduce: needs 2 ranks or more (mpirun -np 2) and a size > 0 MB\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    ping_pong(buf, 8, rank, 100); /* warm up */
    const double alpha = ping_pong(buf, 8, rank, 2000);
    ping_pong(buf, big, rank, 2);
    const double beta = big / (ping_pong(buf, big, rank, 10) - alpha);
    float *other = calloc((size_t)floats, sizeof *other);
    if (!other)
        MPI_Abort(MPI_COMM_WORLD, 2);
    for (int i = 0; i < floats; i++)
        other[i] = (float)i;
    double t_add = MPI_Wtime();
    for (int r = 0; r < 5; r++)
        for (int i = 0; i < floats; i++)
            grad[i] += other[i];
    const double gamma = (MPI_Wtime() - t_add) / 5 / ((double)floats * sizeof(float)); /* seconds per byte */
    free(other);
    MPI_Allreduce(MPI_IN_PLACE, grad, floats, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Barrier(MPI_COMM_WORLD);
    const int reps = 10;
    const double t0 = MPI_Wtime();
    for (int i = 0; i < reps; i++)
        MPI_Allreduce(MPI_IN_PLACE, grad, floats, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    const double measured = (MPI_Wtime() - t0) / reps;
    const double bytes = (double)floats * sizeof(float), n = size;
    const double model = 2 * (n - 1) * alpha + 2 * (n - 1) / n * bytes / beta + (n - 1) / n * bytes * gamma;
    if (rank == 0)
        printf("ranks %d  alpha %.2f us  beta %.2f GB/s  gamma %.2f GB/s  allreduce of %.1f MB: measured %.2f ms, "
               "ring model %.2f ms (model / measured %.2f)\n", size, alpha * 1e6, beta / 1e9, 1e-9 / gamma,
               bytes / 1e6, measured * 1e3, model * 1e3, model / measured);
    free(buf);
    free(grad);
    MPI_Finalize();
    return 0;
}
