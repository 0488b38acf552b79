#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomic_file.h"
#include "cleanup.h"
#include "json_strict.h"
#include "timestamp.h"
#include "xalloc.h"

static const char *const outcome_names[] = {
    [DL_OUTCOME_RUNNING] = DV_DOCKLOG_OUTCOME_RUNNING_NAME,
    [DL_OUTCOME_DONE] = DV_DOCKLOG_OUTCOME_DONE_NAME,
    [DL_OUTCOME_FAILED] = DV_DOCKLOG_OUTCOME_FAILED_NAME,
};

const char *dl_outcome_name(enum dl_outcome o)
{
    return (unsigned)o < DV_ARRAY_SIZE(outcome_names) ? outcome_names[o] : "running";
}

void dl_checkpoint_init(dl_checkpoint *cp, const char *container_id)
{
    memset(cp, 0, sizeof(*cp));
    snprintf(cp->container_id, sizeof(cp->container_id), "%s", container_id);
    cp->outcome = DL_OUTCOME_RUNNING;
    cp->pos.ts[0] = cp->pos.ts[1] = DL_TS_NONE;
    cp->pos.out = DL_FILE_POS_NONE;
    cp->pos.err = DL_FILE_POS_NONE;
    cp->synced = cp->pos;
}

void dl_position_advance(dl_position *pos, int stream, int64_t ts)
{
    if (pos->ts[stream] == DL_TS_NONE || ts > pos->ts[stream]) {
        pos->ts[stream] = ts;
        pos->count[stream] = 1;
    } else if (ts == pos->ts[stream]) {
        pos->count[stream]++;
    }
}

int64_t dl_position_since(const dl_position *pos)
{
    int64_t a = pos->ts[0], b = pos->ts[1];
    if (a == DL_TS_NONE && b == DL_TS_NONE)
        return DL_TS_NONE;
    if (a == DL_TS_NONE || b == DL_TS_NONE) {
        int64_t t = a == DL_TS_NONE ? b : a;
        return t > INT64_MIN + DL_SINCE_MARGIN ? t - DL_SINCE_MARGIN : DL_TS_NONE;
    }
    return a < b ? a : b;
}

static json_t *stream_json(const dl_position *pos, int stream)
{
    const dl_file_pos *p = stream ? &pos->err : &pos->out;
    json_t *o = json_pack("{sIsIsIsbsI}", "index", (json_int_t)p->index, "offset",
                          (json_int_t)p->offset, "line_start", (json_int_t)p->line_start,
                          "mid_line", p->mid_line, "count", (json_int_t)pos->count[stream]);
    if (o && p->truncate_index >= 0)
        json_object_set_new(o, "truncate",
                            json_pack("{sIsI}", "index", (json_int_t)p->truncate_index, "offset",
                                      (json_int_t)p->truncate_offset));
    if (o && pos->ts[stream] != DL_TS_NONE) {
        char text[DV_TIMESTAMP_MAX];
        dv_timestamp_format(pos->ts[stream], text);
        json_object_set_new(o, "ts", json_integer(pos->ts[stream]));
        json_object_set_new(o, "time", json_string(text));
    }
    return o;
}

static json_t *position_json(const dl_position *p)
{
    json_t *o = json_pack("{soso}", "stdout", stream_json(p, 0), "stderr", stream_json(p, 1));
    const dl_source_pos *s = &p->source;
    if (o && s->set)
        json_object_set_new(o, "source",
                            json_pack("{sIsIsIsIss}", "dev", (json_int_t)s->dev, "ino",
                                      (json_int_t)s->ino, "born", (json_int_t)s->born_ns, "offset",
                                      (json_int_t)s->offset, "boot_id", s->boot_id));
    return o;
}

json_t *dl_checkpoint_to_json(const dl_checkpoint *cp)
{
    json_t *o = json_pack("{sissssso}", "version", DV_DOCKLOG_CHECKPOINT_VERSION, "container_id",
                          cp->container_id, "outcome", dl_outcome_name(cp->outcome), "position",
                          position_json(&cp->pos));
    if (!o)
        return NULL;
    if (cp->outcome == DL_OUTCOME_FAILED)
        json_object_set_new(o, "error", json_string(cp->error));
    if (cp->has_synced)
        json_object_set_new(o, "synced", position_json(&cp->synced));
    const dl_progress *pr = &cp->progress;
    json_t *p =
        json_pack("{sIsIsIsI}", DV_DOCKLOG_PROGRESS_ENTRIES, (json_int_t)pr->entries,
                  DV_DOCKLOG_PROGRESS_BYTES, (json_int_t)pr->bytes, DV_DOCKLOG_PROGRESS_STARTS,
                  (json_int_t)pr->starts, DV_DOCKLOG_PROGRESS_LAG_NS, (json_int_t)pr->lag_ns);
    if (p && pr->at_ns > 0)
        json_object_set_new(p, DV_DOCKLOG_PROGRESS_AT, json_integer(pr->at_ns));
    json_object_set_new(o, DV_DOCKLOG_PROGRESS_KEY, p);
    return o;
}

