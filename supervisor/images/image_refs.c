#include "image_refs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "xalloc.h"

/* A node has tens of images, not thousands: flat arrays keep this simple. */
typedef struct image_entry {
    char *id;
    char **names; /* references tasks used; never the id itself */
    size_t n_names;
    char **tasks;
    size_t n_tasks;
    int64_t remove_at_ns; /* 0 while in use */
} image_entry;

struct dv_image_refs {
    image_entry *images;
    size_t n_images;
};

dv_image_refs *dv_image_refs_new(void)
{
    return dv_xcalloc(1, sizeof(dv_image_refs));
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void entry_clear(image_entry *e)
{
    free(e->id);
    strv_free(e->names, e->n_names);
    strv_free(e->tasks, e->n_tasks);
}

void dv_image_refs_free(dv_image_refs *refs)
{
    if (!refs)
        return;
    for (size_t i = 0; i < refs->n_images; i++)
        entry_clear(&refs->images[i]);
    free(refs->images);
    free(refs);
}

static image_entry *find(const dv_image_refs *refs, const char *image_id)
{
    for (size_t i = 0; i < refs->n_images; i++)
        if (strcmp(refs->images[i].id, image_id) == 0)
            return &refs->images[i];
    return NULL;
}

static bool strv_has(char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

/* Append a copy of S unless it is there already. */
static void strv_add(char ***v, size_t *n, const char *s)
{
    if (strv_has(*v, *n, s))
        return;
    *v = dv_xreallocarray(*v, *n + 1, sizeof(**v));
    (*v)[(*n)++] = dv_xstrdup(s);
}

static void add_name(image_entry *e, const char *name)
{
    if (name && *name && strcmp(name, e->id) != 0)
        strv_add(&e->names, &e->n_names, name);
}

static image_entry *add_entry(dv_image_refs *refs, const char *image_id)
{
    refs->images = dv_xreallocarray(refs->images, refs->n_images + 1, sizeof(*refs->images));
    image_entry *e = &refs->images[refs->n_images++];
    *e = (image_entry){.id = dv_xstrdup(image_id)};
    return e;
}

int dv_image_refs_acquire(dv_image_refs *refs, const char *image_id, const char *name,
                          const char *task_id, dv_error *err)
{
    (void)err;
    image_entry *e = find(refs, image_id);
    if (!e)
        e = add_entry(refs, image_id);
    e->remove_at_ns = 0;
    add_name(e, name);
    strv_add(&e->tasks, &e->n_tasks, task_id);
    return 0;
}

static void release_at(image_entry *e, size_t i, int64_t now_ns, int64_t delay_ns)
{
    free(e->tasks[i]);
    e->tasks[i] = e->tasks[--e->n_tasks];
    if (e->n_tasks == 0)
        e->remove_at_ns = now_ns + delay_ns > 0 ? now_ns + delay_ns : 1;
}

int dv_image_refs_release(dv_image_refs *refs, const char *image_id, const char *task_id,
                          int64_t now_ns, int64_t delay_ns)
{
    image_entry *e = find(refs, image_id);
    if (!e)
        return 0;
    for (size_t i = 0; i < e->n_tasks; i++) {
        if (strcmp(e->tasks[i], task_id) == 0) {
            release_at(e, i, now_ns, delay_ns);
            break;
        }
    }
    return (int)e->n_tasks;
}

int dv_image_refs_count(const dv_image_refs *refs, const char *image_id)
{
    const image_entry *e = find(refs, image_id);
    return e ? (int)e->n_tasks : 0;
}

bool dv_image_refs_holds(const dv_image_refs *refs, const char *image_id, const char *task_id)
{
    const image_entry *e = find(refs, image_id);
    return e && strv_has(e->tasks, e->n_tasks, task_id);
}

int64_t dv_image_refs_next_due(const dv_image_refs *refs)
{
    int64_t next = 0;
    for (size_t i = 0; i < refs->n_images; i++) {
        int64_t at = refs->images[i].remove_at_ns;
        if (at && (!next || at < next))
            next = at;
    }
    return next;
}

bool dv_image_refs_take_due(const dv_image_refs *refs, int64_t now_ns, char *ret, size_t ret_size)
{
    for (size_t i = 0; i < refs->n_images; i++) {
        const image_entry *e = &refs->images[i];
        if (e->n_tasks == 0 && e->remove_at_ns && e->remove_at_ns <= now_ns) {
            snprintf(ret, ret_size, "%s", e->id);
            return true;
        }
    }
    return false;
}

void dv_image_refs_postpone(dv_image_refs *refs, const char *image_id, int64_t at_ns)
{
    image_entry *e = find(refs, image_id);
    if (e && e->n_tasks == 0)
        e->remove_at_ns = at_ns > 0 ? at_ns : 1;
}

const char *const *dv_image_refs_names(const dv_image_refs *refs, const char *image_id,
                                       size_t *ret_n)
{
    const image_entry *e = find(refs, image_id);
    *ret_n = e ? e->n_names : 0;
    return e ? (const char *const *)e->names : NULL;
}

static void remove_index(dv_image_refs *refs, size_t i)
{
    entry_clear(&refs->images[i]);
    refs->images[i] = refs->images[--refs->n_images];
}

void dv_image_refs_forget(dv_image_refs *refs, const char *image_id)
{
    image_entry *e = find(refs, image_id);
    if (e && e->n_tasks == 0)
        remove_index(refs, (size_t)(e - refs->images));
}

size_t dv_image_refs_forget_unused(dv_image_refs *refs)
{
    size_t dropped = 0;
    for (size_t i = 0; i < refs->n_images;) {
        if (refs->images[i].n_tasks == 0) {
            remove_index(refs, i);
            dropped++;
        } else {
            i++;
        }
    }
    return dropped;
}

size_t dv_image_refs_retain(dv_image_refs *refs, dv_image_refs_keep_fn keep, void *userdata,
                            int64_t now_ns, int64_t delay_ns)
{
    size_t released = 0;
    for (size_t i = 0; i < refs->n_images; i++) {
        image_entry *e = &refs->images[i];
        for (size_t t = 0; t < e->n_tasks;) {
            if (keep(e->id, e->tasks[t], userdata)) {
                t++;
                continue;
            }
            release_at(e, t, now_ns, delay_ns);
            released++;
        }
    }
    return released;
}

void dv_image_refs_stats(const dv_image_refs *refs, size_t *ret_images, size_t *ret_pending)
{
    size_t pending = 0;
    for (size_t i = 0; i < refs->n_images; i++)
        pending += refs->images[i].remove_at_ns != 0;
    *ret_images = refs->n_images;
    *ret_pending = pending;
}

static json_t *strv_to_json(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

json_t *dv_image_refs_to_json(const dv_image_refs *refs)
{
    json_t *images = json_object();
    for (size_t i = 0; i < refs->n_images; i++) {
        const image_entry *e = &refs->images[i];
        json_object_set_new(images, e->id,
                            json_pack("{s:s,s:o,s:o,s:I}", "name", e->n_names ? e->names[0] : e->id,
                                      "names", strv_to_json(e->names, e->n_names), "tasks",
                                      strv_to_json(e->tasks, e->n_tasks), "remove_at_ns",
                                      (json_int_t)e->remove_at_ns));
    }
    return json_pack("{s:i,s:o}", "version", 1, "images", images);
}

static int entry_from_json(dv_image_refs *refs, const char *id, json_t *entry, dv_error *err)
{
    const char *name = NULL;
    json_t *tasks = NULL, *names = NULL;
    json_int_t at = 0;
    json_error_t jerr;
    if (json_unpack_ex(entry, &jerr, 0, "{s:s,s?o,s:o,s:I}", "name", &name, "names", &names,
                       "tasks", &tasks, "remove_at_ns", &at) < 0 ||
        !json_is_array(tasks) || (names && !json_is_array(names)))
        return dv_error_set(err, -EINVAL, "image table: image %s: malformed entry", id);
    image_entry *e = add_entry(refs, id);
    add_name(e, name);
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v)
    {
        if (!json_is_string(v))
            return dv_error_set(err, -EINVAL, "image table: image %s: bad name list", id);
        add_name(e, json_string_value(v));
    }
    json_array_foreach(tasks, i, v)
    {
        if (!json_is_string(v))
            return dv_error_set(err, -EINVAL, "image table: image %s: bad task list", id);
        strv_add(&e->tasks, &e->n_tasks, json_string_value(v));
    }
    e->remove_at_ns = e->n_tasks ? 0 : (at > 0 ? at : 1);
    return 0;
}

int dv_image_refs_from_json(const json_t *json, dv_image_refs **ret, dv_error *err)
{
    json_t *images = NULL;
    int version = 0;
    json_error_t jerr;
    if (json_unpack_ex((json_t *)json, &jerr, 0, "{s:i,s:o}", "version", &version, "images",
                       &images) < 0)
        return dv_error_set(err, -EINVAL, "image table: %s", jerr.text);
    if (!json_is_object(images))
        return dv_error_set(err, -EINVAL, "image table: images is not an object");
    if (version != 1)
        return dv_error_set(err, -EINVAL, "image table: unknown version %d", version);
    dv_image_refs *refs = dv_image_refs_new();
    const char *id;
    json_t *entry;
    json_object_foreach(images, id, entry)
    {
        int r = entry_from_json(refs, id, entry, err);
        if (r < 0) {
            dv_image_refs_free(refs);
            return r;
        }
    }
    *ret = refs;
    return 0;
}
