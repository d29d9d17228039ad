#include "text.h"

#include <stdio.h>

const char *fcl_format_count(double v, char *out, size_t size)
{
    static const struct {
        double scale;
        const char *suffix;
    } units[] = {{1e9, "B"}, {1e6, "M"}, {1e3, "K"}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (v >= units[i].scale) {
            snprintf(out, size, "%.*f%s", v >= 100 * units[i].scale ? 0 : 1, v / units[i].scale, units[i].suffix);
            return out;
        }
    snprintf(out, size, "%.0f", v);
    return out;
}
