/* Small value types shared by the task spec, the agent config, the policy
 * check and the translation: string lists, ordered string maps, and the
 * field-aware error.
 *
 * Validation errors name the offending field. dv_spec_error carries the
 * one-line message (err.msg, always "FIELD: reason" when a field is known,
 * e.g. `config.ulimit.nofile: invalid ulimit "abc": soft limit is not a
 * number`) and the field path alone (field), so the HTTP API can answer
 * 400 {"error": err.msg, "field": field}. Field paths use the spec's own key
 * names: "config.mount[1].target", "network.ports.http.static",
 * "docker.allow_caps[0]". A NULL dv_spec_error pointer is allowed everywhere. */
#ifndef DV_SPEC_TYPES_H
#define DV_SPEC_TYPES_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define DV_SPEC_FIELD_MAX 256

typedef struct dv_spec_error {
    dv_error err;                  /* code (negative errno, -EINVAL for bad input), msg */
    char field[DV_SPEC_FIELD_MAX]; /* "" when the error is not about one field */
} dv_spec_error;

void dv_spec_error_clear(dv_spec_error *err);

/* Set err->field = FIELD (may be NULL or "") and err->err.msg = "FIELD: <fmt>"
 * (just "<fmt>" without a field). Returns the negative code. */
int dv_spec_fail(dv_spec_error *err, const char *field, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ERR re-named under PREFIX: field "PREFIX.FIELD" (or PREFIX), message
 * "PREFIX.FIELD: reason" (or "PREFIX: reason"), as a group names a task's
 * field ("tasks[1].config.image") and a job a group's ("Job.TaskGroups[0]..."). */
void dv_spec_error_prefix(dv_spec_error *err, const char *prefix);

/* Copy a plain dv_error into ERR with FIELD as context ("FIELD: msg"). */
int dv_spec_fail_from(dv_spec_error *err, const char *field, const dv_error *cause);

/* A list of strings; v is NULL when n == 0. Owned. */
typedef struct dv_strv {
    char **v;
    size_t n;
} dv_strv;

void dv_strv_free(dv_strv *s);
void dv_strv_push(dv_strv *s, const char *value); /* copies */
bool dv_strv_contains(const dv_strv *s, const char *value);
bool dv_strv_contains_case(const dv_strv *s, const char *value); /* ASCII case-insensitive */

/* An ordered map of string to string (JSON object order, which Jansson keeps,
 * so everything built from it is deterministic). Keys are unique. Owned. */
typedef struct dv_kv_pair {
    char *key;
    char *value;
} dv_kv_pair;

typedef struct dv_kv {
    dv_kv_pair *v;
    size_t n;
} dv_kv;

void dv_kv_free(dv_kv *kv);
/* Insert or replace KEY (copies both). */
void dv_kv_set(dv_kv *kv, const char *key, const char *value);
/* The value of KEY or NULL. */
const char *dv_kv_get(const dv_kv *kv, const char *key);

#endif
