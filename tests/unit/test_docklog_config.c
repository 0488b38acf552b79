/* Unit tests for docklog's config and checkpoint formats. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "checkpoint.h"
#include "cleanup.h"
#include "config.h"
#include "file_sink.h"
#include "test_support.h"

#define GOOD                                                                                       \
    "{\"version\":1,\"endpoint\":\"unix:///var/run/docker.sock\","                                 \
    "\"container\":{\"id\":\"abc123def456abc123\",\"name\":\"web-1\",\"tty\":false,"               \
    "\"image\":\"img:1\"},"                                                                        \
    "\"task\":{\"id\":\"11111111-2222-4333-8444-555555555555\",\"name\":\"web\"},"                 \
    "\"files\":{\"enabled\":true,\"dir\":\"/tmp/logs\",\"base\":\"web\",\"max_files\":3,"          \
    "\"max_file_size\":5},"                                                                        \
    "\"journald\":{\"enabled\":true},"                                                             \
    "\"checkpoint\":\"/tmp/cp\"}"

static int parse_text(const char *text, dl_config *c, dv_error *err)
{
    json_error_t jerr;
    _cleanup_json_ json_t *j = json_loads(text, 0, &jerr);
    if (!j)
        fail_msg("bad test JSON: %s", jerr.text);
    return dl_config_parse(j, c, err);
}

static void test_config_good(void **state)
{
    (void)state;
    dl_config c;
    dv_error err;
    assert_int_equal(parse_text(GOOD, &c, &err), 0);
    assert_string_equal(c.endpoint, "unix:///var/run/docker.sock");
    assert_string_equal(c.container_id, "abc123def456abc123");
    assert_false(c.tty);
    assert_true(c.files.enabled);
    assert_int_equal(c.files.max_files, 3);
    assert_int_equal(c.files.max_file_size_mb, 5);
    /* Defaults. */
    assert_string_equal(c.journald.identifier, "web");
    assert_string_equal(c.journald.socket, DL_JOURNALD_SOCKET_DEFAULT);
    assert_null(c.tls_cert);
    assert_int_equal(c.n_addresses, 0);
    dl_config_free(&c);

    /* The agent's resolution of a tcp host: kept in order for the transport. */
    const char *at = strstr(GOOD, "\"container\"");
    char text[2048];
    snprintf(text, sizeof(text), "%.*s\"addresses\":[\"192.0.2.7\",\"::1\"],%s", (int)(at - GOOD),
             GOOD, at);
    assert_int_equal(parse_text(text, &c, &err), 0);
    assert_int_equal(c.n_addresses, 2);
    assert_string_equal(c.addresses[0], "192.0.2.7");
    assert_string_equal(c.addresses[1], "::1");
    dl_config_free(&c);
}

static void test_config_errors_name_the_key(void **state)
{
    (void)state;
    struct {
        const char *from, *to, *want;
    } cases[] = {
        {"\"version\":1", "\"version\":2", "version"},
        {"\"max_files\":3", "\"max_files\":0", "files.max_files"},
        {"\"max_file_size\":5", "\"max_file_sise\":5", "files.max_file_sise: unknown key"},
        {"\"tty\":false", "\"tty\":\"no\"", "container.tty"},
        {"\"id\":\"abc123def456abc123\"", "\"id\":\"../etc\"", "container.id"},
        {"\"journald\":{\"enabled\":true}", "\"journald\":{\"enabled\":true,\"x\":1}",
         "journald.x: unknown key"},
        {"\"base\":\"web\"", "\"base\":\"a/b\"", "files.base"},
        {"\"container\":", "\"addresses\":\"10.0.0.1\",\"container\":",
         "addresses: must be an array"},
        {"\"container\":", "\"addresses\":[1],\"container\":", "addresses[0]: must be a string"},
        {"\"container\":",
         "\"addresses\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"],\"container\":",
         "at most 8"},
        {"\"checkpoint\":\"/tmp/cp\"", "\"checkpoint\":\"\"", "checkpoint"},
    };
    for (size_t i = 0; i < DV_ARRAY_SIZE(cases); i++) {
        char text[2048];
        const char *at = strstr(GOOD, cases[i].from);
        assert_non_null(at);
        snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - GOOD), GOOD, cases[i].to,
                 at + strlen(cases[i].from));
        dl_config c;
        dv_error err;
        int r = parse_text(text, &c, &err);
        if (r != -EINVAL || !strstr(err.msg, cases[i].want))
            fail_msg("case %zu: r=%d msg=\"%s\" want \"%s\"", i, r, r < 0 ? err.msg : "",
                     cases[i].want);
    }
}

