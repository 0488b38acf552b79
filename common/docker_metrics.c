/* The Engine client's measurements of its own calls (docker.h). */
#include "docker_internal.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "duration.h"
#include "histogram.h"
#include "xalloc.h"

struct dv_docker_metrics {
    dv_histogram latency;
    atomic_uint_least64_t errors[DV_DOCKER_ERR_KIND_COUNT];
};

static const char *const kind_names[DV_DOCKER_ERR_KIND_COUNT] = {
    [DV_DOCKER_ERR_UNREACHABLE] = "unreachable",
    [DV_DOCKER_ERR_TIMEOUT] = "timeout",
    [DV_DOCKER_ERR_NOT_FOUND] = "not_found",
    [DV_DOCKER_ERR_CONFLICT] = "conflict",
    [DV_DOCKER_ERR_CLIENT] = "client_error",
    [DV_DOCKER_ERR_SERVER] = "server_error",
    [DV_DOCKER_ERR_OTHER] = "other",
};

const char *dv_docker_error_kind_name(enum dv_docker_error_kind kind)
{
    return (unsigned)kind < DV_DOCKER_ERR_KIND_COUNT ? kind_names[kind] : "other";
}

dv_docker_metrics *dv_docker_metrics_new(void)
{
    dv_docker_metrics *m = dv_xcalloc(1, sizeof(*m));
    dv_histogram_init(&m->latency, dv_histogram_latency_bounds, dv_histogram_latency_nbounds);
    for (int i = 0; i < DV_DOCKER_ERR_KIND_COUNT; i++)
        atomic_init(&m->errors[i], 0);
    return m;
}

void dv_docker_metrics_free(dv_docker_metrics *m)
{
    if (!m)
        return;
    dv_histogram_destroy(&m->latency);
    free(m);
}

static enum dv_docker_error_kind classify(int r, const dv_error *err)
{
    int status = err ? err->http_status : 0;
    if (err && err->unreachable)
        return DV_DOCKER_ERR_UNREACHABLE;
    if (r == -ETIMEDOUT)
        return DV_DOCKER_ERR_TIMEOUT;
    if (status == 404)
        return DV_DOCKER_ERR_NOT_FOUND;
    if (status == 409)
        return DV_DOCKER_ERR_CONFLICT;
    if (status >= 400 && status < 500)
        return DV_DOCKER_ERR_CLIENT;
    if (status >= 500)
        return DV_DOCKER_ERR_SERVER;
    return DV_DOCKER_ERR_OTHER;
}

void dv_docker_metrics_observe(dv_docker *dk, const dv_docker_request *req, int64_t elapsed_ns,
                               int r, const dv_error *err)
{
    dv_docker_metrics *m = dv_docker_metrics_of(dk);
    if (r < 0 && r != -ECANCELED && !(err && err->http_status == 304))
        atomic_fetch_add(&m->errors[classify(r, err)], 1);
    if (!req->on_data && req->timeout_ns != 0 && r != -ECANCELED)
        dv_histogram_observe(&m->latency, (double)elapsed_ns / (double)DV_NSEC_PER_SEC);
}

uint64_t dv_docker_errors(dv_docker *dk, enum dv_docker_error_kind kind)
{
    if ((unsigned)kind >= DV_DOCKER_ERR_KIND_COUNT)
        return 0;
    return atomic_load(&dv_docker_metrics_of(dk)->errors[kind]);
}

void dv_docker_latency_render(dv_docker *dk, const char *name, const char *labels, dv_buf *b)
{
    dv_histogram_render(&dv_docker_metrics_of(dk)->latency, name, labels, b);
}
