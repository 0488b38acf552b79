/* Worker side of the task runner (task_jobs.h). Blocking by design. */
#include "task_jobs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime.h"
#include "artifacts.h"
#include "cleanup.h"
#include "clock.h"
#include "docker_stats.h"
#include "duration.h"
#include "image_name.h"
#include "ownership.h"
#include "pull_metrics.h"
#include "spec.h"
#include "task_dirs.h"
#include "task_runner.h"
#include "xalloc.h"

dv_job *dv_job_new(enum dv_job_kind kind, dv_runtime *run, const dv_task *t)
{
    dv_job *j = dv_xcalloc(1, sizeof(*j));
    j->kind = kind;
    j->run = run;
    j->dk = run->docker;
    j->quick_dk = run->quick_docker ? run->quick_docker : run->docker;
    if (t) {
        snprintf(j->task_id, sizeof(j->task_id), "%s", t->id);
        snprintf(j->node_id, sizeof(j->node_id), "%s", run->node_id);
        snprintf(j->task_name, sizeof(j->task_name), "%s", t->name);
        j->gen = t->gen;
    }
    j->proc = (dv_docklog_proc)DV_DOCKLOG_PROC_INIT;
    /* Jobs submitted without dv_runner_submit (the API's signal, exec, stats) get
     * their ticket here, on the loop, as they are made. */
    j->records = run->records;
    j->records_ticket = j->records ? dv_record_writer_latest(j->records) : 0;
    return j;
}

const char *dv_job_keep(dv_job *j, const char *s)
{
    if (!s || j->npool == DV_ARRAY_SIZE(j->pool))
        return NULL;
    char *copy = dv_xstrdup(s);
    j->pool[j->npool++] = copy;
    return copy;
}

void dv_job_free(dv_job *j)
{
    if (!j)
        return;
    dv_task_spec_free(j->spec);
    free(j->local_dir);
    free(j->task_dir);
    free(j->auth_config);
    free(j->auth_helper);
    free(j->image_ref);
    free(j->image_id);
    free(j->container_name);
    free(j->container_id);
    free(j->old_container_id);
    json_decref(j->body);
    dv_task_paths_clear(&j->dirs);
    free(j->user);
    free(j->image_user);
    free(j->docklog_bin);
    free(j->docklog_config_path);
    free(j->docklog_diag_path);
    for (size_t i = 0; i < j->npool; i++)
        free(j->pool[i]);
    if (j->proc.pidfd >= 0)
        dv_docklog_proc_close(&j->proc);
    free(j->ip);
    free(j->network_name);
    dv_exit_result_clear(&j->exit);
    free(j->signal);
    free(j->task_root);
    json_decref(j->cmd);
    dv_exec_result_clear(&j->exec);
    json_decref(j->stats);
    free(j);
}

static void backoff_sleep(int64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / DV_NSEC_PER_SEC),
                          .tv_nsec = (long)(ns % DV_NSEC_PER_SEC)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static bool msg_has(const dv_error *err, const char *needle)
{
    return strcasestr(err->msg, needle) != NULL;
}

/* ---- ownership ---- */

/* May the job act on container ID? Unless the task already knows it is its own
 * (owned_in, task_jobs.h: ids are never reused and labels never change), it is
 * inspected and its labels compared with the task's (ownership.h). 0: ours. Docker's
 * 404: gone (callers treat it as the call's own 404 would be). -EPERM with j->foreign
 * set: not ours. Anything else: the Engine did not answer. In every failure nothing
 * was done to the container. The container cannot change between this inspect and
 * the call that follows it, in the only way that would matter: the id still names
 * the container whose labels were read. */
static int check_owned(dv_job *j, const char *id, dv_error *err)
{
    if (j->owned_in[0] && strcmp(j->owned_in, id) == 0)
        return 0;
    _cleanup_json_ json_t *ins = NULL;
    int r = dv_docker_container_inspect(j->quick_dk, id, &ins, err);
    if (r < 0)
        return r;
    dv_error why;
    if (dv_owner_check_inspect(ins, j->node_id, j->task_id, &why) < 0) {
        j->foreign = true;
        return dv_error_set(err, -EPERM, "container %.12s is not this agent's (%s)", id, why.msg);
    }
    snprintf(j->owned_out, sizeof(j->owned_out), "%s", id);
    return 0;
}

/* ---- IMAGE ---- */

