/* docklog against Docker's own behaviour, with the defaults its docs give (issue 11):
 * a writer as fast as busybox sh under the json-file cap of 2 x 2m, the journald log
 * driver, a driver Docker cannot read back, and a gap Docker rotated away while no
 * docklog ran. Runs in both modes (DV_DOCKLOG_SOURCE, docklog_itest.h). */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "checkpoint.h"
#include "docklog_itest.h"
#include "docklog_protocol.h"
#include "log_gaps.h"

#define BURST 30000
#define DEFAULT_CAP "--log-driver json-file --log-opt max-size=2m --log-opt max-file=2"

static void expect_exit(it_task *t, int status, int code)
{
    if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != code) {
        it_print_diag(t);
        fail_msg("docklog ended with status 0x%x, want exit %d", status, code);
    }
}

/* The numbered lines "<n> WORD" of TEXT: strictly increasing (nothing twice, nothing
 * out of order) and within 1..MAX. Returns how many of EXPECTED are missing. */
static long expect_increasing(const it_task *t, const char *text, const char *word, long max,
                              long expected)
{
    long last = 0, count = 0;
    for (const char *p = text; *p;) {
        char *end;
        long n = strtol(p, &end, 10);
        if (end == p || *end != ' ' || strncmp(end + 1, word, strlen(word)) != 0 || n <= last ||
            n > max) {
            it_print_diag(t);
            fail_msg("after line %ld: \"%.40s\"", last, p);
        }
        last = n;
        count++;
        const char *nl = strchr(end, '\n');
        if (!nl)
            fail_msg("line %ld not terminated", n);
        p = nl + 1;
    }
    return expected - count;
}

/* 30,000 numbered lines on stdout and on stderr as fast as busybox sh writes them,
 * under Docker's default cap, then 3 s of quiet. Docker 20.10's follow reader skips
 * files and replays others around each rotation; docklog must deliver every line once
 * when it reads the files, and never a line twice through the API (which can lose
 * what Docker's reader skipped: counted, not hidden). */
static void test_burst_default_cap(void **state)
{
    (void)state;
    bool file = it_source_is_file();
    int reps = file ? 10 : 3;
    long lost_api = 0;
    for (int rep = 0; rep < reps; rep++) {
        it_task t;
        it_task_start_image(&t, "burst", DEFAULT_CAP,
                            dv_test_env("DV_TEST_IMAGE_BUSYBOX", "dockvisor-test/busybox:1"),
                            "sh -c 'sleep 1; "
                            "(i=1; while [ $i -le 30000 ]; do echo \"$i out\"; i=$((i+1)); done) & "
                            "(i=1; while [ $i -le 30000 ]; do echo \"$i err\" >&2; i=$((i+1)); "
                            "done) & wait; sleep 3'");
        it_write_config(&t, false, 10, 10, false);
        expect_exit(&t, it_docklog_wait(it_docklog_spawn(&t), 120), DV_DOCKLOG_EXIT_DRAINED);
        _cleanup_free_ char *out = it_read_stream(&t, "stdout", NULL, NULL);
        _cleanup_free_ char *err = it_read_stream(&t, "stderr", NULL, NULL);
        if (file) {
            const char *why = it_check_numbered(out, 1, 1, BURST, "out", "\n");
            if (!why)
                why = it_check_numbered(err, 1, 1, BURST, "err", "\n");
            if (why) {
                it_print_diag(&t);
                fail_msg("burst %d of %d: %s", rep + 1, reps, why);
            }
        } else {
            lost_api += expect_increasing(&t, out, "out", BURST, BURST);
            lost_api += expect_increasing(&t, err, "err", BURST, BURST);
        }
        it_task_cleanup(&t);
    }
    if (!file)
        fprintf(stderr,
                "through the API: no line twice in %d bursts; %ld of %d lines lost "
                "(skipped by Docker's follow reader)\n",
                reps, lost_api, reps * 2 * BURST);
}

