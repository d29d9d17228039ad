/* facecl demo: Fashion-MNIST test images through a model on the chosen device, with
 * throughput and a nearest-neighbour check of the embeddings. */
#include "cli/cli.h"
#include "data/idx.h"
#include "graph/graph.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_DATA "/usr/share/datasets/fashion-mnist"
#define BATCH 100

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Leave-one-out rank-1 nearest neighbour accuracy under squared L2 distance. */
static double rank1(const float *x, const unsigned char *labels, int n, int dim)
{
    int correct = 0;
    for (int i = 0; i < n; i++) {
        double best = INFINITY;
        int nearest = -1;
        for (int j = 0; j < n; j++) {
            if (j == i)
                continue;
            double d = 0;
            for (int k = 0; k < dim; k++) {
                double t = (double)x[(size_t)i * dim + k] - x[(size_t)j * dim + k];
                d += t * t;
            }
            if (d < best) {
                best = d;
                nearest = j;
            }
        }
        correct += labels[nearest] == labels[i];
    }
    return 100.0 * correct / n;
}

static fcl_status load_split(const char *dir, const char *what, fcl_idx *out)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, what);
    return fcl_idx_load(path, out);
}

int cmd_demo(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'}, {"data", required_argument, NULL, 'D'},
        {"images", required_argument, NULL, 'n'}, {"device", required_argument, NULL, 'd'},
        {"seed", required_argument, NULL, 's'},  {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    const char *model_path = "models/fmnist-inception.model", *data = DEFAULT_DATA, *device = NULL;
    int n = 1000, c;
    unsigned long long seed = 1;
    while ((c = getopt_long(argc, argv, "m:D:n:d:s:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'D': data = optarg; break;
        case 'n': n = atoi(optarg); break;
        case 'd': device = optarg; break;
        case 's': seed = strtoull(optarg, NULL, 10); break;
        case 'h':
            printf("usage: facecl demo [--model M] [--data DIR] [--images N] [--device D] [--seed S]\n\n"
                   "Runs N (default 1000) Fashion-MNIST test images through a 28x28x1 model (default\n"
                   "models/fmnist-inception.model) on the device, prints throughput, and checks the\n"
                   "embeddings: unit norm, and leave-one-out rank-1 nearest-neighbour accuracy next to\n"
                   "raw pixels. The weights are seeded random: the network is not trained.\n"
                   "DIR defaults to %s (Debian package dataset-fashion-mnist).\n",
                   DEFAULT_DATA);
            return 0;
        default: return 2;
        }
    }
    if (n < 2 || n > 10000) {
        fprintf(stderr, "facecl demo: --images wants 2 to 10000\n");
        return 2;
    }
    fcl_model *m;
    fcl_status st = fcl_model_load(model_path, &m);
    if (st != FCL_SUCCESS) {
        fprintf(stderr, "facecl demo: run it from the facecl source directory, or pass --model\n");
        return cli_fail(model_path, st);
    }
    fcl_shape in = m->nodes[0].out;
    if (in.c != 1 || in.h != 28 || in.w != 28) {
        fprintf(stderr, "facecl demo: %s takes %dx%dx%d input; the demo needs a 28x28x1 model\n", model_path, in.h,
                in.w, in.c);
        fcl_model_destroy(m);
        return 2;
    }
    fcl_idx images, labels;
    st = load_split(data, "t10k-images-idx3-ubyte.gz", &images);
    if (st == FCL_SUCCESS && (st = load_split(data, "t10k-labels-idx1-ubyte.gz", &labels)) != FCL_SUCCESS)
        fcl_idx_free(&images);
    if (st != FCL_SUCCESS) {
        fprintf(stderr, "facecl demo: Fashion-MNIST not found in %s: install the Debian package "
                        "dataset-fashion-mnist, or pass --data DIR\n", data);
        fcl_model_destroy(m);
        return 1;
    }
    if (images.ndims != 3 || images.dims[1] != 28 || images.dims[2] != 28 || labels.ndims != 1 ||
        labels.dims[0] != images.dims[0] || images.dims[0] < n) {
        fprintf(stderr, "facecl demo: %s does not hold %d 28x28 images with labels\n", data, n);
        st = FCL_ERR_FORMAT;
    }
    fcl_runtime *rt = st == FCL_SUCCESS ? cli_open_runtime(device, NULL) : NULL;
    const int dim = fcl_shape_size(fcl_model_output(m)->out);
    float *pixels = malloc((size_t)n * 784 * sizeof *pixels), *emb = malloc((size_t)n * dim * sizeof *emb);
    fcl_net *net = NULL;
    if (rt && (!pixels || !emb))
        st = FCL_ERR_OUT_OF_HOST_MEMORY;
    if (rt && st == FCL_SUCCESS)
        st = fcl_net_create(rt, m, BATCH < n ? BATCH : n, false, &net);
    if (net && st == FCL_SUCCESS)
        st = fcl_net_init_params(net, seed);
    double elapsed = 0;
    if (net && st == FCL_SUCCESS) {
        for (size_t i = 0; i < (size_t)n * 784; i++)
            pixels[i] = images.data[i] / 255.0f;
        printf("facecl demo: %d Fashion-MNIST test images through %s on [%d] %s\n", n, m->name,
               rt->info.index, rt->info.name);
        printf("  model        %zu parameters, %.1fM multiply-adds per image\n", fcl_model_trainable(m),
               fcl_model_macs(m) / 1e6);
        fflush(stdout);
        float *out = malloc((size_t)net->batch * dim * sizeof *out);
        float *in_batch = calloc((size_t)net->batch * 784, sizeof *in_batch);
        st = out && in_batch ? fcl_net_forward(net, pixels, out) : FCL_ERR_OUT_OF_HOST_MEMORY; /* warm-up */
        double t0 = seconds();
        for (int start = 0; start < n && st == FCL_SUCCESS; start += net->batch) {
            int count = n - start < net->batch ? n - start : net->batch;
            memcpy(in_batch, pixels + (size_t)start * 784, (size_t)count * 784 * sizeof *in_batch);
            st = fcl_net_forward(net, in_batch, out);
            memcpy(emb + (size_t)start * dim, out, (size_t)count * dim * sizeof *out);
        }
        elapsed = seconds() - t0;
        free(out);
        free(in_batch);
    }
    int status = 0;
    if (!rt) {
        status = 1;
    } else if (st != FCL_SUCCESS) {
        status = cli_fail("demo", st);
    } else {
        double worst = 0;
        for (int i = 0; i < n; i++) {
            double ss = 0;
            for (int k = 0; k < dim; k++)
                ss += (double)emb[(size_t)i * dim + k] * emb[(size_t)i * dim + k];
            worst = fmax(worst, fabs(sqrt(ss) - 1));
        }
        printf("  forward      %d images in %.2f s: %.0f images/s, %.2f GFLOP/s (2 x multiply-adds)\n", n, elapsed,
               n / elapsed, 2.0 * fcl_model_macs(m) * n / elapsed / 1e9);
        printf("  embeddings   %d-d, unit norm (largest deviation %.1e)\n", dim, worst);
        printf("  rank-1 nearest neighbour, leave-one-out over the %d images:\n", n);
        printf("    raw pixels (784-d)            %5.1f%%\n", rank1(pixels, labels.data, n, 784));
        printf("    untrained embedding (%d-d)   %5.1f%%  (seeded random weights)\n", dim,
               rank1(emb, labels.data, n, dim));
        if (worst > 1e-3) {
            fprintf(stderr, "facecl demo: embeddings are not unit length\n");
            status = 1;
        }
    }
    free(pixels);
    free(emb);
    fcl_net_destroy(net);
    fcl_runtime_destroy(rt);
    if (images.data)
        fcl_idx_free(&images);
    if (labels.data)
        fcl_idx_free(&labels);
    fcl_model_destroy(m);
    return status;
}
