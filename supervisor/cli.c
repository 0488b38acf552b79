#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cleanup.h"
#include "clock.h"

void dv_cli_usage(FILE *out, const char *usage, const dv_flag *flags)
{
    fprintf(out, "usage: %s\n", usage);
    if (flags && flags[0].name) {
        fprintf(out, "\noptions:\n");
        for (const dv_flag *f = flags; f->name; f++)
            fprintf(out, "  -%-10s %s%s\n", f->name, f->type == DV_FLAG_STRING ? "VALUE  " : "",
                    f->help);
    }
}

int dv_cli_parse(const char *usage, const dv_flag *flags, int argc, char **argv, dv_cli_args *ret)
{
    dv_cli_args a = {.pos = calloc((size_t)(argc > 0 ? argc : 1), sizeof(char *)), .dashdash = -1};
    if (!a.pos)
        return -ENOMEM;
    for (int i = 1; i < argc; i++) {
        char *arg = argv[i];
        if (a.dashdash >= 0 || arg[0] != '-' || arg[1] == '\0') {
            a.pos[a.npos++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            a.dashdash = a.npos;
            continue;
        }
        const char *name = arg + (arg[1] == '-' ? 2 : 1);
        if (strcmp(name, "h") == 0 || strcmp(name, "help") == 0) {
            dv_cli_usage(stdout, usage, flags);
            free(a.pos);
            return -ECANCELED;
        }
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const dv_flag *f = flags;
        while (f && f->name && !(strlen(f->name) == nlen && strncmp(f->name, name, nlen) == 0))
            f++;
        if (!f || !f->name) {
            fprintf(stderr, "unknown option %s\n", arg);
            dv_cli_usage(stderr, usage, flags);
            free(a.pos);
            return -EINVAL;
        }
        if (f->type == DV_FLAG_BOOL) {
            bool v = true;
            if (eq)
                v = strcmp(eq + 1, "false") != 0 && strcmp(eq + 1, "0") != 0;
            *(bool *)f->ptr = v;
        } else if (eq) {
            *(const char **)f->ptr = eq + 1;
        } else if (i + 1 < argc) {
            *(const char **)f->ptr = argv[++i];
        } else {
            fprintf(stderr, "option -%s needs a value\n", f->name);
            dv_cli_usage(stderr, usage, flags);
            free(a.pos);
            return -EINVAL;
        }
    }
    *ret = a;
    return 0;
}

void dv_cli_args_free(dv_cli_args *args)
{
    free(args->pos);
    args->pos = NULL;
}

void dv_cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "dockvisor %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

dv_api_client *dv_cli_connect(const char *cmd, const char *address)
{
    dv_api_client *c = NULL;
    dv_error err;
    if (dv_api_client_new(address, &c, &err) < 0) {
        dv_cli_error(cmd, "%s", err.msg);
        return NULL;
    }
    return c;
}

void dv_cli_print_json(const json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY);
    if (s) {
        puts(s);
        free(s);
    }
}

struct dv_table {
    size_t ncols;
    char **cells; /* rows * ncols */
    size_t nrows, cap;
};

dv_table *dv_table_new(size_t ncols, const char *const *headers)
{
    dv_table *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->ncols = ncols;
    dv_table_add(t, headers);
    return t;
}

void dv_table_add(dv_table *t, const char *const *cells)
{
    if (!t)
        return;
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        char **c = realloc(t->cells, cap * t->ncols * sizeof(*c));
        if (!c)
            return;
        t->cells = c;
        t->cap = cap;
    }
    for (size_t i = 0; i < t->ncols; i++)
        t->cells[t->nrows * t->ncols + i] = strdup(cells[i] && *cells[i] ? cells[i] : "-");
    t->nrows++;
}

void dv_table_print(dv_table *t, FILE *out)
{
    if (!t)
        return;
    size_t width[32] = {0};
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols && c < 32; c++) {
            const char *s = t->cells[r * t->ncols + c];
            size_t w = s ? strlen(s) : 1;
            if (w > width[c])
                width[c] = w;
        }
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *s = t->cells[r * t->ncols + c];
            if (c + 1 == t->ncols)
                fprintf(out, "%s\n", s ? s : "-");
            else
                fprintf(out, "%-*s  ", (int)width[c < 32 ? c : 31], s ? s : "-");
        }
    }
}

void dv_table_free(dv_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t);
}

