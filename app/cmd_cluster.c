/* facecl cluster MODEL --weights W DATA: groups images by identity. */
#include "cli.h"
#include "faces.h"

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
               "  --device D        OpenCL device\n" CLI_FACES_HELP,
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

/* The first n images of d that can be decoded into idx (as train skips the others,
 * which the decoder's warning named); returns how many. */
static int keep_readable(const fcl_dataset *d, const fcl_model *m, int n, int *idx, float *scratch)
{
    int kept = 0;
    for (int i = 0; i < n; i++)
        if (!fcl_dataset_image_path(d, i) /* IDX images are bytes in memory: nothing to decode */ ||
            fcl_dataset_input(d, i, m, scratch) == FCL_SUCCESS)
            idx[kept++] = i;
    if (kept < n)
        fprintf(stderr, "facecl cluster: %d of %d images could not be decoded and were left out (named above)\n",
                n - kept, n);
    return kept;
}

static fcl_status write_csv(const char *path, const fcl_dataset *d, int n, const int *idx, const int *cluster)
{
    const bool labelled = fcl_dataset_identities(d) > 0;
    fcl_strbuf s = {0};
    fcl_strbuf_printf(&s, labelled ? "image,cluster,identity\n" : "image,cluster\n");
    for (int i = 0; i < n; i++) {
        if (fcl_dataset_image_path(d, idx[i]))
            cli_csv_field(&s, fcl_dataset_image_path(d, idx[i]));
        else
            fcl_strbuf_printf(&s, "t10k:%d", idx[i]);
        fcl_strbuf_printf(&s, ",%d", cluster[i]);
        if (labelled) {
            fcl_strbuf_printf(&s, ",");
            cli_csv_field(&s, fcl_dataset_identity_name(d, fcl_dataset_label(d, idx[i])));
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
static fcl_status print_clusters(const fcl_dataset *d, int n, const int *label, const int *cluster, int n_clusters)
{
    const int identities = fcl_dataset_identities(d);
    group *g = calloc((size_t)n_clusters, sizeof *g);
    int *count = identities ? calloc((size_t)n_clusters * identities, sizeof *count) : NULL;
    if (!g || (identities && !count)) {
        free(g), free(count);
        return FCL_ERR_OUT_OF_HOST_MEMORY;
    }
    for (int k = 0; k < n_clusters; k++)
        g[k].id = k;
    for (int i = 0; i < n; i++) {
        group *c = &g[cluster[i]];
        c->size++;
        if (count && ++count[(size_t)cluster[i] * identities + label[i]] > c->top_count) {
            c->top_count = count[(size_t)cluster[i] * identities + label[i]];
            c->top_label = label[i];
        }
    }
    if (n_clusters > 1)
        qsort(g, (size_t)n_clusters, sizeof *g, larger_first);
    printf("\n  cluster  images%s\n", count ? "  most common identity" : "");
    for (int k = 0; k < n_clusters && k < SHOWN_CLUSTERS; k++) {
        printf("  %7d  %6d", g[k].id, g[k].size);
        if (count)
            printf("  %s (%.1f%%)", fcl_dataset_identity_name(d, g[k].top_label), 100.0 * g[k].top_count / g[k].size);
        printf("\n");
    }
    if (n_clusters > SHOWN_CLUSTERS)
        printf("  ... and %d smaller clusters\n", n_clusters - SHOWN_CLUSTERS);
    free(g), free(count);
    return FCL_SUCCESS;
}

/* Identities among n labels. */
static int distinct_labels(const fcl_dataset *d, int n, const int *label)
{
    bool *seen = calloc((size_t)fcl_dataset_identities(d), sizeof *seen);
    int count = 0;
    for (int i = 0; seen && i < n; i++)
        if (!seen[label[i]]) {
            seen[label[i]] = true;
            count++;
        }
    if (!seen)
        return fcl_dataset_identities(d);
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
        CLI_FACES_OPTIONS,                         {0, 0, 0, 0},
    };
    cli_faces_args fa = {0};
    const char *weights = NULL, *device = NULL, *out = NULL;
    double given = -1;
    long max_images = -1;
    bool ok = true;
    int c;
    while (ok && (c = getopt_long(argc, argv, "w:o:d:h", opts, NULL)) != -1) {
        if (cli_faces_option(&fa, c, optarg, &ok))
            continue;
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
    fcl_dataset *d;
    fcl_status st = has_identities(data_dir) ? fcl_dataset_load(data_dir, "t10k", &d)
                                             : fcl_dataset_load_images(data_dir, &d);
    if (st != FCL_SUCCESS)
        return cli_fail(data_dir, st);
    const int total = fcl_dataset_images(d);
    int n = max_images > 0 ? (int)max_images : !fcl_dataset_image_path(d, 0) /* IDX */ ? 2000 : total;
    if (n > total)
        n = total;
    if (n > FCL_CLUSTER_MAX) {
        fprintf(stderr, "facecl cluster: %s holds %d images; clustering keeps a %d x %d distance matrix, so pass "
                        "--images N (at most %d)\n", data_dir, total, n, n, FCL_CLUSTER_MAX);
        fcl_dataset_destroy(d);
        return 2;
    }
    cli_net s;
    int status = cli_net_open(&s, argv[optind], weights, device, 100);
    if (status == 0 && (status = cli_faces_dataset(&fa, s.rt, s.model, d, "cluster")) == 0 && n > fcl_dataset_images(d))
        n = fcl_dataset_images(d);
    const fcl_model_summary ms = status == 0 ? fcl_model_describe(s.model) : (fcl_model_summary){0};
    const int dim = ms.embedding_size;
    float *emb = status == 0 ? malloc((size_t)n * dim * sizeof *emb) : NULL;
    int *cluster = status == 0 ? malloc((size_t)n * sizeof *cluster) : NULL, n_clusters = 0;
    int *idx = status == 0 ? malloc((size_t)n * sizeof *idx) : NULL;
    int *label = status == 0 ? malloc((size_t)n * sizeof *label) : NULL;
    if (status == 0) {
        st = emb && cluster && idx && label ? FCL_SUCCESS : FCL_ERR_OUT_OF_HOST_MEMORY;
        printf("facecl cluster: %d images of %s, threshold %.4f%s\n", n, data_dir, threshold,
               given >= 0 ? "" : " (stored by facecl eval)");
        const fcl_reporter report = cli_reporter();
        float *scratch = malloc((size_t)ms.input_channels * ms.input_height * ms.input_width * sizeof *scratch);
        if (st == FCL_SUCCESS && !scratch)
            st = FCL_ERR_OUT_OF_HOST_MEMORY;
        if (st == FCL_SUCCESS && (n = keep_readable(d, s.model, n, idx, scratch)) < 2) {
            fprintf(stderr, "facecl cluster: fewer than 2 readable images in %s: nothing to cluster\n", data_dir);
            st = FCL_ERR_INVALID_ARGUMENT;
        }
        free(scratch);
        for (int i = 0; st == FCL_SUCCESS && i < n; i++)
            label[i] = fcl_dataset_label(d, idx[i]);
        if (st == FCL_SUCCESS)
            st = fcl_embed_dataset(s.embedder, d, idx, n, emb, &report);
        if (st == FCL_SUCCESS)
            st = fcl_cluster(emb, n, dim, threshold, cluster, &n_clusters);
        char default_out[4096];
        if (!out)
            out = cli_path_beside(weights, "clusters.csv", default_out, sizeof default_out);
        if (st == FCL_SUCCESS)
            st = write_csv(out, d, n, idx, cluster);
        if (st == FCL_SUCCESS)
            st = print_clusters(d, n, label, cluster, n_clusters);
        fcl_cluster_quality q;
        if (st == FCL_SUCCESS && fcl_dataset_identities(d) &&
            (st = fcl_cluster_quality_of(cluster, label, n, &q)) == FCL_SUCCESS)
            printf("\n  %d clusters for %d identities: pairwise precision %.2f%%, recall %.2f%%, F1 %.2f%%\n"
                   "  purity %.2f%%, NMI %.4f, adjusted Rand index %.4f\n",
                   n_clusters, distinct_labels(d, n, label), 100 * q.precision, 100 * q.recall, 100 * q.f1,
                   100 * q.purity, q.nmi, q.ari);
        if (st == FCL_SUCCESS)
            printf("\nwritten: %s\n", out);
        else
            status = cli_fail("cluster", st);
    }
    free(emb);
    free(cluster);
    free(idx);
    free(label);
    cli_net_close(&s);
    fcl_dataset_destroy(d);
    return status;
}
