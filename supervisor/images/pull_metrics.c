#include "pull_metrics.h"

#include <stdlib.h>

#include "cleanup.h"
#include "duration.h"
#include "histogram.h"
#include "xalloc.h"

/* A pull is seconds to minutes: a small layer from a near registry up to
 * image_pull_timeout's default of 5 minutes and beyond. */
static const double bounds[] = {0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};

struct dv_pull_metrics {
    dv_histogram ok, failed;
};

dv_pull_metrics *dv_pull_metrics_new(void)
{
    dv_pull_metrics *m = dv_xcalloc(1, sizeof(*m));
    dv_histogram_init(&m->ok, bounds, DV_ARRAY_SIZE(bounds));
    dv_histogram_init(&m->failed, bounds, DV_ARRAY_SIZE(bounds));
    return m;
}

void dv_pull_metrics_free(dv_pull_metrics *m)
{
    if (!m)
        return;
    dv_histogram_destroy(&m->ok);
    dv_histogram_destroy(&m->failed);
    free(m);
}

void dv_pull_metrics_observe(dv_pull_metrics *m, int64_t elapsed_ns, bool ok)
{
    if (m)
        dv_histogram_observe(ok ? &m->ok : &m->failed,
                             (double)elapsed_ns / (double)DV_NSEC_PER_SEC);
}

void dv_pull_metrics_render(dv_pull_metrics *m, dv_buf *b)
{
    static const char name[] = "dockvisor_image_pull_duration_seconds";
    dv_buf_printf(b,
                  "# HELP %s Image pulls from the first byte to the end of the Engine's "
                  "progress stream, by result.\n# TYPE %s histogram\n",
                  name, name);
    dv_histogram_render(&m->ok, name, "result=\"success\"", b);
    dv_histogram_render(&m->failed, name, "result=\"failure\"", b);
}
