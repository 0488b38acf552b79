/* Unit tests for the agent side of docklog: the config it writes is the config
 * docklog reads, spawning (session, stdio, no leaked fds, signal state, exec errors),
 * adoption by identity, collecting and classifying exits, stopping. Helpers are
 * small shell scripts standing in for docklog; no daemon needed. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "atomic_file.h"
#include "checkpoint.h"
#include "cleanup.h"
#include "config.h"
#include "docklog_launch.h"
#include "docklog_protocol.h"
#include "test_support.h"
#include "transport.h"

static void test_config_written_is_config_read(void **state)
{
    (void)state;
    _cleanup_free_ char *dir = dv_test_tmpdir("dv-launch");
    char path[4096];
    snprintf(path, sizeof(path), "%s/docklog.json", dir);
    dv_docklog_config c = {
        .endpoint = "tcp://127.0.0.1:2376",
        .tls_cert = "/etc/c.pem",
        .tls_key = "/etc/k.pem",
        .tls_ca = "/etc/ca.pem",
        .container_id = "0123456789abcdef0123456789abcdef",
        .container_name = "web-1",
        .tty = true,
        .task_name = "web",
        .task_id = "11111111-2222-4333-8444-555555555555",
        .image = "img:1",
        .files_enabled = true,
        .files_dir = "/var/lib/dockvisor/tasks/x/alloc/logs",
        .files_base = "web",
        .max_files = 4,
        .max_file_size_mb = 7,
        .journald_enabled = true,
        .journald_identifier = "web-j",
        .checkpoint_path = "/var/lib/dockvisor/tasks/x/docklog.checkpoint",
        .source = "file",
    };
    dv_error err;
    assert_int_equal(dv_docklog_config_write(path, &c, &err), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    dl_config d;
    if (dl_config_load(path, &d, &err) < 0)
        fail_msg("docklog rejects the agent's config: %s", err.msg);
    assert_string_equal(d.endpoint, c.endpoint);
    assert_string_equal(d.tls_cert, c.tls_cert);
    assert_string_equal(d.tls_ca, c.tls_ca);
    assert_string_equal(d.container_id, c.container_id);
    assert_string_equal(d.container_name, c.container_name);
    assert_true(d.tty);
    assert_string_equal(d.task_id, c.task_id);
    assert_string_equal(d.image, c.image);
    assert_string_equal(d.files.dir, c.files_dir);
    assert_int_equal(d.files.max_files, 4);
    assert_int_equal(d.files.max_file_size_mb, 7);
    assert_string_equal(d.journald.identifier, "web-j");
    assert_string_equal(d.checkpoint, c.checkpoint_path);
    assert_int_equal(d.n_addresses, 1); /* a numeric host is its own address */
    assert_string_equal(d.addresses[0], "127.0.0.1");
    assert_int_equal(d.source, DL_SOURCE_FILE); /* docker.log_source */
    dl_config_free(&d);

    /* A host name is resolved by the agent (docklog resolves none); the name stays in
     * the endpoint for TLS verification. localhost is in every /etc/hosts. */
    c.endpoint = "tcp://localhost:2376";
    assert_int_equal(dv_docklog_config_write(path, &c, &err), 0);
    assert_int_equal(dl_config_load(path, &d, &err), 0);
    assert_string_equal(d.endpoint, "tcp://localhost:2376");
    assert_true(d.n_addresses >= 1);
    bool v4 = false;
    for (size_t i = 0; i < d.n_addresses; i++)
        v4 = v4 || strcmp(d.addresses[i], "127.0.0.1") == 0;
    assert_true(v4);
    dl_endpoint ep;
    assert_int_equal(dl_endpoint_parse(d.endpoint, true, (const char *const *)d.addresses,
                                       d.n_addresses, &ep, &err),
                     0);
    assert_string_equal(ep.url.host, "localhost");
    dl_config_free(&d);
    c.endpoint = "unix:///var/run/docker.sock";
    assert_int_equal(dv_docklog_config_write(path, &c, &err), 0);
    assert_int_equal(dl_config_load(path, &d, &err), 0);
    assert_int_equal(d.n_addresses, 0);
    dl_config_free(&d);
    c.endpoint = "tcp://bad host:1";
    assert_int_equal(dv_docklog_config_write(path, &c, &err), -EHOSTUNREACH);
    assert_non_null(strstr(err.msg, "resolve bad host"));
    c.endpoint = "ftp://x";
    assert_int_equal(dv_docklog_config_write(path, &c, &err), -EINVAL);
    c.endpoint = "tcp://127.0.0.1:2376";

    /* Journald only, no tls, default identifier. */
    c.tls_cert = c.tls_key = c.tls_ca = NULL;
    c.files_enabled = false;
    c.journald_identifier = NULL;
    assert_int_equal(dv_docklog_config_write(path, &c, &err), 0);
    assert_int_equal(dl_config_load(path, &d, &err), 0);
    assert_null(d.tls_cert);
    assert_false(d.files.enabled);
    assert_string_equal(d.journald.identifier, "web");
    dl_config_free(&d);

    /* The writer refuses what docklog would refuse. */
    c.journald_enabled = false;
    assert_int_equal(dv_docklog_config_write(path, &c, &err), -EINVAL);
    c.journald_enabled = true;
    c.tls_cert = "/only/one";
    assert_int_equal(dv_docklog_config_write(path, &c, &err), -EINVAL);
    c.tls_cert = NULL;
    c.container_id = "";
    assert_int_equal(dv_docklog_config_write(path, &c, &err), -EINVAL);
    dv_test_rm_rf(dir);
}

