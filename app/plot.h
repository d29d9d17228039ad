/* Small SVG plots (ROC curves, FLOPS against accuracy): axes with ticks, linear or log x,
 * lines or labelled points with error bars. A file a browser opens as it is. */
#ifndef FCL_EVAL_PLOT_H
#define FCL_EVAL_PLOT_H
#include "facecl.h"

typedef struct fcl_plot_series {
    const char *label;
    const double *x, *y;
    const double *y_err;             /* NULL: no error bars */
    const char *const *point_labels; /* NULL: none */
    int n;
    bool points;                     /* markers instead of a line */
} fcl_plot_series;

typedef struct fcl_plot {
    const char *title, *x_label, *y_label;
    bool x_log;
    double x_min, x_max, y_min, y_max;
} fcl_plot;

fcl_status fcl_plot_svg(const char *path, const fcl_plot *p, const fcl_plot_series *series, int n_series);
#endif
