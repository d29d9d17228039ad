/* facecl info MODEL: the per-layer table the FaceNet paper prints, and the totals. */
#include "cli/cli.h"
#include "graph/graph.h"
#include "runtime/text.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void kernel_text(const fcl_node *nd, char *buf, size_t size)
{
    buf[0] = '\0';
    const int cin = nd->op == FCL_OP_CONV ? nd->in.c / nd->groups : nd->in.c;
    char stride[24];
    if (nd->sh == nd->sw)
        snprintf(stride, sizeof stride, "%d", nd->sh);
    else
        snprintf(stride, sizeof stride, "%dx%d", nd->sh, nd->sw);
    if (nd->op == FCL_OP_CONV || nd->op == FCL_OP_MAXPOOL || nd->op == FCL_OP_L2POOL || nd->op == FCL_OP_AVGPOOL)
        snprintf(buf, size, "%dx%dx%d, %s", nd->kh, nd->kw, cin, stride);
    else if (nd->op == FCL_OP_MAXOUT)
        snprintf(buf, size, "maxout p=%d", nd->group_size);
    else if (nd->op == FCL_OP_LRN)
        snprintf(buf, size, "size %d", nd->size);
    else if (nd->op == FCL_OP_ADD && nd->scale != 1.0f)
        snprintf(buf, size, "scale %g", (double)nd->scale);
}

/* The names a node reads, when that is not simply the line above (the DAG's edges). */
static void inputs_text(const fcl_model *m, int i, char *buf, size_t size)
{
    const fcl_node *nd = &m->nodes[i];
    buf[0] = '\0';
    if (i == 0 || (nd->n_inputs == 1 && nd->inputs[0] == i - 1))
        return;
    size_t at = 0;
    for (int j = 0; j < nd->n_inputs && at < size; j++) {
        int w = snprintf(buf + at, size - at, "%s%s", j ? "," : "", m->nodes[nd->inputs[j]].name);
        if (w < 0)
            break;
        at += (size_t)w;
    }
}

static size_t node_params(const fcl_node *nd)
{
    fcl_param_desc d[FCL_MAX_PARAMS];
    int n = fcl_ops[nd->op]->params(nd, d);
    size_t total = 0;
    for (int j = 0; j < n; j++)
        total += d[j].trainable ? d[j].count : 0;
    return total;
}

static void print_table(const fcl_model *m)
{
    char a[32], b[32], k[32], pb[16], fb[16], in[256];
    printf("%s (%s)\n", m->name, m->source);
    printf("%-24s %-10s %-13s %-13s %-14s %8s %8s  %s\n", "layer", "type", "size-in", "size-out", "kernel", "params",
           "FLOPS", "inputs");
    for (int i = 0; i < m->n_nodes; i++) {
        const fcl_node *nd = &m->nodes[i];
        snprintf(a, sizeof a, "%dx%dx%d", nd->in.h, nd->in.w, nd->in.c);
        snprintf(b, sizeof b, "%dx%dx%d", nd->out.h, nd->out.w, nd->out.c);
        kernel_text(nd, k, sizeof k);
        inputs_text(m, i, in, sizeof in);
        size_t params = node_params(nd);
        uint64_t macs = fcl_ops[nd->op]->macs(nd);
        /* An inception module's row sums its branches, as the paper's table does. */
        if (nd->op == FCL_OP_CONCAT) {
            size_t len = strlen(nd->name);
            bool first = true;
            for (int j = 0; j < i; j++)
                if (strncmp(m->nodes[j].name, nd->name, len) == 0 && m->nodes[j].name[len] == '/') {
                    if (first) /* the module's input is its first branch's */
                        snprintf(a, sizeof a, "%dx%dx%d", m->nodes[j].in.h, m->nodes[j].in.w, m->nodes[j].in.c);
                    first = false;
                    params += node_params(&m->nodes[j]);
                    macs += fcl_ops[m->nodes[j].op]->macs(&m->nodes[j]);
                }
        }
        printf("%-24s %-10s %-13s %-13s %-14s %8s %8s  %s\n", nd->name, fcl_ops[nd->op]->name, a, b, k,
               params ? fcl_format_count((double)params, pb, sizeof pb) : "",
               macs ? fcl_format_count((double)macs, fb, sizeof fb) : "", in);
    }
    printf("total: %s parameters (%zu), %s multiply-adds per image (%llu)\n",
           fcl_format_count((double)fcl_model_trainable(m), pb, sizeof pb), fcl_model_trainable(m),
           fcl_format_count((double)fcl_model_macs(m), fb, sizeof fb), (unsigned long long)fcl_model_macs(m));
}

static void print_json(const fcl_model *m, int batch, const size_t *memory)
{
    printf("{\"model\": \"%s\", \"params\": %zu, \"macs\": %llu", m->name, fcl_model_trainable(m),
           (unsigned long long)fcl_model_macs(m));
    if (memory)
        printf(", \"batch\": %d, \"activation_bytes_planned\": %zu, \"activation_bytes_unshared\": %zu", batch,
               memory[0] * sizeof(float), memory[1] * sizeof(float));
    printf(", \"layers\": [\n");
    for (int i = 0; i < m->n_nodes; i++) {
        const fcl_node *nd = &m->nodes[i];
        printf("  {\"name\": \"%s\", \"type\": \"%s\", \"in\": [%d, %d, %d], \"out\": [%d, %d, %d], "
               "\"params\": %zu, \"macs\": %llu, \"inputs\": [",
               nd->name, fcl_ops[nd->op]->name, nd->in.h, nd->in.w, nd->in.c, nd->out.h, nd->out.w, nd->out.c,
               node_params(nd), (unsigned long long)fcl_ops[nd->op]->macs(nd));
        for (int j = 0; j < nd->n_inputs; j++)
            printf("%s%d", j ? ", " : "", nd->inputs[j]);
        /* The attributes, so that other tools (bench/pytorch_peer.py) can rebuild the graph. */
        printf("], \"kernel\": [%d, %d], \"stride\": [%d, %d], \"pad\": [%d, %d], \"relu\": %d, "
               "\"groups\": %d, \"bias\": %d, \"maxout\": %d, \"scale\": %g, \"size\": %d, \"alpha\": %g, "
               "\"beta\": %g, \"k\": %g, \"eps\": %g}%s\n",
               nd->kh, nd->kw, nd->sh, nd->sw, nd->ph, nd->pw, nd->relu, nd->groups, nd->bias, nd->group_size,
               (double)nd->scale, nd->size, (double)nd->alpha, (double)nd->beta, (double)nd->k, (double)nd->eps,
               i + 1 < m->n_nodes ? "," : "");
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
    if (memory && (st = fcl_plan_activations(m, batch, false, &mem[0], &mem[1])) != FCL_SUCCESS) {
        fcl_model_destroy(m);
        return cli_fail("planning memory", st);
    }
    if (expand) {
        char *text;
        if ((st = fcl_model_format(m, &text)) == FCL_SUCCESS) {
            fputs(text, stdout);
            free(text);
        }
    } else if (json) {
        print_json(m, batch, memory ? mem : NULL);
    } else {
        print_table(m);
        if (memory)
            printf("inference activations at batch %d: %.1f MiB planned (buffers reused by lifetime), "
                   "%.1f MiB if every activation had its own\n",
                   batch, mem[0] * 4 / 1048576.0, mem[1] * 4 / 1048576.0);
    }
    fcl_model_destroy(m);
    return st == FCL_SUCCESS ? 0 : cli_fail("info", st);
}