struct layer {
    char id[80];
    int64_t current, total;
    bool done;
};

struct dv_pull_progress {
    struct layer *layers;
    size_t n, cap;
    char status[128]; /* the last line without a layer ("Digest: ...", "Status: ...") */
};

dv_pull_progress *dv_pull_progress_new(void)
{
    return dv_xcalloc(1, sizeof(dv_pull_progress));
}

void dv_pull_progress_free(dv_pull_progress *p)
{
    if (p) {
        free(p->layers);
        free(p);
    }
}

void dv_pull_progress_feed(dv_pull_progress *p, const json_t *line)
{
    const char *id = json_string_value(json_object_get(line, "id"));
    const char *status = json_string_value(json_object_get(line, "status"));
    if (!status)
        return;
    /* Only layer lines carry an id that is not the tag ("Pulling from x"). */
    if (!id || strncmp(status, "Pulling from", 12) == 0) {
        snprintf(p->status, sizeof(p->status), "%s", status);
        return;
    }
    struct layer *l = NULL;
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->layers[i].id, id) == 0)
            l = &p->layers[i];
    if (!l) {
        if (p->n == p->cap) {
            size_t cap = p->cap ? p->cap * 2 : 8;
            p->layers = dv_xreallocarray(p->layers, cap, sizeof(*p->layers));
            p->cap = cap;
        }
        l = &p->layers[p->n++];
        *l = (struct layer){0};
        snprintf(l->id, sizeof(l->id), "%s", id);
    }
    json_t *detail = json_object_get(line, "progressDetail");
    if (strcmp(status, "Downloading") == 0) {
        l->current = json_integer_value(json_object_get(detail, "current"));
        l->total = json_integer_value(json_object_get(detail, "total"));
    } else if (strcmp(status, "Download complete") == 0 || strcmp(status, "Pull complete") == 0 ||
               strcmp(status, "Already exists") == 0) {
        if (l->total > 0)
            l->current = l->total;
        l->done = true;
    }
}

void dv_pull_progress_summary(const dv_pull_progress *p, const char *ref, char *buf, size_t size)
{
    size_t done = 0;
    int64_t cur = 0, total = 0;
    for (size_t i = 0; i < p->n; i++) {
        done += p->layers[i].done;
        cur += p->layers[i].current;
        total += p->layers[i].total;
    }
    if (p->n == 0)
        snprintf(buf, size, "pulling %s: %s", ref, p->status[0] ? p->status : "waiting");
    else
        snprintf(buf, size, "pulling %s: %zu/%zu layers, %.1f/%.1f MB", ref, done, p->n,
                 (double)cur / 1e6, (double)total / 1e6);
}

bool dv_pull_error_recoverable(const dv_error *err)
{
    if (err->http_status == 404 || err->code == -ECANCELED)
        return false;
    static const char *const final[] = {
        "not found", "manifest unknown",          "unauthorized",
        "denied",    "no basic auth credentials", "invalid reference format"};
    for (size_t i = 0; i < DV_ARRAY_SIZE(final); i++)
        if (msg_has(err, final[i]))
            return false;
    return true;
}

struct pull_ctx {
    dv_job *job;
    dv_pull_progress *progress;
    const char *ref;
    int64_t last_post_ns;
};

static int on_pull_line(const json_t *line, void *userdata)
{
    struct pull_ctx *c = userdata;
    dv_pull_progress_feed(c->progress, line);
    int64_t now = dv_monotonic_ns();
    if (now - c->last_post_ns >= 500 * DV_NSEC_PER_MSEC) {
        char msg[256];
        dv_pull_progress_summary(c->progress, c->ref, msg, sizeof(msg));
        dv_runner_post_note(c->job->run, c->job->task_id, "progress", true, "%s", msg);
        c->last_post_ns = now;
    }
    return dv_cancel_requested(&c->job->cancel);
}

static int inspect_image_id(dv_job *j, const char *ref, dv_error *err)
{
    _cleanup_json_ json_t *img = NULL;
    int r = dv_docker_image_inspect(j->dk, ref, &img, err);
    if (r < 0)
        return r;
    const char *id = json_string_value(json_object_get(img, "Id"));
    if (!id)
        return dv_error_set(err, -EPROTO, "image %s: inspect has no Id", ref);
    const char *user = json_string_value(json_object_get(json_object_get(img, "Config"), "User"));
    free(j->image_id);
    free(j->image_user);
    j->image_id = dv_xstrdup(id);
    j->image_user = dv_xstrdup(user ? user : "");
    return 0;
}