/* Helpers started by the previous agent version outlive its upgrade: what they exit
 * with and write must mean the same to this one. A change here breaks them. */
static void test_protocol_wire_values(void **state)
{
    (void)state;
    assert_int_equal(DV_DOCKLOG_EXIT_DRAINED, 0);
    assert_int_equal(DV_DOCKLOG_EXIT_PERMANENT, 100);
    assert_int_equal(DV_DOCKLOG_EXIT_TEMPORARY, 111);
    assert_int_equal(DV_DOCKLOG_CONFIG_VERSION, 1);
    assert_int_equal(DV_DOCKLOG_CHECKPOINT_VERSION, 1);
    assert_int_equal(DV_DOCKLOG_ADDRESSES_MAX, 8);
    assert_string_equal(DV_DOCKLOG_OUTCOME_RUNNING_NAME, "running");
    assert_string_equal(DV_DOCKLOG_OUTCOME_DONE_NAME, "done");
    assert_string_equal(DV_DOCKLOG_OUTCOME_FAILED_NAME, "failed");
    assert_string_equal(dl_outcome_name(DL_OUTCOME_RUNNING), "running");
    assert_string_equal(dl_outcome_name(DL_OUTCOME_DONE), "done");
    assert_string_equal(dl_outcome_name(DL_OUTCOME_FAILED), "failed");
}

