/* The record writer (record_writer.h): a save returns before its fsync, a
 * wait(ticket) only after it; saves of one task not begun yet are folded into
 * one write of the newest text; a remove stays ordered with the task's writes;
 * a failed write is reported on the loop and still ends the wait; a stop writes
 * everything queued. The sync step is held shut (sync_gate.h) to see each of
 * these while a write is not durable yet. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "atomic_file.h"
#include "cleanup.h"
#include "loop.h"
#include "record_writer.h"
#include "sync_gate.h"
#include "test_support.h"
#include "xalloc.h"

#define ID_A "11111111-2222-4333-8444-555555555555"
#define ID_B "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
#define ID_C "0b9c3c8e-6f0a-4b8e-9d51-3a0f2b7c9e11"

struct env {
    char *dir;
    dv_state_store *store;
    dv_loop *loop;
    dv_record_writer *w;
    /* what FAILED heard */
    int failures;
    char failed_id[64];
    bool failed_removing;
    dv_error failed_err;
};

static void on_failed(void *userdata, const char *task_id, bool removing, const dv_error *err)
{
    struct env *e = userdata;
    e->failures++;
    snprintf(e->failed_id, sizeof(e->failed_id), "%s", task_id);
    e->failed_removing = removing;
    e->failed_err = *err;
    if (e->loop)
        dv_loop_quit(e->loop);
}

static int setup(void **state)
{
    struct env *e = dv_xcalloc(1, sizeof(*e));
    dv_sync_gate_reset();
    e->dir = dv_test_tmpdir("dv-records");
    if (dv_state_store_open(e->dir, &e->store, NULL) < 0 || dv_loop_new(&e->loop, NULL) < 0)
        return -1;
    dv_record_writer_options o = {
        .loop = e->loop, .failed = on_failed, .userdata = e, .sync = dv_sync_gate_sync};
    if (dv_record_writer_new(e->store, &o, &e->w, NULL) < 0)
        return -1;
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    dv_sync_gate_hold(false);
    dv_record_writer_stop(e->w);
    dv_loop_close(e->loop);
    dv_record_writer_free(e->w);
    dv_loop_free(e->loop);
    dv_state_store_free(e->store);
    dv_test_rm_rf(e->dir);
    free(e->dir);
    free(e);
    return 0;
}

static uint64_t save(struct env *e, const char *id, const char *text)
{
    char *copy = dv_xstrdup(text);
    return dv_record_writer_save(e->w, id, copy, strlen(copy));
}

/* The record file's content, NULL when there is none. */
static char *on_disk(struct env *e, const char *id)
{
    _cleanup_free_ char *path = NULL;
    assert_true(asprintf(&path, "%s/state/tasks/%s.json", e->dir, id) > 0);
    char *data = NULL;
    if (dv_read_file(path, &data, NULL, NULL) < 0)
        return NULL;
    return data;
}

static void assert_on_disk(struct env *e, const char *id, const char *want)
{
    _cleanup_free_ char *got = on_disk(e, id);
    if (!want) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, want);
}

struct waiter {
    struct env *e;
    uint64_t ticket;
    pthread_t thread;
    pthread_mutex_t lock;
    bool returned;
};

static void *wait_main(void *data)
{
    struct waiter *wt = data;
    dv_record_writer_wait(wt->e->w, wt->ticket);
    pthread_mutex_lock(&wt->lock);
    wt->returned = true;
    pthread_mutex_unlock(&wt->lock);
    return NULL;
}

static bool waiter_returned(struct waiter *wt)
{
    pthread_mutex_lock(&wt->lock);
    bool r = wt->returned;
    pthread_mutex_unlock(&wt->lock);
    return r;
}

static void waiter_start(struct waiter *wt, struct env *e, uint64_t ticket)
{
    *wt = (struct waiter){.e = e, .ticket = ticket};
    pthread_mutex_init(&wt->lock, NULL);
    assert_int_equal(pthread_create(&wt->thread, NULL, wait_main, wt), 0);
}

static void waiter_join(struct waiter *wt)
{
    pthread_join(wt->thread, NULL);
    pthread_mutex_destroy(&wt->lock);
}

