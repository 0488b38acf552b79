#include "state_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "cleanup.h"
#include "json_file.h"
#include "xalloc.h"

struct dv_state_store {
    char *state_dir;
    char *tasks_dir;
    char *quarantine_dir;
    /* Records set aside since the store was opened, by a load or by
     * dv_state_store_quarantine_task: [{"task_id","moved_to","reason","time_ns"}]. */
    json_t *quarantined;
};

static void closedirp(DIR **d)
{
    if (*d)
        closedir(*d);
}

void dv_state_store_free(dv_state_store *store)
{
    if (!store)
        return;
    free(store->state_dir);
    free(store->tasks_dir);
    free(store->quarantine_dir);
    json_decref(store->quarantined);
    free(store);
}

int dv_state_store_open(const char *data_dir, dv_state_store **ret, dv_error *err)
{
    dv_state_store *s = dv_xcalloc(1, sizeof(*s));
    s->quarantined = json_array();
    s->state_dir = dv_xasprintf("%s/state", data_dir);
    s->tasks_dir = dv_xasprintf("%s/state/tasks", data_dir);
    s->quarantine_dir = dv_xasprintf("%s/state/quarantine", data_dir);
    /* Records hold credentials: a state dir found with a looser mode is tightened. */
    int r = dv_mkdir_p(s->tasks_dir, 0700, err);
    if (r == 0)
        r = dv_dir_secure(s->state_dir, 0700, NULL, err);
    if (r == 0)
        r = dv_dir_secure(s->tasks_dir, 0700, NULL, err);
    if (r == 0 && access(s->quarantine_dir, F_OK) == 0)
        r = dv_dir_secure(s->quarantine_dir, 0700, NULL, err);
    if (r < 0) {
        dv_state_store_free(s);
        return dv_error_wrap(err, "state directory");
    }
    *ret = s;
    return 0;
}

static int read_json(const char *path, json_t **ret, dv_error *err)
{
    /* dv_json_read_file: the whole file in a read(2) or two (its fd close-on-exec),
     * parsed from memory. json_loadfd reads one byte per read(2), ~1,400 system calls
     * per task record, which made recovery's cost per task grow with the record. */
    int r = dv_json_read_file(path, JSON_REJECT_DUPLICATES, ret, err);
    if (r == -ENOENT)
        return dv_error_set(err, -ENOENT, "%s does not exist", path);
    return r;
}

int dv_state_store_node_id(dv_state_store *store, char ret[DV_UUID_STRLEN + 1], dv_error *err)
{
    _cleanup_free_ char *path = dv_xasprintf("%s/agent.json", store->state_dir);
    _cleanup_json_ json_t *j = NULL;
    dv_error local;
    int r = read_json(path, &j, &local);
    if (r == 0) {
        const char *id = json_string_value(json_object_get(j, "node_id"));
        if (!dv_uuid_is_valid(id))
            return dv_error_set(err, -EINVAL, "%s: node_id missing or not a UUID", path);
        snprintf(ret, DV_UUID_STRLEN + 1, "%s", id);
        return 0;
    }
    if (r != -ENOENT) /* a damaged agent.json must not silently get a new node id */
        return dv_error_set(err, r, "%s", local.msg);
    char id[DV_UUID_STRLEN + 1];
    if ((r = dv_uuid_v4(id, err)) < 0)
        return r;
    _cleanup_json_ json_t *fresh =
        json_pack("{s:i,s:s}", "version", DV_AGENT_STATE_VERSION, "node_id", id);
    if ((r = dv_atomic_write_json(path, fresh, 0600, err)) < 0)
        return r;
    memcpy(ret, id, sizeof(id));
    return 0;
}

static int task_path(const dv_state_store *store, const char *task_id, char **ret, dv_error *err)
{
    if (!dv_uuid_is_valid(task_id))
        return dv_error_set(err, -EINVAL, "task id \"%s\" is not a UUID", task_id);
    *ret = dv_xasprintf("%s/%s.json", store->tasks_dir, task_id);
    return 0;
}

