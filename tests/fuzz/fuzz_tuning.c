/* GEMM tuning files (FACECL_CACHE_DIR/gemm-tuning-<hash>.txt): the parser that decides
 * which kernel configurations every net on a device uses, against a fixed device. */
#include "fuzz_support.h"
#include "gemm/gemm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The device a fuzzed file claims to be for (tests/fuzz/corpus/tuning/valid.txt is one). */
static const fcl_runtime *fuzz_device(void)
{
    static struct fcl_runtime rt;
    snprintf(rt.info.name, sizeof rt.info.name, "fuzz device");
    snprintf(rt.info.driver_version, sizeof rt.info.driver_version, "1.0");
    snprintf(rt.info.platform, sizeof rt.info.platform, "fuzz platform");
    snprintf(rt.info.platform_version, sizeof rt.info.platform_version, "OpenCL 1.2");
    return &rt;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    char *text = fuzz_text(data, size), why[300], *again = NULL;
    fcl_gemm_db db, back;
    if (text && fcl_gemm_db_parse(fuzz_device(), text, &db, why, sizeof why) == FCL_SUCCESS) {
        /* What was accepted holds only configurations the kernel takes, and survives a
         * round trip through the writer. */
        for (int c = 0; c < FCL_GEMM_CLASSES; c++) {
            char config[128];
            fcl_gemm_config parsed;
            fcl_gemm_config_format(&db.config[c], config, sizeof config);
            if (db.has[c] && !fcl_gemm_config_parse(config, &parsed, why, sizeof why))
                abort();
        }
        if (fcl_gemm_db_format(fuzz_device(), &db, &again) != FCL_SUCCESS ||
            fcl_gemm_db_parse(fuzz_device(), again, &back, why, sizeof why) != FCL_SUCCESS ||
            memcmp(back.has, db.has, sizeof db.has) != 0)
            abort();
    }
    free(again);
    free(text);
    return 0;
}
