#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WIDTH 640
#define HEIGHT 480
#define LEFT 70
#define RIGHT 20
#define TOP 40
#define BOTTOM 60

static const char *const colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};

/* XML text: the labels come from model names and user paths. */
static void put_escaped(fcl_strbuf *t, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fcl_strbuf_printf(t, "&lt;"); break;
        case '>': fcl_strbuf_printf(t, "&gt;"); break;
        case '&': fcl_strbuf_printf(t, "&amp;"); break;
        case '"': fcl_strbuf_printf(t, "&quot;"); break;
        default: fcl_strbuf_printf(t, "%c", *s);
        }
    }
}

static double px(const fcl_plot *p, double x)
{
    double u = p->x_log ? (log10(x) - log10(p->x_min)) / (log10(p->x_max) - log10(p->x_min))
                        : (x - p->x_min) / (p->x_max - p->x_min);
    return LEFT + u * (WIDTH - LEFT - RIGHT);
}

static double py(const fcl_plot *p, double y)
{
    return HEIGHT - BOTTOM - (y - p->y_min) / (p->y_max - p->y_min) * (HEIGHT - TOP - BOTTOM);
}

/* A decade's label: 1e-05 .. 1 as %g, and 1000 up as 1K, 10M, 1G (multiply-adds). */
static void decade_label(double d, char *out, size_t size)
{
    static const char *const suffix[] = {"K", "M", "G", "T"};
    int k = d >= 1000 ? (int)fmin(4, floor(log10(d) / 3 + 1e-9)) : 0;
    if (k > 0)
        snprintf(out, size, "%g%s", d / pow(1000, k), suffix[k - 1]);
    else
        snprintf(out, size, "%g", d);
}

static void axes(fcl_strbuf *t, const fcl_plot *p)
{
    fcl_strbuf_printf(t, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"black\"/>\n", LEFT, TOP,
        WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    if (p->x_log) {
        for (double d = pow(10, ceil(log10(p->x_min) - 1e-9)); d <= p->x_max * (1 + 1e-9); d *= 10) {
            double x = px(p, d);
            char label[32];
            decade_label(d, label, sizeof label);
            fcl_strbuf_printf(t, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>\n", x, TOP, x, HEIGHT - BOTTOM);
            fcl_strbuf_printf(t, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", x, HEIGHT - BOTTOM + 18, label);
        }
    } else {
        for (int i = 0; i <= 5; i++) {
            double v = p->x_min + i * (p->x_max - p->x_min) / 5, x = px(p, v);
            fcl_strbuf_printf(t, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>\n", x, TOP, x, HEIGHT - BOTTOM);
            fcl_strbuf_printf(t, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.3g</text>\n", x, HEIGHT - BOTTOM + 18, v);
        }
    }
    for (int i = 0; i <= 5; i++) {
        double v = p->y_min + i * (p->y_max - p->y_min) / 5, y = py(p, v);
        fcl_strbuf_printf(t, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", LEFT, y, WIDTH - RIGHT, y);
        fcl_strbuf_printf(t, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.3g</text>\n", LEFT - 6, y + 4, v);
    }
    fcl_strbuf_printf(t, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"16\">", WIDTH / 2, TOP - 14);
    put_escaped(t, p->title);
    fcl_strbuf_printf(t, "</text>\n<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", (LEFT + WIDTH - RIGHT) / 2, HEIGHT - 18);
    put_escaped(t, p->x_label);
    fcl_strbuf_printf(t, "</text>\n<text transform=\"translate(18,%d) rotate(-90)\" text-anchor=\"middle\">", (TOP + HEIGHT - BOTTOM) / 2);
    put_escaped(t, p->y_label);
    fcl_strbuf_printf(t, "</text>\n");
}

static bool inside(const fcl_plot *p, double x, double y)
{
    return isfinite(x) && isfinite(y) && (!p->x_log || x > 0);
}

static void series_svg(fcl_strbuf *t, const fcl_plot *p, const fcl_plot_series *s, const char *colour, int index)
{
    if (!s->points) {
        fcl_strbuf_printf(t, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", colour);
        for (int i = 0; i < s->n; i++)
            if (inside(p, s->x[i], s->y[i]))
                fcl_strbuf_printf(t, "%.1f,%.1f ", px(p, s->x[i]), py(p, s->y[i]));
        fcl_strbuf_printf(t, "\"/>\n");
    }
    for (int i = 0; s->points && i < s->n; i++) {
        if (!inside(p, s->x[i], s->y[i]))
            continue;
        double x = px(p, s->x[i]), y = py(p, s->y[i]);
        if (s->y_err)
            fcl_strbuf_printf(t, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", x,
                py(p, s->y[i] - s->y_err[i]), x, py(p, s->y[i] + s->y_err[i]), colour);
        fcl_strbuf_printf(t, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>\n", x, y, colour);
        if (s->point_labels) {
            /* Left of the point when it would run past the frame (11 px type: ~6.5 px a letter). */
            const bool left = x + 6 + 6.5 * (double)strlen(s->point_labels[i]) > WIDTH - RIGHT;
            fcl_strbuf_printf(t, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\"%s>", left ? x - 6 : x + 6, y - 6,
                              left ? " text-anchor=\"end\"" : "");
            put_escaped(t, s->point_labels[i]);
            fcl_strbuf_printf(t, "</text>\n");
        }
    }
    int ly = TOP + 16 + 18 * index; /* legend, top left inside the frame */
    fcl_strbuf_printf(t, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>\n", LEFT + 10, ly - 10, colour);
    fcl_strbuf_printf(t, "<text x=\"%d\" y=\"%d\">", LEFT + 28, ly);
    put_escaped(t, s->label);
    fcl_strbuf_printf(t, "</text>\n");
}

fcl_status fcl_plot_svg(const char *path, const fcl_plot *p, const fcl_plot_series *series, int n_series)
{
    if (!(p->x_max > p->x_min) || !(p->y_max > p->y_min) || (p->x_log && !(p->x_min > 0)))
        return FCL_ERR_INVALID_ARGUMENT;
    fcl_strbuf t = {0};
    fcl_strbuf_printf(&t, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" "
            "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n", WIDTH, HEIGHT);
    axes(&t, p);
    for (int i = 0; i < n_series; i++)
        series_svg(&t, p, &series[i], colours[i % (int)(sizeof colours / sizeof colours[0])], i);
    fcl_strbuf_printf(&t, "</svg>\n");
    fcl_status st = t.failed ? FCL_ERR_OUT_OF_HOST_MEMORY : fcl_write_file_atomic(path, t.text, t.len);
    if (st != FCL_SUCCESS)
        fcl_log(FCL_LOG_ERROR, "cannot write the plot %s", path);
    free(t.text);
    return st;
}