int dv_state_store_save_task(dv_state_store *store, const char *task_id, const json_t *record,
                             dv_error *err)
{
    _cleanup_free_ char *path = NULL;
    int r = task_path(store, task_id, &path, err);
    if (r < 0)
        return r;
    if (!json_is_integer(json_object_get(record, "version")))
        return dv_error_set(err, -EINVAL, "task %s: record has no version", task_id);
    return dv_atomic_write_json(path, record, 0600, err);
}

char *dv_state_store_task_text(const char *task_id, const json_t *record, size_t *ret_len,
                               dv_error *err)
{
    if (!json_is_integer(json_object_get(record, "version"))) {
        dv_error_set(err, -EINVAL, "task %s: record has no version", task_id);
        return NULL;
    }
    /* As dv_atomic_write_json writes it: compact, sorted keys, one line. */
    _cleanup_free_ char *text = json_dumps(record, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text) {
        dv_error_set(err, -EINVAL, "task %s: the record cannot be serialized", task_id);
        return NULL;
    }
    size_t len = strlen(text);
    char *line = dv_xmalloc(len + 2);
    memcpy(line, text, len);
    line[len] = '\n';
    line[len + 1] = '\0';
    *ret_len = len + 1;
    return line;
}

int dv_state_store_write_task_text(dv_state_store *store, const char *task_id, const char *text,
                                   size_t len, dv_sync_fn sync, dv_error *err)
{
    _cleanup_free_ char *path = NULL;
    int r = task_path(store, task_id, &path, err);
    if (r < 0)
        return r;
    return dv_atomic_write_synced(path, text, len, 0600, sync, err);
}

int dv_state_store_remove_task(dv_state_store *store, const char *task_id, dv_error *err)
{
    return dv_state_store_remove_task_synced(store, task_id, NULL, err);
}

int dv_state_store_remove_task_synced(dv_state_store *store, const char *task_id, dv_sync_fn sync,
                                      dv_error *err)
{
    _cleanup_free_ char *path = NULL;
    int r = task_path(store, task_id, &path, err);
    if (r < 0)
        return r;
    if (unlink(path) < 0) {
        if (errno == ENOENT)
            return 0;
        return dv_error_errno(err, -errno, "remove %s", path);
    }
    return dv_fsync_parent_with(path, sync, err);
}

bool dv_state_store_has_task(const dv_state_store *store, const char *task_id)
{
    _cleanup_free_ char *path = NULL;
    if (task_path(store, task_id, &path, NULL) < 0)
        return false;
    return access(path, F_OK) == 0 || errno != ENOENT;
}

/* A JSON parser's error quotes the text "near" the fault, which in a record may be
 * a piece of registry credentials: what is kept (and so logged and served) ends
 * before it. */
static void note_quarantined(dv_state_store *store, const char *task_id, const char *moved_to,
                             const char *reason, char *why, size_t why_size)
{
    snprintf(why, why_size, "%s", reason);
    char *near = strstr(why, " near ");
    if (near)
        *near = '\0';
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    json_array_append_new(store->quarantined,
                          json_pack("{s:s,s:s,s:s,s:I}", "task_id", task_id, "moved_to", moved_to,
                                    "reason", why, "time_ns",
                                    (json_int_t)ts.tv_sec * 1000000000 + ts.tv_nsec));
}