static int pull(dv_job *j, const dv_task_spec *spec, const dv_image_name *name)
{
    dv_spec_error serr;
    dv_spec_error_clear(&serr);
    dv_registry_creds creds;
    int r = dv_registry_auth_resolve(spec, dv_image_auth_server(name), &j->auth, &creds, &serr);
    if (r < 0) {
        dv_error_set(&j->err, r, "registry auth for %s: %s", name->ref, serr.err.msg);
        return r;
    }
    if (creds.warning[0])
        dv_runner_post_note(j->run, j->task_id, "Driver", false, "%s", creds.warning);
    dv_runner_post_note(j->run, j->task_id, "Driver", false, "Downloading image %s%s", name->ref,
                        creds.found ? " (with registry credentials)" : "");
    struct pull_ctx ctx = {.job = j, .progress = dv_pull_progress_new(), .ref = name->ref};
    dv_pull_options opts = {
        .image = name->ref,
        .auth = creds.found ? &creds.auth : NULL,
        .timeout_ns = j->pull_timeout_ns,
        .activity_timeout_ns = j->activity_timeout_ns,
        .progress = on_pull_line,
        .userdata = &ctx,
        .cancel = &j->cancel,
    };
    int64_t started = dv_monotonic_ns();
    r = dv_docker_image_pull(j->dk, &opts, &j->err);
    if (r != -ECANCELED)
        dv_pull_metrics_observe(j->run->pulls, dv_monotonic_ns() - started, r >= 0);
    dv_registry_creds_clear(&creds);
    if (r >= 0) {
        char msg[256];
        dv_pull_progress_summary(ctx.progress, name->ref, msg, sizeof(msg));
        dv_runner_post_note(j->run, j->task_id, "progress", true, "%s", msg);
    }
    dv_pull_progress_free(ctx.progress);
    if (r < 0) {
        bool rec = dv_pull_error_recoverable(&j->err);
        dv_error_wrap(&j->err, "failed to pull `%s`", name->ref);
        j->err.recoverable = rec;
        return r;
    }
    return 0;
}

static void artifact_note(void *userdata, const char *type, bool transient, const char *msg)
{
    dv_job *j = userdata;
    dv_runner_post_note(j->run, j->task_id, type, transient, "%s", msg);
}

static void run_image(dv_job *j)
{
    const dv_task_spec *spec = j->spec;
    const dv_image_name *name = &spec->config.image_name;
    j->image_ref = dv_xstrdup(name->ref);
    /* First, image present or not: a task's artifacts are its files, and `load`
     * may need one. */
    dv_artifact_fetch fetch = {
        .spec = spec,
        .task_dir = j->task_dir,
        .timeout_ns = j->pull_timeout_ns,
        .activity_timeout_ns = j->activity_timeout_ns,
        .cancel = &j->cancel,
        .allow_local = j->artifacts_local_allowed,
        .note = artifact_note,
        .userdata = j,
    };
    if ((j->r = dv_artifacts_fetch(&fetch, &j->err)) < 0)
        return;
    dv_error ierr;
    int r = inspect_image_id(j, name->ref, &ierr);
    bool present = r == 0;
    if (r < 0 && !dv_docker_is_not_found(&ierr)) {
        j->err = ierr;
        dv_error_wrap(&j->err, "inspect image %s", name->ref);
        j->r = r;
        return;
    }
    if (!dv_image_needs_pull(name, spec->config.force_pull, present)) {
        j->r = 0;
        return;
    }
    if (spec->config.load) {
        /* Opened beneath local/ by the kernel: the task owns that directory and may
         * have put a symlink to a host file where its tarball should be. */
        _cleanup_close_ int dir = open(j->local_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0) {
            j->r = dv_error_set(&j->err, -errno, "open %s: %s", j->local_dir, strerror(errno));
            return;
        }
        dv_runner_post_note(j->run, j->task_id, "Driver", false, "Loading image from %s",
                            spec->config.load);
        if ((j->r = dv_docker_image_load(j->dk, dir, spec->config.load, &j->err)) < 0) {
            dv_error_wrap(&j->err, "load image from local/%s", spec->config.load);
            return;
        }
        if ((j->r = inspect_image_id(j, name->ref, &j->err)) < 0)
            dv_error_wrap(&j->err, "image %s is not in %s", name->ref, spec->config.load);
        return;
    }
    if ((j->r = pull(j, spec, name)) < 0)
        return;
    if ((j->r = inspect_image_id(j, name->ref, &j->err)) < 0)
        dv_error_wrap(&j->err, "inspect pulled image %s", name->ref);
}

