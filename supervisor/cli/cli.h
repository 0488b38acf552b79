/* Shared pieces of the operator CLI: flag parsing (Go/Nomad style: -flag,
 * -flag=value, -flag value; flags may follow positionals; "--" ends them), and
 * one command context (dv_cli) that parses, connects to the agent, sends
 * requests and prints their errors, so that each cmd_*.c is only what is
 * particular to its command. Formatting for people is in cli_format.h,
 * following event streams in cli_follow.h.
 *
 * Exit codes (commands.h): 0 ok, 1 error, 2 usage (usage errors print the usage). */
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

/* Read a task spec (or group) from PATH, "-" for stdin, as `run` and `validate` both
 * do: a key given twice is refused (the last one silently winning would make the task
 * not the one the file seems to say), and so is a string holding a NUL character,
 * naming where it is. NULL with ERR "PATH:LINE:COLUMN: reason" or "PATH: field: reason". */
json_t *dv_cli_read_spec(const char *path, dv_error *err);

/* "dockvisor <cmd>: <msg>" on stderr. */
void dv_cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The global options before the command (`dockvisor -address X status`):
 * consumes them from ARGV and returns how many there were, or -EINVAL (printed)
 * for an unknown one. -address is handed down through $DOCKVISOR_ADDR, below a
 * command's own -address and above the environment's. */
int dv_cli_global_options(int argc, char **argv);

/* One command run. The caller fills the first fields; dv_cli_start fills the rest. */
typedef struct dv_cli {
    const char *cmd;       /* "status": messages read "dockvisor status: ..." */
    const char *usage;     /* "dockvisor status [-json] [-address A] [ID]" */
    const char *json_help; /* non-NULL: the command takes -json, with this help */
    bool local;            /* needs no agent: no -address */

    const char *address; /* -address, or NULL ($DOCKVISOR_ADDR, then the default) */
    bool json;           /* -json: JSON on stdout, the agent's messages as they are */
    char **pos;          /* positionals (into argv) */
    int npos;
    int dashdash;          /* index in pos where "--" was, or -1 */
    dv_api_client *client; /* connected by the first request */
    dv_flag *flags;        /* the command's flags plus the common ones (for the usage) */
    /* Bound of the next non-streaming request; 0: by its method (GET
     * DV_CLI_QUESTION_TIMEOUT_NS, others DV_CLI_ACTION_TIMEOUT_NS). */
    int64_t call_timeout_ns;
} dv_cli;

/* How long a GET may take before the CLI gives up (R2): the agent answers
 * questions from its own state, and those that need the Engine (stats) within its
 * short Engine deadline (agent.h node_docker, 10s). */
#define DV_CLI_QUESTION_TIMEOUT_NS (20 * DV_NSEC_PER_SEC)
/* Any other request that does not stream (run, stop, signal, rm...): the agent
 * answers most at once and bounds its own Engine calls; this only keeps the CLI
 * from waiting forever on an agent that never answers. exec waits for its own
 * timeout plus DV_CLI_EXEC_MARGIN_NS, drain for DV_CLI_DRAIN_TIMEOUT_NS. */
#define DV_CLI_ACTION_TIMEOUT_NS (5 * 60 * DV_NSEC_PER_SEC)
#define DV_CLI_EXEC_MARGIN_NS (30 * DV_NSEC_PER_SEC)
#define DV_CLI_DRAIN_TIMEOUT_NS (60 * 60 * DV_NSEC_PER_SEC)

#define DV_CLI_PROCEED (-1)
#define DV_CLI_ANY (-1)

/* Parse ARGV with the command's FLAGS (NULL or {0}-terminated) plus -address
 * (and -json when json_help is set), and require MIN..MAX positionals (MAX
 * DV_CLI_ANY: no limit). Returns DV_CLI_PROCEED, or the exit code to return
 * now (0 after -h, 2 after printing the usage). */
int dv_cli_start(dv_cli *cli, const dv_flag *flags, int argc, char **argv, int min, int max);
void dv_cli_done(dv_cli *cli);
#define _cleanup_cli_ __attribute__((cleanup(dv_cli_done)))

/* Print the usage to stderr and return DV_EXIT_USAGE. */
int dv_cli_usage_error(const dv_cli *cli);

/* The client, connected on first use (NULL after printing why not). */
dv_api_client *dv_cli_client(dv_cli *cli);

/* Print ERR as "dockvisor <cmd>: <message>": the agent's message made readable
 * for people (cli_format.h), as it is with -json. Returns DV_EXIT_ERROR. */
int dv_cli_fail(const dv_cli *cli, const dv_error *err);

/* "/v1/tasks/<ID escaped><SUFFIX>" (SUFFIX "/stop", "?force=1" or NULL); heap. */
char *dv_cli_task_path(const char *id, const char *suffix);

/* METHOD PATH with an optional JSON BODY. A transport error or an answer >= 400
 * fails and is printed (dv_cli_fail). *RET_ANSWER (may be NULL) gets the answer.
 * Returns 0 or a negative errno. */
int dv_cli_call(dv_cli *cli, const char *method, const char *path, const json_t *body,
                json_t **ret_answer);
/* The same for the task ID: /v1/tasks/ID[SUFFIX]. */
int dv_cli_task_call(dv_cli *cli, const char *method, const char *id, const char *suffix,
                     const json_t *body, json_t **ret_answer);
/* Like dv_cli_task_call, but failures are not printed: ERR gets them (the caller
 * has a better sentence for some). */
int dv_cli_task_call_quiet(dv_cli *cli, const char *method, const char *id, const char *suffix,
                           const json_t *body, json_t **ret_answer, dv_error *err);

/* A command that is one request whose answer is printed: -json prints it as it
 * is, else PRINT formats it for people. With no positional the request goes to
 * PATH, with the task ID to /v1/tasks/ID<TASK_SUFFIX>. EXIT_CODE (NULL: 0) decides
 * the exit code from the answer (node-status: unhealthy is 1). */
typedef struct dv_cli_request_cmd {
    const char *cmd, *usage, *json_help;
    int min, max; /* positionals: 0, or 1 (the task ID) */
    const char *method;
    const char *path;
    const char *task_suffix;
    void (*print)(const json_t *answer);
    int (*exit_code)(const json_t *answer);
    int64_t timeout_ns; /* 0: by the method (dv_cli.call_timeout_ns) */
} dv_cli_request_cmd;
int dv_cli_run_request(const dv_cli_request_cmd *rc, int argc, char **argv);

#define DV_CLI_ADDRESS_FLAG(var)                                                                   \
    {                                                                                              \
        "address", DV_FLAG_STRING, &(var),                                                         \
            "agent socket (unix:///path or a path; default "                                       \
            "$DOCKVISOR_ADDR, then " DV_API_DEFAULT_SOCKET ")"                                     \
    }

#endif