static void test_config_needs_a_sink(void **state)
{
    (void)state;
    const char *text =
        "{\"version\":1,\"endpoint\":\"unix:///x\",\"container\":{\"id\":\"a\",\"name\":\"n\","
        "\"tty\":true,\"image\":\"i\"},\"task\":{\"id\":\"t\",\"name\":\"n\"},"
        "\"files\":{\"enabled\":false},\"journald\":{\"enabled\":false},\"checkpoint\":\"/c\"}";
    dl_config c;
    dv_error err;
    assert_int_equal(parse_text(text, &c, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "neither files nor journald"));
}

static void test_checkpoint_round_trip(void **state)
{
    (void)state;
    _cleanup_free_ char *dir = dv_test_tmpdir("dl-cp");
    char path[4096];
    snprintf(path, sizeof(path), "%s/docklog.checkpoint", dir);
    dv_error err;
    dl_checkpoint cp, back;
    assert_int_equal(dl_checkpoint_load(path, &back, &err), -ENOENT);

    dl_checkpoint_init(&cp, "abc");
    cp.pos.ts[DL_STDOUT] = INT64_C(1714566896123456789);
    cp.pos.count[DL_STDOUT] = 3;
    cp.pos.ts[DL_STDERR] = INT64_C(1714566896100000000);
    cp.pos.count[DL_STDERR] = 1;
    cp.pos.out = (dl_file_pos){.index = 4,
                               .offset = 100,
                               .line_start = 90,
                               .mid_line = true,
                               .truncate_index = 3,
                               .truncate_offset = 77};
    cp.pos.err = (dl_file_pos){.index = 0, .offset = 5, .line_start = 5, .truncate_index = -1};
    cp.pos.source.set = true;
    cp.pos.source.dev = 2049;
    cp.pos.source.ino = UINT64_C(1) << 40;
    cp.pos.source.born_ns = INT64_C(1714566800123456789);
    cp.pos.source.offset = 123456;
    snprintf(cp.pos.source.boot_id, sizeof(cp.pos.source.boot_id), "%s",
             "0f8c8e53-3b4c-4a5e-9d59-3c2a5c1f7e10");
    cp.has_synced = true;
    cp.synced = cp.pos;
    cp.synced.count[DL_STDOUT] = 1;
    assert_int_equal(dl_checkpoint_save(path, &cp, false, &err), 0);
    assert_int_equal(dl_checkpoint_load(path, &back, &err), 0);
    assert_memory_equal(&back.pos, &cp.pos, sizeof(cp.pos));
    assert_memory_equal(&back.synced, &cp.synced, sizeof(cp.synced));
    assert_string_equal(back.container_id, "abc");

    /* The same place: every field counts; two unset places are equal. */
    assert_true(dl_source_pos_equal(&back.pos.source, &cp.pos.source));
    for (int field = 0; field < 6; field++) {
        dl_source_pos other = cp.pos.source;
        switch (field) {
        case 0:
            other.dev++;
            break;
        case 1:
            other.ino++;
            break;
        case 2:
            other.born_ns++;
            break;
        case 3:
            other.offset++;
            break;
        case 4:
            other.boot_id[0] = 'f';
            break;
        case 5:
            other.set = false;
            break;
        }
        assert_false(dl_source_pos_equal(&other, &cp.pos.source));
        assert_false(dl_source_pos_equal(&cp.pos.source, &other));
    }
    dl_source_pos none_a = {.set = false, .ino = 1}, none_b = {.set = false, .ino = 2};
    assert_true(dl_source_pos_equal(&none_a, &none_b));
    assert_int_equal(back.outcome, DL_OUTCOME_RUNNING);

    /* Durable write, terminal outcome with its message; nothing delivered yet. */
    dl_checkpoint_init(&cp, "abc");
    cp.outcome = DL_OUTCOME_FAILED;
    snprintf(cp.error, sizeof(cp.error), "log driver \"none\" cannot be read");
    assert_int_equal(dl_checkpoint_save(path, &cp, true, &err), 0);
    assert_int_equal(dl_checkpoint_load(path, &back, &err), 0);
    assert_true(back.pos.ts[DL_STDOUT] == DL_TS_NONE);
    assert_true(back.pos.ts[DL_STDERR] == DL_TS_NONE);
    assert_int_equal(back.pos.out.index, -1);
    assert_int_equal(back.outcome, DL_OUTCOME_FAILED);
    assert_string_equal(back.error, cp.error);
    assert_false(back.has_synced);
    struct stat st;
    snprintf(path + strlen(path), 8, ".tmp");
    assert_int_equal(stat(path, &st), -1); /* no temp file left behind */

    dv_test_rm_rf(dir);
}

