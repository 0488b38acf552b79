/* Unit tests for docklog helpers in transient units (docklog_unit.h): the unit names
 * (systemd's escaping, length, uniqueness) and the fallback to a fork where systemd
 * cannot be asked (this test's host: PID 1 is not systemd). The units themselves are
 * tested under a real systemd (tests/integration/test_systemd_journald_budget.sh). */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <systemd/sd-daemon.h>

#include "cleanup.h"
#include "docklog_unit.h"
#include "test_support.h"

static void test_escape(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"web", "web"},
        {"my-task_2.v1:x", "my-task_2.v1:x"}, /* what a unit name may hold stays */
        {"a b", "a\\x20b"},
        {"a/b", "a\\x2fb"},
        {".hidden", "\\x2ehidden"}, /* a leading dot only */
        {"a.b", "a.b"},
        {"caf\xc3\xa9", "caf\\xc3\\xa9"}, /* UTF-8, byte by byte */
        {"back\\slash", "back\\x5cslash"},
        {"", ""},
    };
    for (size_t i = 0; i < DV_ARRAY_SIZE(cases); i++) {
        char buf[4 * 64 + 1];
        dv_unit_name_escape(cases[i].in, 64, buf, sizeof(buf));
        assert_string_equal(buf, cases[i].out);
    }
    char buf[4 * 3 + 1];
    dv_unit_name_escape("abcdef", 3, buf, sizeof(buf));
    assert_string_equal(buf, "abc");
}

static void test_unit_name(void **state)
{
    (void)state;
    char name[DV_UNIT_NAME_MAX];
    dv_docklog_unit_name("web", "0123abcd-1111-2222-3333-444455556666", 7, name);
    assert_string_equal(name, "dockvisor-docklog-web-0123abcd-7.service");
    dv_docklog_unit_name("a b", "0123abcd-1111", 1, name);
    assert_string_equal(name, "dockvisor-docklog-a\\x20b-0123abcd-1.service");

    /* A long name, escaped or not, still fits systemd's 255 with room to spare, and
     * its escapes are never cut in the middle. */
    char long_name[200];
    memset(long_name, 'x', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    dv_docklog_unit_name(long_name, "0123abcd", 4294967295u, name);
    assert_true(strlen(name) < 200);
    assert_non_null(strstr(name, "-0123abcd-4294967295.service"));
    memset(long_name, ' ', sizeof(long_name) - 1);
    dv_docklog_unit_name(long_name, "0123abcd", 1, name);
    assert_true(strlen(name) < 200);
    const char *p = name + strlen(DV_DOCKLOG_UNIT_PREFIX);
    size_t escapes = 0;
    while (strncmp(p, "\\x20", 4) == 0) {
        p += 4;
        escapes++;
    }
    assert_true(escapes > 0);
    assert_string_equal(p, "-0123abcd-1.service");
}

/* Where PID 1 is not systemd the probe says so, for node-status, and a launch that
 * asks for a unit still gets a helper: forked, with the reason. */
static void test_fallback_without_systemd(void **state)
{
    (void)state;
    if (sd_booted() > 0)
        skip();
    char why[192];
    assert_false(dv_docklog_units_probe(why, sizeof(why)));
    assert_string_equal(why, "agent's cgroup: systemd is not PID 1");

    _cleanup_free_ char *dir = dv_test_tmpdir("dv-unit");
    char diag[4096];
    snprintf(diag, sizeof(diag), "%s/docklog.log", dir);
    dv_docklog_launch_opts o = {.binary = "/bin/true",
                                .config_path = "unused",
                                .diag_log = diag,
                                .units = true,
                                .task_name = "t",
                                .task_id = "0123abcd",
                                .serial = 1};
    dv_docklog_proc p = DV_DOCKLOG_PROC_INIT;
    char note[512];
    dv_error err;
    assert_int_equal(dv_docklog_launch(&o, &p, note, sizeof(note), &err), 0);
    assert_non_null(strstr(note, "it runs in the agent's cgroup"));
    assert_true(p.is_child);
    struct pollfd pf = {.fd = p.pidfd, .events = POLLIN};
    assert_int_equal(poll(&pf, 1, 10000), 1);
    dv_docklog_result res;
    assert_int_equal(dv_docklog_collect(&p, NULL, &res, &err), 0);
    assert_int_equal(res.end, DV_DOCKLOG_END_EXITED);
    assert_int_equal(res.status, 0);
    dv_docklog_proc_close(&p);

    /* Without units asked for, no note. */
    o.units = false;
    assert_int_equal(dv_docklog_launch(&o, &p, note, sizeof(note), &err), 0);
    assert_string_equal(note, "");
    pf.fd = p.pidfd;
    assert_int_equal(poll(&pf, 1, 10000), 1);
    assert_int_equal(dv_docklog_collect(&p, NULL, &res, &err), 0);
    dv_docklog_proc_close(&p);
    dv_test_rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_unit_name),
        cmocka_unit_test(test_fallback_without_systemd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
