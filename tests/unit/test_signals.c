/* Signal names <-> numbers as Docker and Nomad spell them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <signal.h>

#include "signals.h"

static void test_parse(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int signo;
    } ok[] = {
        {"SIGTERM", SIGTERM},
        {"TERM", SIGTERM},
        {"sigterm", SIGTERM},
        {"term", SIGTERM},
        {"15", 15},
        {"9", SIGKILL},
        {"SIGINT", SIGINT},
        {"USR1", SIGUSR1},
        {"SIGUSR2", SIGUSR2},
        {"HUP", SIGHUP},
        {"SIGIOT", SIGABRT},
        {"CLD", SIGCHLD},
        {"SIGRTMIN", 34},
        {"RTMIN+3", 37},
        {"SIGRTMIN+15", 49},
        {"SIGRTMAX", 64},
        {"RTMAX-1", 63},
        {"sigrtmax-14", 50},
        {"64", 64},
        {"1", 1},
        {"SIGWINCH", SIGWINCH},
        {"POLL", SIGIO},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int signo = -1;
        dv_error err;
        if (dv_signal_parse(ok[i].text, &signo, &err) < 0)
            fail_msg("%s: %s", ok[i].text, err.msg);
        if (signo != ok[i].signo)
            fail_msg("%s: got %d, want %d", ok[i].text, signo, ok[i].signo);
    }
}

static void test_parse_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {"",         "SIG",      "SIGFOO",  "0",          "65",
                                      "-9",       "15x",      " 15",     "TERM ",      "RTMIN+0",
                                      "RTMIN+31", "RTMAX-31", "RTMIN-1", "SIGSIGTERM", "1000"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int signo = -1;
        dv_error err;
        dv_error_clear(&err);
        if (dv_signal_parse(bad[i], &signo, &err) != -EINVAL)
            fail_msg("\"%s\" was accepted as %d", bad[i], signo);
        assert_int_equal(signo, -1); /* untouched on failure */
        assert_non_null(strstr(err.msg, "unknown signal"));
    }
    int signo;
    assert_int_equal(dv_signal_parse(NULL, &signo, NULL), -EINVAL);
}

static void test_names(void **state)
{
    (void)state;
    char buf[DV_SIGNAL_NAME_MAX];
    static const struct {
        int signo;
        const char *name;
    } names[] = {
        {SIGTERM, "SIGTERM"}, {SIGINT, "SIGINT"},  {SIGABRT, "SIGABRT"}, {SIGCHLD, "SIGCHLD"},
        {SIGIO, "SIGIO"},     {SIGSYS, "SIGSYS"},  {34, "SIGRTMIN"},     {37, "SIGRTMIN+3"},
        {49, "SIGRTMIN+15"},  {50, "SIGRTMAX-14"}, {64, "SIGRTMAX"},     {32, "32"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        assert_int_equal(dv_signal_name(names[i].signo, buf, sizeof(buf)), 0);
        assert_string_equal(buf, names[i].name);
    }
    assert_int_equal(dv_signal_name(0, buf, sizeof(buf)), -EINVAL);
    assert_int_equal(dv_signal_name(65, buf, sizeof(buf)), -EINVAL);
}

/* Every number's canonical name parses back to it. */
static void test_round_trip(void **state)
{
    (void)state;
    for (int s = 1; s <= 64; s++) {
        char buf[DV_SIGNAL_NAME_MAX];
        int back = 0;
        assert_int_equal(dv_signal_name(s, buf, sizeof(buf)), 0);
        assert_int_equal(dv_signal_parse(buf, &back, NULL), 0);
        assert_int_equal(back, s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