static int get_i64(const json_t *o, const char *key, int64_t min, int64_t *ret)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < min)
        return -EINVAL;
    *ret = json_integer_value(v);
    return 0;
}

static int stream_from_json(const json_t *o, dl_position *pos, int stream)
{
    dl_file_pos p = DL_FILE_POS_NONE;
    json_t *mid = json_object_get(o, "mid_line");
    int64_t count;
    if (!json_is_object(o) || get_i64(o, "index", -1, &p.index) < 0 ||
        get_i64(o, "offset", 0, &p.offset) < 0 || get_i64(o, "line_start", 0, &p.line_start) < 0 ||
        get_i64(o, "count", 0, &count) < 0 || !json_is_boolean(mid) || p.line_start > p.offset)
        return -EINVAL;
    p.mid_line = json_is_true(mid);
    json_t *t = json_object_get(o, "truncate");
    if (t && (!json_is_object(t) || get_i64(t, "index", 0, &p.truncate_index) < 0 ||
              get_i64(t, "offset", 0, &p.truncate_offset) < 0))
        return -EINVAL;
    json_t *ts = json_object_get(o, "ts");
    if (ts && !json_is_integer(ts))
        return -EINVAL;
    pos->ts[stream] = ts ? json_integer_value(ts) : DL_TS_NONE;
    pos->count[stream] = (uint64_t)count;
    *(stream ? &pos->err : &pos->out) = p;
    return 0;
}

bool dl_source_pos_equal(const dl_source_pos *a, const dl_source_pos *b)
{
    if (!a->set || !b->set)
        return a->set == b->set;
    return a->dev == b->dev && a->ino == b->ino && a->born_ns == b->born_ns &&
           a->offset == b->offset && strcmp(a->boot_id, b->boot_id) == 0;
}

/* Absent (an older docklog, or no file source): not set. */
static int source_from_json(const json_t *o, dl_source_pos *ret)
{
    dl_source_pos s;
    memset(&s, 0, sizeof(s)); /* padding too: positions are compared whole */
    int64_t dev, ino;
    const char *boot = json_string_value(json_object_get(o, "boot_id"));
    if (!o) {
        *ret = s;
        return 0;
    }
    if (!json_is_object(o) || get_i64(o, "dev", 0, &dev) < 0 || get_i64(o, "ino", 0, &ino) < 0 ||
        get_i64(o, "born", INT64_MIN, &s.born_ns) < 0 || get_i64(o, "offset", 0, &s.offset) < 0 ||
        !boot || strlen(boot) != DV_BOOT_ID_STRLEN)
        return -EINVAL;
    s.dev = (uint64_t)dev;
    s.ino = (uint64_t)ino;
    memcpy(s.boot_id, boot, DV_BOOT_ID_STRLEN + 1);
    s.set = true;
    *ret = s;
    return 0;
}

static int position_from_json(const json_t *o, dl_position *ret)
{
    dl_position p;
    memset(&p, 0, sizeof(p));
    if (!json_is_object(o) || stream_from_json(json_object_get(o, "stdout"), &p, 0) < 0 ||
        stream_from_json(json_object_get(o, "stderr"), &p, 1) < 0 ||
        source_from_json(json_object_get(o, "source"), &p.source) < 0)
        return -EINVAL;
    *ret = p;
    return 0;
}

