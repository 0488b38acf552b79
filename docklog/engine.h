/* The three Engine API calls docklog makes, over its own HTTP client:
 * GET /version (API version negotiation), GET /containers/{id}/json (is it still
 * running, which log driver) and the streaming GET /containers/{id}/logs. */
#ifndef DL_ENGINE_H
#define DL_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "http1.h"

/* The newest API version docklog speaks (the same as the agent's client). */
#define DL_API_MAX "1.41"

typedef struct dl_engine {
    dl_http_client http;
    const char *container_id;
    char version[16]; /* "" until negotiated */
} dl_engine;

typedef struct dl_container_state {
    bool running;    /* State.Running (also true while paused) */
    bool restarting; /* State.Restarting */
    char status[32]; /* State.Status: created, running, exited, dead, ... */
    char started_at[48];
    char log_driver[64]; /* HostConfig.LogConfig.Type */
    /* HostConfig.LogConfig.Config["syslog-address"] is absent or a unix socket: the
     * syslog driver writes to this host's syslog socket (journald's, under systemd). */
    bool syslog_local;
    /* For reading the log from disk (jsonfile.h): LogPath (for the local driver,
     * derived: localfile.h; empty before the container first started), whether the
     * driver compresses rotated files (json-file: then only the API reads them; local:
     * read anyway), State.Pid (0: not running). */
    char log_path[1024];
    bool log_compress;
    /* The driver rotates by truncating its only file in place (max-size set, max-file
     * below 2: json-file's default is 1): the same inode starts again at byte 0, which
     * a reader holding it cannot tell from a file that did not grow. */
    bool log_truncates;
    int pid;
} dl_container_state;

int dl_engine_init(dl_engine *e, const dl_config *config, int wake_fd, dv_error *err);
void dl_engine_free(dl_engine *e);

/* GET /version once: min(ApiVersion, DL_API_MAX). */
int dl_engine_negotiate(dl_engine *e, dv_error *err);

/* Inspect the container. A missing container is -ENOENT with err->http_status 404. */
int dl_engine_inspect(dl_engine *e, dl_container_state *ret, dv_error *err);

/* The container has run and is not running nor being restarted by Docker. */
bool dl_container_exited(const dl_container_state *s);

/* Docker's answer (status 501, or this message) for a log driver it cannot read. */
bool dl_engine_logs_unreadable(const dv_error *err);

/* Stream follow=1&stdout=1&stderr=1&timestamps=1[&since=SINCE] (SINCE = DL_TS_NONE:
 * from the beginning) into CBS; see dl_http_get_stream() for the results. */
int dl_engine_logs(dl_engine *e, int64_t since, const dl_http_stream_cbs *cbs, dv_error *err);

#endif
