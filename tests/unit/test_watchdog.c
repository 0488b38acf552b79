/* The systemd watchdog keep-alive: WATCHDOG=1 datagrams from the loop when
 * WATCHDOG_USEC asks for them, none at all otherwise. A local NOTIFY_SOCKET
 * stands in for systemd. Counts are lower bounds only (no timing assertions). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "duration.h"
#include "loop.h"
#include "test_support.h"
#include "watchdog.h"

struct fixture {
    char *dir;
    int sock;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->dir = dv_test_tmpdir("dv-watchdog");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", f->dir);
    f->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    assert_true(f->sock >= 0);
    assert_int_equal(bind(f->sock, (struct sockaddr *)&sa, sizeof(sa)), 0);
    setenv("NOTIFY_SOCKET", sa.sun_path, 1);
    unsetenv("WATCHDOG_PID");
    unsetenv("WATCHDOG_USEC");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    close(f->sock);
    dv_test_rm_rf(f->dir);
    free(f->dir);
    free(f);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    return 0;
}

static int count_keepalives(int sock)
{
    char buf[256];
    int n = 0;
    ssize_t len;
    while ((len = recv(sock, buf, sizeof(buf) - 1, 0)) > 0) {
        buf[len] = '\0';
        if (strcmp(buf, "WATCHDOG=1") == 0)
            n++;
    }
    return n;
}

static void quit(dv_loop *loop, void *userdata)
{
    (void)userdata;
    dv_loop_quit(loop);
}

/* Run LOOP for about MS milliseconds. */
static void run_for(dv_loop *loop, int ms)
{
    dv_timer *t = dv_timer_new(loop, quit, NULL);
    dv_timer_arm(t, (int64_t)ms * DV_NSEC_PER_MSEC);
    assert_int_equal(dv_loop_run(loop, NULL), 0);
    dv_timer_free(t);
}

static void test_keepalives_when_asked(void **state)
{
    struct fixture *f = *state;
    setenv("WATCHDOG_USEC", "100000", 1);
    char pid[32];
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    setenv("WATCHDOG_PID", pid, 1);
    dv_loop *loop = NULL;
    assert_int_equal(dv_loop_new(&loop, NULL), 0);
    dv_watchdog *w = NULL;
    assert_int_equal(dv_watchdog_start(loop, &w, NULL), 0);
    assert_non_null(w);
    assert_int_equal(dv_watchdog_interval_ns(w), 100 * DV_NSEC_PER_MSEC);
    run_for(loop, 500);
    /* one at start, then every 50 ms: at least a few, however loaded the machine */
    assert_true(count_keepalives(f->sock) >= 3);
    dv_watchdog_free(w);
    dv_loop_free(loop);
}

static void test_kick_only_when_due(void **state)
{
    struct fixture *f = *state;
    setenv("WATCHDOG_USEC", "60000000", 1); /* 60 s: the next one is due in 30 s */
    dv_loop *loop = NULL;
    assert_int_equal(dv_loop_new(&loop, NULL), 0);
    dv_watchdog *w = NULL;
    assert_int_equal(dv_watchdog_start(loop, &w, NULL), 0);
    assert_non_null(w);
    assert_int_equal(count_keepalives(f->sock), 1); /* right away at start */
    dv_watchdog_kick(w);
    assert_int_equal(count_keepalives(f->sock), 0);
    dv_watchdog_free(w);
    dv_loop_free(loop);
}

static void test_nothing_when_not_asked(void **state)
{
    struct fixture *f = *state;
    dv_loop *loop = NULL;
    assert_int_equal(dv_loop_new(&loop, NULL), 0);
    dv_watchdog *w = (dv_watchdog *)1;
    assert_int_equal(dv_watchdog_start(loop, &w, NULL), 0);
    assert_null(w);
    uint64_t before = dv_loop_wakeups(loop);
    run_for(loop, 200);
    dv_watchdog_kick(w); /* NULL: nothing */
    assert_int_equal(count_keepalives(f->sock), 0);
    assert_true(dv_loop_wakeups(loop) - before <= 1); /* only our own quit timer */
    dv_loop_free(loop);
}

static void test_nothing_for_another_process(void **state)
{
    struct fixture *f = *state;
    /* WATCHDOG_PID names the service's main process: a child must not answer for it */
    setenv("WATCHDOG_USEC", "100000", 1);
    setenv("WATCHDOG_PID", "1", 1);
    dv_loop *loop = NULL;
    assert_int_equal(dv_loop_new(&loop, NULL), 0);
    dv_watchdog *w = (dv_watchdog *)1;
    assert_int_equal(dv_watchdog_start(loop, &w, NULL), 0);
    assert_null(w);
    assert_int_equal(count_keepalives(f->sock), 0);
    dv_loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keepalives_when_asked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kick_only_when_due, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nothing_when_not_asked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nothing_for_another_process, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