/* journald entries of the container, as Docker's journald reader selects them. */
static json_t *journal_of(const char *container_id, size_t min, int seconds)
{
    char match[120];
    snprintf(match, sizeof(match), "CONTAINER_ID_FULL=%s", container_id);
    return it_journal_entries(match, "MESSAGE,_COMM", min, seconds);
}

/* Docker writes the lines to journald itself and reads them back from there by
 * CONTAINER_ID_FULL: docklog must not add copies of its own (it used to read them
 * back and write them again, forever). */
static void test_journald_driver_each_line_once(void **state)
{
    (void)state;
    it_task t;
    it_task_start_image(&t, "journald", "--log-driver journald",
                        dv_test_env("DV_TEST_IMAGE_BUSYBOX", "dockvisor-test/busybox:1"),
                        "sh -c 'echo one-out; echo one-err >&2; sleep 6'");
    if (it_source_is_file())
        it_source_override = "auto";
    it_write_config(&t, false, 3, 1, true);
    it_source_override = NULL;
    expect_exit(&t, it_docklog_wait(it_docklog_spawn(&t), 60), DV_DOCKLOG_EXIT_DRAINED);
    _cleanup_free_ char *out = it_read_stream(&t, "stdout", NULL, NULL);
    _cleanup_free_ char *err = it_read_stream(&t, "stderr", NULL, NULL);
    assert_string_equal(out, "one-out\n");
    assert_string_equal(err, "one-err\n");
    _cleanup_json_ json_t *j = journal_of(t.id, 2, 20);
    usleep(1000000); /* anything docklog sent would be visible by now */
    json_decref(j);
    j = journal_of(t.id, 2, 1);
    for (size_t i = 0; i < json_array_size(j); i++) {
        const char *comm = json_string_value(json_object_get(json_array_get(j, i), "_COMM"));
        if (comm && strncmp(comm, "docklog", 7) == 0)
            fail_msg("docklog wrote to journald for a journald-driver container");
    }
    assert_int_equal(json_array_size(j), 2);
    it_task_cleanup(&t);
}

/* Docker keeps no copy it could serve (gelf with its local cache disabled): a
 * permanent failure naming the reason, not a respawn loop. With source "file"
 * (docker.log_source) it is refused before Docker is asked: no files to read, and no
 * silent switch to the API. */
static void test_unreadable_driver_is_permanent(void **state)
{
    (void)state;
    it_task t;
    it_task_start(&t, "gelf",
                  "--log-driver gelf --log-opt gelf-address=udp://127.0.0.1:12201 "
                  "--log-opt cache-disabled=true",
                  "lines 4 0 -- sleep 5");
    it_write_config(&t, false, 3, 1, false);
    expect_exit(&t, it_docklog_wait(it_docklog_spawn(&t), 60), DV_DOCKLOG_EXIT_PERMANENT);
    dl_checkpoint cp;
    dv_error err;
    assert_int_equal(dl_checkpoint_load(t.checkpoint, &cp, &err), 0);
    assert_int_equal(cp.outcome, DL_OUTCOME_FAILED);
    const char *want = it_source_is_file() ? "cannot read the log files from disk: the log "
                                             "driver is neither json-file nor local"
                                           : "does not support reading";
    if (!strstr(cp.error, want))
        fail_msg("unclear message: %s", cp.error);
    it_task_cleanup(&t);
}

/* docklog said in its diagnostics that entries were lost (DIAG_SAYS), and its gaps
 * file's first record is a gap of T's container; returns it. */
