#include "histogram.h"

#include <assert.h>
#include <string.h>

const double dv_histogram_latency_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                              0.5,   1,    2.5,   5,    10,  30};
const size_t dv_histogram_latency_nbounds =
    sizeof(dv_histogram_latency_bounds) / sizeof(dv_histogram_latency_bounds[0]);

void dv_histogram_init(dv_histogram *h, const double *bounds, size_t nbounds)
{
    assert(nbounds <= DV_HISTOGRAM_MAX_BOUNDS);
    memset(h, 0, sizeof(*h));
    pthread_mutex_init(&h->lock, NULL);
    h->nbounds = nbounds;
    memcpy(h->bounds, bounds, nbounds * sizeof(*bounds));
}

void dv_histogram_destroy(dv_histogram *h)
{
    pthread_mutex_destroy(&h->lock);
}

void dv_histogram_observe(dv_histogram *h, double value)
{
    size_t i = 0;
    while (i < h->nbounds && value > h->bounds[i])
        i++;
    pthread_mutex_lock(&h->lock);
    h->counts[i]++;
    h->sum += value;
    pthread_mutex_unlock(&h->lock);
}

void dv_histogram_render(dv_histogram *h, const char *name, const char *labels, dv_buf *b)
{
    uint64_t counts[DV_HISTOGRAM_MAX_BOUNDS + 1];
    pthread_mutex_lock(&h->lock);
    memcpy(counts, h->counts, sizeof(counts));
    double sum = h->sum;
    pthread_mutex_unlock(&h->lock);
    const char *sep = labels && *labels ? "," : "";
    labels = labels ? labels : "";
    uint64_t cum = 0;
    for (size_t i = 0; i <= h->nbounds; i++) {
        cum += counts[i];
        if (i < h->nbounds)
            dv_buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, h->bounds[i],
                          (unsigned long long)cum);
        else
            dv_buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
                          (unsigned long long)cum);
    }
    const char *open = *labels ? "{" : "", *close = *labels ? "}" : "";
    dv_buf_printf(b, "%s_sum%s%s%s %.9g\n%s_count%s%s%s %llu\n", name, open, labels, close, sum,
                  name, open, labels, close, (unsigned long long)cum);
}

void dv_prom_label_value(dv_buf *b, const char *s)
{
    for (const char *v = s ? s : ""; *v; v++) {
        if (*v == '\\' || *v == '"')
            dv_buf_printf(b, "\\%c", *v);
        else if (*v == '\n')
            dv_buf_appends(b, "\\n");
        else
            dv_buf_xappend(b, v, 1);
    }
}