/* ---- START ---- */

static int find_and_settle_conflict(dv_job *j, bool *ret_reused)
{
    char pattern[512];
    snprintf(pattern, sizeof(pattern), "^/%s$", j->container_name);
    _cleanup_json_ json_t *filters = json_pack("{s:[s]}", "name", pattern);
    _cleanup_json_ json_t *list = NULL;
    int r = dv_docker_container_list(j->dk, true, filters, &list, &j->err);
    if (r < 0) {
        dv_error_wrap(&j->err, "list containers named %s", j->container_name);
        return r;
    }
    char want[512];
    snprintf(want, sizeof(want), "/%s", j->container_name);
    size_t i, k;
    json_t *c, *n;
    json_array_foreach(list, i, c)
    {
        bool match = false;
        json_array_foreach(json_object_get(c, "Names"), k, n) match |=
            json_is_string(n) && strcmp(json_string_value(n), want) == 0;
        const char *id = json_string_value(json_object_get(c, "Id"));
        if (!match || !id)
            continue;
        _cleanup_json_ json_t *ins = NULL;
        if ((r = dv_docker_container_inspect(j->dk, id, &ins, &j->err)) < 0) {
            /* It may have been removed between list and inspect: worth another try. */
            j->err.recoverable = true;
            return dv_error_wrap(&j->err, "inspect container %.12s", id);
        }
        /* Only a container this task created may be reused or cleared away: the
         * name alone proves nothing. */
        dv_error why;
        if (dv_owner_check_inspect(ins, j->node_id, j->task_id, &why) < 0)
            return dv_error_set(&j->err, -EEXIST,
                                "the name %s is held by container %.12s, which is not this "
                                "agent's (%s): it is left alone",
                                j->container_name, id, why.msg);
        if (json_is_true(json_object_get(json_object_get(ins, "State"), "Running"))) {
            free(j->container_id);
            j->container_id = dv_xstrdup(id);
            snprintf(j->owned_out, sizeof(j->owned_out), "%s", id);
            *ret_reused = true;
            return 0;
        }
        dv_runner_post_note(j->run, j->task_id, "Driver", false,
                            "removing the dead container %.12s that holds the name %s", id,
                            j->container_name);
        if ((r = dv_docker_container_remove(j->dk, id, true, true, &j->err)) < 0 &&
            !dv_docker_is_not_found(&j->err))
            return dv_error_wrap(&j->err, "remove container %.12s", id);
    }
    return 0;
}

static int create_container(dv_job *j)
{
    /* Nomad's container_exists_attempts: each conflict removes a dead container
     * of this task that holds the name, or finds it running and reuses it. */
    const int max_conflicts = j->container_exists_attempts > 0 ? j->container_exists_attempts : 5;
    const int max_retries = 3;
    int conflicts = 0, retries = 0;
    for (;;) {
        char *id = NULL;
        int r = dv_docker_container_create(j->dk, j->container_name, j->body, &id, &j->err);
        if (r == 0) { /* made with the task's labels (the body's): ours */
            free(j->container_id);
            j->container_id = id;
            snprintf(j->owned_out, sizeof(j->owned_out), "%s", id);
            return 0;
        }
        if (dv_docker_is_conflict(&j->err) || msg_has(&j->err, "already in use") ||
            msg_has(&j->err, "container already exists")) {
            if (++conflicts > max_conflicts)
                return dv_error_wrap(&j->err, "container name %s still in use after %d attempts",
                                     j->container_name, max_conflicts);
            bool reused = false;
            if ((r = find_and_settle_conflict(j, &reused)) < 0)
                return r;
            if (reused) {
                j->reused = true;
                return 0;
            }
            backoff_sleep(conflicts == 1 ? 0 : DV_NSEC_PER_SEC);
            continue;
        }
        if (msg_has(&j->err, "no such image")) {
            j->err.recoverable = true; /* removed under us (image GC): a restart pulls again */
            return dv_error_wrap(&j->err, "create container");
        }
        if (msg_has(&j->err, "volume is attached on another node")) {
            j->err.recoverable = true;
            return dv_error_wrap(&j->err, "create container");
        }
        if (j->err.unreachable) /* no Engine to retry against: the runner waits */
            return dv_error_wrap(&j->err, "create container");
        if (j->err.recoverable && retries < max_retries) {
            backoff_sleep(DV_NSEC_PER_SEC << retries);
            retries++;
            continue;
        }
        return dv_error_wrap(&j->err, "create container");
    }
}