static void test_classify_and_backoff(void **state)
{
    (void)state;
    struct {
        enum dv_docklog_end end;
        int status;
        enum dv_docklog_outcome outcome;
        enum dv_docklog_verdict want;
    } cases[] = {
        {DV_DOCKLOG_END_EXITED, 0, DV_DOCKLOG_OUTCOME_DONE, DV_DOCKLOG_DRAINED},
        /* SIGTERM: not drained; a caller that sent it knows. */
        {DV_DOCKLOG_END_EXITED, 0, DV_DOCKLOG_OUTCOME_NONE, DV_DOCKLOG_RESPAWN},
        {DV_DOCKLOG_END_EXITED, 100, DV_DOCKLOG_OUTCOME_FAILED, DV_DOCKLOG_PERMANENT},
        {DV_DOCKLOG_END_EXITED, 111, DV_DOCKLOG_OUTCOME_NONE, DV_DOCKLOG_RESPAWN},
        {DV_DOCKLOG_END_EXITED, 127, DV_DOCKLOG_OUTCOME_NONE, DV_DOCKLOG_RESPAWN},
        {DV_DOCKLOG_END_EXITED, 1, DV_DOCKLOG_OUTCOME_NONE, DV_DOCKLOG_RESPAWN},
        {DV_DOCKLOG_END_SIGNALED, SIGKILL, DV_DOCKLOG_OUTCOME_NONE, DV_DOCKLOG_RESPAWN},
        {DV_DOCKLOG_END_SIGNALED, SIGSEGV, DV_DOCKLOG_OUTCOME_DONE, DV_DOCKLOG_RESPAWN},
        {DV_DOCKLOG_END_UNKNOWN, 0, DV_DOCKLOG_OUTCOME_DONE, DV_DOCKLOG_DRAINED},
        {DV_DOCKLOG_END_UNKNOWN, 0, DV_DOCKLOG_OUTCOME_FAILED, DV_DOCKLOG_PERMANENT},
        {DV_DOCKLOG_END_UNKNOWN, 0, DV_DOCKLOG_OUTCOME_NONE, DV_DOCKLOG_RESPAWN},
    };
    for (size_t i = 0; i < DV_ARRAY_SIZE(cases); i++) {
        dv_docklog_result r = {
            .end = cases[i].end, .status = cases[i].status, .outcome = cases[i].outcome};
        if (dv_docklog_classify(&r) != cases[i].want)
            fail_msg("case %zu", i);
    }
    assert_int_equal(dv_docklog_respawn_delay(1), 1 * DV_NSEC_PER_SEC);
    assert_int_equal(dv_docklog_respawn_delay(2), 2 * DV_NSEC_PER_SEC);
    assert_int_equal(dv_docklog_respawn_delay(4), 8 * DV_NSEC_PER_SEC);
    assert_int_equal(dv_docklog_respawn_delay(7), 60 * DV_NSEC_PER_SEC);
    assert_int_equal(dv_docklog_respawn_delay(1000), 60 * DV_NSEC_PER_SEC);
}

static void test_outcome_agrees_with_docklog(void **state)
{
    (void)state;
    _cleanup_free_ char *dir = dv_test_tmpdir("dv-launch");
    char path[4096];
    snprintf(path, sizeof(path), "%s/docklog.checkpoint", dir);
    enum dv_docklog_outcome o;
    char msg[512];
    dv_error err;
    assert_int_equal(dv_docklog_read_outcome(path, &o, msg, sizeof(msg), &err), 0);
    assert_int_equal(o, DV_DOCKLOG_OUTCOME_NONE);
    dl_checkpoint cp;
    dl_checkpoint_init(&cp, "cid");
    assert_int_equal(dl_checkpoint_save(path, &cp, false, &err), 0);
    assert_int_equal(dv_docklog_read_outcome(path, &o, msg, sizeof(msg), &err), 0);
    assert_int_equal(o, DV_DOCKLOG_OUTCOME_NONE);
    cp.outcome = DL_OUTCOME_DONE;
    assert_int_equal(dl_checkpoint_save(path, &cp, true, &err), 0);
    assert_int_equal(dv_docklog_read_outcome(path, &o, msg, sizeof(msg), &err), 0);
    assert_int_equal(o, DV_DOCKLOG_OUTCOME_DONE);
    assert_string_equal(msg, "");
    cp.outcome = DL_OUTCOME_FAILED;
    snprintf(cp.error, sizeof(cp.error), "the container's log driver is \"none\"");
    assert_int_equal(dl_checkpoint_save(path, &cp, true, &err), 0);
    assert_int_equal(dv_docklog_read_outcome(path, &o, msg, sizeof(msg), &err), 0);
    assert_int_equal(o, DV_DOCKLOG_OUTCOME_FAILED);
    assert_string_equal(msg, cp.error);
    dv_test_write_file(path, "{\"not\": \"a checkpoint\"}");
    assert_int_equal(dv_docklog_read_outcome(path, &o, msg, sizeof(msg), &err), -EINVAL);
    /* A key twice: docklog refuses it (and resumes from the checkpoint's copy), so the
     * agent must not read a "done" into it (it used to: the last one won). */
    cp.outcome = DL_OUTCOME_RUNNING;
    size_t len;
    _cleanup_free_ char *text = dl_checkpoint_dumps(&cp, &len);
    assert_non_null(text);
    char doubled[4096];
    snprintf(doubled, sizeof(doubled), "%.*s,\"outcome\":\"done\"}", (int)len - 1, text);
    dv_test_write_file(path, doubled);
    assert_int_equal(dv_docklog_read_outcome(path, &o, msg, sizeof(msg), &err), -EINVAL);
    assert_int_equal(dl_checkpoint_load(path, &cp, &err), -EINVAL);
    dv_test_rm_rf(dir);
}

