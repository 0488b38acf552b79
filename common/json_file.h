/* Reading a JSON file in one call, with the errors every reader would otherwise word
 * itself. Lenient unless FLAGS say otherwise: for what another program wrote, such as
 * docklog's config and checkpoint, use the strict reader (json_strict.h), which
 * refuses what docklog refuses. */
#ifndef DV_JSON_FILE_H
#define DV_JSON_FILE_H

#include <stddef.h>

#include <jansson.h>

#include "error.h"

/* Read PATH and parse it as one JSON text (Jansson FLAGS, e.g. JSON_REJECT_DUPLICATES).
 * Errors: those of dv_read_file() (-ENOENT for a missing file, the message naming
 * PATH), -EINVAL "PATH: line L: reason" for malformed JSON. *RET is the caller's. */
int dv_json_read_file(const char *path, size_t flags, json_t **ret, dv_error *err);

#endif