static int start_container(dv_job *j)
{
    for (int attempt = 0;; attempt++) {
        int r = dv_docker_container_start(j->dk, j->container_id, &j->err);
        if (r == 0 || dv_docker_is_not_modified(&j->err))
            return 0;
        if (j->err.http_status == 500 && attempt < 5) {
            backoff_sleep(DV_NSEC_PER_SEC);
            continue;
        }
        return dv_error_wrap(&j->err, "start container %.12s", j->container_id);
    }
}

/* Nomad's detectIP: the first network with an address; the default bridge is
 * not advertised automatically. */
static void detect_ip(dv_job *j, const json_t *inspect)
{
    json_t *nets = json_object_get(json_object_get(inspect, "NetworkSettings"), "Networks");
    const char *name;
    json_t *n;
    json_object_foreach(nets, name, n)
    {
        const char *ip = json_string_value(json_object_get(n, "IPAddress"));
        if (!ip || !*ip)
            continue;
        bool auto_adv = strcmp(name, "bridge") != 0 && strcmp(name, "nat") != 0;
        if (j->advertise_ipv6) {
            ip = json_string_value(json_object_get(n, "GlobalIPv6Address"));
            auto_adv = true;
        }
        j->ip = ip && *ip ? dv_xstrdup(ip) : NULL;
        j->network_name = dv_xstrdup(name);
        j->auto_advertise = auto_adv;
        return;
    }
}

static int launch_docklog(dv_job *j)
{
    j->docklog.container_id = dv_job_keep(j, j->container_id);
    int r = dv_docklog_config_write(j->docklog_config_path, &j->docklog, &j->err);
    if (r == 0)
        r = dv_docklog_launch(&j->launch, &j->proc, j->docklog_note, sizeof(j->docklog_note),
                              &j->err);
    if (r < 0)
        return dv_error_wrap(&j->err, "launch the docklog helper");
    j->docklog_started = true;
    return 0;
}

/* The task's directories become its user's before it runs (task_dirs.h): the
 * spec's user, else the image's, and a name means what the image's /etc/passwd
 * says. The user is known from the spec or the image fetch; only when it is not
 * (the fetch did not run in this agent's life) is the created container asked,
 * so a start costs no extra Engine call. */
static int give_dirs(dv_job *j)
{
    if (!j->dirs.alloc_dir)
        return 0;
    _cleanup_json_ json_t *ins = NULL;
    const char *user = j->user;
    int r;
    if (!user) {
        if ((r = dv_docker_container_inspect(j->dk, j->container_id, &ins, &j->err)) < 0)
            return dv_error_wrap(&j->err, "inspect created container %.12s", j->container_id);
        user = json_string_value(json_object_get(json_object_get(ins, "Config"), "User"));
    }
    uid_t uid;
    gid_t gid;
    if ((r = dv_task_owner_resolve(j->dk, j->container_id, user ? user : "",
                                   j->user_from_spec ? "user" : "image user", &uid, &gid,
                                   &j->err)) < 0 ||
        (r = dv_task_dirs_own(&j->dirs, uid, gid, &j->err)) < 0)
        return r;
    return 0;
}

