/* Long-lived streams without a deadline: container logs and daemon events. */
#include "docker_internal.h"

#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "xalloc.h"

#define EVENT_LINE_MAX ((size_t)1 << 20)

typedef struct logs_ctx {
    const dv_logs_options *opts;
    dv_demux demux;
    dv_error fail;
    bool failed;
} logs_ctx;

static int on_log_frame(enum dv_stream_type type, const char *data, size_t len, void *userdata)
{
    logs_ctx *c = userdata;
    if (type == DV_STREAM_SYSTEM) {
        /* Docker ends a log stream it cannot continue with a system frame. */
        dv_error_set(&c->fail, -EIO, "daemon error in the log stream: %.*s",
                     (int)(len > 500 ? 500 : len), data);
        c->failed = true;
        return 1;
    }
    return c->opts->on_frame(type, data, len, c->opts->userdata) != 0;
}

static int on_log_data(const char *data, size_t len, void *userdata, dv_error *err)
{
    logs_ctx *c = userdata;
    int r = dv_demux_feed(&c->demux, data, len, err);
    if (r > 0 && c->failed) {
        *err = c->fail;
        return c->fail.code;
    }
    return r;
}

static void add_param(dv_buf *b, const char *key, const char *value)
{
    dv_buf_printf(b, "%c%s=", b->data && strchr(b->data, '?') ? '&' : '?', key);
    dv_docker_escape(b, value, NULL);
}

int dv_docker_logs(dv_docker *dk, const dv_logs_options *opts, dv_error *err)
{
    _cleanup_buf_ dv_buf path = DV_BUF_INIT;
    int r = dv_docker_path(&path, "/containers/", opts->id, NULL, err,
                           "/logs?follow=%d&stdout=%d&stderr=%d&timestamps=%d", opts->follow,
                           opts->stdout_, opts->stderr_, opts->timestamps);
    if (r < 0)
        return r;
    if (opts->since && *opts->since)
        add_param(&path, "since", opts->since);
    if (opts->tail && *opts->tail)
        add_param(&path, "tail", opts->tail);

    logs_ctx c = {.opts = opts};
    dv_error_clear(&c.fail);
    dv_demux_init(&c.demux, opts->tty, on_log_frame, &c);
    dv_docker_request req = {.method = "GET",
                             .path = path.data,
                             .timeout_ns = 0,
                             .cancel = opts->cancel,
                             .on_data = on_log_data,
                             .userdata = &c};
    dv_docker_response resp = {0};
    r = dv_docker_do(dk, &req, &resp, err);
    dv_docker_response_clear(&resp);
    /* Docker ends a stream on a frame boundary; anything else is a cut connection. */
    if (r == 0 && dv_demux_partial(&c.demux)) {
        r = dv_docker_fail(&req, err, -ECONNRESET, "log stream ended inside a frame");
        if (err)
            err->recoverable = true;
    }
    dv_demux_free(&c.demux);
    return r;
}

typedef struct events_ctx {
    dv_line_reader lines;
    dv_event_cb cb;
    void (*on_open)(void *userdata);
    void *userdata;
    dv_error fail;
    bool failed;
} events_ctx;

static int on_event_line(const char *line, size_t len, void *userdata)
{
    events_ctx *c = userdata;
    json_error_t jerr;
    _cleanup_json_ json_t *j = json_loadb(line, len, 0, &jerr);
    if (!json_is_object(j)) {
        dv_error_set(&c->fail, -EBADMSG, "invalid event: %s", j ? "not an object" : jerr.text);
        c->failed = true;
        return 1;
    }
    return c->cb(j, c->userdata) != 0;
}

static int on_event_data(const char *data, size_t len, void *userdata, dv_error *err)
{
    events_ctx *c = userdata;
    int r = dv_line_reader_feed(&c->lines, data, len, err);
    if (r > 0 && c->failed) {
        *err = c->fail;
        return c->fail.code;
    }
    return r;
}

static void on_events_open(void *userdata)
{
    events_ctx *c = userdata;
    c->on_open(c->userdata);
}

int dv_docker_events(dv_docker *dk, const char *since, const json_t *filters, dv_event_cb on_event,
                     void *userdata, dv_cancel *cancel, dv_error *err)
{
    return dv_docker_events_open(dk, since, filters, on_event, NULL, userdata, cancel, err);
}

int dv_docker_events_open(dv_docker *dk, const char *since, const json_t *filters,
                          dv_event_cb on_event, void (*on_open)(void *userdata), void *userdata,
                          dv_cancel *cancel, dv_error *err)
{
    _cleanup_buf_ dv_buf path = DV_BUF_INIT;
    dv_buf_appends(&path, "/events");
    if (since && *since)
        add_param(&path, "since", since);
    if (filters) {
        _cleanup_free_ char *f = dv_docker_dump(filters);
        add_param(&path, "filters", f);
    }

    events_ctx c = {.cb = on_event, .on_open = on_open, .userdata = userdata};
    dv_error_clear(&c.fail);
    dv_line_reader_init(&c.lines, EVENT_LINE_MAX, on_event_line, &c);
    dv_docker_request req = {.method = "GET",
                             .path = path.data,
                             .timeout_ns = 0,
                             .cancel = cancel,
                             .on_data = on_event_data,
                             .on_open = on_open ? on_events_open : NULL,
                             .userdata = &c};
    dv_docker_response resp = {0};
    int r = dv_docker_do(dk, &req, &resp, err);
    dv_docker_response_clear(&resp);
    dv_line_reader_free(&c.lines);
    return r;
}
