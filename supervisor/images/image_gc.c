/* The agent's image GC (image_gc.h): reference table, persistence, the removal
 * timer, and the removal job. */
#include "image_gc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"
#include "cleanup.h"
#include "clock.h"
#include "duration.h"
#include "image_refs.h"
#include "log.h"
#include "xalloc.h"

/* A removal that failed for another reason than a conflict (Docker down, a
 * timeout) is tried again after this long. */
#define RETRY_NS (60 * DV_NSEC_PER_SEC)

/* A task whose image step finished while that image was being removed. */
struct waiter {
    char task_id[DV_UUID_STRLEN + 1];
    uint64_t gen;
    dv_image_ready_fn ready;
};

struct dv_image_gc {
    dv_runtime *run;
    dv_image_refs *refs;
    dv_timer *timer;
    bool removing; /* a removal job is out */
    char removing_id[160];
    struct waiter *waiters;
    size_t n_waiters;
    uint64_t removed, kept, failures; /* for /v1/metrics */
};

/* Worker side: copies only. */
struct rm_job {
    dv_image_gc *gc; /* for the loop side; the worker never touches it */
    dv_docker *dk;
    char *image_id;
    char **names;
    size_t n_names;
    enum dv_image_removal outcome;
    char detail[DV_ERROR_MSG_MAX + 256];
};

static void rm_job_free(struct rm_job *j)
{
    if (!j)
        return;
    free(j->image_id);
    for (size_t i = 0; i < j->n_names; i++)
        free(j->names[i]);
    free(j->names);
    free(j);
}

/* ---- persistence and the timer ---- */

static void save(dv_image_gc *gc)
{
    _cleanup_json_ json_t *j = dv_image_refs_to_json(gc->refs);
    dv_error err;
    if (dv_state_store_save_images(gc->run->store, j, &err) < 0)
        dv_log_error("image gc: saving the image table: %s", err.msg);
}

static void rearm(dv_image_gc *gc)
{
    if (gc->removing)
        return; /* the removal's result re-arms */
    int64_t due = dv_image_refs_next_due(gc->refs);
    if (due)
        dv_timer_arm(gc->timer, due - dv_realtime_ns());
    else
        dv_timer_disarm(gc->timer);
}

static const char *display_name(const dv_image_gc *gc, const char *image_id)
{
    size_t n = 0;
    const char *const *names = dv_image_refs_names(gc->refs, image_id, &n);
    return n ? names[0] : image_id;
}

/* ---- the removal job (worker) ---- */

/* NAME, a reference as a task wrote it ("repo:tag", no https://), as Docker
 * lists it in RepoTags: Docker Hub's domain and its "library/" left out.
 * Points into NAME. */
static const char *familiar_name(const char *name)
{
    static const char *const hub[] = {"docker.io/", "index.docker.io/"};
    for (size_t i = 0; i < DV_ARRAY_SIZE(hub); i++)
        if (strncmp(name, hub[i], strlen(hub[i])) == 0) {
            name += strlen(hub[i]);
            break;
        }
    const char *rest = name + strlen("library/");
    if (strncmp(name, "library/", strlen("library/")) == 0 && !strchr(rest, '/'))
        name = rest;
    return name;
}

static bool is_our_name(const char *tag, const char *const *names, size_t n_names)
{
    for (size_t i = 0; i < n_names; i++)
        if (strcmp(familiar_name(names[i]), tag) == 0)
            return true;
    return false;
}

static bool is_placeholder(const char *tag)
{
    return !tag || strcmp(tag, "<none>:<none>") == 0;
}

/* The image's tags that no task used, comma-separated ("" when none). */
static void foreign_tags(const json_t *img, const char *const *names, size_t n_names, char *buf,
                         size_t size)
{
    size_t i, len = 0;
    json_t *tag;
    buf[0] = '\0';
    json_array_foreach(json_object_get(img, "RepoTags"), i, tag)
    {
        const char *s = json_string_value(tag);
        if (is_placeholder(s) || is_our_name(s, names, n_names) || len >= size)
            continue;
        len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "", s);
    }
}

/* By image id without force, as Nomad's coordinator removes images: Docker
 * then deletes the image with its one repository's tags, and refuses (409)
 * when a container uses it or two repositories name it. Removal by id alone
 * would still untag a second tag in the task's repository ("app:1" beside the
 * user's "app:mine"), so an image any name no task used tags is kept without
 * asking Docker. Names our tasks used in several repositories are untagged
 * first, all but one, since Docker would refuse the image they share. */
