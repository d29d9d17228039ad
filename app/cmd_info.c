/* facecl info MODEL: the per-layer table the FaceNet paper prints, and the totals. */
#include "cli.h"
#include "text.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static bool is_type(const fcl_layer_info *l, const char *type) { return strcmp(l->type, type) == 0; }

static void kernel_text(const fcl_layer_info *l, char *buf, size_t size)
{
    buf[0] = '\0';
    const int cin = is_type(l, "conv") ? l->in_c / l->groups : l->in_c;
    char stride[24];
    if (l->stride_h == l->stride_w)
        snprintf(stride, sizeof stride, "%d", l->stride_h);
    else
        snprintf(stride, sizeof stride, "%dx%d", l->stride_h, l->stride_w);
    if (is_type(l, "conv") || is_type(l, "maxpool") || is_type(l, "l2pool") || is_type(l, "avgpool")) {
        const int n = snprintf(buf, size, "%dx%dx%d, %s", l->kernel_h, l->kernel_w, cin, stride);
        if (l->ceil_mode && n > 0 && (size_t)n < size)
            snprintf(buf + n, size - (size_t)n, ", ceil");
    } else if (is_type(l, "maxout"))
        snprintf(buf, size, "maxout p=%d", l->maxout_group);
    else if (is_type(l, "lrn"))
        snprintf(buf, size, "size %d", l->lrn_size);
    else if (is_type(l, "add") && l->scale != 1.0f)
        snprintf(buf, size, "scale %g", (double)l->scale);
    else if (is_type(l, "input") && l->pixel_mean == 0.0f) /* what it takes of an image's 0..255 pixels x */
        snprintf(buf, size, "x/%g", (double)l->pixel_std);
    else if (is_type(l, "input"))
        snprintf(buf, size, "(x-%g)/%g", (double)l->pixel_mean, (double)l->pixel_std);
}

/* The names a node reads, when that is not simply the line above (the DAG's edges). */
static void inputs_text(const fcl_layer_info *layers, int i, char *buf, size_t size)
{
    const fcl_layer_info *l = &layers[i];
    buf[0] = '\0';
    if (i == 0 || (l->n_inputs == 1 && l->inputs[0] == i - 1))
        return;
    size_t at = 0;
    for (int j = 0; j < l->n_inputs && at < size; j++) {
        int w = snprintf(buf + at, size - at, "%s%s", j ? "," : "", layers[l->inputs[j]].name);
        if (w < 0)
            break;
        at += (size_t)w;
    }
}

static void print_table(const fcl_model_summary *m, const fcl_layer_info *layers)
{
    char a[32], b[32], k[32], pb[16], fb[16], in[256];
    printf("%s (%s)\n", m->name, m->source);
    printf("%-24s %-10s %-13s %-13s %-14s %8s %8s  %s\n", "layer", "type", "size-in", "size-out", "kernel", "params",
           "FLOPS", "inputs");
    for (int i = 0; i < m->layers; i++) {
        const fcl_layer_info *l = &layers[i];
        snprintf(a, sizeof a, "%dx%dx%d", l->in_h, l->in_w, l->in_c);
        snprintf(b, sizeof b, "%dx%dx%d", l->out_h, l->out_w, l->out_c);
        kernel_text(l, k, sizeof k);
        inputs_text(layers, i, in, sizeof in);
        size_t params = l->parameters;
        uint64_t macs = l->multiply_adds;
        /* An inception module's row sums its branches, as the paper's table does. */
        if (is_type(l, "concat")) {
            size_t len = strlen(l->name);
            bool first = true;
            for (int j = 0; j < i; j++)
                if (strncmp(layers[j].name, l->name, len) == 0 && layers[j].name[len] == '/') {
                    if (first) /* the module's input is its first branch's */
                        snprintf(a, sizeof a, "%dx%dx%d", layers[j].in_h, layers[j].in_w, layers[j].in_c);
                    first = false;
                    params += layers[j].parameters;
                    macs += layers[j].multiply_adds;
                }
        }
        printf("%-24s %-10s %-13s %-13s %-14s %8s %8s  %s\n", l->name, l->type, a, b, k,
               params ? fcl_format_count((double)params, pb, sizeof pb) : "",
               macs ? fcl_format_count((double)macs, fb, sizeof fb) : "", in);
    }
    printf("total: %s parameters (%zu), %s multiply-adds per image (%llu)\n",
           fcl_format_count((double)m->parameters, pb, sizeof pb), m->parameters,
           fcl_format_count((double)m->multiply_adds, fb, sizeof fb), (unsigned long long)m->multiply_adds);
}