static dv_log_gap expect_loss_reported(const it_task *t, const char *diag_says)
{
    _cleanup_free_ char *diag = NULL;
    assert_int_equal(dv_read_file(t->diag, &diag, NULL, NULL), 0);
    if (!strstr(diag, diag_says))
        fail_msg("no \"%s\" in docklog.log:\n%s", diag_says, diag);
    _cleanup_free_ char *gaps = NULL;
    size_t len = 0;
    assert_int_equal(dv_read_file(t->gaps, &gaps, &len, NULL), 0);
    const char *nl = memchr(gaps, '\n', len);
    assert_non_null(nl);
    dv_log_gap gap;
    dv_error err;
    assert_int_equal(dv_log_gap_parse(gaps, (size_t)(nl - gaps), &gap, &err), 0);
    assert_string_equal(gap.container_id, t->id);
    assert_true(gap.before_ns > gap.after_ns);
    return gap;
}

/* A writer that fills more than max-file files before its helper first looks: the
 * container's first log file is gone, and a fresh docklog (no checkpoint to measure
 * from) reports the loss from the container's start. One that wrote less than a file
 * reports nothing (test_docklog_stream). Only from disk: through the API it cannot
 * be told. For json-file and for `local` with compress=false (both rename on rotation;
 * compressed `local` files are new files that cannot tell it: DESIGN.md). */
static void first_file_gone_is_reported(const char *name, const char *log_opts)
{
    if (!it_source_is_file())
        skip();
    it_task t;
    it_task_start(&t, name, log_opts, "stdout-lines 20000 100");
    it_wait_exited(&t, 60);
    it_write_config(&t, false, 10, 10, false);
    expect_exit(&t, it_docklog_wait(it_docklog_spawn(&t), 60), DV_DOCKLOG_EXIT_DRAINED);
    dv_log_gap gap = expect_loss_reported(&t, "rotated the container's first log file away");
    assert_int_equal(gap.stream, 0);
    /* what is there is still each line once, the end of the stream */
    _cleanup_free_ char *out = it_read_stream(&t, "stdout", NULL, NULL);
    long first = strtol(out, NULL, 10);
    assert_true(first > 1000); /* 100k files of under 1,000 lines: more than one is gone */
    const char *why = it_check_numbered(out, first, 1, 20000, "stdout", "\n");
    if (why)
        fail_msg("%s", why);
    it_task_cleanup(&t);
}

static void test_first_file_gone_is_reported(void **state)
{
    (void)state;
    first_file_gone_is_reported(
        "first", "--log-driver json-file --log-opt max-size=100k --log-opt max-file=2");
}

static void test_first_file_gone_is_reported_local(void **state)
{
    (void)state;
    first_file_gone_is_reported("firstlocal", "--log-driver local --log-opt max-size=100k "
                                              "--log-opt max-file=2 --log-opt compress=false");
}

/* A docklog killed while Docker rotates a fast log past its checkpoint: the next one
 * cannot get those lines back, and says so in all three places (gaps.h); what it does
 * deliver is still each line once. */
static void test_loss_is_reported(void **state)
{
    (void)state;
    it_task t;
    it_task_start(&t, "loss", "--log-driver json-file --log-opt max-size=100k --log-opt max-file=2",
                  "sleep 1 -- lines 200000 20000");
    it_write_config(&t, false, 10, 10, false);
    pid_t pid = it_docklog_spawn(&t);
    usleep(2500000);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    usleep(2000000); /* 40,000 lines: far more than 2 x 100k keep */
    expect_exit(&t, it_docklog_wait(it_docklog_spawn(&t), 120), DV_DOCKLOG_EXIT_DRAINED);

    expect_loss_reported(&t, "log entries lost");

    /* journald: a warning for the task, which Docker's reader would not return. */
    char *out = NULL;
    for (int i = 0; i < 40; i++) {
        free(out);
        out = NULL;
        dv_test_sh(&out, "journalctl --no-pager -q -a DOCKVISOR_CONTAINER=%s PRIORITY=4 -o cat",
                   t.id);
        if (strstr(out, "log entries lost"))
            break;
        usleep(250000);
    }
    if (!strstr(out, "log entries lost"))
        fail_msg("no journald warning: \"%s\"", out);
    free(out);

    _cleanup_free_ char *o = it_read_stream(&t, "stdout", NULL, NULL);
    _cleanup_free_ char *e = it_read_stream(&t, "stderr", NULL, NULL);
    long lost = expect_increasing(&t, o, "stdout", 199999, 100000) +
                expect_increasing(&t, e, "stderr", 200000, 100000);
    assert_true(lost > 0); /* the gap is real: 2 x 100k cannot hold 2 s of it */
    it_task_cleanup(&t);
}