enum dv_image_removal dv_image_remove_unused(dv_docker *dk, const char *image_id,
                                             const char *const *names, size_t n_names, char *detail,
                                             size_t detail_size)
{
    dv_error err;
    detail[0] = '\0';
    _cleanup_json_ json_t *img = NULL;
    if (dv_docker_image_inspect(dk, image_id, &img, &err) < 0) {
        if (dv_docker_is_not_found(&err))
            return DV_IMAGE_REMOVED;
        snprintf(detail, detail_size, "inspect: %s", err.msg);
        return DV_IMAGE_REMOVAL_FAILED;
    }
    char tags[512];
    foreign_tags(img, names, n_names, tags, sizeof(tags));
    if (tags[0]) {
        snprintf(detail, detail_size,
                 "also tagged as %s, which no task used (the image GC never untags those)", tags);
        return DV_IMAGE_KEPT;
    }
    /* Every tag is ours now: all but the first go by name. */
    size_t i, n = 0;
    json_t *tag;
    json_array_foreach(json_object_get(img, "RepoTags"), i, tag)
    {
        const char *s = json_string_value(tag);
        if (is_placeholder(s) || n++ == 0)
            continue;
        if (dv_docker_image_remove(dk, s, false, &err) < 0 && !dv_docker_is_not_found(&err)) {
            snprintf(detail, detail_size, "untag %s: %s", s, err.msg);
            return dv_docker_is_conflict(&err) ? DV_IMAGE_KEPT : DV_IMAGE_REMOVAL_FAILED;
        }
    }
    if (dv_docker_image_remove(dk, image_id, false, &err) < 0 && !dv_docker_is_not_found(&err)) {
        snprintf(detail, detail_size, "%s", err.msg);
        return dv_docker_is_conflict(&err) ? DV_IMAGE_KEPT : DV_IMAGE_REMOVAL_FAILED;
    }
    return DV_IMAGE_REMOVED;
}

static void rm_run(void *data)
{
    struct rm_job *j = data;
    j->outcome = dv_image_remove_unused(j->dk, j->image_id, (const char *const *)j->names,
                                        j->n_names, j->detail, sizeof(j->detail));
}

/* ---- the removal job (loop) ---- */

static void settle_waiters(dv_image_gc *gc, bool gone)
{
    dv_runtime *run = gc->run;
    struct waiter *w = gc->waiters;
    size_t n = gc->n_waiters;
    gc->waiters = NULL;
    gc->n_waiters = 0;
    for (size_t i = 0; i < n; i++) {
        dv_task *t = dv_task_table_get(run->tasks, w[i].task_id);
        if (t && t->gen == w[i].gen && t->state == DV_TASK_PULLING)
            w[i].ready(run, t, gone);
    }
    free(w);
}

static void rm_done(dv_loop *loop, void *data)
{
    (void)loop;
    struct rm_job *j = data;
    dv_image_gc *gc = j->gc;
    const char *name = j->n_names ? j->names[0] : j->image_id;
    gc->removing = false;
    switch (j->outcome) {
    case DV_IMAGE_REMOVED:
        gc->removed++;
        dv_log_info("image gc: removed image %s (%.19s), unused for gc.image_delay", name,
                    j->image_id);
        dv_image_refs_forget(gc->refs, j->image_id);
        break;
    case DV_IMAGE_KEPT:
        gc->kept++;
        dv_log_info("image gc: image %s (%.19s) left in place: %s", name, j->image_id, j->detail);
        dv_image_refs_forget(gc->refs, j->image_id);
        break;
    case DV_IMAGE_REMOVAL_FAILED:
        gc->failures++;
        dv_log_warning("image gc: removing image %s (%.19s) failed (trying again in %llds): %s",
                       name, j->image_id, (long long)(RETRY_NS / DV_NSEC_PER_SEC), j->detail);
        dv_image_refs_postpone(gc->refs, j->image_id, dv_realtime_ns() + RETRY_NS);
        break;
    }
    save(gc);
    settle_waiters(gc, j->outcome == DV_IMAGE_REMOVED);
    rearm(gc);
    rm_job_free(j);
}

static void rm_discard(void *data)
{
    rm_job_free(data);
}

/* Tasks of the table that use IMAGE_ID take (again) their reference: the table
 * lost it somehow (a record restored by hand, a bug). Returns how many. */
static size_t claim_from_tasks(dv_image_gc *gc, const char *image_id)
{
    dv_task_table *tasks = gc->run->tasks;
    size_t n = 0;
    for (size_t i = 0; i < dv_task_table_size(tasks); i++) {
        dv_task *t = dv_task_table_at(tasks, i);
        if (t->image_id && strcmp(t->image_id, image_id) == 0 &&
            dv_image_refs_acquire(gc->refs, image_id, t->image, t->id, NULL) == 0)
            n++;
    }
    return n;
}