/* Absent (an older docklog wrote the checkpoint): all 0. */
static int progress_from_json(const json_t *o, dl_progress *ret)
{
    dl_progress p = {0};
    int64_t entries = 0, bytes = 0, starts = 0;
    if (!o) {
        *ret = p;
        return 0;
    }
    if (!json_is_object(o) || get_i64(o, DV_DOCKLOG_PROGRESS_ENTRIES, 0, &entries) < 0 ||
        get_i64(o, DV_DOCKLOG_PROGRESS_BYTES, 0, &bytes) < 0 ||
        get_i64(o, DV_DOCKLOG_PROGRESS_STARTS, 0, &starts) < 0 ||
        get_i64(o, DV_DOCKLOG_PROGRESS_LAG_NS, INT64_MIN, &p.lag_ns) < 0)
        return -EINVAL;
    if (json_object_get(o, DV_DOCKLOG_PROGRESS_AT) &&
        get_i64(o, DV_DOCKLOG_PROGRESS_AT, 0, &p.at_ns) < 0)
        return -EINVAL;
    p.entries = (uint64_t)entries;
    p.bytes = (uint64_t)bytes;
    p.starts = (uint64_t)starts;
    *ret = p;
    return 0;
}

int dl_checkpoint_from_json(const json_t *json, dl_checkpoint *ret, dv_error *err)
{
    dl_checkpoint cp;
    dl_checkpoint_init(&cp, "");
    json_t *v = json_object_get(json, "version");
    if (!json_is_integer(v) || json_integer_value(v) != DV_DOCKLOG_CHECKPOINT_VERSION)
        return dv_error_set(err, -EINVAL, "checkpoint: unsupported version (this docklog reads %d)",
                            DV_DOCKLOG_CHECKPOINT_VERSION);
    json_t *id = json_object_get(json, "container_id");
    json_t *outcome = json_object_get(json, "outcome");
    if (!json_is_string(id) || !json_is_string(outcome))
        return dv_error_set(err, -EINVAL, "checkpoint: container_id/outcome missing");
    snprintf(cp.container_id, sizeof(cp.container_id), "%s", json_string_value(id));
    bool known = false;
    for (size_t i = 0; i < DV_ARRAY_SIZE(outcome_names); i++)
        if (strcmp(outcome_names[i], json_string_value(outcome)) == 0) {
            cp.outcome = (enum dl_outcome)i;
            known = true;
        }
    if (!known)
        return dv_error_set(err, -EINVAL, "checkpoint: unknown outcome \"%s\"",
                            json_string_value(outcome));
    json_t *e = json_object_get(json, "error");
    if (json_is_string(e))
        snprintf(cp.error, sizeof(cp.error), "%s", json_string_value(e));
    if (position_from_json(json_object_get(json, "position"), &cp.pos) < 0)
        return dv_error_set(err, -EINVAL, "checkpoint: malformed position");
    if (progress_from_json(json_object_get(json, DV_DOCKLOG_PROGRESS_KEY), &cp.progress) < 0)
        return dv_error_set(err, -EINVAL, "checkpoint: malformed progress");
    json_t *synced = json_object_get(json, "synced");
    if (synced) {
        if (position_from_json(synced, &cp.synced) < 0)
            return dv_error_set(err, -EINVAL, "checkpoint: malformed synced position");
        cp.has_synced = true;
    }
    *ret = cp;
    return 0;
}

int dl_checkpoint_load(const char *path, dl_checkpoint *ret, dv_error *err)
{
    _cleanup_json_ json_t *json = NULL;
    int r = dv_json_read_strict(path, &json, err);
    if (r < 0)
        return r;
    r = dl_checkpoint_from_json(json, ret, err);
    if (r < 0)
        return dv_error_wrap(err, "%s", path);
    return 0;
}

char *dl_checkpoint_dumps(const dl_checkpoint *cp, size_t *ret_len)
{
    _cleanup_json_ json_t *json = dl_checkpoint_to_json(cp);
    char *text = json ? json_dumps(json, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (text)
        *ret_len = strlen(text);
    return text;
}

int dl_checkpoint_save_text(const char *path, const char *text, size_t len, bool durable,
                            dv_error *err)
{
    _cleanup_free_ char *line = dv_xmalloc(len + 1);
    memcpy(line, text, len);
    line[len] = '\n';
    /* Without durable: atomic against process death, which is what every batch needs;
     * durability is the sync point's job (see the header). */
    return dv_atomic_write_flags(path, line, len + 1, 0644, durable ? 0 : DV_ATOMIC_NO_SYNC, err);
}

int dl_checkpoint_save(const char *path, const dl_checkpoint *cp, bool durable, dv_error *err)
{
    size_t len;
    _cleanup_free_ char *text = dl_checkpoint_dumps(cp, &len);
    if (!text)
        return dv_error_set(err, -ENOMEM, "checkpoint: out of memory");
    return dl_checkpoint_save_text(path, text, len, durable, err);
}
