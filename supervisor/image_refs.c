#include "image_refs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

/* A node has tens of images, not thousands: flat arrays keep this simple. */
typedef struct image_entry {
    char *id;
    char *name;
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
    return calloc(1, sizeof(dv_image_refs));
}

static void entry_clear(image_entry *e)
{
    free(e->id);
    free(e->name);
    for (size_t i = 0; i < e->n_tasks; i++)
        free(e->tasks[i]);
    free(e->tasks);
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

static image_entry *add_entry(dv_image_refs *refs, const char *image_id, const char *name)
{
    image_entry *grown = realloc(refs->images, (refs->n_images + 1) * sizeof(*grown));
    if (!grown)
        return NULL;
    refs->images = grown;
    image_entry *e = &refs->images[refs->n_images];
    *e = (image_entry){.id = strdup(image_id), .name = strdup(name ? name : image_id)};
    if (!e->id || !e->name) {
        entry_clear(e);
        return NULL;
    }
    refs->n_images++;
    return e;
}

int dv_image_refs_acquire(dv_image_refs *refs, const char *image_id, const char *name,
                          const char *task_id, dv_error *err)
{
    image_entry *e = find(refs, image_id);
    if (!e && !(e = add_entry(refs, image_id, name)))
        return dv_error_set(err, -ENOMEM, "out of memory");
    e->remove_at_ns = 0;
    for (size_t i = 0; i < e->n_tasks; i++)
        if (strcmp(e->tasks[i], task_id) == 0)
            return 0;
    char **grown = realloc(e->tasks, (e->n_tasks + 1) * sizeof(*grown));
    if (!grown)
        return dv_error_set(err, -ENOMEM, "out of memory");
    e->tasks = grown;
    if (!(e->tasks[e->n_tasks] = strdup(task_id)))
        return dv_error_set(err, -ENOMEM, "out of memory");
    e->n_tasks++;
    return 0;
}

int dv_image_refs_release(dv_image_refs *refs, const char *image_id, const char *task_id,
                          int64_t now_ns, int64_t delay_ns)
{
    image_entry *e = find(refs, image_id);
    if (!e)
        return 0;
    for (size_t i = 0; i < e->n_tasks; i++) {
        if (strcmp(e->tasks[i], task_id) != 0)
            continue;
        free(e->tasks[i]);
        e->tasks[i] = e->tasks[--e->n_tasks];
        if (e->n_tasks == 0)
            e->remove_at_ns = now_ns + delay_ns > 0 ? now_ns + delay_ns : 1;
        break;
    }
    return (int)e->n_tasks;
}

int dv_image_refs_count(const dv_image_refs *refs, const char *image_id)
{
    const image_entry *e = find(refs, image_id);
    return e ? (int)e->n_tasks : 0;
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

void dv_image_refs_forget(dv_image_refs *refs, const char *image_id)
{
    image_entry *e = find(refs, image_id);
    if (!e || e->n_tasks)
        return;
    entry_clear(e);
    *e = refs->images[--refs->n_images];
}

json_t *dv_image_refs_to_json(const dv_image_refs *refs)
{
    json_t *images = json_object();
    for (size_t i = 0; images && i < refs->n_images; i++) {
        const image_entry *e = &refs->images[i];
        json_t *tasks = json_array();
        for (size_t t = 0; tasks && t < e->n_tasks; t++)
            json_array_append_new(tasks, json_string(e->tasks[t]));
        json_object_set_new(images, e->id,
                            json_pack("{s:s,s:o,s:I}", "name", e->name, "tasks", tasks,
                                      "remove_at_ns", (json_int_t)e->remove_at_ns));
    }
    return json_pack("{s:i,s:o}", "version", 1, "images", images);
}

int dv_image_refs_from_json(const json_t *json, dv_image_refs **ret, dv_error *err)
{
    json_t *images = NULL;
    int version = 0;
    json_error_t jerr;
    if (json_unpack_ex((json_t *)json, &jerr, 0, "{s:i,s:o}", "version", &version, "images",
                       &images) < 0)
        return dv_error_set(err, -EINVAL, "image table: %s", jerr.text);
    if (version != 1)
        return dv_error_set(err, -EINVAL, "image table: unknown version %d", version);
    dv_image_refs *refs = dv_image_refs_new();
    if (!refs)
        return dv_error_set(err, -ENOMEM, "out of memory");
    const char *id;
    json_t *entry;
    json_object_foreach(images, id, entry)
    {
        const char *name = NULL;
        json_t *tasks = NULL;
        json_int_t at = 0;
        if (json_unpack_ex(entry, &jerr, 0, "{s:s,s:o,s:I}", "name", &name, "tasks", &tasks,
                           "remove_at_ns", &at) < 0 ||
            !json_is_array(tasks)) {
            dv_image_refs_free(refs);
            return dv_error_set(err, -EINVAL, "image table: image %s: malformed entry", id);
        }
        image_entry *e = add_entry(refs, id, name);
        if (!e) {
            dv_image_refs_free(refs);
            return dv_error_set(err, -ENOMEM, "out of memory");
        }
        size_t i;
        json_t *task;
        json_array_foreach(tasks, i, task)
        {
            if (!json_is_string(task) ||
                dv_image_refs_acquire(refs, id, name, json_string_value(task), err) < 0) {
                dv_image_refs_free(refs);
                return dv_error_set(err, -EINVAL, "image table: image %s: bad task list", id);
            }
        }
        e = find(refs, id);
        e->remove_at_ns = e->n_tasks ? 0 : at;
    }
    *ret = refs;
    return 0;
}