/* A stand-in helper: checks what the spawn promised, then behaves as its "config"
 * (argument 1) says: "exit N" or "sleep", with "trap" to exit 0 on SIGTERM or
 * "ignore" to ignore it. */
static const char *helper_script =
    "#!/bin/sh\n"
    "echo \"helper $$ started with $1\" >&2\n"
    "cfg=$1; read mode arg leak < \"$cfg\"\n"
    "[ \"$(readlink /proc/$$/fd/0)\" = /dev/null ] || exit 91\n"
    "[ -e /proc/$$/fd/1 ] && [ \"$(readlink /proc/$$/fd/1)\" = \"$(readlink /proc/$$/fd/2)\" ] "
    "|| exit 96\n"
    "set -- $(cat /proc/$$/stat); [ \"$6\" = \"$$\" ] || exit 92\n"
    "[ -e /proc/$$/fd/$leak ] && exit 93\n"
    /* builtins only: while the shell waits for a child it may block signals itself */
    "while read k v; do\n"
    "  [ \"$k\" = SigBlk: ] && [ \"$v\" != 0000000000000000 ] && exit 94\n"
    /* glibc's posix_spawn leaves its two internal signals (32, 33: thread cancellation
     * and setxid) ignored in the child, and exec keeps that; every glibc program
     * installs its own handlers for them at start. No other signal may be ignored. */
    "  [ \"$k\" = SigIgn: ] && [ \"$v\" != 0000000000000000 ] && "
    "[ \"$v\" != 0000000180000000 ] && exit 95\n"
    "done < /proc/$$/status\n"
    "case $mode in\n"
    "exit) exit $arg ;;\n"
    "trap) trap 'exit 0' TERM; : > \"$cfg.ready\"; while :; do sleep 0.05; done ;;\n"
    "ignore) trap '' TERM; : > \"$cfg.ready\"; while :; do sleep 0.05; done ;;\n"
    "esac\n";

struct fixture {
    char *dir;
    char helper[4096];
    char config[4096];
    char diag[4096];
    char checkpoint[4096];
    int leak; /* an fd without CLOEXEC in the "agent": must not reach the helper */
};

static void setup_fixture(struct fixture *f)
{
    f->dir = dv_test_tmpdir("dv-launch");
    snprintf(f->helper, sizeof(f->helper), "%s/fake-docklog", f->dir);
    snprintf(f->config, sizeof(f->config), "%s/docklog.json", f->dir);
    snprintf(f->diag, sizeof(f->diag), "%s/docklog.log", f->dir);
    snprintf(f->checkpoint, sizeof(f->checkpoint), "%s/docklog.checkpoint", f->dir);
    dv_test_write_file(f->helper, helper_script);
    chmod(f->helper, 0755);
    f->leak = open("/dev/null", O_RDONLY);
    assert_true(f->leak >= 0);
}

static void teardown_fixture(struct fixture *f)
{
    close(f->leak);
    dv_test_rm_rf(f->dir);
    free(f->dir);
}