static void test_checkpoint_rejects_garbage(void **state)
{
    (void)state;
    const char *bad[] = {
        "{\"version\":2,\"container_id\":\"a\",\"outcome\":\"running\"}",
        "{\"version\":1,\"container_id\":\"a\",\"outcome\":\"maybe\",\"position\":{}}",
        "{\"version\":1,\"container_id\":\"a\",\"outcome\":\"running\",\"position\":{\"count\":0}}",
        "{\"version\":1,\"container_id\":\"a\",\"outcome\":\"running\",\"position\":{\"count\":0,"
        "\"stdout\":{\"index\":0,\"offset\":1,\"line_start\":2,\"mid_line\":false},"
        "\"stderr\":{\"index\":0,\"offset\":0,\"line_start\":0,\"mid_line\":false}}}",
        /* The file source's place: a negative offset, a boot id that is not one. */
        "{\"version\":1,\"container_id\":\"a\",\"outcome\":\"running\",\"position\":{"
        "\"stdout\":{\"index\":0,\"offset\":0,\"line_start\":0,\"mid_line\":false,\"count\":0},"
        "\"stderr\":{\"index\":0,\"offset\":0,\"line_start\":0,\"mid_line\":false,\"count\":0},"
        "\"source\":{\"dev\":1,\"ino\":2,\"born\":3,\"offset\":-1,\"boot_id\":"
        "\"0f8c8e53-3b4c-4a5e-9d59-3c2a5c1f7e10\"}}}",
        "{\"version\":1,\"container_id\":\"a\",\"outcome\":\"running\",\"position\":{"
        "\"stdout\":{\"index\":0,\"offset\":0,\"line_start\":0,\"mid_line\":false,\"count\":0},"
        "\"stderr\":{\"index\":0,\"offset\":0,\"line_start\":0,\"mid_line\":false,\"count\":0},"
        "\"source\":{\"dev\":1,\"ino\":2,\"born\":3,\"offset\":4,\"boot_id\":\"x\"}}}",
    };
    for (size_t i = 0; i < DV_ARRAY_SIZE(bad); i++) {
        _cleanup_json_ json_t *j = json_loads(bad[i], 0, NULL);
        assert_non_null(j);
        dl_checkpoint cp;
        dv_error err;
        assert_int_equal(dl_checkpoint_from_json(j, &cp, &err), -EINVAL);
    }
}

/* The delivered counts ("progress") round-trip, and a checkpoint an older docklog
 * wrote, without them, still loads with all of them 0: the format stays version 1. */
static void test_checkpoint_progress(void **state)
{
    (void)state;
    dl_checkpoint cp, back;
    dv_error err;
    dl_checkpoint_init(&cp, "abc");
    cp.progress = (dl_progress){
        .entries = 25, .bytes = 4096, .starts = 2, .lag_ns = -3000, .at_ns = 1700000000000000000};
    _cleanup_json_ json_t *j = dl_checkpoint_to_json(&cp);
    assert_int_equal(dl_checkpoint_from_json(j, &back, &err), 0);
    assert_memory_equal(&back.progress, &cp.progress, sizeof(cp.progress));

    static const char old[] =
        "{\"version\":1,\"container_id\":\"a\",\"outcome\":\"running\",\"position\":{"
        "\"stdout\":{\"index\":0,\"offset\":0,\"line_start\":0,\"mid_line\":false,\"count\":0},"
        "\"stderr\":{\"index\":0,\"offset\":0,\"line_start\":0,\"mid_line\":false,\"count\":0}}}";
    _cleanup_json_ json_t *o = json_loads(old, 0, NULL);
    assert_non_null(o);
    assert_int_equal(dl_checkpoint_from_json(o, &back, &err), 0);
    assert_int_equal(back.progress.entries, 0);
    assert_int_equal(back.progress.starts, 0);
    assert_int_equal(back.progress.at_ns, 0);

    /* A progress docklog did not write is as corrupt as a bad position. */
    json_object_set_new(o, "progress", json_pack("{s:i}", "entries", -1));
    assert_int_equal(dl_checkpoint_from_json(o, &back, &err), -EINVAL);
    json_object_set_new(o, "progress", json_string("x"));
    assert_int_equal(dl_checkpoint_from_json(o, &back, &err), -EINVAL);
}