static void run_start(dv_job *j)
{
    _cleanup_json_ json_t *ins = NULL; /* before the gotos */
    if (j->old_container_id) {
        dv_error e;
        int r = check_owned(j, j->old_container_id, &e);
        if (j->foreign) {
            j->r = r;
            j->err = e;
            return;
        }
        if (r == 0)
            r = dv_docker_container_remove(j->dk, j->old_container_id, true, true, &e);
        if (r < 0 && !dv_docker_is_not_found(&e))
            dv_runner_post_note(j->run, j->task_id, "Driver", false,
                                "could not remove the previous container %.12s: %s",
                                j->old_container_id, e.msg);
    }
    if ((j->r = create_container(j)) < 0)
        return;
    if (!j->reused && (j->r = give_dirs(j)) < 0)
        goto remove;
    if (!j->reused && (j->r = start_container(j)) < 0)
        goto remove;
    if ((j->r = dv_docker_container_inspect(j->dk, j->container_id, &ins, &j->err)) < 0) {
        j->err.recoverable = true;
        dv_error_wrap(&j->err, "inspect started container %.12s", j->container_id);
        goto remove;
    }
    j->running = json_is_true(json_object_get(json_object_get(ins, "State"), "Running"));
    if (!j->running)
        dv_exit_result_from_inspect(ins, &j->exit, NULL);
    detect_ip(j, ins);
    if (j->logs_enabled && (j->r = launch_docklog(j)) < 0) {
        j->err.recoverable = true;
        goto remove;
    }
    j->r = 0;
    return;
remove:;
    /* Nomad's rule: a container that did not get going is not left behind. It is
     * the one this job created, or a running one of this task it reused: no
     * ownership check needed. */
    dv_error e;
    if (dv_docker_container_remove(j->dk, j->container_id, true, true, &e) < 0 &&
        !dv_docker_is_not_found(&e))
        dv_runner_post_note(j->run, j->task_id, "Driver", false,
                            "could not remove container %.12s: %s", j->container_id, e.msg);
    free(j->container_id);
    j->container_id = NULL;
}

/* ---- STOP / INSPECT / DESTROY / REMOVE ---- */

static bool gone_or_stopped(const dv_error *err)
{
    return dv_docker_is_not_found(err) || dv_docker_is_not_modified(err) ||
           (err->http_status == 409 && msg_has(err, "not running"));
}

static void run_stop(dv_job *j)
{
    j->r = check_owned(j, j->container_id, &j->err);
    if (j->r == 0 && j->signal)
        j->r = dv_docker_container_kill(j->dk, j->container_id, j->signal, &j->err);
    else if (j->r == 0)
        j->r = dv_docker_container_stop(j->dk, j->container_id, j->stop_timeout_s, &j->err);
    if (j->r < 0 && !j->foreign && gone_or_stopped(&j->err)) {
        j->r = 0;
        j->running = false;
    } else if (j->r == 0) {
        j->running = j->signal != NULL; /* after a signal the loop waits for the exit */
    }
}

static void run_inspect(dv_job *j)
{
    _cleanup_json_ json_t *ins = NULL;
    j->r = dv_docker_container_inspect(j->quick_dk, j->container_id, &ins, &j->err);
    if (j->r < 0) {
        if (dv_docker_is_not_found(&j->err)) {
            j->r = 0;
            j->running = false;
            j->exit = (dv_exit_result){.valid = false};
            j->exit.error = dv_xstrdup("the container was removed outside dockvisor");
        }
        return;
    }
    j->running = json_is_true(json_object_get(json_object_get(ins, "State"), "Running"));
    if (!j->running)
        j->r = dv_exit_result_from_inspect(ins, &j->exit, &j->err);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    int r = flag == FTW_DP ? rmdir(path) : unlink(path);
    return r < 0 && errno != ENOENT ? -errno : 0;
}

