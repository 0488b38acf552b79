/* The Engine /events thread against the fake Engine: our filter, events posted
 * to the loop, and after the stream breaks a reconnect with `since` = the last
 * event's time plus a resync (a real dockerd cannot be made to drop the stream
 * on demand without disturbing everyone else's tests). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cleanup.h"
#include "duration.h"
#include "engine_events.h"
#include "fake_engine.h"
#include "loop.h"

#define NODE "0b9c3c8e-6f0a-4b8e-9d51-3a0f2b7c9e11"
#define NODE_LABEL "io.dockvisor.node_id=" NODE

struct seen {
    int events, resyncs, broken;
    char last_action[32];
    dv_loop *loop;
};

static void on_event(void *u, const json_t *ev)
{
    struct seen *s = u;
    s->events++;
    snprintf(s->last_action, sizeof(s->last_action), "%s",
             json_string_value(json_object_get(ev, "Action")));
}

static void on_resync(void *u)
{
    struct seen *s = u;
    if (++s->resyncs == 2)
        dv_loop_quit(s->loop); /* the reconnect happened */
}

static void on_broken(void *u, const char *why)
{
    (void)why;
    ((struct seen *)u)->broken++;
}

/* One events thread on LOOP against FAKE, counting into S. */
struct harness {
    dv_fake *fake;
    dv_docker *dk;
    dv_loop *loop;
    struct seen s;
    dv_engine_events *ev_thread;
};

static void harness_start(struct harness *h, dv_fake *fake)
{
    *h = (struct harness){.fake = fake};
    dv_docker_config c = {.endpoint = dv_fake_endpoint(fake)};
    assert_int_equal(dv_docker_new(&c, &h->dk, NULL), 0);
    assert_int_equal(dv_loop_new(&h->loop, NULL), 0);
    h->s.loop = h->loop;
    dv_engine_events_cb cb = {on_event, on_resync, on_broken, &h->s};
    assert_int_equal(dv_engine_events_start(h->dk, h->loop, NODE_LABEL, &cb, &h->ev_thread, NULL),
                     0);
}

/* After the events thread was stopped. */
static void harness_free(struct harness *h)
{
    dv_loop_free(h->loop);
    dv_docker_free(h->dk);
    dv_fake_stop(h->fake);
}

static int count_events_requests(dv_fake *fake)
{
    int k = 0;
    for (size_t r = 0; r < dv_fake_request_count(fake); r++)
        k += strcmp(dv_fake_request_at(fake, r)->path, "/events") == 0;
    return k;
}