static int submit_removal(dv_image_gc *gc, const char *image_id)
{
    struct rm_job *j = dv_xcalloc(1, sizeof(*j));
    j->gc = gc;
    j->dk = gc->run->docker;
    size_t n = 0;
    const char *const *names = dv_image_refs_names(gc->refs, image_id, &n);
    j->image_id = dv_xstrdup(image_id);
    j->names = dv_xcalloc(n ? n : 1, sizeof(*j->names));
    for (; j->n_names < n; j->n_names++)
        j->names[j->n_names] = dv_xstrdup(names[j->n_names]);
    int r = dv_lanes_submit(gc->run->lanes, DV_LANE_BACKGROUND, rm_run, rm_done, rm_discard, j);
    if (r < 0) {
        rm_job_free(j);
        return r;
    }
    gc->removing = true;
    snprintf(gc->removing_id, sizeof(gc->removing_id), "%s", image_id);
    return 0;
}

static void on_timer(dv_loop *loop, void *userdata)
{
    (void)loop;
    dv_image_gc *gc = userdata;
    if (gc->removing)
        return;
    char id[160];
    if (!dv_image_refs_take_due(gc->refs, dv_realtime_ns(), id, sizeof(id))) {
        rearm(gc);
        return;
    }
    if (claim_from_tasks(gc, id) > 0) {
        dv_log_warning("image gc: image %s (%.19s) is used by a task: not removed",
                       display_name(gc, id), id);
        save(gc);
        rearm(gc);
        return;
    }
    dv_log_info("image gc: removing image %s (%.19s)", display_name(gc, id), id);
    int r = submit_removal(gc, id);
    if (r < 0) {
        if (r != -ESHUTDOWN)
            dv_log_error("image gc: cannot start the removal of %.19s: %s", id, strerror(-r));
        dv_image_refs_postpone(gc->refs, id, dv_realtime_ns() + RETRY_NS);
        rearm(gc);
    }
}

/* ---- the runner's calls ---- */

void dv_image_gc_image_ready(dv_runtime *run, dv_task *t, const char *prev_image_id,
                             dv_image_ready_fn ready)
{
    dv_image_gc *gc = run->image_gc;
    bool wait = false;
    if (gc && t->image_id) {
        bool changed = false;
        if (prev_image_id && strcmp(prev_image_id, t->image_id) != 0 &&
            dv_image_refs_holds(gc->refs, prev_image_id, t->id)) {
            if (dv_image_refs_release(gc->refs, prev_image_id, t->id, dv_realtime_ns(),
                                      run->config->docker.gc.image_delay_ns) == 0 &&
                !run->config->docker.gc.image)
                dv_image_refs_forget(gc->refs, prev_image_id);
            changed = true;
        }
        if (!dv_image_refs_holds(gc->refs, t->image_id, t->id)) {
            dv_error err;
            if (dv_image_refs_acquire(gc->refs, t->image_id, t->image, t->id, &err) < 0)
                dv_log_error("image gc: task %.8s: %s", t->id, err.msg);
            changed = true;
        }
        if (changed) {
            save(gc);
            rearm(gc);
        }
        wait = gc->removing && strcmp(gc->removing_id, t->image_id) == 0;
        if (wait) {
            struct waiter *v = gc->waiters =
                dv_xreallocarray(gc->waiters, gc->n_waiters + 1, sizeof(*v));
            snprintf(v[gc->n_waiters].task_id, sizeof(v->task_id), "%s", t->id);
            v[gc->n_waiters].ready = ready;
            v[gc->n_waiters++].gen = t->gen;
        }
    }
    if (!wait)
        ready(run, t, false);
}

void dv_image_gc_task_destroyed(dv_runtime *run, const dv_task *t)
{
    dv_image_gc *gc = run->image_gc;
    if (!gc || !t->image_id || !dv_image_refs_holds(gc->refs, t->image_id, t->id))
        return;
    const dv_agent_config *c = run->config;
    int left = dv_image_refs_release(gc->refs, t->image_id, t->id, dv_realtime_ns(),
                                     c->docker.gc.image_delay_ns);
    if (left == 0 && !c->docker.gc.image) {
        dv_image_refs_forget(gc->refs, t->image_id);
    } else if (left == 0) {
        dv_log_info("image gc: image %s (%.19s) is unused: removing it in %.3fs",
                    display_name(gc, t->image_id), t->image_id,
                    (double)c->docker.gc.image_delay_ns / 1e9);
    }
    save(gc);
    rearm(gc);
}

/* ---- recovery ---- */

static bool task_holds(const char *image_id, const char *task_id, void *userdata)
{
    dv_task *t = dv_task_table_get(userdata, task_id);
    return t && t->image_id && strcmp(t->image_id, image_id) == 0;
}

