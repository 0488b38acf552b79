/* Shared pieces of the operator CLI: flag parsing (Go/Nomad style: -flag,
 * -flag=value, -flag value; flags may follow positionals; "--" ends them),
 * connecting to the agent, printing errors, tables and times.
 *
 * Exit codes (commands.h): 0 ok, 1 error, 2 usage. */
#ifndef DV_CLI_H
#define DV_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "api_client.h"
#include "error.h"

enum dv_flag_type { DV_FLAG_BOOL, DV_FLAG_STRING };

typedef struct dv_flag {
    const char *name; /* without the dash */
    enum dv_flag_type type;
    void *ptr; /* bool * or const char ** */
    const char *help;
} dv_flag;

typedef struct dv_cli_args {
    char **pos; /* positionals in order (points into argv) */
    int npos;
    int dashdash; /* index in pos where "--" was, or -1 */
} dv_cli_args;

/* Parse ARGV (argv[0] is the command name). On a usage error prints it with
 * USAGE to stderr and returns -EINVAL; "-h"/"-help" prints USAGE to stdout and
 * returns -ECANCELED (the caller exits 0). */
int dv_cli_parse(const char *usage, const dv_flag *flags, int argc, char **argv, dv_cli_args *ret);
void dv_cli_args_free(dv_cli_args *args);
void dv_cli_usage(FILE *out, const char *usage, const dv_flag *flags);

/* "dockvisor <cmd>: <msg>" on stderr. */
void dv_cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Connect (ADDRESS NULL → $DOCKVISOR_ADDR → default). Prints the error. */
dv_api_client *dv_cli_connect(const char *cmd, const char *address);

/* Print JSON, indented, to stdout. */
void dv_cli_print_json(const json_t *j);

/* Columns for people: add rows of cells, then print with aligned columns. */
typedef struct dv_table dv_table;
dv_table *dv_table_new(size_t ncols, const char *const *headers);
void dv_table_add(dv_table *t, const char *const *cells); /* ncols cells, NULL = "-" */
void dv_table_print(dv_table *t, FILE *out);
void dv_table_free(dv_table *t);

/* "3s", "5m", "2h", "4d" ago from a CLOCK_REALTIME ns value (0 → "-"). */
void dv_cli_age(int64_t then_ns, char *buf, size_t size);
/* Local "2024-05-01 12:00:00" from ns. */
void dv_cli_time(int64_t ns, char *buf, size_t size);
/* First 8 characters of an id (for tables). */
const char *dv_cli_short_id(const char *id, char buf[9]);

/* Feed stream bytes, get complete lines (NUL-terminated, without '\n'). */
typedef struct dv_cli_lines dv_cli_lines;
typedef int (*dv_cli_line_fn)(const char *line, void *userdata);
dv_cli_lines *dv_cli_lines_new(dv_cli_line_fn fn, void *userdata);
int dv_cli_lines_feed(dv_cli_lines *l, const char *data, size_t len);
void dv_cli_lines_free(dv_cli_lines *l);

/* Follow GET /v1/events?QUERY (QUERY escaped, NULL = all) until FN returns
 * non-zero. Returns 0 when FN stopped it, a negative error otherwise (stream lost). */
typedef int (*dv_cli_event_fn)(const json_t *event, void *userdata);
int dv_cli_follow_events(dv_api_client *c, const char *query, dv_cli_event_fn fn, void *userdata,
                         dv_error *err);

/* Follow task ID's events (its recorded history first when HISTORY) and return
 * the command's exit code once its "state" line says WANT ("running"), or any
 * terminal state (WANT NULL: stop). A task that completed with exit code 0
 * counts as success for WANT "running" (an `echo hello` task). */
int dv_cli_follow_state(const char *cmd, dv_api_client *c, const char *id, bool history,
                        const char *want);

/* Print one event for people: "12:00:01  web  Started  container abc started". */
void dv_cli_print_event(FILE *out, const json_t *event, bool with_task);

#define DV_CLI_ADDRESS_FLAG(var)                                                                   \
    {                                                                                              \
        "address", DV_FLAG_STRING, &(var),                                                         \
            "agent socket (unix:///path or a path; default "                                       \
            "$DOCKVISOR_ADDR, then " DV_API_DEFAULT_SOCKET ")"                                     \
    }

#endif
