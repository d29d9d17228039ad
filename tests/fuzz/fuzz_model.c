/* Model files: fcl_model_parse on any text, then the derived sizes. */
#include "fuzz_support.h"
#include "graph/graph.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    char *text = fuzz_text(data, size);
    if (!text)
        return 0;
    fcl_model *m;
    if (fcl_model_parse(text, "fuzz.model", &m) == FCL_SUCCESS) {
        size_t planned, unshared;
        (void)fcl_model_macs(m);
        (void)fcl_model_trainable(m);
        (void)fcl_plan_activations(m, 2, true, &planned, &unshared);
        fcl_model_destroy(m);
    }
    free(text);
    return 0;
}