static void print_json(const fcl_model_summary *m, const fcl_layer_info *layers, int batch, const size_t *memory)
{
    printf("{\"model\": \"%s\", \"params\": %zu, \"macs\": %llu", m->name, m->parameters,
           (unsigned long long)m->multiply_adds);
    if (memory)
        printf(", \"batch\": %d, \"activation_bytes_planned\": %zu, \"activation_bytes_unshared\": %zu", batch,
               memory[0], memory[1]);
    printf(", \"layers\": [\n");
    for (int i = 0; i < m->layers; i++) {
        const fcl_layer_info *l = &layers[i];
        printf("  {\"name\": \"%s\", \"type\": \"%s\", \"in\": [%d, %d, %d], \"out\": [%d, %d, %d], "
               "\"params\": %zu, \"macs\": %llu, \"inputs\": [",
               l->name, l->type, l->in_h, l->in_w, l->in_c, l->out_h, l->out_w, l->out_c, l->parameters,
               (unsigned long long)l->multiply_adds);
        for (int j = 0; j < l->n_inputs; j++)
            printf("%s%d", j ? ", " : "", l->inputs[j]);
        /* The attributes, so that other tools (bench/pytorch_peer.py) can rebuild the graph. */
        printf("], \"kernel\": [%d, %d], \"stride\": [%d, %d], \"pad\": [%d, %d], \"relu\": %d, "
               "\"groups\": %d, \"bias\": %d, \"maxout\": %d, \"scale\": %g, \"size\": %d, \"alpha\": %g, "
               "\"beta\": %g, \"k\": %g, \"eps\": %g, \"rate\": %g, \"mean\": %g, \"std\": %g, \"ceil\": %d}%s\n",
               l->kernel_h, l->kernel_w, l->stride_h, l->stride_w, l->pad_h, l->pad_w, l->relu, l->groups, l->bias,
               l->maxout_group, (double)l->scale, l->lrn_size, (double)l->alpha, (double)l->beta, (double)l->k,
               (double)l->eps, (double)l->rate, (double)l->pixel_mean, (double)l->pixel_std, l->ceil_mode,
               i + 1 < m->layers ? "," : "");
    }
    printf("]}\n");
}

int cmd_info(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"expand", no_argument, NULL, 'e'},
        {"memory", no_argument, NULL, 'm'},
        {"batch", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    bool json = false, memory = false, expand = false;
    int batch = 1, c;
    while ((c = getopt_long(argc, argv, "jemb:h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 'e': expand = true; break;
        case 'm': memory = true; break;
        case 'b':
            batch = atoi(optarg);
            if (batch < 1 || batch > 65536) {
                fprintf(stderr, "facecl info: --batch wants a whole number from 1 to 65536, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 'h':
            printf("usage: facecl info [--json | --expand] [--memory [--batch N]] MODEL\n\n"
                   "Prints each layer's input and output sizes, kernel, parameters and multiply-adds\n"
                   "per image (the paper's FLOPS), the layers each reads where that is not the line\n"
                   "above, and the totals.\n"
                   "  --json     machine-readable output\n"
                   "  --expand   the model as a model file in its explicit form: every layer with its\n"
                   "             inputs (in=) and every key, inception modules as their branches and a\n"
                   "             concat; it loads as the same network\n"
                   "  --memory   activation memory for inference at --batch N (default 1): as planned,\n"
                   "             with buffers reused by lifetime, and as the sum of all activations\n");
            return 0;
        default: return 2;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "facecl info: expected one model file (see `facecl info --help`)\n");
        return 2;
    }
    fcl_model *m;
    fcl_status st = fcl_model_load(argv[optind], &m);
    if (st != FCL_SUCCESS)
        return cli_fail(argv[optind], st);
    size_t mem[2] = {0, 0};
    if (memory && (st = fcl_model_plan_memory(m, batch, &mem[0], &mem[1])) != FCL_SUCCESS) {
        fcl_model_destroy(m);
        return cli_fail("planning memory", st);
    }
    const fcl_model_summary sum = fcl_model_describe(m);
    fcl_layer_info *layers = calloc((size_t)sum.layers, sizeof *layers);
    if (!layers)
        st = FCL_ERR_OUT_OF_HOST_MEMORY;
    for (int i = 0; st == FCL_SUCCESS && i < sum.layers; i++)
        st = fcl_model_layer(m, i, &layers[i]);
    if (st != FCL_SUCCESS) {
    } else if (expand) {
        char *text;
        if ((st = fcl_model_format(m, &text)) == FCL_SUCCESS) {
            fputs(text, stdout);
            free(text);
        }
    } else if (json) {
        print_json(&sum, layers, batch, memory ? mem : NULL);
    } else {
        print_table(&sum, layers);
        if (memory)
            printf("inference activations at batch %d: %.1f MiB planned (buffers reused by lifetime), "
                   "%.1f MiB if every activation had its own\n",
                   batch, mem[0] / 1048576.0, mem[1] / 1048576.0);
    }
    free(layers);
    fcl_model_destroy(m);
    return st == FCL_SUCCESS ? 0 : cli_fail("info", st);
}