static void test_filter(void **state)
{
    (void)state;
    _cleanup_json_ json_t *f = dv_engine_events_filters(NODE_LABEL);
    _cleanup_free_ char *s = json_dumps(f, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(s, "{\"event\":[\"die\",\"oom\",\"destroy\"],\"label\":[\"io.dockvisor."
                           "node_id=" NODE "\"],\"type\":[\"container\"]}");
}

static void test_reconnect_with_since_and_resync(void **state)
{
    (void)state;
    dv_fake *fake = dv_fake_start(NULL, NULL);
    const char *ev = "{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"abc\","
                     "\"Attributes\":{\"exitCode\":\"3\"}},\"time\":4102444800,"
                     "\"timeNano\":4102444800123456789}\n";
    dv_fake_rule first = {
        .method = "GET", .path = "/events", .times = 1, .stream = ev, .end = DV_FAKE_END_CLOSE};
    dv_fake_add(fake, &first);
    dv_fake_rule second = {
        .method = "GET", .path = "/events", .times = 0, .stream = "", .end = DV_FAKE_END_HANG};
    dv_fake_add(fake, &second);

    struct harness h;
    harness_start(&h, fake);
    const struct seen *s = &h.s;
    assert_int_equal(dv_loop_run(h.loop, NULL), 0);
    /* resync is posted as the reconnect begins: wait for the request itself */
    for (int i = 0; i < 500 && count_events_requests(fake) < 2; i++)
        usleep(10 * 1000);
    /* cancels the hanging second stream */
    assert_int_equal(dv_engine_events_stop(h.ev_thread, 5 * DV_NSEC_PER_SEC), 0);

    assert_int_equal(s->events, 1);
    assert_string_equal(s->last_action, "die");
    assert_int_equal(s->broken, 1);
    assert_int_equal(s->resyncs, 2);
    size_t n = 0;
    const dv_fake_request *reqs[4] = {0};
    for (size_t i = 0; i < dv_fake_request_count(fake) && n < 4; i++)
        if (strcmp(dv_fake_request_at(fake, i)->path, "/events") == 0)
            reqs[n++] = dv_fake_request_at(fake, i);
    assert_true(n >= 2);
    assert_non_null(strstr(reqs[0]->query, "io.dockvisor.node_id=" NODE));
    /* the reconnect asks for everything since the last event it saw */
    assert_non_null(strstr(reqs[1]->query, "since=4102444800.123456789"));
    harness_free(&h);
}

static void quit_soon(dv_loop *loop, void *u)
{
    (void)u;
    dv_loop_quit(loop);
}

/* Run LOOP for MS milliseconds (once: a loop stays quit). */
static void run_for(dv_loop *loop, int ms)
{
    dv_timer *t = dv_timer_new(loop, quit_soon, NULL);
    dv_timer_arm(t, ms * DV_NSEC_PER_MSEC);
    assert_int_equal(dv_loop_run(loop, NULL), 0);
    dv_timer_free(t);
}

/* B9: "connected" (resync) only once the daemon has accepted the stream, and one
 * `broken` per outage however many attempts fail. B2: stopping is prompt even
 * while the daemon does not answer at all. */
static void test_health_follows_the_stream(void **state)
{
    (void)state;
    dv_fake *fake = dv_fake_start(NULL, NULL);
    /* Three attempts fail (empty reply), the fourth is accepted and stays open. */
    dv_fake_add(fake,
                &(dv_fake_rule){.method = "GET", .path = "/events", .times = 3, .drop = true});
    dv_fake_add(
        fake,
        &(dv_fake_rule){
            .method = "GET", .path = "/events", .times = 1, .stream = "", .end = DV_FAKE_END_HANG});
    /* Then the daemon accepts connections and never answers. */
    dv_fake_add(fake, &(dv_fake_rule){.method = "GET", .path = "/events", .hang = true});
    struct harness h;
    harness_start(&h, fake);
    /* (the loop runs once at the end: what the thread posted meanwhile is queued) */
    for (int i = 0; i < 1000 && count_events_requests(fake) < 4; i++)
        usleep(10 * 1000);
    usleep(300 * 1000);
    run_for(h.loop, 100);
    assert_int_equal(count_events_requests(fake), 4);
    assert_int_equal(h.s.broken, 1);  /* once for the outage, not per attempt */
    assert_int_equal(h.s.resyncs, 1); /* only the accepted stream */
    dv_engine_events_stop(h.ev_thread, 5 * DV_NSEC_PER_SEC);
    harness_free(&h);

    /* A daemon that accepts connections and answers nothing, not even /version:
     * never "connected", and the stop is prompt. */
    fake = dv_fake_start(NULL, NULL);
    dv_fake_add(fake, &(dv_fake_rule){.method = "GET", .path = "/version", .hang = true});
    harness_start(&h, fake);
    while (!dv_fake_find(fake, "GET", "/version"))
        usleep(10 * 1000);
    usleep(300 * 1000);
    run_for(h.loop, 100);
    assert_int_equal(h.s.resyncs, 0);
    assert_int_equal(dv_engine_events_stop(h.ev_thread, 5 * DV_NSEC_PER_SEC), 0);
    harness_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filter),
        cmocka_unit_test(test_reconnect_with_since_and_resync),
        cmocka_unit_test(test_health_follows_the_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
