#include "log_gaps.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cleanup.h"
#include "json_strict.h"
#include "timestamp.h"

const char *dv_log_gap_stream_name(int stream)
{
    return stream ? "stderr" : "stdout";
}

size_t dv_log_gap_format(const dv_log_gap *gap, char buf[DV_LOG_GAP_LINE_MAX])
{
    char after[DV_TIMESTAMP_MAX], before[DV_TIMESTAMP_MAX];
    dv_timestamp_format(gap->after_ns, after);
    dv_timestamp_format(gap->before_ns, before);
    int n =
        snprintf(buf, DV_LOG_GAP_LINE_MAX,
                 "{\"stream\":\"%s\",\"container_id\":\"%.64s\",\"after_ns\":%lld,"
                 "\"after\":\"%s\",\"before_ns\":%lld,\"before\":\"%s\",\"at_ns\":%lld}\n",
                 dv_log_gap_stream_name(gap->stream), gap->container_id, (long long)gap->after_ns,
                 after, (long long)gap->before_ns, before, (long long)gap->at_ns);
    return n < 0 ? 0 : (size_t)n < DV_LOG_GAP_LINE_MAX ? (size_t)n : DV_LOG_GAP_LINE_MAX - 1;
}

int dv_log_gap_parse(const char *line, size_t len, dv_log_gap *ret, dv_error *err)
{
    _cleanup_json_ json_t *j = NULL;
    if (dv_json_parse_strict(line, len, &j, err) < 0)
        return dv_error_wrap(err, "log gap record");
    const char *stream = json_string_value(json_object_get(j, "stream"));
    const char *cid = json_string_value(json_object_get(j, "container_id"));
    json_t *after = json_object_get(j, "after_ns"), *before = json_object_get(j, "before_ns"),
           *at = json_object_get(j, "at_ns");
    if (!stream || (strcmp(stream, "stdout") != 0 && strcmp(stream, "stderr") != 0) || !cid ||
        !json_is_integer(after) || !json_is_integer(before) || !json_is_integer(at))
        return dv_error_set(err, -EINVAL, "log gap record: missing or malformed field");
    dv_log_gap g = {.stream = strcmp(stream, "stderr") == 0,
                    .after_ns = json_integer_value(after),
                    .before_ns = json_integer_value(before),
                    .at_ns = json_integer_value(at)};
    snprintf(g.container_id, sizeof(g.container_id), "%.64s", cid);
    *ret = g;
    return 0;
}