static void set_mode(struct fixture *f, const char *mode, const char *arg)
{
    char text[256];
    snprintf(text, sizeof(text), "%s %s %d\n", mode, arg, f->leak);
    dv_test_write_file(f->config, text);
}

/* Until the helper in mode "trap" or "ignore" has set its SIGTERM disposition (a fixed
 * sleep is not enough on a loaded machine), then clear the marker for the next one. */
static void wait_trap(struct fixture *f)
{
    char ready[4200];
    snprintf(ready, sizeof(ready), "%s.ready", f->config);
    for (int i = 0; i < 1000 && access(ready, F_OK) < 0; i++)
        usleep(10000);
    assert_int_equal(unlink(ready), 0);
}

static void wait_pidfd(int pidfd)
{
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 10000), 1);
}

static void test_spawn_collect(void **state)
{
    (void)state;
    struct fixture f;
    setup_fixture(&f);
    /* The agent blocks and ignores signals of its own; the helper must not inherit that. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, &old);
    void (*old_usr1)(int) = signal(SIGUSR1, SIG_IGN);

    int codes[] = {0, 100, 111, 3};
    for (size_t i = 0; i < DV_ARRAY_SIZE(codes); i++) {
        char arg[16];
        snprintf(arg, sizeof(arg), "%d", codes[i]);
        set_mode(&f, "exit", arg);
        dv_docklog_proc p = DV_DOCKLOG_PROC_INIT;
        dv_error err;
        assert_int_equal(dv_docklog_spawn(f.helper, f.config, f.diag, &p, &err), 0);
        assert_true(p.pid > 0);
        assert_true(p.pidfd >= 0);
        assert_true(p.is_child);
        assert_true(p.starttime > 0);
        assert_int_equal(strlen(p.boot_id), DV_BOOT_ID_STRLEN);
        wait_pidfd(p.pidfd);
        dv_docklog_result res;
        assert_int_equal(dv_docklog_collect(&p, f.checkpoint, &res, &err), 0);
        /* Still open: only the caller may close it, after unwatching it (loop.h). */
        assert_true(p.pidfd >= 0);
        assert_true(fcntl(p.pidfd, F_GETFD) >= 0);
        dv_docklog_proc_close(&p);
        assert_int_equal(p.pidfd, -1);
        assert_int_equal(res.end, DV_DOCKLOG_END_EXITED);
        if (res.status != codes[i])
            fail_msg("helper exited %d, want %d (9x: a spawn promise was broken)", res.status,
                     codes[i]);
        /* Reaped: nothing left to wait for. */
        assert_int_equal(waitpid(p.pid, NULL, WNOHANG), -1);
    }
    /* stderr went to the diagnostics file. */
    _cleanup_free_ char *diag = NULL;
    assert_int_equal(dv_read_file(f.diag, &diag, NULL, NULL), 0);
    assert_non_null(strstr(diag, "started with"));

    /* A failed exec is reported by spawn itself, and nothing is left behind. */
    dv_docklog_proc p = DV_DOCKLOG_PROC_INIT;
    dv_error err;
    chmod(f.helper, 0644);
    assert_true(dv_docklog_spawn(f.helper, f.config, f.diag, &p, &err) < 0);
    assert_non_null(strstr(err.msg, "exec"));
    assert_int_equal(p.pid, 0);
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);

    signal(SIGUSR1, old_usr1);
    sigprocmask(SIG_SETMASK, &old, NULL);
    teardown_fixture(&f);
}

