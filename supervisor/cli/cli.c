#include "cli.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cli_format.h"
#include "commands.h"
#include "duration.h"
#include "json_strict.h"
#include "xalloc.h"

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
    dv_cli_args a = {.pos = dv_xcalloc((size_t)(argc > 0 ? argc : 1), sizeof(char *)),
                     .dashdash = -1};
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

json_t *dv_cli_read_spec(const char *path, dv_error *err)
{
    json_error_t jerr;
    bool in = strcmp(path, "-") == 0;
    const char *name = in ? "stdin" : path;
    /* NULs are let through the parser so that the error can name the field. */
    size_t flags = JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL;
    json_t *spec = in ? json_loadf(stdin, flags, &jerr) : json_load_file(path, flags, &jerr);
    if (!spec) {
        dv_error_set(err, -EINVAL, "%s:%d:%d: %s", name, jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    if (dv_json_refuse_nul(spec, err) < 0) {
        json_decref(spec);
        dv_error_wrap(err, "%s", name);
        return NULL;
    }
    return spec;
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

int dv_cli_global_options(int argc, char **argv)
{
    int n = 0;
    while (1 + n < argc && argv[1 + n][0] == '-') {
        const char *arg = argv[1 + n];
        const char *name = arg + (arg[1] == '-' ? 2 : 1);
        const char *value = NULL;
        if (strncmp(name, "address=", 8) == 0) {
            value = name + 8;
            n++;
        } else if (strcmp(name, "address") == 0 && 2 + n < argc) {
            value = argv[2 + n];
            n += 2;
        } else if (strcmp(name, "address") == 0) {
            fprintf(stderr, "dockvisor: option -address needs a value\n");
            return -EINVAL;
        } else if (strcmp(name, "h") == 0 || strcmp(name, "help") == 0) {
            return n; /* main() prints the usage */
        } else {
            fprintf(stderr,
                    "dockvisor: unknown global option %s (options of a command go after "
                    "it: dockvisor COMMAND -h)\n",
                    arg);
            return -EINVAL;
        }
        /* The environment carries it to the command: a command's own -address still wins. */
        if (setenv(DV_API_ADDR_ENV, value, 1) < 0) {
            fprintf(stderr, "dockvisor: cannot set " DV_API_ADDR_ENV ": %s\n", strerror(errno));
            return -EINVAL;
        }
    }
    return n;
}

int dv_cli_start(dv_cli *cli, const dv_flag *flags, int argc, char **argv, int min, int max)
{
    size_t n = 0;
    while (flags && flags[n].name)
        n++;
    cli->dashdash = -1;
    cli->flags = dv_xcalloc(n + 3, sizeof(*cli->flags));
    if (n)
        memcpy(cli->flags, flags, n * sizeof(*flags));
    if (cli->json_help)
        cli->flags[n++] = (dv_flag){"json", DV_FLAG_BOOL, &cli->json, cli->json_help};
    if (!cli->local)
        cli->flags[n++] = (dv_flag)DV_CLI_ADDRESS_FLAG(cli->address);
    dv_cli_args a;
    int r = dv_cli_parse(cli->usage, cli->flags, argc, argv, &a);
    if (r == -ECANCELED)
        return DV_EXIT_OK;
    if (r < 0)
        return DV_EXIT_USAGE;
    cli->pos = a.pos;
    cli->npos = a.npos;
    cli->dashdash = a.dashdash;
    if (a.npos < min || (max != DV_CLI_ANY && a.npos > max))
        return dv_cli_usage_error(cli);
    return DV_CLI_PROCEED;
}

void dv_cli_done(dv_cli *cli)
{
    free(cli->pos);
    cli->pos = NULL;
    free(cli->flags);
    cli->flags = NULL;
    dv_api_client_free(cli->client);
    cli->client = NULL;
}

int dv_cli_usage_error(const dv_cli *cli)
{
    dv_cli_usage(stderr, cli->usage, cli->flags);
    return DV_EXIT_USAGE;
}

static int connect_client(dv_cli *cli, dv_error *err)
{
    if (cli->client)
        return 0;
    return dv_api_client_new(cli->address, &cli->client, err);
}

dv_api_client *dv_cli_client(dv_cli *cli)
{
    dv_error err;
    if (connect_client(cli, &err) < 0) {
        dv_cli_fail(cli, &err);
        return NULL;
    }
    return cli->client;
}

int dv_cli_fail(const dv_cli *cli, const dv_error *err)
{
    if (cli->json) {
        dv_cli_error(cli->cmd, "%s", err->msg);
    } else {
        char msg[DV_ERROR_MSG_MAX];
        dv_cli_readable(err->msg, msg, sizeof(msg));
        dv_cli_error(cli->cmd, "%s", msg);
    }
    return DV_EXIT_ERROR;
}

char *dv_cli_task_path(const char *id, const char *suffix)
{
    _cleanup_free_ char *esc = dv_api_escape(id);
    return dv_xasprintf("/v1/tasks/%s%s", esc, suffix ? suffix : "");
}

static int call(dv_cli *cli, const char *method, const char *path, const json_t *body,
                json_t **ret_answer, dv_error *err)
{
    assert(path);
    int r = connect_client(cli, err);
    if (r < 0)
        return r;
    /* R2: a question (GET) is answered at once by an agent that works; an operator
     * should not wait minutes behind a hung Docker. Requests that act (exec, rm,
     * drain) may rightly take longer, but never forever. */
    int64_t timeout = cli->call_timeout_ns;
    if (timeout <= 0)
        timeout =
            strcmp(method, "GET") == 0 ? DV_CLI_QUESTION_TIMEOUT_NS : DV_CLI_ACTION_TIMEOUT_NS;
    dv_api_client_set_call_timeout(cli->client, timeout);
    return dv_api_call_ok(cli->client, method, path, body, ret_answer, err);
}

int dv_cli_call(dv_cli *cli, const char *method, const char *path, const json_t *body,
                json_t **ret_answer)
{
    dv_error err;
    int r = call(cli, method, path, body, ret_answer, &err);
    if (r < 0)
        dv_cli_fail(cli, &err);
    return r;
}

int dv_cli_task_call_quiet(dv_cli *cli, const char *method, const char *id, const char *suffix,
                           const json_t *body, json_t **ret_answer, dv_error *err)
{
    _cleanup_free_ char *path = dv_cli_task_path(id, suffix);
    return call(cli, method, path, body, ret_answer, err);
}

int dv_cli_task_call(dv_cli *cli, const char *method, const char *id, const char *suffix,
                     const json_t *body, json_t **ret_answer)
{
    dv_error err;
    int r = dv_cli_task_call_quiet(cli, method, id, suffix, body, ret_answer, &err);
    if (r < 0)
        dv_cli_fail(cli, &err);
    return r;
}

int dv_cli_run_request(const dv_cli_request_cmd *rc, int argc, char **argv)
{
    _cleanup_cli_ dv_cli cli = {.cmd = rc->cmd,
                                .usage = rc->usage,
                                .json_help = rc->json_help,
                                .call_timeout_ns = rc->timeout_ns};
    int r = dv_cli_start(&cli, NULL, argc, argv, rc->min, rc->max);
    if (r != DV_CLI_PROCEED)
        return r;
    _cleanup_json_ json_t *answer = NULL;
    r = cli.npos ? dv_cli_task_call(&cli, rc->method, cli.pos[0], rc->task_suffix, NULL, &answer)
                 : dv_cli_call(&cli, rc->method, rc->path, NULL, &answer);
    if (r < 0)
        return DV_EXIT_ERROR;
    if (cli.json)
        dv_cli_print_json(answer);
    else
        rc->print(answer);
    return rc->exit_code ? rc->exit_code(answer) : DV_EXIT_OK;
}
