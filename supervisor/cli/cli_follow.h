/* Following the agent's event stream (GET /v1/events, NDJSON) in the CLI:
 * `events`, and run/stop/restart, which wait for the task to get where they
 * asked. */
#ifndef DV_CLI_FOLLOW_H
#define DV_CLI_FOLLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "cli.h"

/* Feed stream bytes, get complete lines (NUL-terminated, without '\n'). */
typedef struct dv_cli_lines dv_cli_lines;
typedef int (*dv_cli_line_fn)(const char *line, void *userdata);
dv_cli_lines *dv_cli_lines_new(dv_cli_line_fn fn, void *userdata);
int dv_cli_lines_feed(dv_cli_lines *l, const char *data, size_t len);
void dv_cli_lines_free(dv_cli_lines *l);

/* Follow GET /v1/events?QUERY (QUERY escaped, NULL = all) until FN returns
 * non-zero. Returns 0 when FN stopped it, -EPIPE (err set) when the agent ended
 * the stream, another negative error when it was lost or refused. */
typedef int (*dv_cli_event_fn)(const json_t *event, void *userdata);
int dv_cli_follow_events(dv_api_client *c, const char *query, dv_cli_event_fn fn, void *userdata,
                         dv_error *err);

/* A "state" line that ends a follower of one task: the task is gone. */
bool dv_cli_event_is_destroyed(const json_t *event);

/* Follow task ID's events (its recorded history first when HISTORY), printing
 * them (raw NDJSON with -json), until its state is WANT ("running"), or any
 * terminal state (WANT NULL: stop). Returns the command's exit code: a task
 * that completed with exit code 0 counts as success for WANT "running" (an
 * `echo hello` task); otherwise what it became is printed as the error. */
int dv_cli_follow_state(dv_cli *cli, const char *id, bool history, const char *want);

/* Print one event for people: "12:00:01  web  Started  container abc started"
 * (the message made readable, cli_format.h). */
void dv_cli_print_event(FILE *out, const json_t *event, bool with_task);

#endif