static void test_spawn_without_stdio(void **state)
{
    (void)state;
    /* An agent started with stdin, stdout and stderr closed: the helper still gets
     * /dev/null and the diagnostics file as 0, 1 and 2 (its checks exit 9x). */
    struct fixture f;
    setup_fixture(&f);
    set_mode(&f, "exit", "0");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(STDIN_FILENO);
        close(STDOUT_FILENO);
        close(STDERR_FILENO);
        dv_docklog_proc p = DV_DOCKLOG_PROC_INIT;
        dv_docklog_result res;
        if (dv_docklog_spawn(f.helper, f.config, f.diag, &p, NULL) < 0)
            _exit(81);
        struct pollfd pf = {.fd = p.pidfd, .events = POLLIN};
        if (poll(&pf, 1, 10000) != 1 || dv_docklog_collect(&p, f.checkpoint, &res, NULL) < 0)
            _exit(82);
        _exit(res.end == DV_DOCKLOG_END_EXITED ? res.status : 83);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0)
        fail_msg("helper exited %d (9x: a spawn promise was broken)", WEXITSTATUS(status));
    _cleanup_free_ char *diag = NULL;
    assert_int_equal(dv_read_file(f.diag, &diag, NULL, NULL), 0);
    assert_non_null(strstr(diag, "started with"));
    teardown_fixture(&f);
}

static void test_find_binary(void **state)
{
    (void)state;
    struct fixture f;
    setup_fixture(&f);
    char *path = NULL;
    dv_error err;
    setenv(DV_DOCKLOG_ENV, f.helper, 1);
    assert_int_equal(dv_docklog_find_binary(false, &path, &err), 0);
    assert_string_equal(path, f.helper);
    free(path);
    setenv(DV_DOCKLOG_ENV, "/nonexistent/docklog", 1);
    assert_true(dv_docklog_find_binary(false, &path, &err) < 0);
    assert_non_null(strstr(err.msg, DV_DOCKLOG_ENV));
    unsetenv(DV_DOCKLOG_ENV);
    /* Next to the running binary (the test program's directory has no docklog-tls). */
    assert_true(dv_docklog_find_binary(true, &path, &err) < 0);
    assert_non_null(strstr(err.msg, "docklog-tls"));
    assert_false(dv_docklog_needs_tls("unix:///var/run/docker.sock", true));
    assert_false(dv_docklog_needs_tls("tcp://10.0.0.1:2375", false));
    assert_true(dv_docklog_needs_tls("tcp://10.0.0.1:2376", true));
    assert_true(dv_docklog_needs_tls("https://docker.lan", false));
    assert_false(dv_docklog_needs_tls("http://docker.lan", true));
    /* B4: a tcp:// endpoint the client speaks TLS to is given to docklog as https:// */
    char buf[64];
    assert_string_equal(dv_docklog_endpoint("tcp://10.0.0.1:2376", true, buf, sizeof(buf)),
                        "https://10.0.0.1:2376");
    assert_string_equal(dv_docklog_endpoint("tcp://10.0.0.1:2375", false, buf, sizeof(buf)),
                        "tcp://10.0.0.1:2375");
    assert_string_equal(dv_docklog_endpoint("https://docker.lan", true, buf, sizeof(buf)),
                        "https://docker.lan");
    assert_string_equal(dv_docklog_endpoint("unix:///run/d.sock", false, buf, sizeof(buf)),
                        "unix:///run/d.sock");
    assert_null(dv_docklog_endpoint("tcp://10.0.0.1:2376", true, buf, 10));
    teardown_fixture(&f);
}