void dv_cli_age(int64_t then_ns, char *buf, size_t size)
{
    if (then_ns <= 0) {
        snprintf(buf, size, "-");
        return;
    }
    int64_t s = (dv_realtime_ns() - then_ns) / 1000000000;
    if (s < 0)
        s = 0;
    if (s < 120)
        snprintf(buf, size, "%llds", (long long)s);
    else if (s < 7200)
        snprintf(buf, size, "%lldm", (long long)(s / 60));
    else if (s < 2 * 86400)
        snprintf(buf, size, "%lldh", (long long)(s / 3600));
    else
        snprintf(buf, size, "%lldd", (long long)(s / 86400));
}

void dv_cli_time(int64_t ns, char *buf, size_t size)
{
    time_t secs = (time_t)(ns / 1000000000);
    struct tm tm;
    if (ns <= 0 || !localtime_r(&secs, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(buf, size, "-");
}

const char *dv_cli_short_id(const char *id, char buf[9])
{
    snprintf(buf, 9, "%s", id ? id : "-");
    return buf;
}

struct dv_cli_lines {
    dv_buf buf;
    dv_cli_line_fn fn;
    void *userdata;
};

dv_cli_lines *dv_cli_lines_new(dv_cli_line_fn fn, void *userdata)
{
    dv_cli_lines *l = calloc(1, sizeof(*l));
    if (l) {
        l->fn = fn;
        l->userdata = userdata;
    }
    return l;
}

int dv_cli_lines_feed(dv_cli_lines *l, const char *data, size_t len)
{
    if (dv_buf_append(&l->buf, data, len) < 0)
        return -ENOMEM;
    char *nl;
    while (l->buf.len > 0 && (nl = memchr(l->buf.data, '\n', l->buf.len))) {
        *nl = '\0';
        size_t used = (size_t)(nl - l->buf.data) + 1;
        int r = l->fn(l->buf.data, l->userdata);
        dv_buf_consume(&l->buf, used);
        if (r != 0)
            return r;
    }
    return 0;
}

void dv_cli_lines_free(dv_cli_lines *l)
{
    if (!l)
        return;
    dv_buf_free(&l->buf);
    free(l);
}

struct follow {
    dv_cli_event_fn fn;
    void *userdata;
    dv_cli_lines *lines;
    bool stopped;
};

static int follow_line(const char *line, void *userdata)
{
    struct follow *f = userdata;
    if (!*line)
        return 0;
    _cleanup_json_ json_t *ev = json_loads(line, 0, NULL);
    if (!ev)
        return 0;
    if (f->fn(ev, f->userdata) != 0) {
        f->stopped = true;
        return 1;
    }
    return 0;
}

static int follow_data(const char *data, size_t len, void *userdata)
{
    struct follow *f = userdata;
    return dv_cli_lines_feed(f->lines, data, len) != 0;
}

int dv_cli_follow_events(dv_api_client *c, const char *query, dv_cli_event_fn fn, void *userdata,
                         dv_error *err)
{
    struct follow f = {.fn = fn, .userdata = userdata};
    f.lines = dv_cli_lines_new(follow_line, &f);
    _cleanup_free_ char *path = NULL;
    if (!f.lines || asprintf(&path, "/v1/events%s%s", query ? "?" : "", query ? query : "") < 0) {
        dv_cli_lines_free(f.lines);
        return dv_error_set(err, -ENOMEM, "out of memory");
    }
    int r = dv_api_stream(c, "GET", path, NULL, follow_data, &f, err);
    dv_cli_lines_free(f.lines);
    if (r < 0)
        return r;
    if (!f.stopped)
        return dv_error_set(err, -EPIPE, "the agent ended the event stream");
    return 0;
}

void dv_cli_print_event(FILE *out, const json_t *ev, bool with_task)
{
    char when[32];
    int64_t ns = json_integer_value(json_object_get(ev, "time_ns"));
    time_t secs = (time_t)(ns / 1000000000);
    struct tm tm;
    if (!localtime_r(&secs, &tm) || strftime(when, sizeof(when), "%H:%M:%S", &tm) == 0)
        snprintf(when, sizeof(when), "-");
    const char *type = json_string_value(json_object_get(ev, "type"));
    const char *msg = json_string_value(json_object_get(ev, "message"));
    if (with_task) {
        char sid[9];
        fprintf(out, "%s  %s %s  %-15s %s\n", when,
                dv_cli_short_id(json_string_value(json_object_get(ev, "task_id")), sid),
                json_string_value(json_object_get(ev, "task_name")) ?: "-", type ? type : "-",
                msg ? msg : "");
    } else {
        fprintf(out, "%s  %-15s %s\n", when, type ? type : "-", msg ? msg : "");
    }
    fflush(out);
}
