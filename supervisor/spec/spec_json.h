/* Reading JSON objects with field paths, for the spec and agent config
 * parsers: every failure is a dv_spec_error naming the field.
 *
 * Conventions: PATH is the path of the object being read ("" at the top,
 * "config", "config.mount[2]"); KEY a key in it. A missing key or JSON null
 * leaves *ret untouched (the caller pre-fills defaults) and returns 0. */
#ifndef DV_SPEC_JSON_H
#define DV_SPEC_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "spec_types.h"

/* OUT = "PATH.KEY" (or "KEY" at the top). */
void dv_sj_join(char out[DV_SPEC_FIELD_MAX], const char *path, const char *key);
/* OUT = "PATH[I]". */
void dv_sj_index(char out[DV_SPEC_FIELD_MAX], const char *path, size_t i);

/* "a string", "an object", ... for messages. */
const char *dv_sj_type_name(const json_t *value);

/* Fails on the first key of OBJ not in ALLOWED (NULL-terminated):
 * "PATH.KEY: unknown option" (with a "did you mean" for a near miss). */
int dv_sj_check_keys(const json_t *obj, const char *path, const char *const *allowed,
                     dv_spec_error *err);

/* The value under KEY when it is an object (else an error), or NULL. */
int dv_sj_object(const json_t *obj, const char *path, const char *key, const json_t **ret,
                 dv_spec_error *err);

/* A string (no embedded NUL). *ret (freed first) gets a copy. */
int dv_sj_string(const json_t *obj, const char *path, const char *key, char **ret,
                 dv_spec_error *err);
/* The same without a copy: *ret points into OBJ (valid while it lives), NULL
 * when the key is absent or null. */
int dv_sj_string_ref(const json_t *obj, const char *path, const char *key, const char **ret,
                     dv_spec_error *err);
int dv_sj_bool(const json_t *obj, const char *path, const char *key, bool *ret, dv_spec_error *err);
/* An integer within [MIN, MAX]. */
int dv_sj_int(const json_t *obj, const char *path, const char *key, int64_t min, int64_t max,
              int64_t *ret, dv_spec_error *err);
/* A Go duration string, at least MIN_NS. */
int dv_sj_duration(const json_t *obj, const char *path, const char *key, int64_t min_ns,
                   int64_t *ret_ns, dv_spec_error *err);
/* An array of strings; replaces *ret. *ret_set (optional) = the key was given. */
int dv_sj_strv(const json_t *obj, const char *path, const char *key, dv_strv *ret, bool *ret_set,
               dv_spec_error *err);
/* An object of scalars (string, integer, boolean: kept as their text); replaces *ret. */
int dv_sj_kv(const json_t *obj, const char *path, const char *key, dv_kv *ret, dv_spec_error *err);

/* A logging block's driver name: "type", or "driver", Nomad's older alias;
 * both given and different is an error naming PATH.driver. *ret as dv_sj_string. */
int dv_sj_logging_type(const json_t *logging, const char *path, char **ret, dv_spec_error *err);

/* A Windows-only option of Nomad's (isolation, windows_allow_insecure_container_admin):
 * present (and not null) is an error naming it, "only meaningful on Windows". */
int dv_sj_windows_only(const json_t *obj, const char *path, const char *key, dv_spec_error *err);

/* Value checks shared by the parsers. */
/* A meta key: [A-Za-z0-9_.-]+ (it is read back as ${meta.<key>} and NOMAD_META_<key>). */
bool dv_meta_key_valid(const char *key);
bool dv_sj_valid_ip(const char *text);
/* Docker's container and network name rule, [A-Za-z0-9][A-Za-z0-9_.-]*, at most MAX
 * characters: group, job and network names become parts of Docker's names. */
bool dv_sj_valid_docker_name(const char *text, size_t max);
bool dv_sj_valid_mac(const char *text);

#endif