/* The caller (the loop) gets its ticket while the fsync is still held; a worker's
 * wait for that ticket returns only once the fsync is let through, and then the
 * record is on disk. A writer that synced on the caller's thread would hold the
 * save itself (the gate gives up after 10 s: overdue). */
static void test_save_returns_before_the_fsync_and_wait_after_it(void **state)
{
    struct env *e = *state;
    dv_sync_gate_hold(true);
    uint64_t t1 = save(e, ID_A, "{\"version\":1,\"n\":1}\n");
    assert_false(dv_sync_gate_overdue());
    assert_int_equal(t1, 1);
    assert_int_equal(dv_record_writer_latest(e->w), 1);
    assert_true(dv_sync_gate_wait_held(5000)); /* the writer's thread is in the fsync */
    assert_true(dv_record_writer_pending(e->w, ID_A));
    assert_false(dv_record_writer_pending(e->w, ID_B));

    struct waiter wt;
    waiter_start(&wt, e, t1);
    usleep(100 * 1000);
    assert_false(waiter_returned(&wt)); /* not durable yet */
    dv_sync_gate_hold(false);
    waiter_join(&wt);
    assert_true(wt.returned);
    assert_false(dv_sync_gate_overdue());
    assert_on_disk(e, ID_A, "{\"version\":1,\"n\":1}\n");
    assert_false(dv_record_writer_pending(e->w, ID_A));
    assert_int_equal(e->failures, 0);
    /* A ticket already done does not wait. */
    dv_record_writer_wait(e->w, t1);
}

/* Saves of a task that wait behind another write are folded: one write, the
 * newest text, and every ticket of them is done with it. */
static void test_saves_of_a_task_are_coalesced(void **state)
{
    struct env *e = *state;
    dv_sync_gate_hold(true);
    save(e, ID_C, "{\"version\":1,\"c\":1}\n");
    assert_true(dv_sync_gate_wait_held(5000)); /* the thread is busy with C */
    unsigned before = dv_sync_gate_files();
    uint64_t a1 = save(e, ID_A, "{\"version\":1,\"a\":1}\n");
    save(e, ID_B, "{\"version\":1,\"b\":1}\n");
    uint64_t a2 = save(e, ID_A, "{\"version\":1,\"a\":2}\n");
    uint64_t a3 = save(e, ID_A, "{\"version\":1,\"a\":3}\n");
    assert_true(a1 < a2 && a2 < a3);
    dv_sync_gate_hold(false);
    dv_record_writer_wait(e->w, a1); /* A's first ticket: done with the folded write */
    assert_on_disk(e, ID_A, "{\"version\":1,\"a\":3}\n");
    dv_record_writer_wait(e->w, a3);
    /* C's write was under way; then A once, B once. */
    assert_int_equal(dv_sync_gate_files() - before, 2);
    assert_on_disk(e, ID_A, "{\"version\":1,\"a\":3}\n");
    assert_on_disk(e, ID_B, "{\"version\":1,\"b\":1}\n");
    assert_on_disk(e, ID_C, "{\"version\":1,\"c\":1}\n");
}

/* A remove after a queued write wins (the write never brings the record back);
 * a save after a remove (the id used again) is written; a remove queued behind a
 * write under way comes after it. */
static void test_remove_is_ordered_with_the_writes(void **state)
{
    struct env *e = *state;
    dv_record_writer_wait(e->w, save(e, ID_A, "{\"version\":1,\"a\":0}\n"));
    dv_record_writer_wait(e->w, save(e, ID_B, "{\"version\":1,\"b\":0}\n"));

    dv_sync_gate_hold(true);
    save(e, ID_C, "{\"version\":1,\"c\":1}\n"); /* under way, held */
    assert_true(dv_sync_gate_wait_held(5000));
    save(e, ID_A, "{\"version\":1,\"a\":1}\n");
    uint64_t ra = dv_record_writer_remove(e->w, ID_A);
    dv_record_writer_remove(e->w, ID_B);
    uint64_t b2 = save(e, ID_B, "{\"version\":1,\"b\":2}\n");
    uint64_t rc = dv_record_writer_remove(e->w, ID_C);
    dv_sync_gate_hold(false);
    dv_record_writer_wait(e->w, ra);
    assert_on_disk(e, ID_A, NULL);
    dv_record_writer_wait(e->w, rc);
    assert_true(b2 < rc);
    assert_on_disk(e, ID_A, NULL);
    assert_on_disk(e, ID_B, "{\"version\":1,\"b\":2}\n");
    assert_on_disk(e, ID_C, NULL);
    assert_int_equal(e->failures, 0);
}

