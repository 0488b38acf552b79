/* The dockvisor subcommands. Each takes argv starting at the command name and
 * returns the process exit code: 0 ok, 1 error, 2 usage (exec: the command's code). */
#ifndef DV_COMMANDS_H
#define DV_COMMANDS_H

enum { DV_EXIT_OK = 0, DV_EXIT_ERROR = 1, DV_EXIT_USAGE = 2 };

struct dv_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
};

int dv_cmd_version(int argc, char **argv);
int dv_cmd_validate(int argc, char **argv);
int dv_cmd_agent(int argc, char **argv);
int dv_cmd_run(int argc, char **argv);
int dv_cmd_status(int argc, char **argv);
int dv_cmd_stop(int argc, char **argv);
int dv_cmd_rm(int argc, char **argv);
int dv_cmd_restart(int argc, char **argv);
int dv_cmd_signal(int argc, char **argv);
int dv_cmd_logs(int argc, char **argv);
int dv_cmd_exec(int argc, char **argv);
int dv_cmd_stats(int argc, char **argv);
int dv_cmd_events(int argc, char **argv);
int dv_cmd_node_status(int argc, char **argv);
int dv_cmd_drain(int argc, char **argv);
int dv_cmd_allocs(int argc, char **argv);
int dv_cmd_alloc_rm(int argc, char **argv);

#endif
