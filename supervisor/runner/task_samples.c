#include "task_samples.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "clock.h"
#include "docker_stats.h"
#include "docklog_protocol.h"
#include "json_strict.h"
#include "lanes.h"
#include "task_runner.h"
#include "task_table.h"
#include "xalloc.h"

/* The first round: after recovery and the first events resync, not in their way. */
#define FIRST_DELAY (2 * DV_NSEC_PER_SEC)

struct dv_task_samples {
    dv_runtime *run;
    dv_timer *timer;
    bool busy; /* a round is out on a worker */
    dv_task_sample *v;
    size_t n;
};

/* One round: what to sample (copied on the loop), and the samples (on the worker). */
struct item {
    char *container_id; /* the task's current container, NULL: none yet */
    bool running;       /* ask the Engine for its stats */
    char *checkpoint;   /* NULL: no helper */
    dv_task_sample sample;
};

struct round {
    dv_task_samples *s;
    dv_docker *dk;
    struct item *items;
    size_t n;
};

static void round_free(struct round *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->items[i].container_id);
        free(r->items[i].checkpoint);
    }
    free(r->items);
    free(r);
}

/* A counter of the checkpoint's progress; absent or negative: 0. */
static uint64_t counter(const json_t *progress, const char *key)
{
    json_int_t i = json_integer_value(json_object_get(progress, key));
    return i > 0 ? (uint64_t)i : 0;
}

void dv_task_sample_from_stats(const json_t *answer, dv_task_sample *out)
{
    dv_container_stats s;
    dv_container_stats_parse(answer, &s);
    out->has_stats = true;
    out->cpu_usage_ns = s.cpu_ns;
    out->memory_bytes = dv_container_stats_memory(&s);
}

bool dv_task_sample_from_checkpoint(const json_t *cp, const char *container_id, dv_task_sample *out)
{
    const char *id = json_string_value(json_object_get(cp, "container_id"));
    const json_t *p = json_object_get(cp, DV_DOCKLOG_PROGRESS_KEY);
    /* A checkpoint of the previous container would show its counts as the new one's. */
    if (!id || !container_id || strcmp(id, container_id) != 0 || !json_is_object(p))
        return false;
    out->has_progress = true;
    out->log_entries = counter(p, DV_DOCKLOG_PROGRESS_ENTRIES);
    out->log_bytes = counter(p, DV_DOCKLOG_PROGRESS_BYTES);
    out->log_starts = counter(p, DV_DOCKLOG_PROGRESS_STARTS);
    out->log_lag_ns = json_integer_value(json_object_get(p, DV_DOCKLOG_PROGRESS_LAG_NS));
    out->log_at_ns = json_integer_value(json_object_get(p, DV_DOCKLOG_PROGRESS_AT));
    return true;
}

/* On a worker. */
static void round_work(void *data)
{
    struct round *r = data;
    bool engine_gone = false;
    for (size_t i = 0; i < r->n; i++) {
        struct item *it = &r->items[i];
        if (it->checkpoint) {
            _cleanup_json_ json_t *cp = NULL;
            dv_error err;
            if (dv_json_read_strict(it->checkpoint, &cp, &err) == 0)
                dv_task_sample_from_checkpoint(cp, it->container_id, &it->sample);
        }
        if (it->running && !engine_gone) {
            _cleanup_json_ json_t *st = NULL;
            dv_error err;
            dv_error_clear(&err);
            if (dv_docker_container_stats_once(r->dk, it->container_id, &st, &err) == 0) {
                dv_task_sample_from_stats(st, &it->sample);
                it->sample.stats_at_ns = dv_monotonic_ns();
            } else if (err.unreachable || err.code == -ETIMEDOUT) {
                engine_gone = true;
            }
        }
    }
}

static void start_round(dv_task_samples *s);

static void on_timer(dv_loop *loop, void *userdata)
{
    (void)loop;
    start_round(userdata);
}

static int by_task_id(const void *a, const void *b)
{
    return strcmp(((const dv_task_sample *)a)->task_id, ((const dv_task_sample *)b)->task_id);
}

/* On the loop: the new samples replace the old ones; a task whose stats call failed
 * this round keeps its previous stats (their age says how old). */
static void round_done(dv_loop *loop, void *data)
{
    (void)loop;
    struct round *r = data;
    dv_task_samples *s = r->s;
    dv_task_sample *v = dv_xcalloc(r->n ? r->n : 1, sizeof(*v));
    for (size_t i = 0; i < r->n; i++) {
        v[i] = r->items[i].sample;
        const dv_task_sample *old = dv_task_samples_get(s, v[i].task_id);
        if (!v[i].has_stats && old && old->has_stats && r->items[i].running) {
            v[i].has_stats = true;
            v[i].stats_at_ns = old->stats_at_ns;
            v[i].cpu_usage_ns = old->cpu_usage_ns;
            v[i].memory_bytes = old->memory_bytes;
        }
    }
    /* Sorted for dv_task_samples_get(): a render looks up every task once per family. */
    qsort(v, r->n, sizeof(*v), by_task_id);
    free(s->v);
    s->v = v;
    s->n = r->n;
    s->busy = false;
    round_free(r);
    dv_timer_arm(s->timer, DV_TASK_SAMPLES_PERIOD);
}

static void round_discard(void *data)
{
    round_free(data);
}

static void start_round(dv_task_samples *s)
{
    if (s->busy)
        return;
    dv_runtime *run = s->run;
    struct round *r = dv_xcalloc(1, sizeof(*r));
    r->s = s;
    r->dk = run->quick_docker;
    size_t n = dv_task_table_size(run->tasks);
    r->items = dv_xcalloc(n ? n : 1, sizeof(*r->items));
    for (size_t i = 0; i < n; i++) {
        const dv_task *t = dv_task_table_at(run->tasks, i);
        const dv_task_rt *rt = dv_rt(t);
        struct item *it = &r->items[r->n++];
        snprintf(it->sample.task_id, sizeof(it->sample.task_id), "%s", t->id);
        it->container_id = t->container_id ? dv_xstrdup(t->container_id) : NULL;
        it->running = t->container_id && t->state == DV_TASK_RUNNING;
        if (rt && rt->docklog_checkpoint_path)
            it->checkpoint = dv_xstrdup(rt->docklog_checkpoint_path);
    }
    if (dv_lanes_submit(run->lanes, DV_LANE_BACKGROUND, round_work, round_done, round_discard, r) <
        0) {
        round_free(r);
        dv_timer_arm(s->timer, DV_TASK_SAMPLES_PERIOD);
        return;
    }
    s->busy = true;
}

dv_task_samples *dv_task_samples_new(dv_runtime *run)
{
    dv_task_samples *s = dv_xcalloc(1, sizeof(*s));
    s->run = run;
    s->timer = dv_timer_new(run->loop, on_timer, s);
    dv_timer_arm(s->timer, FIRST_DELAY);
    return s;
}

void dv_task_samples_free(dv_task_samples *s)
{
    if (!s)
        return;
    dv_timer_free(s->timer);
    free(s->v);
    free(s);
}

const dv_task_sample *dv_task_samples_get(const dv_task_samples *s, const char *task_id)
{
    if (!s || !s->n)
        return NULL;
    dv_task_sample key;
    snprintf(key.task_id, sizeof(key.task_id), "%s", task_id);
    return bsearch(&key, s->v, s->n, sizeof(*s->v), by_task_id);
}
