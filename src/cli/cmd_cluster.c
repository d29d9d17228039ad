/* facecl cluster MODEL --weights W DATA: groups images by identity. */
#include "cli/cli.h"
#include "data/dataset.h"
#include "eval/cluster.h"
#include "eval/evaluate.h"
#include "runtime/fileio.h"

#include <dirent.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SHOWN_CLUSTERS 10

static void usage(FILE *f)
{
    fprintf(f, "usage: facecl cluster MODEL --weights W DATA [options]\n\n"
               "Embeds DATA's images and groups them by average-linkage agglomerative clustering: two\n"
               "groups merge while their mean squared distance is at most the threshold. Writes one\n"
               "CSV row per image (image,cluster[,identity]) and prints the largest clusters; when the\n"
               "identities are known it reports how well the clusters match them (pairwise precision,\n"
               "recall and F1, purity, NMI, adjusted Rand index).\n"
               "DATA: a folder of images (identities unknown), a folder with one sub-folder per identity,\n"
               "or Fashion-MNIST IDX files (the first --images test images).\n\n"
               "  --weights W       trained weights from facecl train\n"
               "  --threshold T     squared-distance threshold (default: the one facecl eval stored in W)\n"
               "  --images N        cluster at most the first N images (IDX default 2000; at most %d)\n"
               "  --out FILE        the CSV (default: W's directory/clusters.csv)\n"
               "  --device D        OpenCL device\n",
            FCL_CLUSTER_MAX);
}

/* Identity folders or IDX files: labelled; a plain folder of images: not. */
static bool has_identities(const char *dir)
{
    DIR *dp = opendir(dir);
    bool found = false;
    for (struct dirent *e; dp && !found && (e = readdir(dp));) {
        char path[4096];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        found = e->d_name[0] != '.' && (strstr(e->d_name, "-idx") || (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)));
    }
    if (dp)
        closedir(dp);
    return found;
}

/* Moves the images of a folder that cannot be decoded (named by the decoder's warning)
 * behind the first n that can, as train skips them; returns how many can. The paths
 * are swapped, not dropped, so the data set still frees them all. */
static int keep_readable(fcl_dataset *d, int n, fcl_shape in, float *scratch)
{
    if (!d->paths)
        return n; /* IDX images are bytes in memory: nothing to decode */
    int kept = 0;
    for (int i = 0; i < n; i++) {
        if (fcl_dataset_image(d, i, in.c, in.h, in.w, scratch) != FCL_SUCCESS)
            continue;
        char *path = d->paths[kept];
        const int label = d->labels[kept];
        d->paths[kept] = d->paths[i], d->labels[kept] = d->labels[i];
        d->paths[i] = path, d->labels[i] = label;
        kept++;
    }
    if (kept < n)
        fprintf(stderr, "facecl cluster: %d of %d images could not be decoded and were left out (named above)\n",
                n - kept, n);
    return kept;
}

static fcl_status write_csv(const char *path, const fcl_dataset *d, int n, const int *cluster)
{
    fcl_strbuf s = {0};
    fcl_strbuf_printf(&s, d->n_classes ? "image,cluster,identity\n" : "image,cluster\n");
    for (int i = 0; i < n; i++) {
        if (d->paths)
            cli_csv_field(&s, d->paths[i]);
        else
            fcl_strbuf_printf(&s, "t10k:%d", i);
        fcl_strbuf_printf(&s, ",%d", cluster[i]);
        if (d->n_classes) {
            fcl_strbuf_printf(&s, ",");
            cli_csv_field(&s, d->class_names[d->labels[i]]);
        }
        fcl_strbuf_printf(&s, "\n");
    }
    fcl_status st = fcl_strbuf_status(&s);
    if (st == FCL_SUCCESS)
        st = fcl_write_file_atomic(path, s.text, s.len);
    if (st != FCL_SUCCESS)
        fprintf(stderr, "facecl cluster: cannot write %s\n", path);
    free(s.text);
    return st;
}

typedef struct group {
    int id, size, top_label, top_count;
} group;

static int larger_first(const void *pa, const void *pb)
{
    const group *a = pa, *b = pb;
    return a->size != b->size ? (a->size > b->size ? -1 : 1) : (a->id > b->id) - (a->id < b->id);
}

/* The largest clusters, each with its most common identity when those are known. */
static fcl_status print_clusters(const fcl_dataset *d, int n, const int *cluster, int n_clusters)
{
    group *g = calloc((size_t)n_clusters, sizeof *g);
    int *count = d->n_classes ? calloc((size_t)n_clusters * d->n_classes, sizeof *count) : NULL;
    if (!g || (d->n_classes && !count)) {
        free(g), free(count);
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    }
    for (int k = 0; k < n_clusters; k++)
        g[k].id = k;
    for (int i = 0; i < n; i++) {
        group *c = &g[cluster[i]];
        c->size++;
        if (count && ++count[(size_t)cluster[i] * d->n_classes + d->labels[i]] > c->top_count) {
            c->top_count = count[(size_t)cluster[i] * d->n_classes + d->labels[i]];
            c->top_label = d->labels[i];
        }
    }
    if (n_clusters > 1)
        qsort(g, (size_t)n_clusters, sizeof *g, larger_first);
    printf("\n  cluster  images%s\n", count ? "  most common identity" : "");
    for (int k = 0; k < n_clusters && k < SHOWN_CLUSTERS; k++) {
        printf("  %7d  %6d", g[k].id, g[k].size);
        if (count)
            printf("  %s (%.1f%%)", d->class_names[g[k].top_label], 100.0 * g[k].top_count / g[k].size);
        printf("\n");
    }
    if (n_clusters > SHOWN_CLUSTERS)
        printf("  ... and %d smaller clusters\n", n_clusters - SHOWN_CLUSTERS);
    free(g), free(count);
    return FCL_SUCCESS;
}