/* Point the config's journald output at PATH (nothing need listen there). */
static void set_journal_socket(const it_task *t, const char *path)
{
    _cleanup_json_ json_t *c = json_load_file(t->config, 0, NULL);
    if (!c ||
        json_object_set_new(json_object_get(c, "journald"), "socket", json_string(path)) < 0 ||
        dv_atomic_write_json(t->config, c, 0600, NULL) < 0)
        it_die("set journald socket");
}

/* journald down for 4 s while the fastest writer (30 MB) runs under Docker's default
 * cap: Docker creates and deletes 15 files meanwhile. docklog cannot deliver an entry
 * (files first, then journald, then the checkpoint: it waits on journald with the
 * entry kept), and must keep hold of every new file while it waits, so that when
 * journald is back every line reaches the files and journald, once, with no gap.
 * journald here is a datagram socket bound after the outage: the shared one cannot
 * be stopped. Only from disk: through the API, dockerd itself loses such files. */
static void test_journald_outage_under_the_cap(void **state)
{
    (void)state;
    if (!it_source_is_file())
        skip();
    enum { LINES = 300000 };
    it_task t;
    it_task_start(&t, "outage", DEFAULT_CAP, "sleep 1 -- fast 300000 -- sleep 2");
    it_write_config(&t, false, 10, 10, true);
    char path[4300];
    snprintf(path, sizeof(path), "%s/journal.sock", t.dir);
    set_journal_socket(&t, path);
    pid_t pid = it_docklog_spawn(&t);
    usleep(4000000); /* the writer is done after about 2.5 s: 26 MB are gone from disk */

    int srv = dv_test_bind_dgram(path); /* journald is back */
    long entries = 0;
    int status = -1;
    bool exited = false;
    static char dgram[65536];
    /* Until docklog has drained and its last entries are taken, or 2 minutes idle. */
    for (int idle = 0; idle < 1200;) {
        ssize_t n = recv(srv, dgram, sizeof(dgram) - 1, MSG_DONTWAIT);
        if (n >= 0) {
            dgram[n] = 0;
            entries += strstr(dgram, " fast ") != NULL;
            idle = 0;
        } else if (exited) {
            break;
        } else if (waitpid(pid, &status, WNOHANG) == pid) {
            exited = true;
        } else {
            struct pollfd p = {.fd = srv, .events = POLLIN};
            idle += poll(&p, 1, 100) == 0;
        }
    }
    close(srv);
    if (!exited)
        status = it_docklog_wait(pid, 0); /* stuck: killed, and the test fails */
    expect_exit(&t, status, DV_DOCKLOG_EXIT_DRAINED);
    struct stat st;
    if (stat(t.gaps, &st) == 0 && st.st_size > 0) {
        it_print_diag(&t);
        fail_msg("docklog reported a gap: Docker's files were not held while journald was down");
    }
    _cleanup_free_ char *out = it_read_stream(&t, "stdout", NULL, NULL);
    const char *why = it_check_numbered(out, 1, 1, LINES, "fast", "\n");
    if (why) {
        it_print_diag(&t);
        fail_msg("files: %s", why);
    }
    assert_int_equal(entries, LINES);
    it_task_cleanup(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_default_cap),
        cmocka_unit_test(test_journald_driver_each_line_once),
        cmocka_unit_test(test_unreadable_driver_is_permanent),
        cmocka_unit_test(test_loss_is_reported),
        cmocka_unit_test(test_first_file_gone_is_reported),
        cmocka_unit_test(test_first_file_gone_is_reported_local),
        cmocka_unit_test(test_journald_outage_under_the_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