/* Both files are read as strictly as the checkpoint's copy always was: a key given
 * twice is refused, not read as its last value (common/json_strict.h). */
static void test_files_refuse_a_key_twice(void **state)
{
    (void)state;
    _cleanup_free_ char *dir = dv_test_tmpdir("dl-strict");
    char path[4096];
    snprintf(path, sizeof(path), "%s/docklog.json", dir);
    dv_error err;
    dl_config c;
    dv_test_write_file(path, GOOD);
    assert_int_equal(dl_config_load(path, &c, &err), 0);
    dl_config_free(&c);
    char text[2048];
    snprintf(text, sizeof(text), "%.*s,\"checkpoint\":\"/elsewhere\"}", (int)strlen(GOOD) - 1,
             GOOD);
    dv_test_write_file(path, text);
    assert_int_equal(dl_config_load(path, &c, &err), -EINVAL);
    assert_non_null(strstr(err.msg, path));

    snprintf(path, sizeof(path), "%s/docklog.checkpoint", dir);
    dl_checkpoint cp;
    dl_checkpoint_init(&cp, "abc");
    assert_int_equal(dl_checkpoint_save(path, &cp, false, &err), 0);
    assert_int_equal(dl_checkpoint_load(path, &cp, &err), 0);
    size_t len;
    _cleanup_free_ char *saved = dl_checkpoint_dumps(&cp, &len);
    assert_non_null(saved);
    snprintf(text, sizeof(text), "%.*s,\"outcome\":\"done\"}", (int)len - 1, saved);
    dv_test_write_file(path, text);
    assert_int_equal(dl_checkpoint_load(path, &cp, &err), -EINVAL);
    dv_test_rm_rf(dir);
}

static void test_position_advance_and_since(void **state)
{
    (void)state;
    dl_position p = {.ts = {DL_TS_NONE, DL_TS_NONE}};
    assert_true(dl_position_since(&p) == DL_TS_NONE);
    dl_position_advance(&p, DL_STDOUT, 100 * DV_NSEC_PER_SEC);
    assert_int_equal(p.ts[DL_STDOUT], 100 * DV_NSEC_PER_SEC);
    assert_int_equal(p.count[DL_STDOUT], 1);
    /* stderr has no time yet: reach back by the margin for its inverted entries. */
    assert_int_equal(dl_position_since(&p), 100 * DV_NSEC_PER_SEC - DL_SINCE_MARGIN);
    dl_position_advance(&p, DL_STDOUT, 100 * DV_NSEC_PER_SEC);
    dl_position_advance(&p, DL_STDOUT, 100 * DV_NSEC_PER_SEC);
    assert_int_equal(p.count[DL_STDOUT], 3);
    /* stderr's older entry (Docker's streams interleave out of order) is its own. */
    dl_position_advance(&p, DL_STDERR, 90 * DV_NSEC_PER_SEC);
    assert_int_equal(p.ts[DL_STDERR], 90 * DV_NSEC_PER_SEC);
    assert_int_equal(p.count[DL_STDERR], 1);
    assert_int_equal(dl_position_since(&p), 90 * DV_NSEC_PER_SEC);
    dl_position_advance(&p, DL_STDOUT, 101 * DV_NSEC_PER_SEC);
    assert_int_equal(p.ts[DL_STDOUT], 101 * DV_NSEC_PER_SEC);
    assert_int_equal(p.count[DL_STDOUT], 1);
    /* A clock step back within a stream: since= would not return it again. */
    dl_position_advance(&p, DL_STDOUT, 50);
    assert_int_equal(p.ts[DL_STDOUT], 101 * DV_NSEC_PER_SEC);
    assert_int_equal(p.count[DL_STDOUT], 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_good),
        cmocka_unit_test(test_config_errors_name_the_key),
        cmocka_unit_test(test_config_needs_a_sink),
        cmocka_unit_test(test_checkpoint_round_trip),
        cmocka_unit_test(test_checkpoint_rejects_garbage),
        cmocka_unit_test(test_checkpoint_progress),
        cmocka_unit_test(test_files_refuse_a_key_twice),
        cmocka_unit_test(test_position_advance_and_since),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
