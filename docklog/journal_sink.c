#include "journal_sink.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int dl_journal_sink_open(dl_journal_sink *sink, const dl_config *config, dv_error *err)
{
    memset(sink, 0, sizeof(*sink));
    sink->config = config;
    snprintf(sink->short_id, sizeof(sink->short_id), "%.*s", DL_SHORT_ID_LEN, config->container_id);
    return dl_journal_open(&sink->journal, config->journald.socket, err);
}

void dl_journal_sink_close(dl_journal_sink *sink)
{
    dl_journal_close(&sink->journal);
}

static dl_journal_field str_field(const char *name, const char *value)
{
    return (dl_journal_field){name, value, strlen(value)};
}

void dl_journal_late_stamp(int64_t ts, char buf[DV_TIMESTAMP_MAX])
{
    int64_t rem = ts % DV_NSEC_PER_MSEC;
    if (rem < 0) /* before the epoch: cut towards the past as well */
        rem += DV_NSEC_PER_MSEC;
    dv_timestamp_format(ts - rem, buf);
}

size_t dl_journal_sink_fields(const dl_journal_sink *sink, enum dl_stream stream,
                              const char *timestamp, const char *msg, size_t len, bool partial,
                              dl_journal_field *ret)
{
    const dl_config *c = sink->config;
    size_t n = 0;
    ret[n++] = (dl_journal_field){"MESSAGE", msg, len};
    ret[n++] = str_field("PRIORITY", stream == DL_STDERR ? "3" : "6");
    ret[n++] = str_field("CONTAINER_ID", sink->short_id);
    ret[n++] = str_field("CONTAINER_ID_FULL", c->container_id);
    ret[n++] = str_field("CONTAINER_NAME", c->container_name);
    ret[n++] = str_field("CONTAINER_TAG", sink->short_id);
    ret[n++] = str_field("IMAGE_NAME", c->image);
    ret[n++] = str_field("SYSLOG_IDENTIFIER", c->journald.identifier);
    ret[n++] = str_field("DOCKVISOR_TASK_ID", c->task_id);
    if (timestamp)
        ret[n++] = str_field("SYSLOG_TIMESTAMP", timestamp);
    if (partial)
        ret[n++] = str_field("CONTAINER_PARTIAL_MESSAGE", "true");
    return n;
}

int dl_journal_sink_write(dl_journal_sink *sink, enum dl_stream stream, const char *timestamp,
                          const char *msg, size_t len, const dl_retry *retry, dv_error *err)
{
    bool line_complete = len > 0 && msg[len - 1] == '\n';
    if (line_complete)
        len--;
    size_t done = 0;
    do {
        size_t piece = len - done > DL_JOURNAL_PIECE_MAX ? DL_JOURNAL_PIECE_MAX : len - done;
        bool last = done + piece == len;
        dl_journal_field fields[DL_JOURNAL_MAX_FIELDS];
        size_t n = dl_journal_sink_fields(sink, stream, timestamp, msg + done, piece,
                                          !last || !line_complete, fields);
        for (unsigned attempt = 1;; attempt++) {
            int r = dl_journal_send(&sink->journal, fields, n, err);
            if (r >= 0)
                break;
            if (!retry)
                return r;
            if (retry->wait(retry->userdata, attempt, err)) {
                dv_error_wrap(err, "stopped while retrying");
                if (err)
                    err->code = -EINTR;
                return -EINTR;
            }
        }
        done += piece;
    } while (done < len);
    return 0;
}
