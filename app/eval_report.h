/* What the CLI and the sweep make of an evaluation (fcl_evaluate): the table on a
 * terminal, and the ROC curve as roc.csv and roc.svg. */
#ifndef FCL_APP_EVAL_REPORT_H
#define FCL_APP_EVAL_REPORT_H
#include "facecl.h"

#include <stdio.h>

void eval_print(FILE *f, const fcl_eval_result *r, const fcl_eval_options *o);
/* dir/roc.csv (false accept rate, true accept rate, threshold) and dir/roc.svg. */
fcl_status eval_write_roc(const char *dir, const fcl_eval_result *r);
#endif
