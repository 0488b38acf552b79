/* Formatting for people in the CLI: aligned tables, "name = value" fields,
 * times, and the agent's messages without the Engine API plumbing they carry.
 * With -json the CLI prints what the agent sent instead. */
#ifndef DV_CLI_FORMAT_H
#define DV_CLI_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

/* Print JSON, indented, to stdout. */
void dv_cli_print_json(const json_t *j);
/* One compact line (NDJSON) to stdout, flushed. */
void dv_cli_print_json_line(const json_t *j);

/* "Name            = value" ("-" for NULL or empty). */
void dv_cli_field(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

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

/* A task's exit result (the API's "exit" object) for people:
 * "exit code 137 (signal 9 SIGKILL), OOM killed". */
void dv_cli_exit_text(const json_t *exit, char *buf, size_t size);

/* MSG as an operator reads it. The agent's messages quote the Engine API call
 * that failed ("docker: POST /containers/<64 hex>/start: 400 Bad Request: <what
 * Docker said>"); here each such quote keeps only what Docker said, and
 * timeouts and lost connections become a sentence ("Docker did not answer
 * within 2m"). Everything else is kept as it is. */
void dv_cli_readable(const char *msg, char *buf, size_t size);

#endif
