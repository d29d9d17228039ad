/* LFW pairs files against a small labelled data set (identities ann, ben, cat). */
#include "eval/pairs.h"
#include "fuzz_support.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char names[3][FCL_CLASS_NAME_MAX] = {"ann", "ben", "cat"};
    static int labels[9] = {0, 0, 0, 1, 1, 1, 2, 2, 2}, starts[4] = {0, 3, 6, 9};
    static const fcl_dataset d = {.n = 9, .n_classes = 3, .labels = labels, .class_names = names, .class_start = starts};
    fuzz_quiet();
    char *text = fuzz_text(data, size);
    if (!text)
        return 0;
    fcl_pairs p;
    if (fcl_pairs_parse(text, "fuzz-pairs.txt", &d, &p) == FCL_SUCCESS)
        fcl_pairs_free(&p);
    free(text);
    return 0;
}
