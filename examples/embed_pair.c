/* embed_pair MODEL WEIGHTS A B: the squared distance between two images' embeddings,
 * and `same` or `different` at the threshold stored in WEIGHTS (by `facecl eval`).
 * Uses nothing but the installed public header:
 *   cc embed_pair.c $(pkg-config --cflags --libs facecl) -o embed_pair */
#include <facecl.h>

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s MODEL WEIGHTS IMAGE_A IMAGE_B\n", argv[0]);
        return 2;
    }
    fcl_runtime *rt = NULL;
    fcl_model *model = NULL;
    fcl_embedder *e = NULL;
    float *emb = NULL;
    const char *failed = "opening a device";
    fcl_status st = fcl_runtime_create(NULL, NULL, &rt);
    if (st == FCL_SUCCESS && (failed = argv[1], st = fcl_model_load(argv[1], &model)) == FCL_SUCCESS)
        st = (failed = "planning the network", fcl_embedder_create(rt, model, 2, &e));
    if (st == FCL_SUCCESS)
        st = (failed = argv[2], fcl_embedder_load_weights(e, argv[2]));
    const int dim = st == FCL_SUCCESS ? fcl_model_describe(model).embedding_size : 0;
    if (st == FCL_SUCCESS && !(emb = malloc(2 * (size_t)dim * sizeof *emb)))
        st = FCL_ERR_OUT_OF_HOST_MEMORY;
    const char *images[2] = {argv[3], argv[4]};
    if (st == FCL_SUCCESS)
        st = (failed = "embedding the images", fcl_embed_files(e, images, 2, emb));
    bool found = false;
    double threshold = 0;
    if (st == FCL_SUCCESS)
        st = (failed = argv[2], fcl_weights_threshold(argv[2], &found, &threshold));
    if (st == FCL_SUCCESS) {
        const double d = fcl_squared_distance(emb, emb + dim, dim);
        printf("%s %s: squared distance %.6f", argv[3], argv[4], d);
        if (found)
            printf(", threshold %.4f: %s", threshold, d <= threshold ? "same" : "different");
        printf("\n");
    } else {
        fprintf(stderr, "embed_pair: %s: %s\n", failed, fcl_status_str(st));
    }
    free(emb);
    fcl_embedder_destroy(e);
    fcl_model_destroy(model);
    fcl_runtime_destroy(rt);
    return st == FCL_SUCCESS ? 0 : 1;
}
