/* The strict JSON reader, for what another program wrote and a misreading would cost:
 * docklog's config (read by docklog, written by the agent), docklog's checkpoint and
 * the slots of its copy (read by docklog and by the agent), the log gap records. One
 * set of rules, so that docklog and the agent refuse the same texts:
 * - the text is one JSON object, with nothing after it but whitespace;
 * - no object, at any depth, has a key twice (a lenient reader silently keeps the
 *   last one, so two readers of one text could disagree on what it says);
 * - no string holds a NUL character ("\u0000": it would cut the C string short).
 * Keys a reader does not know are its own rule (docklog's config refuses them, the
 * checkpoint ignores them so a later version can add some): dv_json_unknown_key().
 * Types and ranges are the caller's to check. */
#ifndef DV_JSON_STRICT_H
#define DV_JSON_STRICT_H

#include <stddef.h>

#include <jansson.h>

#include "error.h"

/* Parse TEXT (LEN bytes) under the rules above. -EINVAL "line L column C: reason"
 * (the caller adds what the text is). *RET is the caller's. */
int dv_json_parse_strict(const char *text, size_t len, json_t **ret, dv_error *err);

/* Read PATH and parse it as above. Errors: those of dv_read_file() (-ENOENT for a
 * missing file, naming PATH), -EINVAL "PATH: line L column C: reason". */
int dv_json_read_strict(const char *path, json_t **ret, dv_error *err);

/* For texts parsed by Jansson with JSON_ALLOW_NUL (task specs, API bodies): -EINVAL
 * naming the first string value that holds a NUL character, as the spec's errors name a
 * field ("config.args[1]: holds a NUL character (\u0000), which no field takes"); 0 when
 * none does. Why not refuse them in the parser: Jansson's error names its flag and a
 * column, not the field. */
int dv_json_refuse_nul(const json_t *json, dv_error *err);

/* The first key of OBJ that is not in KNOWN (NULL-terminated), or NULL when every
 * key is known. The key is OBJ's: valid while OBJ is. */
const char *dv_json_unknown_key(const json_t *obj, const char *const *known);

#endif