int dv_image_gc_rebuild(dv_runtime *run, dv_error *err)
{
    dv_image_gc *gc = run->image_gc;
    if (!gc)
        return 0;
    int r;
    for (size_t i = 0; i < dv_task_table_size(run->tasks); i++) {
        dv_task *t = dv_task_table_at(run->tasks, i);
        if (t->image_id &&
            (r = dv_image_refs_acquire(gc->refs, t->image_id, t->image, t->id, err)) < 0)
            return dv_error_wrap(err, "image gc: task %.8s", t->id);
    }
    size_t released = dv_image_refs_retain(gc->refs, task_holds, run->tasks, dv_realtime_ns(),
                                           run->config->docker.gc.image_delay_ns);
    if (!run->config->docker.gc.image)
        dv_image_refs_forget_unused(gc->refs);
    size_t images = 0, pending = 0;
    dv_image_refs_stats(gc->refs, &images, &pending);
    dv_log_info("image gc: %zu images referenced by tasks or pending removal (%zu pending, %zu "
                "references of vanished tasks released)",
                images, pending, released);
    save(gc);
    rearm(gc);
    return 0;
}

/* ---- configuration ---- */

void dv_image_gc_reconfigure(dv_runtime *run)
{
    dv_image_gc *gc = run->image_gc;
    if (!gc || run->config->docker.gc.image)
        return;
    /* A removal in flight still finishes: it was decided under the old setting. */
    size_t n = dv_image_refs_forget_unused(gc->refs);
    if (n) {
        dv_log_info("image gc: gc.image is off: %zu pending image removals cancelled", n);
        save(gc);
    }
    rearm(gc);
}

void dv_image_gc_metrics(const dv_image_gc *gc, dv_buf *b)
{
    size_t images = 0, pending = 0;
    dv_image_refs_stats(gc->refs, &images, &pending);
    dv_buf_printf(b,
                  "# HELP dockvisor_images_tracked Images used by tasks or waiting for removal.\n"
                  "# TYPE dockvisor_images_tracked gauge\n"
                  "dockvisor_images_tracked %zu\n"
                  "# HELP dockvisor_images_pending_removal Unused images waiting for "
                  "gc.image_delay.\n"
                  "# TYPE dockvisor_images_pending_removal gauge\n"
                  "dockvisor_images_pending_removal %zu\n"
                  "# HELP dockvisor_images_removed_total Images removed by the image GC.\n"
                  "# TYPE dockvisor_images_removed_total counter\n"
                  "dockvisor_images_removed_total %llu\n"
                  "# HELP dockvisor_images_kept_total Unused images left in place (in use by "
                  "another container, or tagged otherwise).\n"
                  "# TYPE dockvisor_images_kept_total counter\n"
                  "dockvisor_images_kept_total %llu\n"
                  "# HELP dockvisor_image_removal_failures_total Image removals that failed "
                  "and were retried.\n"
                  "# TYPE dockvisor_image_removal_failures_total counter\n"
                  "dockvisor_image_removal_failures_total %llu\n",
                  images, pending, (unsigned long long)gc->removed, (unsigned long long)gc->kept,
                  (unsigned long long)gc->failures);
}

/* ---- life ---- */

static dv_image_refs *load_table(dv_runtime *run)
{
    _cleanup_json_ json_t *j = NULL;
    dv_image_refs *refs = NULL;
    dv_error err;
    if (dv_state_store_load_images(run->store, &j, &err) == 0 &&
        (!j || dv_image_refs_from_json(j, &refs, &err) == 0))
        return refs ? refs : dv_image_refs_new();
    /* Losing the table leaks images at worst; refusing to start would be worse.
     * The file is kept for the operator; recovery re-derives the users. */
    _cleanup_free_ char *path = dv_xasprintf("%s/state/images.json", run->config->data_dir);
    _cleanup_free_ char *bad = dv_xasprintf("%s.bad", path);
    if (rename(path, bad) == 0)
        dv_log_error("image gc: %s (set aside as %s; starting with an empty image table)", err.msg,
                     bad);
    else
        dv_log_error("image gc: %s (starting with an empty image table)", err.msg);
    return dv_image_refs_new();
}

dv_image_gc *dv_image_gc_new(dv_runtime *run)
{
    dv_image_gc *gc = dv_xcalloc(1, sizeof(*gc));
    gc->run = run;
    gc->refs = load_table(run);
    gc->timer = dv_timer_new(run->loop, on_timer, gc);
    size_t cancelled = run->config->docker.gc.image ? 0 : dv_image_refs_forget_unused(gc->refs);
    if (cancelled) {
        dv_log_info("image gc: gc.image is off: %zu pending image removals cancelled", cancelled);
        save(gc);
    }
    size_t images = 0, pending = 0;
    dv_image_refs_stats(gc->refs, &images, &pending);
    if (pending)
        dv_log_info("image gc: %zu image removals pending from before the restart", pending);
    rearm(gc);
    return gc;
}

void dv_image_gc_free(dv_image_gc *gc)
{
    if (!gc)
        return;
    dv_timer_free(gc->timer);
    dv_image_refs_free(gc->refs);
    free(gc->waiters);
    free(gc);
}