static void run_destroy(dv_job *j)
{
    j->r = 0;
    if (j->container_id) {
        dv_error e;
        int r = check_owned(j, j->container_id, &e);
        if (r < 0 && !dv_docker_is_not_found(&e)) {
            /* Not ours, or not known to be: the container and the task's files stay. */
            j->r = r;
            j->err = e;
            if (!j->foreign)
                dv_error_wrap(&j->err, "inspect container %.12s", j->container_id);
            return;
        }
        if (r < 0) /* gone already: nothing to stop or remove */
            goto files;
        if (!j->remove_container) {
            /* Kept (docker.gc.container false): it must not run on. */
            if (dv_docker_container_stop(j->dk, j->container_id, 0, &e) < 0 && !gone_or_stopped(&e))
                dv_runner_post_note(j->run, j->task_id, "Driver", false, "stop during destroy: %s",
                                    e.msg);
        } else if ((j->r = dv_docker_container_remove(j->dk, j->container_id, true, true,
                                                      &j->err)) < 0) {
            /* Forced: a container still running (a destroy that found no helper
             * to drain) is killed by the remove itself, one call instead of two. */
            if (dv_docker_is_not_found(&j->err)) {
                j->r = 0;
            } else {
                dv_error_wrap(&j->err, "remove container %.12s", j->container_id);
                return;
            }
        }
    }
files:
    if (j->task_root && access(j->task_root, F_OK) == 0) {
        int r = nftw(j->task_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
        if (r != 0)
            j->r = dv_error_errno(&j->err, r < 0 ? -r : EIO, "remove %s", j->task_root);
    }
}

/* ---- SIGNAL / EXEC / STATS ---- */

static void run_exec(dv_job *j)
{
    size_t n = json_array_size(j->cmd);
    const char **argv = dv_xcalloc(n + 1, sizeof(*argv));
    for (size_t i = 0; i < n; i++)
        argv[i] = json_string_value(json_array_get(j->cmd, i));
    /* Not destructive, but a command run in another's container is worse than a
     * signal sent to it. */
    j->r = check_owned(j, j->container_id, &j->err);
    if (j->r == -ETIMEDOUT) {
        /* Not the command's timeout (a 504 says that): the Engine did not answer. */
        dv_error_wrap(&j->err, "the Docker Engine did not answer, nothing was run");
        j->r = j->err.code = -EAGAIN;
    }
    if (j->r == 0)
        j->r = dv_docker_exec(j->dk, j->container_id, argv, false, j->exec_timeout_ns, &j->exec,
                              &j->err);
    free(argv);
}

json_t *dv_stats_from_engine(const json_t *answer)
{
    dv_container_stats s;
    dv_container_stats_parse(answer, &s);
    return json_pack("{s:{s:f,s:I,s:I},s:{s:I,s:I,s:I,s:I,s:I}}", "cpu", "percent",
                     dv_container_stats_cpu_percent(&s), "throttled_periods",
                     (json_int_t)s.throttled_periods, "throttled_time_ns",
                     (json_int_t)s.throttled_ns, "memory", "rss", (json_int_t)s.mem_rss, "cache",
                     (json_int_t)s.mem_cache, "swap", (json_int_t)s.mem_swap, "usage",
                     (json_int_t)s.mem_usage, "max_usage", (json_int_t)s.mem_max_usage);
}

static void run_stats(dv_job *j)
{
    _cleanup_json_ json_t *s = NULL;
    j->r = dv_docker_container_stats(j->quick_dk, j->container_id, &s, &j->err);
    if (j->r == 0)
        j->stats = dv_stats_from_engine(s);
}

enum dv_lane dv_job_lane(const dv_job *j)
{
    switch (j->kind) {
    case DV_JOB_IMAGE:
        return DV_LANE_IMAGE;
    case DV_JOB_STOP:
        return DV_LANE_STOP;
    case DV_JOB_EXEC:
        return DV_LANE_EXEC;
    case DV_JOB_SIGNAL:
    case DV_JOB_STATS:
        return DV_LANE_QUERY;
    default:
        return DV_LANE_LIFECYCLE;
    }
}

void dv_job_run(void *data)
{
    dv_job *j = data;
    dv_error_clear(&j->err);
    /* Reads change nothing a record must be ahead of; everything else waits (a
     * wait for a ticket done already costs a lock). */
    if (j->kind != DV_JOB_INSPECT && j->kind != DV_JOB_STATS && j->records)
        dv_record_writer_wait(j->records, j->records_ticket);
    switch (j->kind) {
    case DV_JOB_IMAGE:
        run_image(j);
        break;
    case DV_JOB_START:
        run_start(j);
        break;
    case DV_JOB_STOP:
        run_stop(j);
        break;
    case DV_JOB_INSPECT:
        run_inspect(j);
        break;
    case DV_JOB_DESTROY:
        run_destroy(j);
        break;
    case DV_JOB_SIGNAL:
        if ((j->r = check_owned(j, j->container_id, &j->err)) == 0)
            j->r = dv_docker_container_kill(j->quick_dk, j->container_id, j->signal, &j->err);
        break;
    case DV_JOB_EXEC:
        run_exec(j);
        break;
    case DV_JOB_STATS:
        run_stats(j);
        break;
    case DV_JOB_DOCKLOG:
        j->r = dv_docklog_launch(&j->launch, &j->proc, j->docklog_note, sizeof(j->docklog_note),
                                 &j->err);
        break;
    case DV_JOB_REMOVE:
        if ((j->r = check_owned(j, j->container_id, &j->err)) == 0)
            j->r = dv_docker_container_remove(j->dk, j->container_id, true, true, &j->err);
        if (j->r < 0 && !j->foreign && dv_docker_is_not_found(&j->err))
            j->r = 0;
        break;
    }
}