static void quarantine(dv_state_store *store, const char *file, const char *task_id,
                       const char *reason, dv_state_bad_record_fn bad, void *userdata)
{
    if (dv_mkdir_p(store->quarantine_dir, 0700, NULL) < 0)
        return;
    _cleanup_free_ char *from = dv_xasprintf("%s/%s", store->tasks_dir, file);
    _cleanup_free_ char *to =
        dv_xasprintf("%s/%s.%lld", store->quarantine_dir, file, (long long)time(NULL));
    if (rename(from, to) < 0)
        return;
    dv_fsync_parent(from, NULL);
    char why[DV_QUARANTINE_REASON_MAX];
    note_quarantined(store, task_id, to, reason, why, sizeof(why));
    if (bad)
        bad(task_id, to, why, userdata);
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int dv_state_store_load_tasks(dv_state_store *store, int version, dv_state_bad_record_fn bad,
                              void *userdata, json_t **ret, dv_error *err)
{
    _cleanup_(closedirp) DIR *dir = opendir(store->tasks_dir);
    if (!dir)
        return dv_error_errno(err, -errno, "open %s", store->tasks_dir);
    _cleanup_json_ json_t *records = json_object();
    struct dirent *de;
    while ((de = readdir(dir))) {
        const char *file = de->d_name;
        if (file[0] == '.')
            continue;
        _cleanup_free_ char *path = dv_xasprintf("%s/%s", store->tasks_dir, file);
        if (has_suffix(file, ".tmp")) {
            unlink(path);
            continue;
        }
        char id[DV_UUID_STRLEN + 1] = "";
        if (!has_suffix(file, ".json") || strlen(file) != DV_UUID_STRLEN + 5) {
            quarantine(store, file, file, "file name is not <task id>.json", bad, userdata);
            continue;
        }
        memcpy(id, file, DV_UUID_STRLEN);
        if (!dv_uuid_is_valid(id)) {
            quarantine(store, file, id, "file name is not <task id>.json", bad, userdata);
            continue;
        }
        json_t *record = NULL;
        dv_error local;
        if (read_json(path, &record, &local) < 0) {
            quarantine(store, file, id, local.msg, bad, userdata);
            continue;
        }
        json_t *v = json_object_get(record, "version");
        if (!json_is_integer(v) || json_integer_value(v) != version) {
            char why[128];
            if (json_is_integer(v))
                snprintf(why, sizeof(why), "unknown record version %lld (this agent reads %d)",
                         (long long)json_integer_value(v), version);
            else
                snprintf(why, sizeof(why), "record has no version");
            json_decref(record);
            quarantine(store, file, id, why, bad, userdata);
            continue;
        }
        json_object_set_new(records, id, record);
    }
    *ret = TAKE_PTR(records);
    return 0;
}

int dv_state_store_quarantine_task(dv_state_store *store, const char *task_id, const char *reason,
                                   char ret_why[DV_QUARANTINE_REASON_MAX], char **ret_moved_to,
                                   dv_error *err)
{
    _cleanup_free_ char *from = NULL;
    int r = task_path(store, task_id, &from, err);
    if (r < 0)
        return r;
    if ((r = dv_mkdir_p(store->quarantine_dir, 0700, err)) < 0)
        return r;
    _cleanup_free_ char *to =
        dv_xasprintf("%s/%s.json.%lld", store->quarantine_dir, task_id, (long long)time(NULL));
    if (rename(from, to) < 0)
        return dv_error_errno(err, -errno, "move %s to %s", from, to);
    dv_fsync_parent(from, NULL);
    dv_fsync_parent(to, NULL);
    char why[DV_QUARANTINE_REASON_MAX];
    note_quarantined(store, task_id, to, reason, ret_why ? ret_why : why, DV_QUARANTINE_REASON_MAX);
    if (ret_moved_to)
        *ret_moved_to = TAKE_PTR(to);
    return 0;
}

const json_t *dv_state_store_quarantined(const dv_state_store *store)
{
    return store->quarantined;
}

bool dv_state_store_is_quarantined(const dv_state_store *store, const char *task_id)
{
    size_t i;
    json_t *q;
    json_array_foreach(store->quarantined, i, q)
    {
        if (strcmp(json_string_value(json_object_get(q, "task_id")), task_id) == 0)
            return true;
    }
    return false;
}

/* Synchronous, on the loop: the table changes with a pull or a removal of an image,
 * a few times a minute at most, not with every state change of every task. */
int dv_state_store_save_images(dv_state_store *store, const json_t *table, dv_error *err)
{
    _cleanup_free_ char *path = dv_xasprintf("%s/images.json", store->state_dir);
    return dv_atomic_write_json(path, table, 0600, err);
}

int dv_state_store_load_images(dv_state_store *store, json_t **ret, dv_error *err)
{
    _cleanup_free_ char *path = dv_xasprintf("%s/images.json", store->state_dir);
    json_t *j = NULL;
    dv_error local;
    int r = read_json(path, &j, &local);
    if (r == -ENOENT) {
        *ret = NULL;
        return 0;
    }
    if (r < 0)
        return dv_error_set(err, r, "%s", local.msg);
    *ret = j;
    return 0;
}
