/* docklog's config file (`docklog CONFIG.json`), written by the agent at
 * tasks/<id>/docklog.json (supervisor/runner/docklog_launch.c). Format version 1
 * (DV_DOCKLOG_CONFIG_VERSION, common/docklog_protocol.h):
 *
 * {
 *   "version": 1,
 *   "endpoint": "unix:///var/run/docker.sock",      unix://, tcp://, http://, https://
 *   "addresses": ["192.0.2.7", "2001:db8::7"],      optional: the numeric addresses of a
 *                                                   tcp endpoint's host, resolved by the
 *                                                   agent (docklog resolves no names)
 *   "tls": {"cert": "...", "key": "...", "ca": "..."},   optional; only docklog-tls uses it
 *   "container": {"id": "<64 hex>", "name": "web-<uuid>", "tty": false, "image": "..."},
 *   "task": {"id": "<uuid>", "name": "web"},
 *   "files": {"enabled": true, "dir": ".../alloc/logs", "base": "web",
 *             "max_files": 10, "max_file_size": 10},          max_file_size in MB
 *   "journald": {"enabled": true, "identifier": "web",       SYSLOG_IDENTIFIER
 *                "socket": "/run/systemd/journal/socket"},    optional (tests)
 *   "checkpoint": ".../docklog.checkpoint",
 *   "gaps": ".../docklog.gaps",                    optional: where lost log entries are
 *                                                   recorded for the agent (gaps.h)
 *   "source": "auto"                                optional: "auto" (default): Docker's
 *                                                   json-file (uncompressed) or local log
 *                                                   from disk when the Engine is on this
 *                                                   host (unix://), else the API; "api":
 *                                                   always the API; "file": from disk
 *                                                   whatever the endpoint, and a driver or
 *                                                   file that cannot be read there is a
 *                                                   permanent failure (jsonfile.h,
 *                                                   localfile.h)
 * }
 *
 * Unknown keys, wrong types and missing required keys are errors naming the key,
 * and the text is read strictly (common/json_strict.h: a key given twice is an
 * error too); a config the agent wrote wrongly is a permanent failure: exit 100. */
#ifndef DL_CONFIG_H
#define DL_CONFIG_H

#include <stdbool.h>

#include <jansson.h>

#include "docklog_protocol.h"
#include "error.h"
#include "transport.h"

#define DL_JOURNALD_SOCKET_DEFAULT "/run/systemd/journal/socket"
/* Docker's CONTAINER_ID field: the short id. */
#define DL_SHORT_ID_LEN 12

typedef struct dl_config {
    char *endpoint;
    char *addresses[DV_DOCKLOG_ADDRESSES_MAX];
    size_t n_addresses;
    char *tls_cert; /* NULL when no tls block */
    char *tls_key;
    char *tls_ca;
    char *container_id;
    char *container_name;
    bool tty;
    char *image;
    char *task_id;
    char *task_name;
    struct {
        bool enabled;
        char *dir;
        char *base;
        int max_files;
        int max_file_size_mb;
    } files;
    struct {
        bool enabled;
        char *identifier; /* defaults to task.name */
        char *socket;     /* defaults to DL_JOURNALD_SOCKET_DEFAULT */
    } journald;
    char *checkpoint;
    char *gaps; /* NULL: not recorded for the agent (diagnostics and journald only) */
    enum dl_source { DL_SOURCE_AUTO, DL_SOURCE_API, DL_SOURCE_FILE } source;
} dl_config;

/* Parse JSON into *RET (all strings heap-owned by it). */
int dl_config_parse(const json_t *json, dl_config *ret, dv_error *err);
/* Read and parse PATH. */
int dl_config_load(const char *path, dl_config *ret, dv_error *err);
void dl_config_free(dl_config *c);

#endif
