#!/usr/bin/env bash
# The agent's streams end when nothing more can come: a per-task event stream
# ends after the task's "destroyed" line (review B8), and starts with its history
# when asked (B7); logs answer 404 with the reason when no helper collects logs on
# this agent, also with follow, instead of nothing or waiting forever (B10).
# And /secrets is writable by a task running as a numeric user (R8).
source "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"

start_agent 23350 23359 '{"docker": {"disable_log_collection": true}}'

f=$(spec echo "$DV_TEST_IMAGE_BUSYBOX" '.config.command = "echo" | .config.args = ["hello"]')
id=$(dv run -detach "$f")
wait_state "$id" exited

# --- logs without a helper: 404 and the reason, at once, also with follow ---
for q in "type=stdout" "type=stdout&follow=1"; do
    status=$(api -m 20 -o "$T_DIR/resp.json" -w '%{http_code}' "http://localhost/v1/tasks/$id/logs?$q") ||
        fail "logs?$q did not answer: $status"
    [ "$status" = 404 ] || fail "logs?$q: $status $(cat "$T_DIR/resp.json")"
    jq -e '.error | test("docker.disable_log_collection")' "$T_DIR/resp.json" >/dev/null ||
        fail "logs?$q: $(cat "$T_DIR/resp.json")"
done
ok "logs with log collection disabled: 404 naming docker.disable_log_collection"

# --- a follower of one task: its history first, and the stream ends at destroy ---
api -N "http://localhost/v1/events?task=$id&history=1" >"$T_DIR/events.ndjson" 2>&1 &
follower=$!
T_BG_PIDS+=($follower)
wait_for 10 grep -q '"Terminated"' "$T_DIR/events.ndjson" ||
    fail "no history in the task's event stream: $(cat "$T_DIR/events.ndjson")"
kill -0 "$follower" 2>/dev/null || fail "the stream of a live task ended: $(cat "$T_DIR/events.ndjson")"
# a follower of every task, which must stay: subscribed once its answer's headers
# are out (the agent subscribes before it answers), so the rm cannot come first
api -N -D "$T_DIR/all.headers" "http://localhost/v1/events" >"$T_DIR/all.ndjson" 2>&1 &
all=$!
T_BG_PIDS+=($all)
wait_for 10 grep -q '^HTTP/1.1 200' "$T_DIR/all.headers" || fail "the all-tasks stream did not start"
dv rm "$id" >/dev/null || fail "rm"
ended() { ! kill -0 "$follower" 2>/dev/null; }
wait_for 20 ended || fail "the task's event stream is still open after rm"
wait "$follower" || fail "the event stream ended with an error: $(tail -2 "$T_DIR/events.ndjson")"
tail -1 "$T_DIR/events.ndjson" | jq -e '.state == "destroyed"' >/dev/null ||
    fail "last line: $(tail -1 "$T_DIR/events.ndjson")"
grep -q '"destroyed"' "$T_DIR/all.ndjson" || fail "the all-tasks follower missed the destroy"
kill -0 "$all" 2>/dev/null || fail "the all-tasks stream ended with one task"
kill "$all"
ok "a task's event stream: history first, ends after its destroyed line"
# --- /secrets is usable by a task that runs as a numeric user (review R8) ---
f=$(spec secrets "$DV_TEST_IMAGE_BUSYBOX" '.user = "65534:65534" | .config.command = "sh" |
    .config.args = ["-c", "echo s >/secrets/x && test \"$(cat /secrets/x)\" = s"]')
sid=$(dv run -detach "$f")
wait_state "$sid" exited 30
[ "$(task_field "$sid" .exit.exit_code)" = 0 ] || fail "a user 65534 task could not use /secrets: $(task_json "$sid" | jq -c .exit)"
sdir="$T_DIR/data/tasks/$sid/$T_PREFIX-secrets/secrets"
[ "$(stat -c '%u:%g %a' "$sdir")" = "65534:65534 700" ] || fail "secrets dir: $(stat -c '%u:%g %a' "$sdir")"
dv rm "$sid" >/dev/null
ok "/secrets owned by the task's numeric user, 0700"
finish
