#include "cli_format.h"

#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cleanup.h"
#include "clock.h"
#include "signals.h"
#include "xalloc.h"

void dv_cli_print_json(const json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY);
    if (s) {
        puts(s);
        free(s);
    }
}

void dv_cli_print_json_line(const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s) {
        puts(s);
        free(s);
    }
    fflush(stdout);
}

void dv_cli_field(const char *name, const char *fmt, ...)
{
    char value[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(value, sizeof(value), fmt, ap);
    va_end(ap);
    printf("%-17s = %s\n", name, value[0] ? value : "-");
}

struct dv_table {
    size_t ncols;
    char **cells; /* rows * ncols */
    size_t nrows, cap;
};

dv_table *dv_table_new(size_t ncols, const char *const *headers)
{
    dv_table *t = dv_xcalloc(1, sizeof(*t));
    t->ncols = ncols;
    dv_table_add(t, headers);
    return t;
}

void dv_table_add(dv_table *t, const char *const *cells)
{
    assert(t);
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        t->cells = dv_xreallocarray(t->cells, cap * t->ncols, sizeof(*t->cells));
        t->cap = cap;
    }
    for (size_t i = 0; i < t->ncols; i++)
        t->cells[t->nrows * t->ncols + i] = dv_xstrdup(cells[i] && *cells[i] ? cells[i] : "-");
    t->nrows++;
}

void dv_table_print(dv_table *t, FILE *out)
{
    assert(t);
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

void dv_cli_exit_text(const json_t *exit, char *buf, size_t size)
{
    int code = (int)json_integer_value(json_object_get(exit, "exit_code"));
    int sig = (int)json_integer_value(json_object_get(exit, "signal"));
    /* The API gives the number; a name is for people (B6: it was printed empty). */
    char name[DV_SIGNAL_NAME_MAX] = "";
    const char *given = json_string_value(json_object_get(exit, "signal_name"));
    if (given && *given)
        snprintf(name, sizeof(name), "%s", given);
    else if (sig > 0 && dv_signal_name(sig, name, sizeof(name)) < 0)
        name[0] = '\0';
    char sigtext[48] = "";
    if (sig > 0)
        snprintf(sigtext, sizeof(sigtext), " (signal %d%s%s)", sig, name[0] ? " " : "", name);
    snprintf(buf, size, "exit code %d%s%s", code, sigtext,
             json_is_true(json_object_get(exit, "oom_killed")) ? ", OOM killed" : "");
}

/* ---- the agent's messages without the Engine API plumbing ---- */

static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* After "docker: ": "METHOD /path: " → the text after it, or NULL if it is not that. */
static const char *after_call(const char *s)
{
    const char *p = s;
    while (*p >= 'A' && *p <= 'Z')
        p++;
    if (p == s || p[0] != ' ' || p[1] != '/')
        return NULL;
    const char *colon = strstr(p, ": ");
    return colon ? colon + 2 : NULL;
}

/* One Engine API failure (the text after "docker: METHOD /path: ") into B; returns
 * where the rest of the message continues. */
static const char *rewrite_failure(const char *rest, dv_buf *b)
{
    if (isdigit((unsigned char)rest[0]) && isdigit((unsigned char)rest[1]) &&
        isdigit((unsigned char)rest[2]) && rest[3] == ' ') {
        /* "404 Not Found: <Docker's message>" or just "500 Internal Server Error" */
        const char *phrase_end = rest + 4;
        while (isalpha((unsigned char)*phrase_end) || *phrase_end == ' ')
            phrase_end++;
        if (starts(phrase_end, ": ")) {
            dv_buf_appends(b, "docker: ");
            return phrase_end + 2;
        }
        dv_buf_printf(b, "docker: %.*s", (int)(phrase_end - rest), rest);
        return phrase_end;
    }
    if (starts(rest, "timed out after ")) {
        const char *d = rest + strlen("timed out after ");
        size_t n = strcspn(d, " ");
        dv_buf_printf(b, "Docker did not answer within %.*s", (int)n, d);
        const char *p = d + n;
        if (starts(p, " (")) { /* libcurl's words for it */
            const char *close = strchr(p, ')');
            p = close ? close + 1 : p + strlen(p);
        }
        return p;
    }
    if (starts(rest, "connection to ")) {
        const char *ep = rest + strlen("connection to ");
        const char *lost = strstr(ep, " lost");
        if (lost) {
            dv_buf_printf(b, "the connection to Docker (%.*s) was lost", (int)(lost - ep), ep);
            return ep + strlen(ep); /* the rest is libcurl's detail */
        }
    }
    if (starts(rest, "cannot connect to ")) {
        dv_buf_appends(b, "cannot connect to Docker at ");
        return rest + strlen("cannot connect to ");
    }
    dv_buf_appends(b, "docker: ");
    return rest;
}

/* The agent names a task's state where it refuses ("task X is failed, not
 * running"); in English a finished task "has failed". */
static const char *const state_phrases[][2] = {
    {" is failed, not running", " has failed and is not running"},
    {" is exited, not running", " has exited and is not running"},
};

static void copy_rephrased(const char *text, char *buf, size_t size)
{
    _cleanup_buf_ dv_buf b = DV_BUF_INIT;
    const char *p = text;
    while (*p) {
        size_t i;
        for (i = 0; i < DV_ARRAY_SIZE(state_phrases); i++)
            if (starts(p, state_phrases[i][0]))
                break;
        if (i < DV_ARRAY_SIZE(state_phrases)) {
            dv_buf_appends(&b, state_phrases[i][1]);
            p += strlen(state_phrases[i][0]);
        } else {
            dv_buf_append(&b, p++, 1);
        }
    }
    snprintf(buf, size, "%s", b.data ? b.data : "");
}

void dv_cli_readable(const char *msg, char *buf, size_t size)
{
    _cleanup_buf_ dv_buf b = DV_BUF_INIT;
    const char *p = msg ? msg : "";
    const char *q;
    while ((q = strstr(p, "docker: "))) {
        dv_buf_append(&b, p, (size_t)(q - p));
        const char *rest = after_call(q + strlen("docker: "));
        if (!rest) {
            dv_buf_appends(&b, "docker: ");
            p = q + strlen("docker: ");
            continue;
        }
        p = rewrite_failure(rest, &b);
    }
    dv_buf_appends(&b, p);
    copy_rephrased(b.data ? b.data : "", buf, size);
}