static void test_adopt_and_stop(void **state)
{
    (void)state;
    struct fixture f;
    setup_fixture(&f);
    dv_error err;

    /* SIGTERM honoured: docklog's normal stop (exit 0). */
    set_mode(&f, "trap", "-");
    dv_docklog_proc p = DV_DOCKLOG_PROC_INIT;
    assert_int_equal(dv_docklog_spawn(f.helper, f.config, f.diag, &p, &err), 0);
    wait_trap(&f);
    dv_docklog_result res;
    assert_int_equal(dv_docklog_collect(&p, f.checkpoint, &res, &err), -EAGAIN);
    assert_true(p.pidfd >= 0); /* still running: kept */
    assert_int_equal(dv_docklog_stop(&p, 5 * DV_NSEC_PER_SEC, f.checkpoint, &res, &err), 0);
    dv_docklog_proc_close(&p);
    assert_int_equal(res.end, DV_DOCKLOG_END_EXITED);
    assert_int_equal(res.status, 0);

    /* SIGTERM ignored: SIGKILL after the timeout. */
    set_mode(&f, "ignore", "-");
    assert_int_equal(dv_docklog_spawn(f.helper, f.config, f.diag, &p, &err), 0);
    wait_trap(&f);
    assert_int_equal(dv_docklog_stop(&p, 300 * DV_NSEC_PER_MSEC, f.checkpoint, &res, &err), 0);
    dv_docklog_proc_close(&p);
    if (res.end != DV_DOCKLOG_END_SIGNALED)
        fail_msg("end %d status %d", res.end, res.status);
    assert_int_equal(res.status, SIGKILL);
    assert_int_equal(dv_docklog_classify(&res), DV_DOCKLOG_RESPAWN);

    /* Adoption after an "agent restart": identity checked, outcome from the checkpoint. */
    set_mode(&f, "trap", "-");
    dv_docklog_proc spawned = DV_DOCKLOG_PROC_INIT;
    assert_int_equal(dv_docklog_spawn(f.helper, f.config, f.diag, &spawned, &err), 0);
    dv_docklog_proc_close(&spawned); /* the old agent goes away, the helper stays */
    wait_trap(&f);
    dv_docklog_proc adopted = DV_DOCKLOG_PROC_INIT;
    assert_int_equal(
        dv_docklog_adopt(spawned.pid, spawned.starttime + 1, spawned.boot_id, &adopted, &err),
        -ESRCH);
    assert_int_equal(dv_docklog_adopt(spawned.pid, spawned.starttime,
                                      "00000000-0000-0000-0000-000000000000", &adopted, &err),
                     -ESRCH);
    assert_int_equal(
        dv_docklog_adopt(spawned.pid, spawned.starttime, spawned.boot_id, &adopted, &err), 0);
    assert_false(adopted.is_child);
    assert_int_equal(dv_docklog_collect(&adopted, f.checkpoint, &res, &err), -EAGAIN);
    dl_checkpoint cp;
    dl_checkpoint_init(&cp, "cid");
    cp.outcome = DL_OUTCOME_DONE;
    assert_int_equal(dl_checkpoint_save(f.checkpoint, &cp, false, &err), 0);
    usleep(200000);
    assert_int_equal(dv_docklog_stop(&adopted, 5 * DV_NSEC_PER_SEC, f.checkpoint, &res, &err), 0);
    dv_docklog_proc_close(&adopted);
    assert_int_equal(res.end, DV_DOCKLOG_END_UNKNOWN);
    assert_int_equal(res.outcome, DV_DOCKLOG_OUTCOME_DONE);
    assert_int_equal(dv_docklog_classify(&res), DV_DOCKLOG_DRAINED);
    /* In real life init reaps an adopted helper; here the test process is its parent. */
    assert_int_equal(waitpid(spawned.pid, NULL, 0), spawned.pid);
    /* Gone now: adoption fails, and a collect without a process reads the checkpoint. */
    assert_int_equal(
        dv_docklog_adopt(spawned.pid, spawned.starttime, spawned.boot_id, &adopted, &err), -ESRCH);
    dv_docklog_proc gone = DV_DOCKLOG_PROC_INIT;
    assert_int_equal(dv_docklog_collect(&gone, f.checkpoint, &res, &err), 0);
    assert_int_equal(dv_docklog_classify(&res), DV_DOCKLOG_DRAINED);
    teardown_fixture(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_written_is_config_read),
        cmocka_unit_test(test_protocol_wire_values),
        cmocka_unit_test(test_classify_and_backoff),
        cmocka_unit_test(test_outcome_agrees_with_docklog),
        cmocka_unit_test(test_spawn_collect),
        cmocka_unit_test(test_spawn_without_stdio),
        cmocka_unit_test(test_find_binary),
        cmocka_unit_test(test_adopt_and_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
