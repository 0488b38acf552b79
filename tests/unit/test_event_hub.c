/* Event fan-out: history first, task filter, wakeups, slow clients cut off,
 * readers that leave are dropped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <poll.h>
#include <stdlib.h>

#include "cleanup.h"
#include "event_hub.h"

static char *read_all(const dv_api_stream_ops *ops, void *obj, bool *ended)
{
    static char out[8192];
    size_t len = 0;
    *ended = false;
    for (;;) {
        ssize_t n = ops->read(obj, out + len, sizeof(out) - 1 - len);
        if (n > 0) {
            len += (size_t)n;
            continue;
        }
        if (n == DV_API_STREAM_END)
            *ended = true;
        break;
    }
    out[len] = '\0';
    return out;
}

static bool readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 1;
}

static void test_history_filter_and_wakeup(void **state)
{
    (void)state;
    dv_event_hub *hub = dv_event_hub_new();
    _cleanup_json_ json_t *history = json_pack("[{s:s}]", "type", "Received");
    const dv_api_stream_ops *ops;
    void *only_a, *all;
    assert_int_equal(dv_event_hub_subscribe(hub, "A", history, &ops, &only_a, NULL), 0);
    assert_int_equal(dv_event_hub_subscribe(hub, NULL, NULL, &ops, &all, NULL), 0);
    bool ended;
    assert_string_equal(read_all(ops, only_a, &ended), "{\"type\":\"Received\"}\n");
    assert_false(ended);
    assert_string_equal(read_all(ops, all, &ended), "");
    assert_false(readable(ops->wait_fd(all)));

    _cleanup_json_ json_t *ev_a = json_pack("{s:s}", "task_id", "A");
    _cleanup_json_ json_t *ev_b = json_pack("{s:s}", "task_id", "B");
    dv_event_hub_publish(hub, "A", ev_a);
    dv_event_hub_publish(hub, "B", ev_b);
    assert_true(readable(ops->wait_fd(all)));
    assert_string_equal(read_all(ops, all, &ended), "{\"task_id\":\"A\"}\n{\"task_id\":\"B\"}\n");
    assert_string_equal(read_all(ops, only_a, &ended), "{\"task_id\":\"A\"}\n");

    /* a reader that leaves is dropped at the next publish */
    ops->free(only_a);
    assert_int_equal(dv_event_hub_subscribers(hub), 2);
    dv_event_hub_publish(hub, "A", ev_a);
    assert_int_equal(dv_event_hub_subscribers(hub), 1);

    /* freeing the hub ends the stream after what it has */
    dv_event_hub_free(hub);
    assert_string_equal(read_all(ops, all, &ended), "{\"task_id\":\"A\"}\n");
    assert_true(ended);
    ops->free(all);
}

static void test_slow_client_is_cut_off(void **state)
{
    (void)state;
    dv_event_hub *hub = dv_event_hub_new();
    const dv_api_stream_ops *ops;
    void *sub;
    assert_int_equal(dv_event_hub_subscribe(hub, NULL, NULL, &ops, &sub, NULL), 0);
    char big[4096];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    _cleanup_json_ json_t *ev = json_pack("{s:s}", "message", big);
    for (int i = 0; i < 400; i++) /* ~1.6 MB, more than the backlog */
        dv_event_hub_publish(hub, "A", ev);
    char buf[65536];
    size_t total = 0;
    ssize_t n;
    char last[256] = "";
    while ((n = ops->read(sub, buf, sizeof(buf))) > 0) {
        total += (size_t)n;
        size_t keep = (size_t)n < sizeof(last) - 1 ? (size_t)n : sizeof(last) - 1;
        memcpy(last, buf + n - keep, keep);
        last[keep] = '\0';
    }
    assert_int_equal(n, DV_API_STREAM_END);
    assert_true(total <= DV_EVENT_HUB_BACKLOG + 200);
    assert_non_null(strstr(last, "\"error\":\"events were dropped"));
    ops->free(sub);
    dv_event_hub_free(hub);
}

/* B8: a destroyed task's own followers end after its last line; followers of
 * every task stay. */
static void test_close_task(void **state)
{
    (void)state;
    dv_event_hub *hub = dv_event_hub_new();
    const dv_api_stream_ops *ops;
    void *only_a, *only_b, *all;
    assert_int_equal(dv_event_hub_subscribe(hub, "A", NULL, &ops, &only_a, NULL), 0);
    assert_int_equal(dv_event_hub_subscribe(hub, "B", NULL, &ops, &only_b, NULL), 0);
    assert_int_equal(dv_event_hub_subscribe(hub, NULL, NULL, &ops, &all, NULL), 0);
    _cleanup_json_ json_t *last = json_pack("{s:s}", "state", "destroyed");
    dv_event_hub_publish(hub, "A", last);
    dv_event_hub_close_task(hub, "A");
    assert_true(readable(ops->wait_fd(only_a)));
    bool ended;
    assert_string_equal(read_all(ops, only_a, &ended), "{\"state\":\"destroyed\"}\n");
    assert_true(ended);
    assert_string_equal(read_all(ops, only_b, &ended), "");
    assert_false(ended);
    assert_string_equal(read_all(ops, all, &ended), "{\"state\":\"destroyed\"}\n");
    assert_false(ended);
    /* nothing more reaches the closed one */
    dv_event_hub_publish(hub, "A", last);
    assert_string_equal(read_all(ops, only_a, &ended), "");
    assert_true(ended);
    ops->free(only_a);
    ops->free(only_b);
    ops->free(all);
    dv_event_hub_free(hub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_history_filter_and_wakeup),
        cmocka_unit_test(test_slow_client_is_cut_off),
        cmocka_unit_test(test_close_task),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
