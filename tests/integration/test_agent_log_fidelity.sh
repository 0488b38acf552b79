#!/usr/bin/env bash
# Log fidelity through the agent, with the log drivers and defaults a new user gets:
# a task with the journald driver has each line once in its files and once in
# journald; a driver Docker cannot read back makes `dockvisor logs` say why; and a
# gap Docker rotated away while the task's docklog was down becomes a "Logs lost"
# event and a dockvisor_log_gaps_total series.
source "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"

start_agent 24800 24819

# --- the journald driver: Docker writes to journald; docklog only to the files ---
f=$(spec jd "$DV_TEST_IMAGE_BUSYBOX" \
    '.config.command = "sh" | .config.args = ["-c", "echo jd-out; echo jd-err >&2; sleep 8"]
     | .config.logging = {type: "journald"}')
id=$(dv run -detach "$f")
wait_state "$id" running
cid=$(task_field "$id" .container_id)
wait_for 20 sh -c "[ \"\$('$DOCKVISOR_BIN' logs $id)\" = jd-out ]" || fail "stdout file: $(dv logs "$id")"
wait_for 20 sh -c "[ \"\$('$DOCKVISOR_BIN' logs -stderr $id)\" = jd-err ]" ||
    fail "stderr file: $(dv logs -stderr "$id")"
sleep 3 # the loop this guards against wrote a new copy every few hundred ms
[ "$(dv logs "$id")" = jd-out ] || fail "stdout file grew: $(dv logs "$id" | head)"
n=$(journalctl --no-pager -q -a "CONTAINER_ID_FULL=$cid" -o cat | wc -l)
[ "$n" = 2 ] || fail "journald has $n entries for the container, want 2"
[ -z "$(journalctl --no-pager -q -a "CONTAINER_ID_FULL=$cid" _COMM=docklog -o cat)" ] ||
    fail "docklog wrote journald entries Docker's reader returns"
ok "journald driver: each line once in the files and once in journald"

# --- a driver Docker keeps no copy of: logs says why ---
f=$(spec gelf "$DV_TEST_IMAGE_PAYLOAD" '.config.args = ["lines", "4", "0", "--", "sleep", "30"]
    | .config.logging = {type: "gelf",
                         config: {"gelf-address": "udp://127.0.0.1:12201", "cache-disabled": "true"}}')
id=$(dv run -detach "$f")
wait_state "$id" running
wait_for 30 has_event "$id" Driver "log collection failed" || fail "no event: $(task_json "$id" | jq -c .events)"
out=$(dv logs "$id" 2>&1) && fail "logs of an unreadable driver succeeded: $out"
echo "$out" | matches "does not support reading" || fail "logs does not say why: $out"
ok "a driver Docker cannot read back: the task event and dockvisor logs say why"

# --- a gap: docklog killed while a fast writer rotates the cap past its checkpoint ---
f=$(spec gap "$DV_TEST_IMAGE_PAYLOAD" '.config.args = ["lines", "400000", "20000"]
    | .config.logging = {type: "json-file", config: {"max-size": "100k", "max-file": "2"}}')
id=$(dv run -detach "$f")
wait_state "$id" running
wait_for 20 sh -c "'$DOCKVISOR_BIN' logs $id | grep -q stdout" || fail "no lines before the kill"
pid=$(jq -r .docklog.pid "$T_DIR/data/state/tasks/$id.json")
[ "$pid" -gt 0 ] || fail "no docklog pid in the record"
kill -STOP "$pid" # frozen while Docker rotates 2 x 100k away, then killed
sleep 2
kill -KILL "$pid"
kill -CONT "$pid" 2>/dev/null || true
wait_for 30 has_event "$id" "Logs lost" "may be lost" || fail "no Logs lost event: $(task_json "$id" | jq -c .events)"
metric=$(api -s http://localhost/v1/metrics | grep "^dockvisor_log_gaps_total{task_id=\"$id\"")
[ -n "$metric" ] || fail "no dockvisor_log_gaps_total series for the task"
journalctl --no-pager -q -a "DOCKVISOR_TASK_ID=$id" PRIORITY=4 -o cat | matches "log entries lost" ||
    fail "no journald warning for the task"
# Reported once, also by the next agent.
events=$(task_json "$id" | jq '[.events[] | select(.type == "Logs lost")] | length')
stop_agent || fail "agent stop"
start_agent 24800 24819
sleep 3
after=$(task_json "$id" | jq '[.events[] | select(.type == "Logs lost")] | length')
[ "$after" = "$events" ] || fail "Logs lost events: $events before the agent restart, $after after"
dv rm -force "$id" >/dev/null
ok "a gap: Logs lost event, metric and journald warning, reported once across an agent restart"
finish