/* A write that fails (the disk is full) ends the wait all the same, and the loop
 * hears of it; nothing is left on disk. */
static void test_a_failed_write_is_reported_and_ends_the_wait(void **state)
{
    struct env *e = *state;
    dv_sync_gate_fail(ENOSPC);
    uint64_t t = save(e, ID_A, "{\"version\":1}\n");
    dv_record_writer_wait(e->w, t);
    assert_int_equal(e->failures, 0); /* reported on the loop, not here */
    dv_error err;
    assert_int_equal(dv_loop_run(e->loop, &err), 0); /* on_failed quits it */
    assert_int_equal(e->failures, 1);
    assert_string_equal(e->failed_id, ID_A);
    assert_false(e->failed_removing);
    assert_int_equal(e->failed_err.code, -ENOSPC);
    assert_non_null(strstr(e->failed_err.msg, "fsync"));
    assert_on_disk(e, ID_A, NULL);
    _cleanup_free_ char *tmp = NULL;
    assert_true(asprintf(&tmp, "%s/state/tasks/%s.json.tmp", e->dir, ID_A) > 0);
    assert_int_equal(access(tmp, F_OK), -1);

    /* The next one works again. */
    dv_sync_gate_fail(0);
    dv_record_writer_wait(e->w, save(e, ID_A, "{\"version\":2}\n"));
    assert_on_disk(e, ID_A, "{\"version\":2}\n");
}

static void *open_gate_later(void *data)
{
    (void)data;
    usleep(100 * 1000);
    dv_sync_gate_hold(false);
    return NULL;
}

/* The agent's orderly stop: everything queued is written before stop returns;
 * after it, a save is written before it returns. */
static void test_stop_writes_everything_queued(void **state)
{
    struct env *e = *state;
    dv_sync_gate_hold(true);
    save(e, ID_A, "{\"version\":1,\"a\":1}\n");
    save(e, ID_B, "{\"version\":1,\"b\":1}\n");
    save(e, ID_C, "{\"version\":1,\"c\":1}\n");
    dv_record_writer_remove(e->w, ID_C);
    pthread_t opener;
    assert_int_equal(pthread_create(&opener, NULL, open_gate_later, NULL), 0);
    dv_record_writer_stop(e->w);
    pthread_join(opener, NULL);
    assert_on_disk(e, ID_A, "{\"version\":1,\"a\":1}\n");
    assert_on_disk(e, ID_B, "{\"version\":1,\"b\":1}\n");
    assert_on_disk(e, ID_C, NULL);
    assert_false(dv_record_writer_pending(e->w, ID_A));

    save(e, ID_C, "{\"version\":1,\"c\":2}\n");
    assert_on_disk(e, ID_C, "{\"version\":1,\"c\":2}\n");
    dv_record_writer_wait(e->w, dv_record_writer_latest(e->w));
}

/* Failures the loop no longer takes (it was closed) are handed over by free. */
static void test_free_reports_what_the_loop_did_not_take(void **state)
{
    struct env *e = *state;
    dv_loop_close(e->loop);
    dv_sync_gate_fail(EIO);
    dv_record_writer_wait(e->w, save(e, ID_B, "{\"version\":1}\n"));
    assert_int_equal(e->failures, 0);
    dv_record_writer_free(e->w);
    e->w = NULL;
    assert_int_equal(e->failures, 1);
    assert_string_equal(e->failed_id, ID_B);
    assert_int_equal(e->failed_err.code, -EIO);
    /* teardown frees a NULL writer */
    dv_record_writer_options o = {.failed = on_failed, .userdata = e};
    assert_int_equal(dv_record_writer_new(e->store, &o, &e->w, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_save_returns_before_the_fsync_and_wait_after_it, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_saves_of_a_task_are_coalesced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_is_ordered_with_the_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_failed_write_is_reported_and_ends_the_wait, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stop_writes_everything_queued, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_reports_what_the_loop_did_not_take, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
