/* facecl's GEMM kernel on square n x n x n products, for choosing its register tile
 * (FACECL_GEMM_CONFIG=TMxTN) and the ceiling `facecl bench flops-accuracy` reports.
 *   bench_gemm [N ...]   (default 256 512 1024 2048): prints "n GFLOP/s" lines */
#include "facecl.h"
#include "runtime/runtime.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    static const int defaults[] = {256, 512, 1024, 2048};
    fcl_runtime *rt;
    fcl_status st = fcl_runtime_create(NULL, NULL, &rt);
    if (st != FCL_SUCCESS) {
        fprintf(stderr, "bench_gemm: %s\n", fcl_status_str(st));
        return 1;
    }
    printf("device %s, tile %s\n", rt->info.name, getenv("FACECL_GEMM_CONFIG") ? getenv("FACECL_GEMM_CONFIG") : "default");
    const int count = argc > 1 ? argc - 1 : (int)(sizeof defaults / sizeof defaults[0]);
    for (int i = 0; i < count && st == FCL_SUCCESS; i++) {
        const int n = argc > 1 ? atoi(argv[i + 1]) : defaults[i];
        double gflops;
        if (n < 1 || n > 8192) {
            fprintf(stderr, "bench_gemm: sizes from 1 to 8192, not '%s'\n", argv[i + 1]);
            st = FCL_ERR_INVALID_ARGUMENT;
        } else if ((st = fcl_gemm_benchmark(rt, n, &gflops)) == FCL_SUCCESS) {
            printf("%d %.1f\n", n, gflops);
            fflush(stdout);
        }
    }
    fcl_runtime_destroy(rt);
    return st == FCL_SUCCESS ? 0 : 1;
}