/* Identities among the first n images (a folder's are sorted by identity). */
static int distinct_labels(const fcl_dataset *d, int n)
{
    bool *seen = calloc((size_t)d->n_classes, sizeof *seen);
    int count = 0;
    for (int i = 0; seen && i < n; i++)
        if (!seen[d->labels[i]]) {
            seen[d->labels[i]] = true;
            count++;
        }
    if (!seen)
        return d->n_classes;
    free(seen);
    return count;
}

int cmd_cluster(int argc, char **argv)
{
    enum { O_THRESHOLD = 256, O_IMAGES };
    static const struct option opts[] = {
        {"weights", required_argument, NULL, 'w'}, {"threshold", required_argument, NULL, O_THRESHOLD},
        {"images", required_argument, NULL, O_IMAGES}, {"out", required_argument, NULL, 'o'},
        {"device", required_argument, NULL, 'd'},  {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    const char *weights = NULL, *device = NULL, *out = NULL;
    double given = -1;
    long max_images = -1;
    bool ok = true;
    int c;
    while (ok && (c = getopt_long(argc, argv, "w:o:d:h", opts, NULL)) != -1) {
        switch (c) {
        case 'w': weights = optarg; break;
        case 'o': out = optarg; break;
        case 'd': device = optarg; break;
        case O_THRESHOLD: ok = cli_double("threshold", optarg, 0, 4, &given); break;
        case O_IMAGES: ok = cli_long("images", optarg, 1, FCL_CLUSTER_MAX, &max_images); break;
        case 'h': usage(stdout); return 0;
        default: ok = false;
        }
    }
    if (!ok)
        return 2;
    if (argc - optind != 2 || !weights) {
        usage(stderr);
        return 2;
    }
    const char *const inputs[3] = {argv[optind], weights, argv[optind + 1]};
    if (cli_output_is_input("cluster", "--out", out, inputs, 3))
        return 2;
    double threshold;
    if (!cli_threshold(weights, given, &threshold))
        return 1;
    const char *data_dir = argv[optind + 1];
    fcl_dataset d;
    fcl_status st = has_identities(data_dir) ? fcl_dataset_open(data_dir, "t10k", &d)
                                             : fcl_dataset_open_images(data_dir, &d);
    if (st != FCL_SUCCESS)
        return cli_fail(data_dir, st);
    int n = max_images > 0 ? (int)max_images : d.pixels ? 2000 : d.n;
    if (n > d.n)
        n = d.n;
    if (n > FCL_CLUSTER_MAX) {
        fprintf(stderr, "facecl cluster: %s holds %d images; clustering keeps a %d x %d distance matrix, so pass "
                        "--images N (at most %d)\n", data_dir, d.n, n, n, FCL_CLUSTER_MAX);
        fcl_dataset_free(&d);
        return 2;
    }
    cli_net s;
    int status = cli_net_open(&s, argv[optind], weights, device, 100);
    const int dim = status == 0 ? fcl_shape_size(fcl_model_output(s.model)->out) : 0;
    float *emb = status == 0 ? malloc((size_t)n * dim * sizeof *emb) : NULL;
    int *cluster = status == 0 ? malloc((size_t)n * sizeof *cluster) : NULL, n_clusters = 0;
    if (status == 0) {
        st = emb && cluster ? FCL_SUCCESS : FCL_ERR_OUT_OF_HOST_MEMORY;
        printf("facecl cluster: %d images of %s, threshold %.4f%s\n", n, data_dir, threshold,
               given >= 0 ? "" : " (stored by facecl eval)");
        const fcl_reporter report = cli_reporter();
        const fcl_shape in = s.model->nodes[0].out;
        float *scratch = malloc((size_t)fcl_shape_size(in) * sizeof *scratch);
        if (st == FCL_SUCCESS && !scratch)
            st = FCL_ERR_OUT_OF_HOST_MEMORY;
        if (st == FCL_SUCCESS && (n = keep_readable(&d, n, in, scratch)) < 2) {
            fprintf(stderr, "facecl cluster: fewer than 2 readable images in %s: nothing to cluster\n", data_dir);
            st = FCL_ERR_INVALID_ARGUMENT;
        }
        free(scratch);
        if (st == FCL_SUCCESS)
            st = fcl_embed_dataset_images(s.net, &d, NULL, n, emb, &report);
        if (st == FCL_SUCCESS)
            st = fcl_cluster(emb, n, dim, threshold, cluster, &n_clusters);
        char default_out[4096];
        if (!out)
            out = cli_path_beside(weights, "clusters.csv", default_out, sizeof default_out);
        if (st == FCL_SUCCESS)
            st = write_csv(out, &d, n, cluster);
        if (st == FCL_SUCCESS)
            st = print_clusters(&d, n, cluster, n_clusters);
        fcl_cluster_quality q;
        if (st == FCL_SUCCESS && d.n_classes && (st = fcl_cluster_quality_of(cluster, d.labels, n, &q)) == FCL_SUCCESS)
            printf("\n  %d clusters for %d identities: pairwise precision %.2f%%, recall %.2f%%, F1 %.2f%%\n"
                   "  purity %.2f%%, NMI %.4f, adjusted Rand index %.4f\n",
                   n_clusters, distinct_labels(&d, n), 100 * q.precision, 100 * q.recall, 100 * q.f1,
                   100 * q.purity, q.nmi, q.ari);
        if (st == FCL_SUCCESS)
            printf("\nwritten: %s\n", out);
        else
            status = cli_fail("cluster", st);
    }
    free(emb);
    free(cluster);
    cli_net_close(&s);
    fcl_dataset_free(&d);
    return status;
}
